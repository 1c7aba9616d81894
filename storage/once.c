/*
 * once.c — the once-only index and the per-device watermarks.
 *
 * Why it is built this way: the key is device_id ‖ batch_seq, both
 * big-endian, so one device's entries are adjacent and in batch order. That
 * makes the watermark cheap to move: when batch W+1 arrives, a cursor placed
 * on it walks forward while the next key is (device, W+2), (device, W+3), …,
 * which also catches the frames that arrived early, out of order. The
 * watermark itself is kept in its own database (one 8-byte key per device)
 * so an ACK costs one lookup, and is only ever written forward.
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

/* From the stored (device, from), the last batch_seq of the consecutive run. */
static int run_end(MDB_txn *txn, MDB_dbi once_dbi, uint64_t device_id, uint64_t from, uint64_t *end)
{
	uint8_t kb[ST_ONCE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	MDB_cursor *cur;
	int rc;

	rc = st_status(mdb_cursor_open(txn, once_dbi, &cur));
	if (rc != ST_OK)
		return rc;
	st_once_key(kb, device_id, from);
	*end = from;
	rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_SET_KEY));
	while (rc == ST_OK) {
		rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_NEXT));
		if (rc != ST_OK)
			break;
		if (k.mv_size != ST_ONCE_KEY_SIZE || kp_load_u64be(k.mv_data) != device_id ||
		    kp_load_u64be((const uint8_t *)k.mv_data + 8) != *end + 1)
			break;
		(*end)++;
	}
	mdb_cursor_close(cur);
	return rc == ST_ENOTFOUND || rc == ST_OK ? ST_OK : rc;
}

int st_watermark_advance(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id,
                         uint64_t batch_seq)
{
	uint64_t w, end;
	int rc;

	rc = st_watermark_get(txn, wm_dbi, device_id, &w);
	if (rc != ST_OK)
		return rc;
	if (w == UINT64_MAX || batch_seq != w + 1)
		return ST_OK;
	rc = run_end(txn, once_dbi, device_id, batch_seq, &end);
	if (rc != ST_OK)
		return rc;
	return watermark_put(txn, wm_dbi, device_id, end);
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
	return st_watermark_get(r->txn, r->db->dbi.watermark, device_id, watermark);
}

int st_once_foreach(struct st_read *r,
                    int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq),
                    void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t seq;
	int rc;

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	rc = st_status(mdb_cursor_open(r->txn, r->db->dbi.once, &cur));
	if (rc != ST_OK)
		return rc;
	for (rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_FIRST)); rc == ST_OK;
	     rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_NEXT))) {
		if (k.mv_size != ST_ONCE_KEY_SIZE || decode_u64_val(&v, &seq) != ST_OK) {
			rc = ST_ECORRUPT;
			break;
		}
		if (fn(ctx, kp_load_u64be(k.mv_data), kp_load_u64be((const uint8_t *)k.mv_data + 8), seq) != 0) {
			rc = ST_ESTOP;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc == ST_ENOTFOUND ? ST_OK : rc;
}
