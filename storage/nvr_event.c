/*
 * nvr_event.c — the rows of NVR events (nvr.h): one per (camera, object),
 * holding its latest message, for an operator looking up a disputed count.
 *
 * Why it is built this way: rows are keyed by camera ‖ 0 ‖ start ‖ id, so
 * one camera's rows are adjacent and in start order, and "what did camera C
 * see between t1 and t2" is one cursor walk from (C, t1). The start is a
 * time key (st_time_key: big-endian with the sign bit flipped) so the byte
 * order is the numeric order. An object keeps its row because Frigate keeps
 * an object's start_time in every message of it: a later message lands on
 * the same key and replaces the row. The value is a fixed-size
 * little-endian layout written field by field.
 *
 * nvr_events value (344 bytes): type u8, false_positive u8, has_clip u8,
 *   reserved[5] = 0, end LE8, received_at LE8, label[64], zones[256]
 *   (NUL-padded).
 */
#include "storage/nvr.h"

#include <stdbool.h>

#include "storage/db_internal.h"

#define EV_VAL_SIZE 344
#define EV_TYPE 0
#define EV_FALSE_POSITIVE 1
#define EV_HAS_CLIP 2
#define EV_RESERVED 3
#define EV_RESERVED_SIZE 5
#define EV_END 8
#define EV_RECEIVED 16
#define EV_LABEL 24
#define EV_ZONES (EV_LABEL + ST_NVR_LABEL_MAX + 1)

_Static_assert(EV_ZONES + ST_NVR_ZONES_MAX + 1 == EV_VAL_SIZE, "event row layout");

#define EV_KEY_MAX (ST_CAMERA_NAME_MAX + 1 + 8 + ST_NVR_ID_MAX)

/* camera ‖ 0 ‖ start: the prefix of a row's key, and where a walk starts. */
static size_t key_prefix(uint8_t *out, const char *camera, size_t camera_len, int64_t start)
{
	memcpy(out, camera, camera_len);
	out[camera_len] = 0;
	st_time_key(out + camera_len + 1, start);
	return camera_len + 1 + 8;
}

static void row_encode(const struct st_nvr_event *ev, uint8_t out[EV_VAL_SIZE])
{
	memset(out, 0, EV_VAL_SIZE);
	out[EV_TYPE] = ev->type;
	out[EV_FALSE_POSITIVE] = ev->false_positive;
	out[EV_HAS_CLIP] = ev->has_clip;
	kp_store_u64le(out + EV_END, (uint64_t)ev->end);
	kp_store_u64le(out + EV_RECEIVED, (uint64_t)ev->received_at);
	memcpy(out + EV_LABEL, ev->label, strlen(ev->label));
	memcpy(out + EV_ZONES, ev->zones, strlen(ev->zones));
}

