/*
 * handoff_file.c — collecting, writing and reading a hand-over of devices
 * (handoff_file.h).
 */
#include "tools/handoff_file.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/hex.h"
#include "opendata/signed_file.h"
#include "storage/devices.h"
#include "storage/once.h"
#include "tools/json_out.h"

/* Ids and watermarks go through JSON numbers (doubles): exact up to 2^53. */
#define EXACT_MAX 9007199254740992.0
/* A hand-over of every device of a large fleet stays far below this. */
#define HANDOFF_FILE_MAX (512u << 20)

static int dev_cmp(const void *a, const void *b)
{
	const struct kp_handoff_dev *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int u64_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static struct kp_handoff_dev *add_dev(struct kp_handoff *h, uint64_t id, uint64_t watermark)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct kp_handoff_dev *v = realloc(h->devs, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		h->devs = v;
		h->cap = cap;
	}
	h->devs[h->n] = (struct kp_handoff_dev){ .id = id, .watermark = watermark };
	return &h->devs[h->n++];
}

static int add_above(struct kp_handoff_dev *d, uint64_t batch_seq)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		uint64_t *v = realloc(d->above, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		d->above = v;
		d->cap = cap;
	}
	d->above[d->n++] = batch_seq;
	return 0;
}

static struct kp_handoff_dev *find_dev(const struct kp_handoff *h, uint64_t id)
{
	struct kp_handoff_dev key = { .id = id };

	return h->n ? bsearch(&key, h->devs, h->n, sizeof(key), dev_cmp) : NULL;
}

struct collecting {
	struct kp_handoff *h;
	struct st_read *r;
	int rc;
};

/* st_device_foreach: the devices that move, with their watermark. */
static int collect_dev(void *ctx, const struct st_device *dev)
{
	struct collecting *c = ctx;
	uint64_t w;

	if (dev->kind == ST_KIND_NVR || !kp_partition_owns(&c->h->from, dev->id) || !kp_partition_owns(&c->h->to, dev->id))
		return 0;
	c->rc = st_once_watermark(c->r, dev->id, &w);
	if (c->rc != ST_OK)
		return 1;
	return add_dev(c->h, dev->id, w) == NULL;
}

/* A frame stored here (or handed here before) above a moving device's W. */
static int collect_above(void *ctx, uint64_t device_id, uint64_t batch_seq)
{
	struct collecting *c = ctx;
	struct kp_handoff_dev *d = find_dev(c->h, device_id);

	if (d == NULL || batch_seq <= d->watermark)
		return 0;
	return add_above(d, batch_seq);
}

static int collect_once(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq)
{
	(void)seq;
	return collect_above(ctx, device_id, batch_seq);
}

int kp_handoff_collect(struct st_db *db, const struct kp_partition *from, const struct kp_partition *to,
                       struct kp_handoff *h, char err[OD_ERR_SIZE])
{
	struct st_read r;
	struct collecting c = { h, &r, ST_OK };
	int rc;

