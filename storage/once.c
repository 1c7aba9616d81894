/*
 * once.c — the once-only index and the per-device watermarks.
 *
 * Why it is built this way: the key is device_id ‖ batch_seq, both
 * big-endian, so one device's entries are adjacent and in batch order. That
 * makes the watermark cheap to find: from a stored base B, a cursor placed
 * on (device, B+1) walks forward while the next key is (device, B+2),
 * (device, B+3), …, which also catches the frames that arrived early, out of
 * order. The base is kept in its own database (one 8-byte key per device)
 * and is only ever written forward; a commit writes none (its pages were a
 * tenth of a small commit's, docs/PERFORMANCE.md), the transaction that
 * derives a device's frames settles it (derive.c), and a device moved in
 * starts from its former owner's (handoff.h). Every reader asks for
 * base + walk, so the base may lag the log by the frames not derived yet.
 */
#include "storage/once.h"

#include "storage/db_internal.h"

void st_once_key(uint8_t key[ST_ONCE_KEY_SIZE], uint64_t device_id, uint64_t batch_seq)
{
	kp_store_u64be(key, device_id);
	kp_store_u64be(key + 8, batch_seq);
}

static int decode_u64_val(const MDB_val *v, uint64_t *out)
{
	if (v->mv_size != ST_U64_SIZE)
		return ST_ECORRUPT;
	*out = kp_load_u64le(v->mv_data);
	return ST_OK;
}

int st_once_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, uint64_t *seq)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	st_once_key(kb, device_id, batch_seq);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc != ST_OK)
		return rc;
	return decode_u64_val(&v, seq);
}

int st_once_put(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, uint64_t seq)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	uint8_t vb[ST_U64_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	st_once_key(kb, device_id, batch_seq);
	kp_store_u64le(vb, seq);
	return st_status(mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE));
}

int st_watermark_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t *w)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	kp_store_u64be(kb, device_id);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc == ST_ENOTFOUND) {
		*w = 0;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	return decode_u64_val(&v, w);
}

static int watermark_put(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t w)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	uint8_t vb[ST_U64_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	kp_store_u64be(kb, device_id);
	kp_store_u64le(vb, w);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

struct run {
	uint64_t device_id;
	uint64_t end; /* the last batch_seq of the run so far */
};

static int extend_run(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct run *run = ctx;

	if (k->mv_size != ST_ONCE_KEY_SIZE || kp_load_u64be(k->mv_data) != run->device_id ||
	    kp_load_u64be((const uint8_t *)k->mv_data + 8) != run->end + 1)
		return ST_WALK_DONE;
	run->end++;
	return ST_OK;
}

/* From (device, from), the last batch_seq of the consecutive run stored:
 * from - 1 when (device, from) is not. */
static int run_end(MDB_txn *txn, MDB_dbi once_dbi, uint64_t device_id, uint64_t from, uint64_t *end)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	struct run run = {device_id, from - 1};
	int rc;

	st_once_key(kb, device_id, from);
	rc = st_walk(txn, once_dbi, &k, extend_run, &run);
	*end = run.end;
	return rc;
}

/* The base and the watermark now. */
static int watermark_find(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id, uint64_t *base,
                          uint64_t *w)
{
	int rc = st_watermark_get(txn, wm_dbi, device_id, base);

	if (rc != ST_OK)
		return rc;
	*w = *base;
	if (*base == UINT64_MAX)
		return ST_OK;
	return run_end(txn, once_dbi, device_id, *base + 1, w);
}

int st_watermark_now(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id, uint64_t *w)
{
	uint64_t base;

	return watermark_find(txn, once_dbi, wm_dbi, device_id, &base, w);
}

int st_watermark_settle(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id)
{
	uint64_t base, w;
	int rc = watermark_find(txn, once_dbi, wm_dbi, device_id, &base, &w);

	if (rc != ST_OK || w == base)
		return rc;
	return watermark_put(txn, wm_dbi, device_id, w);
}

/* The base, not the watermark now, is compared: st_check wants every base
 * of a device moved in at its handed watermark or above. */
int st_watermark_seed(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id, uint64_t w)
{
	uint64_t base;
	int rc = st_watermark_get(txn, wm_dbi, device_id, &base);

	if (rc != ST_OK || base >= w)
		return rc;
	rc = watermark_put(txn, wm_dbi, device_id, w);
	return rc == ST_OK ? st_watermark_settle(txn, once_dbi, wm_dbi, device_id) : rc;
}

/* ---- public readers ---- */

int st_once_lookup(struct st_read *r, uint64_t device_id, uint64_t batch_seq, uint64_t *seq)
{
	if (!r || !r->txn || !seq)
		return ST_EINVAL;
	return st_once_get(r->txn, r->db->dbi.once, device_id, batch_seq, seq);
}

int st_once_watermark(struct st_read *r, uint64_t device_id, uint64_t *watermark)
{
	if (!r || !r->txn || !watermark)
		return ST_EINVAL;
	return st_watermark_now(r->txn, r->db->dbi.once, r->db->dbi.watermark, device_id, watermark);
}

struct once_visit {
	int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq);
	void *ctx;
};

static int visit_once(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct once_visit *ov = ctx;
	uint64_t seq;

	if (k->mv_size != ST_ONCE_KEY_SIZE || decode_u64_val(v, &seq) != ST_OK)
		return ST_ECORRUPT;
	if (ov->fn(ov->ctx, kp_load_u64be(k->mv_data), kp_load_u64be((const uint8_t *)k->mv_data + 8), seq) != 0)
		return ST_ESTOP;
	return ST_OK;
}

int st_once_foreach(struct st_read *r,
                    int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq),
                    void *ctx)
{
	struct once_visit ov = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.once, NULL, visit_once, &ov);
}
