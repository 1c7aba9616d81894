/*
 * handoff.c — the `handed` table: once-only state of devices moved in.
 *
 * Why one table with two key sizes: device_id BE (8 bytes) → the handed
 * watermark LE8, and device_id BE ‖ batch_seq BE (16 bytes) → empty for each
 * frame stored above it, so one device's entries are adjacent (the
 * watermark first) and a duplicate check is at most two point lookups. The
 * new owner's own `once` index is left alone: handed frames are not in its
 * log, and st_check keeps the two apart.
 */
#include "storage/handoff.h"

#include "storage/db_internal.h"

struct handoff_put {
	const struct st_dbis *dbi;
	const struct st_handoff *v;
	size_t n;
};

static int put_one(const struct st_dbis *dbi, MDB_txn *txn, const struct st_handoff *h)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	uint8_t vb[ST_U64_SIZE];
	MDB_val k = {ST_DEVICE_KEY_SIZE, kb};
	MDB_val v = {sizeof vb, vb};
	int rc;

	kp_store_u64be(kb, h->device_id);
	kp_store_u64le(vb, h->watermark);
	rc = st_status(mdb_put(txn, dbi->handed, &k, &v, MDB_NOOVERWRITE));
	if (rc == ST_OK) /* so ACKs merge and coverage holds from the first frame here */
		rc = st_watermark_seed(txn, dbi->once, dbi->watermark, h->device_id, h->watermark);
	for (size_t i = 0; i < h->n && rc == ST_OK; i++) {
		MDB_val fk = {sizeof kb, kb};
		MDB_val empty = {0, NULL};
		st_once_key(kb, h->device_id, h->above[i]);
		rc = st_status(mdb_put(txn, dbi->handed, &fk, &empty, MDB_NOOVERWRITE));
	}
	return rc;
}

static int put_txn(void *ctx, MDB_txn *txn)
{
	const struct handoff_put *p = ctx;
	int rc = ST_OK;

	for (size_t i = 0; i < p->n && rc == ST_OK; i++)
		rc = put_one(p->dbi, txn, &p->v[i]);
	return rc;
}

int st_handoff_put_all(struct st_db *db, const struct st_handoff *v, size_t n)
{
	struct handoff_put p = {NULL, v, n};

	if (!db || (n && !v))
		return ST_EINVAL;
	for (size_t d = 0; d < n; d++) {
		if (v[d].n && !v[d].above)
			return ST_EINVAL;
		for (size_t i = 0; i < v[d].n; i++)
			if (v[d].above[i] <= v[d].watermark)
				return ST_EINVAL;
	}
	p.dbi = &db->dbi;
	return st_write_run(db, put_txn, &p, NULL);
}

int st_handoff_put(struct st_db *db, uint64_t device_id, uint64_t watermark,
                   const uint64_t *above, size_t n)
{
	const struct st_handoff h = {device_id, watermark, above, n};

	return st_handoff_put_all(db, &h, 1);
}

struct frame_walk {
	int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq);
	void *ctx;
};

static int frame_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct frame_walk *w = ctx;

	(void)cur;
	(void)v;
	if (k->mv_size != ST_ONCE_KEY_SIZE)
		return ST_OK; /* a watermark */
	if (w->fn(w->ctx, kp_load_u64be(k->mv_data), kp_load_u64be((const uint8_t *)k->mv_data + 8)) != 0)
		return ST_ESTOP;
	return ST_OK;
}

int st_handoff_foreach_frame(struct st_read *r, int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq),
                             void *ctx)
{
	struct frame_walk w = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.handed, NULL, frame_record, &w);
}

int st_handed_watermark_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t *w)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	kp_store_u64be(kb, device_id);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != ST_U64_SIZE)
		return ST_ECORRUPT;
	*w = kp_load_u64le(v.mv_data);
	return ST_OK;
}

int st_handed_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, int *handed)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	uint64_t w;
	int rc;

	*handed = 0;
	rc = st_handed_watermark_get(txn, dbi, device_id, &w);
	if (rc == ST_ENOTFOUND)
		return ST_OK;
	if (rc != ST_OK)
		return rc;
	if (batch_seq <= w) {
		*handed = 1;
		return ST_OK;
	}
	st_once_key(kb, device_id, batch_seq);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc == ST_ENOTFOUND)
		return ST_OK;
	if (rc == ST_OK)
		*handed = 1;
	return rc;
}

int st_handoff_lookup(struct st_read *r, uint64_t device_id, uint64_t batch_seq, int *handed)
{
	if (!r || !r->txn || !handed)
		return ST_EINVAL;
	return st_handed_get(r->txn, r->db->dbi.handed, device_id, batch_seq, handed);
}

int st_handoff_watermark(struct st_read *r, uint64_t device_id, uint64_t *watermark)
{
	if (!r || !r->txn || !watermark)
		return ST_EINVAL;
	return st_handed_watermark_get(r->txn, r->db->dbi.handed, device_id, watermark);
}