int st_nvr_event_put(MDB_txn *txn, MDB_dbi dbi, const struct st_nvr_event *ev)
{
	uint8_t kb[EV_KEY_MAX];
	uint8_t vb[EV_VAL_SIZE];
	size_t cl = strlen(ev->camera), il = strlen(ev->id); /* st_nvr_commit checked both */
	size_t len = key_prefix(kb, ev->camera, cl, ev->start);
	MDB_val k = {len + il, kb};
	MDB_val v = {sizeof vb, vb};

	memcpy(kb + len, ev->id, il);
	row_encode(ev, vb);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Decodes a stored row into ev (want, cell and counted 0). */
static int row_decode(const MDB_val *k, const MDB_val *v, struct st_nvr_event *ev)
{
	const uint8_t *kp = k->mv_data, *p = v->mv_data;
	const uint8_t *nul = k->mv_size ? memchr(kp, 0, k->mv_size) : NULL;
	size_t cl = nul ? (size_t)(nul - kp) : 0;
	size_t il = nul && k->mv_size > cl + 1 + 8 ? k->mv_size - cl - 1 - 8 : 0;

	if (cl == 0 || cl > ST_CAMERA_NAME_MAX || il == 0 || il > ST_NVR_ID_MAX || memchr(kp + cl + 9, 0, il) ||
	    v->mv_size != EV_VAL_SIZE || !all_zero(p + EV_RESERVED, EV_RESERVED_SIZE) ||
	    p[EV_LABEL + ST_NVR_LABEL_MAX] != 0 || p[EV_ZONES + ST_NVR_ZONES_MAX] != 0 || p[EV_TYPE] > ST_NVR_END ||
	    p[EV_FALSE_POSITIVE] > 1 || p[EV_HAS_CLIP] > 1)
		return ST_ECORRUPT;
	memset(ev, 0, sizeof *ev);
	memcpy(ev->camera, kp, cl);
	ev->start = st_time_of_key(kp + cl + 1);
	memcpy(ev->id, kp + cl + 9, il);
	ev->type = p[EV_TYPE];
	ev->false_positive = p[EV_FALSE_POSITIVE];
	ev->has_clip = p[EV_HAS_CLIP];
	ev->end = (int64_t)kp_load_u64le(p + EV_END);
	ev->received_at = (int64_t)kp_load_u64le(p + EV_RECEIVED);
	memcpy(ev->label, p + EV_LABEL, ST_NVR_LABEL_MAX + 1);
	memcpy(ev->zones, p + EV_ZONES, ST_NVR_ZONES_MAX + 1);
	return ST_OK;
}

int st_nvr_event_check_record(const MDB_val *k, const MDB_val *v)
{
	struct st_nvr_event ev;

	return row_decode(k, v, &ev);
}

struct event_visit {
	const uint8_t *camera; /* camera ‖ 0 */
	size_t camera_len;     /* with the 0 */
	int64_t to;
	int (*fn)(void *ctx, const struct st_nvr_event *ev);
	void *ctx;
	struct st_nvr_event ev;
};

static int visit_event(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct event_visit *w = ctx;
	int rc;

	(void)cur;
	if (k->mv_size < w->camera_len + 8 || memcmp(k->mv_data, w->camera, w->camera_len) != 0)
		return ST_WALK_DONE; /* past the camera's rows */
	if (st_time_of_key((const uint8_t *)k->mv_data + w->camera_len) >= w->to)
		return ST_WALK_DONE;
	rc = row_decode(k, v, &w->ev);
	if (rc == ST_OK && w->fn(w->ctx, &w->ev) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_nvr_event_foreach(struct st_read *r, const char *camera, int64_t from, int64_t to,
                         int (*fn)(void *ctx, const struct st_nvr_event *ev), void *ctx)
{
	uint8_t kb[ST_CAMERA_NAME_MAX + 1 + 8];
	MDB_val start = {0, kb};
	struct event_visit w = {.camera = kb, .to = to, .fn = fn, .ctx = ctx};
	size_t cl;

	if (!r || !r->txn || !camera || !fn)
		return ST_EINVAL;
	cl = strnlen(camera, ST_CAMERA_NAME_MAX + 1);
	if (cl == 0 || cl > ST_CAMERA_NAME_MAX)
		return ST_EINVAL;
	if (from >= to)
		return ST_OK;
	start.mv_size = key_prefix(kb, camera, cl, from);
	w.camera_len = cl + 1;
	return st_walk(r->txn, r->db->dbi.nvr_events, &start, visit_event, &w);
}

/* Keys of camera C are C ‖ 0 ‖ …, all below C ‖ 1: one seek there and one
 * step back finds the latest-started row without walking the others. */
int st_nvr_event_last(struct st_read *r, const char *camera, struct st_nvr_event *out)
{
	uint8_t kb[ST_CAMERA_NAME_MAX + 1];
	MDB_val k = {0, kb}, v;
	MDB_cursor *cur;
	size_t cl;
	int rc;

	if (!r || !r->txn || !camera || !out)
		return ST_EINVAL;
	cl = strnlen(camera, ST_CAMERA_NAME_MAX + 1);
	if (cl == 0 || cl > ST_CAMERA_NAME_MAX)
		return ST_EINVAL;
	memcpy(kb, camera, cl);
	kb[cl] = 1;
	k.mv_size = cl + 1;
	rc = st_status(mdb_cursor_open(r->txn, r->db->dbi.nvr_events, &cur));
	if (rc != ST_OK)
		return rc;
	rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE));
	if (rc == ST_OK || rc == ST_ENOTFOUND)
		rc = st_status(mdb_cursor_get(cur, &k, &v, rc == ST_ENOTFOUND ? MDB_LAST : MDB_PREV));
	if (rc == ST_OK && (k.mv_size <= cl + 1 || memcmp(k.mv_data, camera, cl) != 0 ||
	                    ((const uint8_t *)k.mv_data)[cl] != 0))
		rc = ST_ENOTFOUND;
	if (rc == ST_OK)
		rc = row_decode(&k, &v, out);
	mdb_cursor_close(cur);
	return rc;
}
