/*
 * export_api.c — GET /v1/export/{fare_transactions,passenger_events}.csv
 * (export_api.h).
 *
 * One read transaction checks the token and opens the producer (which
 * reads the log's last seq in it); it ends before the answer is returned.
 * The body then reads the producer, which begins a short transaction of its
 * own per piece.
 */
#include "ingest/export_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/api.h"
#include "ingest/auth.h"
#include "ingest/clock.h"
#include "ingest/query.h"
#include "report/tides.h"
#include "storage/derive.h"
#include "storage/service_day.h"
#include "storage/tokens.h"

#define MSG_MAX 256
#define EXTRA_MAX 256 /* an error's extra headers (auth.h's are under 100 bytes) */
#define DISPOSITION_MAX 96

struct refusal {
	int status;
	const char *extra; /* extra_buf or NULL */
	char extra_buf[EXTRA_MAX];
	char msg[MSG_MAX];
};

struct export_req {
	int table; /* enum kp_tides_table, -1 for no such file */
	struct kp_query q;
	uint32_t from, to;
};

/* The body of a 200: the producer, read piece by piece. */
struct export_body {
	struct kp_http_body b; /* first: the loop holds a pointer to it */
	struct kp_tides *t;
};

static int refuse(struct refusal *f, int status, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(struct refusal *f, int status, const char *extra, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
	f->status = status;
	f->extra = NULL;
	/* Copied: an auth refusal's Retry-After lives in the caller's frame. */
	if (extra != NULL && (size_t)snprintf(f->extra_buf, sizeof f->extra_buf, "%s", extra) < sizeof f->extra_buf)
		f->extra = f->extra_buf;
	return -1;
}

static int table_of(const char *path, size_t len)
{
	static const enum kp_tides_table tables[] = { KP_TIDES_FARE_TRANSACTIONS, KP_TIDES_PASSENGER_EVENTS };
	size_t plen = strlen(KP_EXPORT_PREFIX);

	if (len <= plen || memcmp(path, KP_EXPORT_PREFIX, plen) != 0)
		return -1;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		const char *name = kp_tides_file_name(tables[i]);

		if (len - plen == strlen(name) && memcmp(path + plen, name, len - plen) == 0)
			return (int)tables[i];
	}
	return -1;
}

/* Splits the URL and parses its query, refusing a token in it first. */
static int parse_request(const struct kp_http_request *req, struct export_req *er, struct refusal *f)
{
	char msg[KP_AUTH_MSG_MAX];
	const char *path;
	size_t path_len;

	if (kp_auth_target(req, &er->q, &path, &path_len, msg) != 0)
		return refuse(f, 400, NULL, "%s", msg);
	er->table = table_of(path, path_len);
	return 0;
}

static int parse_date(const struct kp_query *q, const char *key, uint32_t *out, struct refusal *f)
{
	const char *v = kp_query_get(q, key);

	if (v != NULL && st_date_parse(v, out) != 0)
		return refuse(f, 400, NULL, "%s: '%s' is not a date (YYYY-MM-DD)", key, v);
	return 0;
}

/* from and to, the only parameters, with the defaults and limits of
 * /v1/ridership (api.c). */
static int range_of(struct st_db *db, struct export_req *er, struct refusal *f)
{
	struct st_when today;

	for (size_t i = 0; i < er->q.n; i++)
		if (strcmp(er->q.p[i].key, "from") != 0 && strcmp(er->q.p[i].key, "to") != 0)
			return refuse(f, 400, NULL, "unknown query parameter '%s'", er->q.p[i].key);
	if (parse_date(&er->q, "from", &er->from, f) || parse_date(&er->q, "to", &er->to, f))
		return -1;
	if (kp_query_get(&er->q, "to") == NULL) {
		if (st_service_day(st_db_zone(db), kp_now_ms(), st_db_options(db)->service_day_start_hour, &today) != 0)
			return refuse(f, 500, NULL, "cannot tell today's service date");
		er->to = today.service_date;
	}
	if (kp_query_get(&er->q, "from") == NULL)
		er->from = er->to;
	if (er->from > er->to)
		return refuse(f, 400, NULL, "from is after to");
	if (st_date_days(er->to) - st_date_days(er->from) >= KP_API_RANGE_DAYS_MAX)
		return refuse(f, 400, NULL, "from..to spans more than %d days; ask for less at a time",
		              KP_API_RANGE_DAYS_MAX);
	return 0;
}

