/*
 * api.c — the /v1/ routes (api.h).
 *
 * One request: split the URL (http_parser_parse_url), refuse a token in
 * the query, parse the query strictly, then in one read transaction check
 * the bearer token and build the answer's document; the transaction ends
 * before the document is printed. LMDB readers take no lock the writer
 * holds (the resize lock is taken shared, and the writer takes it
 * exclusively only to grow the map, between transactions); what blocks is
 * st_read_current, for an authorised ridership or devices request while the
 * writer holds frames not derived: it derives them in a write transaction
 * of its own (README, "HTTP API", says what that costs the loop).
 *
 * A ridership answer without cameras is looked up in the answer cache
 * first (answer_cache.h), at the revision of its dates read in that same
 * transaction, and kept there once built. An answer with cameras depends
 * on the clock (how complete the camera data is by now): never kept.
 */
#include "ingest/api.h"

#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "firmware-proto/hex.h"
#include "ingest/answer_cache.h"
#include "ingest/auth.h"
#include "ingest/clock.h"
#include "ingest/metrics.h"
#include "ingest/query.h"
#include "report/cameras.h"
#include "report/devices.h"
#include "report/rate.h"
#include "report/ridership.h"
#include "report/ridership_json.h"
#include "storage/date_rev.h"
#include "storage/derive.h"
#include "storage/service_day.h"
#include "storage/tokens.h"

#define JSON_TYPE "application/json"
#define ETAG_BYTES 16
#define ETAG_SIZE (2 * ETAG_BYTES + 3) /* quotes and a NUL */
#define MSG_MAX 256
#define EXTRA_MAX 256 /* an error's extra headers (auth.h's are under 100 bytes) */
#define DEVICES_PREFIX "/v1/devices/"

enum route { R_NONE, R_RIDERSHIP, R_DEVICES, R_DEVICE, R_LIVE, R_CAMERAS };

/* What one request asked, once parsed. */
struct api_req {
	enum route route;
	uint64_t device_id;
	struct kp_query q;
	int head_only;
	const char *if_none_match; /* NULL when absent */
};

/* An answer in the making: either an error or a document (and cacheability). */
struct answer {
	int status;
	char msg[MSG_MAX];
	const char *extra; /* headers of an error: extra_buf or NULL */
	char extra_buf[EXTRA_MAX];
	char *body;        /* malloc'd: the 200's body when built here */
	const char *text;  /* the 200's body: body, or the cache's */
	size_t body_len;
	int closed;        /* the range is closed: cacheable */
	int etag;          /* give an ETag */
	char tag[ETAG_SIZE]; /* the ETag once known, else "" */
	/* A ridership answer the cache may keep: its question and revision. */
	char key[KP_CACHE_KEY_MAX + 1];
	uint64_t rev;
	int keep, hit;
};

char *kp_api_error(int status, const char *msg, const char *extra_headers, int head_only, size_t *len)
{
	cJSON *doc = cJSON_CreateObject();
	char *text = NULL, *out = NULL;

	if (doc != NULL && cJSON_AddStringToObject(doc, "error", msg) != NULL)
		text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (text == NULL)
		return NULL;
	out = kp_http_build(status, JSON_TYPE, NULL, extra_headers, text, strlen(text), head_only, len);
	cJSON_free(text);
	return out;
}

static int fail(struct answer *a, int status, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct answer *a, int status, const char *extra, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof a->msg, fmt, ap);
	va_end(ap);
	a->status = status;
	a->extra = NULL;
	/* Copied: an auth refusal's Retry-After lives in the caller's frame. */
	if (extra != NULL && (size_t)snprintf(a->extra_buf, sizeof a->extra_buf, "%s", extra) < sizeof a->extra_buf)
		a->extra = a->extra_buf;
	return -1;
}

/* ------------------------------------------------------------- routing */

static enum route route_of(const char *path, size_t len, uint64_t *device_id)
{
	uint8_t id[8];
	char hex[KP_DEVICE_ID_TEXT_SIZE];

