/*
 * epoch_keys.c — destroying epoch keys, the horizon, and listing.
 *
 * Why it is built this way: a tombstone per destroyed epoch keeps the
 * listing honest (when the key was made and when it was destroyed), and
 * the horizon is what the writer obeys: one record read per commit group
 * tells it that every epoch below is gone, including epochs that never had
 * a key (a tap from years ago must not make one that would live until the
 * next scheduled destruction). The horizon only rises.
 *
 * The tombstone replaces the key's record through the cursor that found
 * it, in the same transaction that raises the horizon, so a crash leaves
 * either the keys and the old horizon or neither; the commit is synced
 * like every write (the environment is not opened MDB_NOSYNC).
 */
#include "storage/epoch_keys.h"

#include <sodium.h>

#include "storage/db_internal.h"
#include "storage/service_day.h"

#define HORIZON_KEY "epoch_horizon"
#define HORIZON_SIZE 4

/* A yyyymmdd of a real calendar date (day 31 of April comes back as May 1). */
int st_epoch_date_valid(uint32_t date)
{
	unsigned m = date / 100 % 100, d = date % 100;

	return date >= 10000 && m >= 1 && m <= 12 && d >= 1 && d <= 31 &&
	       st_date_of_days(st_date_days(date)) == date;
}

int st_epoch_horizon_get(MDB_txn *txn, MDB_dbi meta, uint32_t *horizon)
{
	MDB_val k = {sizeof HORIZON_KEY - 1, (void *)HORIZON_KEY};
	MDB_val v;
	int rc = st_status(mdb_get(txn, meta, &k, &v));

	*horizon = 0;
	if (rc == ST_ENOTFOUND)
		return ST_OK;
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != HORIZON_SIZE)
		return ST_ECORRUPT;
	*horizon = kp_load_u32le(v.mv_data);
	return ST_OK;
}

int st_epoch_horizon_load(struct st_db *db, MDB_txn *txn)
{
	uint32_t horizon;
	int rc = st_epoch_horizon_get(txn, db->dbi.meta, &horizon);

	if (rc != ST_OK)
		return rc;
	if (horizon != db->epoch_horizon) {
		st_epoch_cache_clear(db);
		db->epoch_horizon = horizon;
	}
	return ST_OK;
}

static int horizon_put(MDB_txn *txn, MDB_dbi meta, uint32_t horizon)
{
	uint8_t buf[HORIZON_SIZE];
	MDB_val k = {sizeof HORIZON_KEY - 1, (void *)HORIZON_KEY};
	MDB_val v = {sizeof buf, buf};

	kp_store_u32le(buf, horizon);
	return st_status(mdb_put(txn, meta, &k, &v, 0));
}

int st_epoch_retention_before(struct st_db *db, int64_t now_ms, int retention_days, uint32_t *before)
{
	struct st_when w;

	if (!db || !before || retention_days < 1 || retention_days > ST_RETENTION_DAYS_MAX)
		return ST_EINVAL;
	if (st_service_day(db->zone, now_ms, db->opts.service_day_start_hour, &w) != 0)
		return ST_EINVAL;
	*before = st_date_of_days(st_date_days(w.service_date) - retention_days);
	return ST_OK;
}

struct destroy {
	struct st_db *db;
	uint32_t horizon; /* the first epoch kept */
	int64_t now_ms;
	struct st_epoch_destroyed out;
};

static int visit_destroy(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct destroy *d = ctx;
	uint8_t tomb[ST_EPOCH_TOMBSTONE_SIZE];
	uint8_t kb[ST_EPOCH_DATE_KEY_SIZE];
	MDB_val tk = {sizeof kb, kb}, tv = {sizeof tomb, tomb};
	uint32_t epoch;
	int rc;

	if (k->mv_size != ST_EPOCH_DATE_KEY_SIZE)
		return ST_ECORRUPT;
	epoch = kp_load_u32be(k->mv_data);
	if (epoch >= d->horizon)
		return ST_WALK_DONE;
	if (v->mv_size == ST_EPOCH_TOMBSTONE_SIZE)
		return ST_OK;
	if (v->mv_size != ST_EPOCH_KEY_RECORD_SIZE)
		return ST_ECORRUPT;
	/* A put of another size deletes and re-adds the record: the key and
	 * value k and v point at may move under it, so both are copied first. */
	memcpy(kb, k->mv_data, sizeof kb);
	memcpy(tomb, (const uint8_t *)v->mv_data + ST_EPOCH_KEY_SIZE, 8);
	kp_store_u64le(tomb + 8, (uint64_t)d->now_ms);
	rc = st_status(mdb_cursor_put(cur, &tk, &tv, MDB_CURRENT));
	if (rc != ST_OK)
		return rc;
	if (d->out.count++ == 0)
		d->out.first = epoch;
	d->out.last = epoch;
	return ST_OK;
}