	h->from = *from;
	h->to = *to;
	rc = st_read_begin(db, &r);
	if (rc != ST_OK) {
		snprintf(err, OD_ERR_SIZE, "reading the database: %s", st_strerror(rc));
		return -1;
	}
	rc = st_device_foreach(&r, collect_dev, &c);
	if (rc == ST_OK && h->n > 0) {
		qsort(h->devs, h->n, sizeof(*h->devs), dev_cmp);
		rc = st_once_foreach(&r, collect_once, &c);
	}
	if (rc == ST_OK && h->n > 0)
		rc = st_handoff_foreach_frame(&r, collect_above, &c);
	st_read_end(&r);
	if (rc == ST_ESTOP && c.rc != ST_OK)
		rc = c.rc;
	if (rc != ST_OK) {
		snprintf(err, OD_ERR_SIZE, "reading the once-only state: %s",
		         rc == ST_ESTOP ? "out of memory" : st_strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->devs[i].n > 1)
			qsort(h->devs[i].above, h->devs[i].n, sizeof(uint64_t), u64_cmp);
	return 0;
}

/* ---- writing ---- */

static cJSON *dev_json(const struct kp_handoff_dev *d)
{
	char hex[KP_DEVICE_ID_TEXT_SIZE], num[24];
	cJSON *o = cJSON_CreateObject();
	cJSON *above = cJSON_AddArrayToObject(o, "above");
	int ok;

	kp_device_id_format(d->id, hex);
	ok = o != NULL && above != NULL && json_add_str(o, "device", hex) == 0 &&
	     json_add_u64(o, "watermark", d->watermark) == 0;
	for (size_t i = 0; ok && i < d->n; i++) {
		snprintf(num, sizeof(num), "%" PRIu64, d->above[i]);
		ok = cJSON_AddItemToArray(above, cJSON_CreateRaw(num));
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static char *handoff_text(const struct kp_handoff *h, int64_t now_ms)
{
	char from[KP_PARTITION_TEXT_SIZE], to[KP_PARTITION_TEXT_SIZE];
	cJSON *doc = cJSON_CreateObject();
	cJSON *devs;
	char *text = NULL;
	int ok;

	kp_partition_format(&h->from, from);
	kp_partition_format(&h->to, to);
	ok = doc != NULL && json_add_str(doc, "format", KP_HANDOFF_FORMAT) == 0 && json_add_str(doc, "from", from) == 0 &&
	     json_add_str(doc, "to", to) == 0 && json_add_i64(doc, "created", now_ms) == 0 &&
	     (devs = cJSON_AddArrayToObject(doc, "devices")) != NULL;
	for (size_t i = 0; ok && i < h->n; i++)
		ok = cJSON_AddItemToArray(devs, dev_json(&h->devs[i]));
	if (ok)
		text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

int kp_handoff_write(const struct kp_handoff *h, const uint8_t sk[OD_MINISIGN_SK_SIZE], const char *path,
                     int64_t now_ms, char err[OD_ERR_SIZE])
{
	char from[KP_PARTITION_TEXT_SIZE], to[KP_PARTITION_TEXT_SIZE], comment[64];
	char *text;
	int rc;

	for (size_t i = 0; i < h->n; i++) {
		const struct kp_handoff_dev *d = &h->devs[i];

		if ((double)d->watermark > EXACT_MAX || (d->n && (double)d->above[d->n - 1] > EXACT_MAX)) {
			snprintf(err, OD_ERR_SIZE, "device %016" PRIx64 ": a batch number above 2^53", d->id);
			return -1;
		}
	}
	text = handoff_text(h, now_ms);
	if (text == NULL) {
		snprintf(err, OD_ERR_SIZE, "out of memory");
		return -1;
	}
	kp_partition_format(&h->from, from);
	kp_partition_format(&h->to, to);
	snprintf(comment, sizeof(comment), "komposter handoff %s to %s", from, to);
	rc = od_signed_write(path, text, comment, sk, err);
	cJSON_free(text);
	return rc;
}

/* ---- reading ---- */

static int whole_number(const cJSON *j, uint64_t *out)
{
	if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > EXACT_MAX ||
	    floor(j->valuedouble) != j->valuedouble)
		return -1;
	*out = (uint64_t)j->valuedouble;
	return 0;
}

static int read_header(const char *path, const cJSON *doc, const struct kp_partition *to, struct kp_handoff *h,
                       char err[OD_ERR_SIZE])
{
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(doc, "from");
	const cJSON *dest = cJSON_GetObjectItemCaseSensitive(doc, "to");
	struct kp_partition p;
	char want[KP_PARTITION_TEXT_SIZE];

	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, KP_HANDOFF_FORMAT) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: not a %s file", path, KP_HANDOFF_FORMAT);
		return -1;
	}
	if (!cJSON_IsString(from) || kp_partition_parse(from->valuestring, &h->from) != 0 ||
	    !cJSON_IsString(dest) || kp_partition_parse(dest->valuestring, &p) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: no partitions K/N 'from' and 'to'", path);
		return -1;
	}
	if (p.k != to->k || p.n != to->n) {
		kp_partition_format(to, want);
		snprintf(err, OD_ERR_SIZE, "%.160s: hands devices to %s, this instance is %s", path, dest->valuestring,
		         want);
		return -1;
	}
	h->to = p;
	return 0;
}

static int read_dev(const char *path, const cJSON *o, const struct kp_partition *to, struct kp_handoff *h,
                    char err[OD_ERR_SIZE])
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "device");
	const cJSON *above = cJSON_GetObjectItemCaseSensitive(o, "above");
	const cJSON *b;
	struct kp_handoff_dev *d;
	uint64_t dev, w, seq;

	if (!cJSON_IsString(id) || kp_device_id_parse_canonical(id->valuestring, &dev) != 0 ||
	    whole_number(cJSON_GetObjectItemCaseSensitive(o, "watermark"), &w) != 0 || !cJSON_IsArray(above)) {
		snprintf(err, OD_ERR_SIZE, "%.160s: a device without its id, watermark or frames", path);
		return -1;
	}
	if (!kp_partition_owns(to, dev)) {
		snprintf(err, OD_ERR_SIZE, "%.160s: device %s is instance %" PRIu32 "'s of %" PRIu32 ", not %" PRIu32,
		         path, id->valuestring, kp_partition_owner(dev, to->n), to->n, to->k);
		return -1;
	}
	d = add_dev(h, dev, w);
	if (d == NULL) {
		snprintf(err, OD_ERR_SIZE, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(b, above) {
		if (whole_number(b, &seq) != 0 || seq <= (d->n ? d->above[d->n - 1] : w)) {
			snprintf(err, OD_ERR_SIZE, "%.160s: device %s: frames not increasing above its watermark", path,
			         id->valuestring);
			return -1;
		}
		if (add_above(d, seq) != 0) {
			snprintf(err, OD_ERR_SIZE, "out of memory");
			return -1;
		}
	}
	return 0;
}

int kp_handoff_read(const char *path, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                    const struct kp_partition *to, struct kp_handoff *h, char err[OD_ERR_SIZE])
{
	const cJSON *devs, *o;
	cJSON *doc;
	char *text;
	size_t len;
	int rc;

	if (od_signed_read(path, HANDOFF_FILE_MAX, pks, npk, &text, &len, err) != 0)
		return -1;
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (doc == NULL) {
		snprintf(err, OD_ERR_SIZE, "%.160s: not JSON", path);
		return -1;
	}
	rc = read_header(path, doc, to, h, err);
	devs = cJSON_GetObjectItemCaseSensitive(doc, "devices");
	if (rc == 0 && !cJSON_IsArray(devs)) {
		snprintf(err, OD_ERR_SIZE, "%.160s: no devices", path);
		rc = -1;
	}
	if (rc == 0) {
		cJSON_ArrayForEach(o, devs) {
			rc = read_dev(path, o, to, h, err);
			if (rc != 0)
				break;
		}
	}
	cJSON_Delete(doc);
	return rc;
}

int kp_handoff_sort_unique(struct kp_handoff *h, char err[OD_ERR_SIZE])
{
	if (h->n > 0)
		qsort(h->devs, h->n, sizeof(*h->devs), dev_cmp);
	for (size_t i = 1; i < h->n; i++) {
		if (h->devs[i].id == h->devs[i - 1].id) {
			snprintf(err, OD_ERR_SIZE, "device %016" PRIx64 " is handed over twice", h->devs[i].id);
			return -1;
		}
	}
	return 0;
}

struct st_handoff *kp_handoff_entries(const struct kp_handoff *h)
{
	struct st_handoff *v = calloc(h->n ? h->n : 1, sizeof(*v));

	for (size_t i = 0; v != NULL && i < h->n; i++)
		v[i] = (struct st_handoff){ h->devs[i].id, h->devs[i].watermark, h->devs[i].above, h->devs[i].n };
	return v;
}

void kp_handoff_free(struct kp_handoff *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->devs[i].above);
	free(h->devs);
	h->devs = NULL;
	h->n = h->cap = 0;
}
