/*
 * nvr_outage.c — when the NVR said it was offline (nvr.h), so its missing
 * hours read as missing, not as zero riders.
 *
 * Why it is built this way: outages are keyed by their start (a time key,
 * st_time_key), so they are in time order and the open one, if any, is the
 * last record: a state change looks at one record only, which is what
 * makes a repeated `offline` or `online` (Frigate's retained topic is sent
 * again on every reconnect) change nothing. Outages never overlap: one
 * opened at a time before the last one's end (a clock stepping back) opens
 * at that end instead, so the keys stay increasing and distinct. Outages
 * are few (one per NVR restart or network loss), so a listing walks them
 * from the first.
 *
 * nvr_outages: key start (8 bytes, time key); value end LE8, 0 while open.
 */
#include "storage/nvr.h"

#include "storage/db_internal.h"

static int outage_decode(const MDB_val *k, const MDB_val *v, struct st_nvr_outage *o)
{
	if (k->mv_size != ST_NVR_OUTAGE_SIZE || v->mv_size != ST_NVR_OUTAGE_SIZE)
		return ST_ECORRUPT;
	o->start = st_time_of_key(k->mv_data);
	o->end = (int64_t)kp_load_u64le(v->mv_data);
	return o->end == 0 || o->end >= o->start ? ST_OK : ST_ECORRUPT;
}

static int outage_put(MDB_txn *txn, MDB_dbi dbi, const struct st_nvr_outage *o)
{
	uint8_t kb[ST_NVR_OUTAGE_SIZE], vb[ST_NVR_OUTAGE_SIZE];
	MDB_val k = {sizeof kb, kb}, v = {sizeof vb, vb};

	st_time_key(kb, o->start);
	kp_store_u64le(vb, (uint64_t)o->end);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

struct availability {
	MDB_dbi dbi;
	int online;
	int64_t at;
};

static int set_available_txn(void *ctx, MDB_txn *txn)
{
	const struct availability *a = ctx;
	struct st_nvr_outage last = {0, 0};
	MDB_val k, v;
	int rc = st_get_last(txn, a->dbi, &k, &v);
	int open;

	if (rc == ST_ENOTFOUND) { /* none yet: as if one had closed long ago */
		last.end = INT64_MIN;
		rc = ST_OK;
	} else if (rc == ST_OK) {
		rc = outage_decode(&k, &v, &last);
	}
	if (rc != ST_OK)
		return rc;
	open = last.end == 0;
	if (a->online && open) {
		last.end = a->at > last.start ? a->at : last.start;
		return outage_put(txn, a->dbi, &last);
	}
	if (!a->online && !open)
		return outage_put(txn, a->dbi, &(struct st_nvr_outage){a->at > last.end ? a->at : last.end, 0});
	return ST_OK; /* the state it is in already */
}

int st_nvr_set_available(struct st_db *db, int online, int64_t at)
{
	struct availability a;

	if (!db || at <= 0) /* end 0 means open, so no outage may end at 0 */
		return ST_EINVAL;
	a = (struct availability){db->dbi.nvr_outages, online != 0, at};
	return st_write_run(db, set_available_txn, &a, NULL);
}

struct outage_visit {
	int64_t from, to;
	int (*fn)(void *ctx, const struct st_nvr_outage *o);
	void *ctx;
};

static int visit_outage(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct outage_visit *w = ctx;
	struct st_nvr_outage o;
	int rc = outage_decode(k, v, &o);

	(void)cur;
	if (rc != ST_OK)
		return rc;
	if (o.start >= w->to)
		return ST_WALK_DONE;
	if (o.end != 0 && o.end <= w->from)
		return ST_OK; /* over before the range */
	return w->fn(w->ctx, &o) != 0 ? ST_ESTOP : ST_OK;
}

int st_nvr_outage_foreach(struct st_read *r, int64_t from, int64_t to,
                          int (*fn)(void *ctx, const struct st_nvr_outage *o), void *ctx)
{
	struct outage_visit w = {from, to, fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	if (from >= to)
		return ST_OK;
	return st_walk(r->txn, r->db->dbi.nvr_outages, NULL, visit_outage, &w);
}

int st_nvr_outage_check_record(const MDB_val *k, const MDB_val *v, struct st_nvr_outage *o)
{
	return outage_decode(k, v, o);
}