static int destroy_txn(void *ctx, MDB_txn *txn)
{
	struct destroy *d = ctx;
	uint32_t old;
	int rc;

	d->out = (struct st_epoch_destroyed){0};
	rc = st_epoch_horizon_get(txn, d->db->dbi.meta, &old);
	if (rc != ST_OK)
		return rc;
	if (old > d->horizon)
		d->horizon = old;
	rc = st_walk(txn, d->db->dbi.epoch_keys, NULL, visit_destroy, d);
	if (rc == ST_OK && d->horizon != old)
		rc = horizon_put(txn, d->db->dbi.meta, d->horizon);
	d->out.horizon = d->horizon;
	return rc;
}

int st_epoch_keys_destroy_before(struct st_db *db, uint32_t before, int64_t now_ms,
                                 struct st_epoch_destroyed *out)
{
	struct destroy d = {.db = db, .now_ms = now_ms};
	int rc;

	if (!db || !st_epoch_date_valid(before))
		return ST_EINVAL;
	d.horizon = st_epoch_start(before, db->opts.epoch_period);
	rc = st_write_run(db, destroy_txn, &d, NULL);
	/* Whatever the outcome, no destroyed key may stay in memory. */
	st_epoch_cache_clear(db);
	if (rc == ST_OK) {
		db->epoch_horizon = d.horizon;
		if (out)
			*out = d.out;
	}
	return rc;
}

static int decode(const MDB_val *k, const MDB_val *v, struct st_epoch_key_info *info)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != ST_EPOCH_DATE_KEY_SIZE)
		return ST_ECORRUPT;
	info->epoch_date = kp_load_u32be(k->mv_data);
	if (v->mv_size == ST_EPOCH_KEY_RECORD_SIZE) {
		info->created_at = kp_load_i64le(p + ST_EPOCH_KEY_SIZE);
		info->destroyed_at = 0;
	} else if (v->mv_size == ST_EPOCH_TOMBSTONE_SIZE) {
		info->created_at = kp_load_i64le(p);
		info->destroyed_at = kp_load_i64le(p + 8);
	} else {
		return ST_ECORRUPT;
	}
	if (!st_epoch_date_valid(info->epoch_date))
		return ST_ECORRUPT;
	return ST_OK;
}

int st_epoch_key_check_record(const MDB_val *k, const MDB_val *v, uint32_t horizon)
{
	struct st_epoch_key_info info;
	int rc = decode(k, v, &info);

	if (rc == ST_OK && info.destroyed_at == 0 && info.epoch_date < horizon)
		rc = ST_ECORRUPT;
	return rc;
}

struct list {
	int (*fn)(void *ctx, const struct st_epoch_key_info *k);
	void *ctx;
};

static int visit_list(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct list *l = ctx;
	struct st_epoch_key_info info;
	int rc = decode(k, v, &info);

	(void)cur;
	if (rc != ST_OK)
		return rc;
	return l->fn(l->ctx, &info) == 0 ? ST_OK : ST_ESTOP;
}

int st_epoch_keys_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_epoch_key_info *k),
                          void *ctx)
{
	struct list l = {fn, ctx};

	if (!r || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.epoch_keys, NULL, visit_list, &l);
}

int st_epoch_horizon(struct st_read *r, uint32_t *horizon)
{
	if (!r || !horizon)
		return ST_EINVAL;
	return st_epoch_horizon_get(r->txn, r->db->dbi.meta, horizon);
}
