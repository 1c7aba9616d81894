/*
 * chain.c — the hash chain over the log.
 *
 * Why it is built this way: the head after every entry is stored (keyed by
 * the same integer sequence as the log, appended with MDB_APPEND), so an
 * export of any range can publish the head of its last entry without
 * rehashing history, and st_check can localise an edit to one entry: each
 * stored head must equal BLAKE2b-256(stored previous head ‖ stored entry).
 * The hash is libsodium's crypto_generichash (BLAKE2b), unkeyed, 32 bytes.
 */
#include "storage/chain.h"

#include <sodium.h>

#include "storage/db_internal.h"

void st_chain_next(const uint8_t prev[ST_CHAIN_HEAD_SIZE], const uint8_t *entry, size_t len,
                   uint8_t next[ST_CHAIN_HEAD_SIZE])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, ST_CHAIN_HEAD_SIZE);
	crypto_generichash_update(&st, prev, ST_CHAIN_HEAD_SIZE);
	crypto_generichash_update(&st, entry, len);
	crypto_generichash_final(&st, next, ST_CHAIN_HEAD_SIZE);
}

static int decode_head(const MDB_val *v, uint8_t head[ST_CHAIN_HEAD_SIZE])
{
	if (v->mv_size != ST_CHAIN_HEAD_SIZE)
		return ST_ECORRUPT;
	memcpy(head, v->mv_data, ST_CHAIN_HEAD_SIZE);
	return ST_OK;
}

int st_chain_put(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const uint8_t head[ST_CHAIN_HEAD_SIZE])
{
	MDB_val k = {sizeof seq, &seq};
	MDB_val v = {ST_CHAIN_HEAD_SIZE, (void *)head};

	return st_status(mdb_put(txn, dbi, &k, &v, MDB_APPEND));
}

int st_chain_at(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, uint8_t head[ST_CHAIN_HEAD_SIZE])
{
	MDB_val k = {sizeof seq, &seq};
	MDB_val v;
	int rc;

	if (seq == 0) {
		memset(head, 0, ST_CHAIN_HEAD_SIZE);
		return ST_OK;
	}
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	return rc == ST_OK ? decode_head(&v, head) : rc;
}

int st_chain_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *seq, uint8_t head[ST_CHAIN_HEAD_SIZE])
{
	MDB_val k, v;
	int rc = st_get_last(txn, dbi, &k, &v);

	if (rc == ST_ENOTFOUND) {
		*seq = 0;
		memset(head, 0, ST_CHAIN_HEAD_SIZE);
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	if (k.mv_size != sizeof *seq || decode_head(&v, head) != ST_OK)
		return ST_ECORRUPT;
	*seq = dec_intkey(&k);
	return ST_OK;
}

int st_chain_head(struct st_read *r, uint64_t seq, uint8_t head[ST_CHAIN_HEAD_SIZE])
{
	if (!r || !r->txn || !head)
		return ST_EINVAL;
	return st_chain_at(r->txn, r->db->dbi.chain, seq, head);
}
