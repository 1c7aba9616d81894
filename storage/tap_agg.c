/*
 * tap_agg.c — tap aggregates per (service date, hour, route, stop, fare).
 *
 * Why it is built this way: the key is big-endian and fixed at 15 bytes, so
 * LMDB keeps cells in (date, hour, route, stop, fare) order and a date range
 * is one cursor walk. Values are three little-endian u64 counters, updated
 * by read-add-write inside the writer's transaction, so they commit or
 * vanish together with the log entries they count. Which cell a tap counts
 * in is decided in one place (st_tap_agg_of) that the writer and st_check
 * share.
 *
 * The writer sums a commit group's cells in memory first (st_tap_agg_batch):
 * frames of one route and hour count in the same cells, so a group of many
 * frames reads and writes each cell once, in key order, through one cursor
 * that finds it once for the read and the write (the read-add-write per
 * frame's cell was the writer's largest cost after the sync, perf,
 * docs/PERFORMANCE.md session 10).
 */
#include "storage/tap_agg.h"

#include <stdlib.h>
#include <string.h>

#include "storage/db_internal.h"
#include "storage/grow.h"
#include "storage/service_day.h"

#define K_DATE 0
#define K_HOUR 4
#define K_ROUTE 5
#define K_STOP 9
#define K_FARE 13
#define V_ACCEPTED 0
#define V_DENIED 8
#define V_AMOUNT 16

void st_tap_agg_key_encode(const struct st_tap_agg_key *k, uint8_t out[ST_TAP_AGG_KEY_SIZE])
{
	kp_store_u32be(out + K_DATE, k->service_date);
	out[K_HOUR] = k->hour;
	kp_store_u32be(out + K_ROUTE, k->route_id);
	kp_store_u32be(out + K_STOP, k->stop_id);
	kp_store_u16be(out + K_FARE, k->fare_product);
}

void st_tap_agg_key_decode(const uint8_t in[ST_TAP_AGG_KEY_SIZE], struct st_tap_agg_key *k)
{
	k->service_date = kp_load_u32be(in + K_DATE);
	k->hour = in[K_HOUR];
	k->route_id = kp_load_u32be(in + K_ROUTE);
	k->stop_id = kp_load_u32be(in + K_STOP);
	k->fare_product = kp_load_u16be(in + K_FARE);
}

void st_tap_agg_val_encode(const struct st_tap_agg_val *v, uint8_t out[ST_TAP_AGG_VAL_SIZE])
{
	kp_store_u64le(out + V_ACCEPTED, v->accepted);
	kp_store_u64le(out + V_DENIED, v->denied);
	kp_store_u64le(out + V_AMOUNT, v->amount);
}

void st_tap_agg_val_decode(const uint8_t in[ST_TAP_AGG_VAL_SIZE], struct st_tap_agg_val *v)
{
	v->accepted = kp_load_u64le(in + V_ACCEPTED);
	v->denied = kp_load_u64le(in + V_DENIED);
	v->amount = kp_load_u64le(in + V_AMOUNT);
}

int st_tap_agg_of(const struct kp_tap *t, const struct st_zone *zone, int start_hour,
                  struct st_tap_agg_key *k, struct st_tap_agg_val *v)
{
	struct st_when when;

	if (st_service_day(zone, t->tapped_at, start_hour, &when) != 0)
		return -1;
	k->service_date = when.service_date;
	k->hour = when.hour;
	k->route_id = t->route_id;
	k->stop_id = t->stop_id;
	k->fare_product = t->fare_product;
	*v = (struct st_tap_agg_val){0};
	if (t->result == KP_TAP_ACCEPTED) {
		v->accepted = 1;
		v->amount = t->amount;
	} else {
		v->denied = 1;
	}
	return 0;
}

struct cell_visit {
	uint32_t date_to;
	int (*fn)(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v);
	void *ctx;
};

static int visit_cell(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val)
{
	const struct cell_visit *cv = ctx;
	struct st_tap_agg_key k;
	struct st_tap_agg_val v;

	if (key->mv_size != ST_TAP_AGG_KEY_SIZE || val->mv_size != ST_TAP_AGG_VAL_SIZE)
		return ST_ECORRUPT;
	st_tap_agg_key_decode(key->mv_data, &k);
	if (k.service_date > cv->date_to)
		return ST_WALK_DONE;
	st_tap_agg_val_decode(val->mv_data, &v);
	return cv->fn(cv->ctx, &k, &v) != 0 ? ST_ESTOP : ST_OK;
}