	if (len == strlen("/v1/ridership") && memcmp(path, "/v1/ridership", len) == 0)
		return R_RIDERSHIP;
	if (len == strlen("/v1/live") && memcmp(path, "/v1/live", len) == 0)
		return R_LIVE;
	if (len == strlen("/v1/devices") && memcmp(path, "/v1/devices", len) == 0)
		return R_DEVICES;
	if (len == strlen("/v1/cameras") && memcmp(path, "/v1/cameras", len) == 0)
		return R_CAMERAS;
	if (len == strlen(DEVICES_PREFIX) + KP_DEVICE_ID_DIGITS &&
	    memcmp(path, DEVICES_PREFIX, strlen(DEVICES_PREFIX)) == 0) {
		memcpy(hex, path + strlen(DEVICES_PREFIX), KP_DEVICE_ID_DIGITS);
		hex[KP_DEVICE_ID_DIGITS] = '\0';
		if (kp_hex_decode(hex, id, sizeof id) != 0)
			return R_NONE;
		*device_id = 0;
		for (size_t i = 0; i < sizeof id; i++)
			*device_id = *device_id << 8 | id[i];
		return R_DEVICE;
	}
	return R_NONE;
}

/* Splits the URL and parses its query; -1 with *a set on a bad request. */
static int parse_request(const struct kp_http_request *req, struct api_req *ar, struct answer *a)
{
	char msg[KP_AUTH_MSG_MAX];
	const char *path;
	size_t path_len;

	if (kp_auth_target(req, &ar->q, &path, &path_len, msg) != 0)
		return fail(a, 400, NULL, "%s", msg);
	ar->route = route_of(path, path_len, &ar->device_id);
	return 0;
}

/* Each key of q must be one of allowed (NULL-terminated). */
static int only_keys(const struct kp_query *q, const char *const *allowed, struct answer *a)
{
	for (size_t i = 0; i < q->n; i++) {
		size_t k = 0;

		while (allowed[k] != NULL && strcmp(allowed[k], q->p[i].key) != 0)
			k++;
		if (allowed[k] == NULL)
			return fail(a, 400, NULL, "unknown query parameter '%s'", q->p[i].key);
	}
	return 0;
}

/* ---------------------------------------------------------------- auth */

static int authorise(const struct kp_http_ctx *ctx, struct st_read *r, const struct kp_http_request *req,
                     uint8_t needed, struct answer *a)
{
	struct kp_auth_refusal why;

	if (kp_auth_check(ctx, r, req, needed, &why) == 0)
		return 0;
	return fail(a, why.status, why.extra, "%s", why.msg);
}

/* ----------------------------------------------------------- ridership */

struct ridership_args {
	struct kp_rs_query q;
	int cameras;
	int closed;
};

static int parse_date(const struct kp_query *q, const char *key, uint32_t *out, struct answer *a)
{
	const char *v = kp_query_get(q, key);

	if (v != NULL && st_date_parse(v, out) != 0)
		return fail(a, 400, NULL, "%s: '%s' is not a date (YYYY-MM-DD)", key, v);
	return 0;
}

static int parse_by(const char *list, struct kp_rs_query *q, struct answer *a)
{
	const char *bad;
	size_t len;

	switch (kp_rs_parse_by(list, q, &bad, &len)) {
	case KP_RS_BY_OK: return 0;
	case KP_RS_BY_TWICE: return fail(a, 400, NULL, "by: '%.*s' given twice", (int)len, bad);
	case KP_RS_BY_TOO_MANY: return fail(a, 400, NULL, "by: fare and door never go together");
	default: return fail(a, 400, NULL, "by: '%.*s' is not route, stop, hour or fare", (int)len, bad);
	}
}

/* The query of a ridership request, dates defaulting to today's service date. */
static int ridership_args(struct st_db *db, const struct kp_query *q, int64_t now, struct ridership_args *ra,
                          struct answer *a)
{
	static const char *const keys[] = { "from", "to", "by", "with_cameras", NULL };
	const char *by = kp_query_get(q, "by"), *cams = kp_query_get(q, "with_cameras");
	int start = st_db_options(db)->service_day_start_hour;
	struct st_when today, settled;

