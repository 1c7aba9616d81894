/*
 * log.c — the append-only log: reading entries back, and the one append
 * the writer does.
 *
 * Why it is built this way: the key is LMDB's native integer key, so
 * MDB_APPEND can skip the tree search (sequences only grow) and mdb_dump
 * shows the entries in commit order. An entry is parsed in place: the frame
 * pointer borrows the read transaction's memory, nothing is copied.
 * Building entries (pseudonymising tokens, zeroing the signature) is the
 * writer's job (commit.c); this file only stores and reads bytes, and owns
 * the one definition of frame_hash.
 */
#include "storage/log.h"

#include <sodium.h>

#include "storage/db_internal.h"

#define OFF_MAGIC 0
#define OFF_RESERVED 4
#define OFF_RECEIVED_AT 8
#define OFF_FRAME_HASH 16
#define MAGIC_SIZE 4
#define RESERVED_SIZE 4

int st_log_entry_parse(const uint8_t *raw, size_t len, struct st_log_entry *out)
{
	static const uint8_t zero[RESERVED_SIZE];

	if (!raw || !out || len < ST_LOG_ENTRY_HEADER_SIZE + KP_HEADER_SIZE + KP_SIGNATURE_SIZE)
		return ST_ECORRUPT;
	if (memcmp(raw + OFF_MAGIC, ST_LOG_ENTRY_MAGIC, MAGIC_SIZE) != 0 ||
	    memcmp(raw + OFF_RESERVED, zero, RESERVED_SIZE) != 0)
		return ST_ECORRUPT;
	out->received_at = (int64_t)kp_load_u64le(raw + OFF_RECEIVED_AT);
	memcpy(out->frame_hash, raw + OFF_FRAME_HASH, ST_FRAME_HASH_SIZE);
	out->frame = raw + ST_LOG_ENTRY_HEADER_SIZE;
	out->frame_len = len - ST_LOG_ENTRY_HEADER_SIZE;
	out->raw = raw;
	out->raw_len = len;
	return ST_OK;
}

void st_log_entry_header(uint8_t out[ST_LOG_ENTRY_HEADER_SIZE], int64_t received_at,
                         const uint8_t frame_hash[ST_FRAME_HASH_SIZE])
{
	memcpy(out + OFF_MAGIC, ST_LOG_ENTRY_MAGIC, MAGIC_SIZE);
	memset(out + OFF_RESERVED, 0, RESERVED_SIZE);
	kp_store_u64le(out + OFF_RECEIVED_AT, (uint64_t)received_at);
	memcpy(out + OFF_FRAME_HASH, frame_hash, ST_FRAME_HASH_SIZE);
}

void st_frame_hash(const uint8_t key[ST_EPOCH_KEY_SIZE], const uint8_t *frame, size_t len,
                   uint8_t out[ST_FRAME_HASH_SIZE])
{
	crypto_generichash(out, ST_FRAME_HASH_SIZE, frame, len, key, ST_EPOCH_KEY_SIZE);
}

int st_log_append(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const uint8_t *value, size_t len)
{
	MDB_val k = {sizeof seq, &seq};
	MDB_val v = {len, (void *)value};

	if (!txn || !value || seq == 0)
		return ST_EINVAL;
	return st_status(mdb_put(txn, dbi, &k, &v, MDB_APPEND));
}

int st_log_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *seq)
{
	MDB_val k, v;
	int rc = st_get_last(txn, dbi, &k, &v);

	if (rc == ST_ENOTFOUND) {
		*seq = 0;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	if (k.mv_size != sizeof *seq)
		return ST_ECORRUPT;
	*seq = dec_intkey(&k);
	return ST_OK;
}

int st_log_last_seq(struct st_read *r, uint64_t *seq)
{
	if (!r || !r->txn || !seq)
		return ST_EINVAL;
	return st_log_last(r->txn, r->db->dbi.log, seq);
}

static int entry_from(const MDB_val *k, const MDB_val *v, struct st_log_entry *out)
{
	int rc;

	if (k->mv_size != sizeof out->seq)
		return ST_ECORRUPT;
	rc = st_log_entry_parse(v->mv_data, v->mv_size, out);
	if (rc == ST_OK)
		out->seq = dec_intkey(k);
	return rc;
}

int st_log_get(struct st_read *r, uint64_t seq, struct st_log_entry *out)
{
	MDB_val k = {sizeof seq, &seq};
	MDB_val v;
	int rc;

	if (!r || !r->txn || !out)
		return ST_EINVAL;
	rc = st_status(mdb_get(r->txn, r->db->dbi.log, &k, &v));
	if (rc != ST_OK)
		return rc;
	return entry_from(&k, &v, out);
}

struct entry_visit {
	int (*fn)(void *ctx, const struct st_log_entry *e);
	void *ctx;
};

static int visit_entry(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct entry_visit *ev = ctx;
	struct st_log_entry e;
	int rc = entry_from(k, v, &e);

	if (rc != ST_OK)
		return rc;
	return ev->fn(ev->ctx, &e) != 0 ? ST_ESTOP : ST_OK;
}

int st_log_foreach(struct st_read *r, uint64_t from_seq,
                   int (*fn)(void *ctx, const struct st_log_entry *e), void *ctx)
{
	struct entry_visit ev = {fn, ctx};
	MDB_val from = {sizeof from_seq, &from_seq};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.log, &from, visit_entry, &ev);
}