int st_tap_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                       int (*fn)(void *ctx, const struct st_tap_agg_key *k,
                                 const struct st_tap_agg_val *v),
                       void *ctx)
{
	uint8_t kb[ST_TAP_AGG_KEY_SIZE] = {0};
	MDB_val from = {sizeof kb, kb};
	struct cell_visit cv = {date_to, fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	kp_store_u32be(kb + K_DATE, date_from);
	return st_walk(r->txn, r->db->dbi.tap_agg, &from, visit_cell, &cv);
}

void st_tap_agg_batch_clear(struct st_tap_agg_batch *b)
{
	b->n = 0;
}

void st_tap_agg_batch_free(struct st_tap_agg_batch *b)
{
	free(b->a);
	*b = (struct st_tap_agg_batch){0};
}

int st_tap_agg_batch_add(struct st_tap_agg_batch *b, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	if (b->n == b->cap && st_grow((void **)&b->a, &b->cap, 256, sizeof *b->a) != ST_OK)
		return ST_EIO;
	st_tap_agg_key_encode(k, b->a[b->n].key);
	b->a[b->n++].v = *v;
	return ST_OK;
}

static int note_cmp(const void *x, const void *y)
{
	return memcmp(((const struct st_tap_agg_note *)x)->key, ((const struct st_tap_agg_note *)y)->key,
	              ST_TAP_AGG_KEY_SIZE);
}

/* The batch sorted and each cell's notes summed into its first. */
static size_t batch_sum(struct st_tap_agg_batch *b)
{
	size_t out = 0;

	qsort(b->a, b->n, sizeof *b->a, note_cmp);
	for (size_t i = 1; i < b->n; i++) {
		struct st_tap_agg_val *sum = &b->a[out].v;

		if (memcmp(b->a[out].key, b->a[i].key, ST_TAP_AGG_KEY_SIZE) != 0) {
			b->a[++out] = b->a[i];
			continue;
		}
		sum->accepted += b->a[i].v.accepted;
		sum->denied += b->a[i].v.denied;
		sum->amount += b->a[i].v.amount;
	}
	return out + 1;
}

/* Adds one summed cell through cur: found, it is replaced where the cursor
 * stands; new, it is put. */
static int cursor_add(MDB_cursor *cur, const struct st_tap_agg_note *note)
{
	uint8_t vb[ST_TAP_AGG_VAL_SIZE];
	MDB_val key = {ST_TAP_AGG_KEY_SIZE, (void *)note->key}, val;
	struct st_tap_agg_val sum = {0};
	unsigned flags = 0;
	int rc = st_status(mdb_cursor_get(cur, &key, &val, MDB_SET_KEY));

	if (rc == ST_OK && val.mv_size != ST_TAP_AGG_VAL_SIZE)
		return ST_ECORRUPT;
	if (rc == ST_OK) {
		st_tap_agg_val_decode(val.mv_data, &sum);
		flags = MDB_CURRENT;
	} else if (rc != ST_ENOTFOUND) {
		return rc;
	}
	sum.accepted += note->v.accepted;
	sum.denied += note->v.denied;
	sum.amount += note->v.amount;
	st_tap_agg_val_encode(&sum, vb);
	key = (MDB_val){ST_TAP_AGG_KEY_SIZE, (void *)note->key};
	val = (MDB_val){sizeof vb, vb};
	return st_status(mdb_cursor_put(cur, &key, &val, flags));
}

int st_tap_agg_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_tap_agg_batch *b)
{
	MDB_cursor *cur;
	size_t n;
	int rc;

	if (b->n == 0)
		return ST_OK;
	n = batch_sum(b);
	st_tap_agg_batch_clear(b);
	rc = st_status(mdb_cursor_open(txn, dbi, &cur));
	if (rc != ST_OK)
		return rc;
	for (size_t i = 0; i < n && rc == ST_OK; i++)
		rc = cursor_add(cur, &b->a[i]);
	mdb_cursor_close(cur);
	return rc;
}