	*ra = (struct ridership_args){ .q = { .kind = KP_RS_TAPS, .by = { KP_RS_ROUTE }, .nby = 1 } };
	if (only_keys(q, keys, a) || parse_date(q, "from", &ra->q.from, a) || parse_date(q, "to", &ra->q.to, a))
		return -1;
	if (by != NULL && parse_by(by, &ra->q, a))
		return -1;
	if (cams != NULL && strcmp(cams, "1") != 0 && strcmp(cams, "0") != 0)
		return fail(a, 400, NULL, "with_cameras: '%s' is not 0 or 1", cams);
	ra->cameras = cams != NULL && strcmp(cams, "1") == 0;
	if (ra->cameras && (ra->q.nby != 1 || (ra->q.by[0] != KP_RS_ROUTE && ra->q.by[0] != KP_RS_STOP)))
		return fail(a, 400, NULL, "with_cameras: by is route or stop");
	if (!ra->cameras && kp_rs_check(&ra->q) != KP_RS_BY_OK)
		return fail(a, 400, NULL, "by: door is for passenger counts, not taps");
	if (st_service_day(st_db_zone(db), now, start, &today) != 0 ||
	    st_service_day(st_db_zone(db), now - KP_API_CLOSED_GRACE_MS, start, &settled) != 0)
		return fail(a, 500, NULL, "cannot tell today's service date");
	if (kp_query_get(q, "to") == NULL)
		ra->q.to = today.service_date;
	if (kp_query_get(q, "from") == NULL)
		ra->q.from = ra->q.to;
	if (ra->q.from > ra->q.to)
		return fail(a, 400, NULL, "from is after to");
	if (st_date_days(ra->q.to) - st_date_days(ra->q.from) >= KP_API_RANGE_DAYS_MAX)
		return fail(a, 400, NULL, "from..to spans more than %d days; ask for less at a time", KP_API_RANGE_DAYS_MAX);
	/* The range's last date had ended before now minus the grace. */
	ra->closed = ra->q.to < settled.service_date;
	return 0;
}

static int set_body(cJSON *doc, struct answer *a)
{
	if (doc == NULL)
		return fail(a, 500, NULL, "out of memory");
	a->body = kp_rs_json_text(doc, &a->body_len);
	cJSON_Delete(doc);
	if (a->body == NULL)
		return fail(a, 500, NULL, "out of memory");
	a->text = a->body;
	return 0;
}

static int storage_fail(struct answer *a, int rc, const char *what)
{
	if (rc == ST_ESTOP)
		return fail(a, 500, NULL, "out of memory");
	return fail(a, 500, NULL, "reading %s: %s", what, st_strerror(rc));
}

/* Reads in r; the document is built by the caller after r ended. */
static int ridership(struct st_read *r, const struct ridership_args *ra, int64_t now, struct kp_rs_result *res,
                     struct kp_rate_rows *rows, struct answer *a)
{
	int rc;

	if (ra->cameras)
		rc = kp_rate_collect(r, ra->q.from, ra->q.to,
		                     ra->q.by[0] == KP_RS_STOP ? ST_RECONCILE_STOP : ST_RECONCILE_ROUTE, now, rows);
	else
		rc = kp_rs_sum(r, &ra->q, res);
	if (rc != ST_OK)
		return storage_fail(a, rc, ra->cameras ? "camera counts and taps" : "aggregates");
	a->closed = ra->closed;
	a->etag = 1;
	return 0;
}

/* The canonical question of a ridership answer without cameras: what its
 * body depends on besides the cells (the by list in the order asked: it is
 * the order of the groups' keys). */
