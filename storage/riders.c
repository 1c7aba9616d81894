/*
 * riders.c — distinct-rider sketches per (service date, route) (riders.h).
 *
 * Why it is built this way: a sketch is up to 16 KiB, so the writer must
 * not read, parse and rewrite one per tap. A commit group notes each
 * accepted tap's (date, route, hash) and (date, all, hash) in a batch
 * owned by the db (grown, never shrunk, so a steady writer allocates
 * nothing); at the end of the group riders_defer.c adds them to the
 * sketches it holds in memory and writes those (riders.h, "Deferred").
 * st_check uses the same batch to recompute the sketches from the log,
 * compacting it (sort, drop repeats) whenever it fills, so its memory
 * follows the distinct riders, not the taps.
 */
#include "storage/riders.h"

#include <stdlib.h>

#include "firmware-proto/frame.h"
#include "storage/db_internal.h"
#include "storage/grow.h"
#include "storage/log.h"

#define BATCH_INITIAL 1024

void st_riders_key(uint8_t out[ST_RIDERS_KEY_SIZE], uint32_t date, uint32_t route)
{
	kp_store_u32be(out, date);
	kp_store_u32be(out + 4, route);
}

void st_riders_batch_clear(struct st_riders_batch *b)
{
	b->n = 0;
}

void st_riders_batch_free(struct st_riders_batch *b)
{
	free(b->a);
	*b = (struct st_riders_batch){0};
}

static int note_cmp(const void *x, const void *y)
{
	const struct st_riders_note *a = x, *b = y;

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	if (a->route != b->route)
		return a->route < b->route ? -1 : 1;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return 0;
}

void st_riders_batch_sort(struct st_riders_batch *b)
{
	size_t out = 0;

	if (b->n == 0)
		return;
	qsort(b->a, b->n, sizeof *b->a, note_cmp);
	for (size_t i = 1; i < b->n; i++)
		if (note_cmp(&b->a[out], &b->a[i]) != 0)
			b->a[++out] = b->a[i];
	b->n = out + 1;
}

static int batch_push(struct st_riders_batch *b, uint32_t date, uint32_t route, uint64_t hash)
{
	/* Full: drop the repeats, and grow unless that freed half of it (else
	 * a log of few repeats would be sorted again every few notes). */
	if (b->n == b->cap) {
		st_riders_batch_sort(b);
		if (b->n >= b->cap / 2 && st_grow((void **)&b->a, &b->cap, BATCH_INITIAL, sizeof *b->a) != ST_OK)
			return ST_EIO;
	}
	b->a[b->n++] = (struct st_riders_note){date, route, hash};
	return ST_OK;
}

int st_riders_batch_note(struct st_riders_batch *b, uint32_t date, uint32_t route,
                         const uint8_t pseudonym[ST_PSEUDONYM_SIZE])
{
	uint64_t hash = kp_load_u64le(pseudonym);
	int rc = ST_OK;

	if (route != ST_RIDERS_ALL)
		rc = batch_push(b, date, route, hash);
	if (rc == ST_OK)
		rc = batch_push(b, date, ST_RIDERS_ALL, hash);
	return rc;
}

size_t st_riders_batch_cell(const struct st_riders_batch *b, size_t i, struct st_hll *h, int *changed)
{
	const struct st_riders_note *first = &b->a[i];
	int any = 0;

	for (; i < b->n && b->a[i].date == first->date && b->a[i].route == first->route; i++)
		any |= st_hll_add(h, b->a[i].hash);
	if (changed)
		*changed = any;
	return i;
}

int st_riders_sketch_get(struct st_read *r, uint32_t date, uint32_t route, uint8_t *buf, size_t cap,
                         size_t *len)
{
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	if (!r || !r->txn || !buf || !len)
		return ST_EINVAL;
	st_riders_key(kb, date, route);
	rc = st_status(mdb_get(r->txn, r->db->dbi.riders, &k, &v));
	if (rc != ST_OK)
		return rc;
	if (v.mv_size > cap)
		return ST_EINVAL;
	memcpy(buf, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return ST_OK;
}

static int estimate_of(const void *bytes, size_t len, double *estimate)
{
	struct st_hll *h = malloc(sizeof *h);
	int rc = ST_OK;

	if (!h)
		return ST_EIO;
	if (st_hll_parse(bytes, len, h) != 0)
		rc = ST_ECORRUPT;
	else
		*estimate = st_hll_estimate(h);
	free(h);
	return rc;
}

int st_riders_estimate(struct st_read *r, uint32_t date, uint32_t route, double *estimate)
{
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	if (!r || !r->txn || !estimate)
		return ST_EINVAL;
	st_riders_key(kb, date, route);
	rc = st_status(mdb_get(r->txn, r->db->dbi.riders, &k, &v));
	if (rc == ST_ENOTFOUND) {
		*estimate = 0;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	return estimate_of(v.mv_data, v.mv_size, estimate);
}

int st_riders_merge_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                          size_t cap, size_t *len)
{
	struct st_hll *h;
	int rc = ST_OK;

	if (!a || !b || !out || !len)
		return ST_EINVAL;
	h = malloc(sizeof *h);
	if (!h)
		return ST_EIO;
	if (st_hll_parse(a, a_len, h) != 0 || st_hll_merge_bytes(h, b, b_len) != 0)
		rc = ST_ECORRUPT;
	else if (st_hll_serialize(h, out, cap, len) != 0)
		rc = ST_EINVAL;
	free(h);
	return rc;
}

struct riders_visit {
	uint32_t date_to;
	int (*fn)(void *ctx, uint32_t date, uint32_t route, double estimate);
	void *ctx;
};

static int visit_cell(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val)
{
	const struct riders_visit *rv = ctx;
	uint32_t date;
	double e = 0;
	int rc;

	(void)cur;
	if (key->mv_size != ST_RIDERS_KEY_SIZE)
		return ST_ECORRUPT;
	date = kp_load_u32be(key->mv_data);
	if (date > rv->date_to)
		return ST_WALK_DONE;
	rc = estimate_of(val->mv_data, val->mv_size, &e);
	if (rc != ST_OK)
		return rc;
	return rv->fn(rv->ctx, date, kp_load_u32be((const uint8_t *)key->mv_data + 4), e) != 0 ? ST_ESTOP : ST_OK;
}

int st_riders_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                      int (*fn)(void *ctx, uint32_t date, uint32_t route, double estimate), void *ctx)
{
	struct riders_visit rv = {date_to, fn, ctx};
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val from = {sizeof kb, kb};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	st_riders_key(kb, date_from, 0);
	return st_walk(r->txn, r->db->dbi.riders, &from, visit_cell, &rv);
}