/* Checks the token and the request, and opens the export, in one read
 * transaction. */
static int open_export(const struct kp_http_ctx *ctx, const struct kp_http_request *req, struct export_req *er,
                       struct kp_tides **t, struct refusal *f)
{
	struct kp_auth_refusal why;
	struct st_read r;
	int bad = 0, rc;

	if (ctx->db == NULL)
		return refuse(f, 503, NULL, "no database");
	if (st_read_begin(ctx->db, &r) != ST_OK)
		return refuse(f, 503, "Retry-After: 1\r\n", "cannot read the database now");
	if (kp_auth_check(ctx, &r, req, ST_TOKEN_EXPORT, &why) != 0)
		bad = refuse(f, why.status, why.extra, "%s", why.msg);
	if (!bad && er->table < 0)
		bad = refuse(f, 404, NULL, "no such export; try %sfare_transactions.csv or %spassenger_events.csv",
		             KP_EXPORT_PREFIX, KP_EXPORT_PREFIX);
	if (!bad)
		bad = range_of(ctx->db, er, f);
	/* The date index of every frame ACKed (storage/derive.h), derived only
	 * for an authorised request. */
	if (!bad && st_read_current(&r) != ST_OK)
		return refuse(f, 503, "Retry-After: 1\r\n", "cannot read the database now");
	if (!bad) {
		rc = kp_tides_open(&r, (enum kp_tides_table)er->table, er->from, er->to, t);
		if (rc == ST_ESTOP)
			bad = refuse(f, 500, NULL, "out of memory");
		else if (rc != ST_OK)
			bad = refuse(f, 500, NULL, "reading the log: %s", st_strerror(rc));
	}
	st_read_end(&r);
	return bad;
}

static ssize_t body_read(struct kp_http_body *b, char *buf, size_t cap)
{
	return kp_tides_read(((struct export_body *)b)->t, buf, cap);
}

static void body_close(struct kp_http_body *b)
{
	kp_tides_close(((struct export_body *)b)->t);
	free(b);
}

/* The head of a 200 and, unless head_only, its body; takes t. */
static int respond_ok(const struct export_req *er, struct kp_tides *t, int head_only,
                      struct kp_http_response *out)
{
	char disposition[DISPOSITION_MAX];
	struct export_body *eb = NULL;

	snprintf(disposition, sizeof disposition, "Content-Disposition: attachment; filename=\"%s\"\r\n",
	         kp_tides_file_name((enum kp_tides_table)er->table));
	if (!head_only) {
		eb = malloc(sizeof *eb);
		if (eb == NULL)
			goto oom;
		*eb = (struct export_body){ .b = { .read = body_read, .close = body_close }, .t = t };
	}
	out->head = kp_http_head(200, KP_EXPORT_CSV_TYPE, NULL, disposition, -1, &out->len);
	if (out->head == NULL)
		goto oom;
	if (head_only)
		kp_tides_close(t);
	out->body = eb ? &eb->b : NULL;
	return 0;
oom:
	free(eb);
	kp_tides_close(t);
	return -1;
}

int kp_export_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                      struct kp_http_response *out)
{
	struct export_req er = { .table = -1 };
	struct refusal f = { 0 };
	struct kp_tides *t = NULL;

	memset(out, 0, sizeof *out);
	if (parse_request(req, &er, &f) != 0 || open_export(ctx, req, &er, &t, &f) != 0) {
		out->head = kp_api_error(f.status, f.msg, f.extra, head_only, &out->len);
		return out->head != NULL ? 0 : -1;
	}
	return respond_ok(&er, t, head_only, out);
}