static int cache_key(const struct ridership_args *ra, char key[KP_CACHE_KEY_MAX + 1])
{
	size_t at;
	int n = snprintf(key, KP_CACHE_KEY_MAX + 1, "ridership %d %" PRIu32 " %" PRIu32 " by", (int)ra->q.kind,
	                 ra->q.from, ra->q.to);

	for (size_t i = 0; i < ra->q.nby && n > 0 && n <= KP_CACHE_KEY_MAX; i++) {
		at = (size_t)n;
		n += snprintf(key + at, KP_CACHE_KEY_MAX + 1 - at, " %s", kp_rs_dim_name(ra->q.by[i]));
	}
	return n > 0 && n <= KP_CACHE_KEY_MAX ? 0 : -1;
}

/* Looks the answer up in the cache at its dates' revision in r: a hit
 * fills a with the kept body and ETag; a miss marks it to be kept once
 * built. Nothing when there is no cache or the answer has cameras. */
static int cached(const struct kp_http_ctx *ctx, struct st_read *r, const struct ridership_args *ra,
                  struct answer *a)
{
	const struct kp_cached *hit;
	int rc;

	if (ctx->cache == NULL || ra->cameras)
		return 0;
	if (cache_key(ra, a->key) != 0)
		return fail(a, 500, NULL, "a ridership question too long for the cache's key");
	rc = st_date_rev_max(r, ra->q.from, ra->q.to, &a->rev);
	if (rc != ST_OK)
		return storage_fail(a, rc, "the dates' revisions");
	hit = kp_answer_cache_get(ctx->cache, a->key, a->rev);
	if (hit == NULL) {
		a->keep = 1;
		atomic_fetch_add_explicit(&ctx->m->api_cache_misses, 1, memory_order_relaxed);
		return 0;
	}
	a->hit = 1;
	a->text = hit->body;
	a->body_len = hit->len;
	snprintf(a->tag, sizeof a->tag, "%s", hit->etag);
	a->closed = ra->closed;
	a->etag = 1;
	atomic_fetch_add_explicit(&ctx->m->api_cache_hits, 1, memory_order_relaxed);
	return 0;
}

/* ------------------------------------------------------------ requests */

static void etag_of(const char *body, size_t len, char out[ETAG_SIZE])
{
	uint8_t h[ETAG_BYTES];

	crypto_generichash(h, sizeof h, (const unsigned char *)body, len, NULL, 0);
	out[0] = '"';
	kp_hex_encode(h, sizeof h, out + 1);
	out[ETAG_SIZE - 2] = '"';
	out[ETAG_SIZE - 1] = '\0';
}

/* Whether If-None-Match names etag (or is "*"). */
static int matches(const struct kp_http_value *inm, const char *etag)
{
	if (!inm->present || inm->overflow)
		return 0;
	return strcmp(inm->v, "*") == 0 || strstr(inm->v, etag) != NULL;
}

static char *respond_ok(const struct kp_http_request *req, struct answer *a, int head_only, size_t *len)
{
	char headers[ETAG_SIZE + 16];
	const char *cache = a->closed ? KP_API_CLOSED_CACHE : NULL;

	if (!a->etag)
		return kp_http_build(200, JSON_TYPE, NULL, NULL, a->text, a->body_len, head_only, len);
	if (a->tag[0] == '\0')
		etag_of(a->text, a->body_len, a->tag);
	snprintf(headers, sizeof headers, "ETag: %s\r\n", a->tag);
	if (matches(&req->if_none_match, a->tag))
		return kp_http_build(304, JSON_TYPE, cache, headers, "", 0, 1, len);
	return kp_http_build(200, JSON_TYPE, cache, headers, a->text, a->body_len, head_only, len);
}

static int devices(struct st_read *r, const struct api_req *ar, cJSON **doc, struct answer *a)
{
	int rc = ar->route == R_DEVICES ? kp_devices_json(r, doc) : kp_device_json(r, ar->device_id, doc);

	if (rc == ST_ENOTFOUND)
		return fail(a, 404, NULL, "no device %016" PRIx64, ar->device_id);
	if (rc != ST_OK)
		return storage_fail(a, rc, "devices");
	return 0;
}

static int cameras(struct st_read *r, cJSON **doc, struct answer *a)
{
	int rc = kp_cameras_json(r, doc);

	return rc == ST_OK ? 0 : storage_fail(a, rc, "cameras");
}

/* Authorises and reads, all in one read transaction. */
static int answer_in_txn(const struct kp_http_ctx *ctx, const struct kp_http_request *req, struct api_req *ar,
                         struct answer *a)
{
	static const char *const none[] = { NULL };
	struct kp_rs_result res = { 0 };
	struct kp_rate_rows rows = { 0 };
	struct ridership_args ra;
	int64_t now = kp_now_ms();
	cJSON *doc = NULL;
	struct st_read r;
	int bad;

	if (ctx->db == NULL)
		return fail(a, 503, NULL, "no database");
	if (st_read_begin(ctx->db, &r) != ST_OK)
		return fail(a, 503, "Retry-After: 1\r\n", "cannot read the database now");
	bad = authorise(ctx, &r, req, ST_TOKEN_READ, a);
	if (!bad && ar->route == R_NONE)
		bad = fail(a, 404, NULL, "no such endpoint; try /v1/ridership, /v1/devices, /v1/devices/{id}, /v1/cameras or /v1/live");
	/* Cells and device traffic of every frame ACKed (storage/derive.h),
	 * derived only for an authorised request. */
	if (!bad && (ar->route == R_RIDERSHIP || ar->route == R_DEVICES || ar->route == R_DEVICE) &&
	    st_read_current(&r) != ST_OK)
		return fail(a, 503, "Retry-After: 1\r\n", "cannot read the database now");
	if (!bad && ar->route == R_RIDERSHIP)
		bad = ridership_args(ctx->db, &ar->q, now, &ra, a) || cached(ctx, &r, &ra, a) ||
		      (!a->hit && ridership(&r, &ra, now, &res, &rows, a));
	if (!bad && (ar->route == R_DEVICES || ar->route == R_DEVICE || ar->route == R_LIVE || ar->route == R_CAMERAS))
		bad = only_keys(&ar->q, none, a);
	if (!bad && ar->route == R_LIVE && (doc = kp_metrics_live(ctx->m, ctx->health)) == NULL)
		bad = fail(a, 500, NULL, "out of memory");
	if (!bad && (ar->route == R_DEVICES || ar->route == R_DEVICE))
		bad = devices(&r, ar, &doc, a);
	if (!bad && ar->route == R_CAMERAS)
		bad = cameras(&r, &doc, a);
	st_read_end(&r);
	if (!bad && ar->route == R_RIDERSHIP && !a->hit)
		doc = ra.cameras ? kp_rate_json(&rows, 0) : kp_rs_json(&res);
	/* Which instance's devices the sums cover (README "Beyond one machine"). */
	if (!bad && !a->hit && doc != NULL && ar->route == R_RIDERSHIP && !ra.cameras && ctx->partition != NULL &&
	    cJSON_AddStringToObject(doc, "partition", ctx->partition) == NULL) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	kp_rs_free(&res);
	kp_rate_free(&rows);
	if (!bad && !a->hit)
		bad = set_body(doc, a);
	else
		cJSON_Delete(doc);
	return bad;
}

int kp_api_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                   struct kp_http_response *r)
{
	struct api_req ar = { .head_only = head_only };
	struct answer a = { 0 };

	if (parse_request(req, &ar, &a) != 0 || answer_in_txn(ctx, req, &ar, &a) != 0) {
		r->head = kp_api_error(a.status, a.msg, a.extra, head_only, &r->len);
	} else {
		r->head = respond_ok(req, &a, head_only, &r->len);
		/* Not kept (too large, out of memory): answered all the same. */
		if (a.keep && r->head != NULL)
			(void)kp_answer_cache_put(ctx->cache, a.key, a.rev, a.text, a.body_len, a.tag);
		free(a.body);
	}
	return r->head == NULL ? -1 : 0;
}
