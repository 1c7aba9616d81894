/*
 * pseudonym.c — rider pseudonyms and the epoch keys behind them.
 *
 * Why it is built this way: a pseudonym is keyed BLAKE2b-128 of the card
 * token (libsodium crypto_generichash), so the same card gives the same
 * pseudonym within one epoch (distinct riders, transfers) and nothing
 * links epochs once a key is destroyed. A key is random (randombytes_buf),
 * made the first time its epoch is needed and stored in the same write
 * transaction as the entries that use it, so a pseudonym is never written
 * without its key, and an aborted transaction takes both away.
 *
 * The writer looks up the key of every tap, so it keeps a few keys in a
 * small round-robin cache in struct st_db. The cache may hold a key made
 * by a transaction that is later aborted; commit.c clears it after every
 * failed transaction, so such a key is never used again. Keys are wiped
 * from the cache with sodium_memzero.
 *
 * Under imported keys (epoch_share.h) a missing key is not made: the
 * writer gets ST_ENOKEY, leaves that frame out of its group (commit.h,
 * ST_NOKEY) and refuses it with NACK 7, so the device re-sends after the
 * operator imported the key;
 * making one here would give this instance's riders of the epoch other
 * pseudonyms than every other instance's.
 *
 * An epoch below the database's horizon, or whose record is a tombstone,
 * has been destroyed (epoch_keys.h): its taps get a one-off key each, never
 * stored nor cached. The writer reads the horizon at the start of every
 * group (commit.c), so a destruction by another process is seen by the
 * next group.
 */
#include "storage/pseudonym.h"

#include <sodium.h>

#include "storage/db_internal.h"
#include "storage/epoch_keys.h"

void st_pseudonym(const uint8_t key[ST_EPOCH_KEY_SIZE], const uint8_t token[16],
                  uint8_t out[ST_PSEUDONYM_SIZE])
{
	crypto_generichash(out, ST_PSEUDONYM_SIZE, token, KP_CARD_TOKEN_SIZE, key, ST_EPOCH_KEY_SIZE);
}

/* A key that is neither stored nor cached: the pseudonym it makes links to
 * nothing (epoch_keys.h). */
static void one_off_key(uint8_t key[ST_EPOCH_KEY_SIZE])
{
	randombytes_buf(key, ST_EPOCH_KEY_SIZE);
}

int st_epoch_key_get_or_create(MDB_txn *txn, MDB_dbi dbi, uint32_t epoch_date, int64_t now_ms, int make,
                               uint8_t key[ST_EPOCH_KEY_SIZE], int *one_off)
{
	uint8_t kb[ST_EPOCH_DATE_KEY_SIZE];
	uint8_t rec[ST_EPOCH_KEY_RECORD_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	if (!txn || !key || !one_off || epoch_date == 0)
		return ST_EINVAL;
	*one_off = 0;
	kp_store_u32be(kb, epoch_date);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc == ST_OK && v.mv_size == ST_EPOCH_TOMBSTONE_SIZE) {
		one_off_key(key);
		*one_off = 1;
		return ST_OK;
	}
	if (rc == ST_OK) {
		if (v.mv_size != ST_EPOCH_KEY_RECORD_SIZE)
			return ST_ECORRUPT;
		memcpy(key, v.mv_data, ST_EPOCH_KEY_SIZE);
		return ST_OK;
	}
	if (rc != ST_ENOTFOUND)
		return rc;
	if (!make)
		return ST_ENOKEY;
	randombytes_buf(key, ST_EPOCH_KEY_SIZE);
	memcpy(rec, key, ST_EPOCH_KEY_SIZE);
	kp_store_u64le(rec + ST_EPOCH_KEY_SIZE, (uint64_t)now_ms);
	v = (MDB_val){sizeof rec, rec};
	rc = st_status(mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE));
	sodium_memzero(rec, sizeof rec);
	return rc;
}

_Static_assert(sizeof(crypto_generichash_state) == ST_PSEUDONYM_STATE_SIZE, "ST_PSEUDONYM_STATE_SIZE");

/* The cached slot of epoch_date, filled from txn when it is not cached;
 * NULL with *key set (and ST_OK) for a one-off key, which is never cached. */
static int slot_of(struct st_db *db, MDB_txn *txn, uint32_t epoch_date, int64_t now_ms,
                   uint8_t key[ST_EPOCH_KEY_SIZE], struct st_epoch_cache_slot **out)
{
	struct st_epoch_cache_slot *slot;
	crypto_generichash_state st;
	int one_off, rc;

	*out = NULL;
	if (epoch_date < db->epoch_horizon) {
		one_off_key(key);
		return ST_OK;
	}
	for (unsigned i = 0; i < ST_EPOCH_CACHE_SLOTS; i++) {
		slot = &db->epoch_cache[i];
		if (slot->epoch_date == epoch_date && epoch_date != 0) {
			*out = slot;
			return ST_OK;
		}
	}
	rc = st_epoch_key_get_or_create(txn, db->dbi.epoch_keys, epoch_date, now_ms, !db->opts.epoch_keys_imported,
	                                key, &one_off);
	if (rc != ST_OK || one_off)
		return rc;
	slot = &db->epoch_cache[db->epoch_cache_next];
	db->epoch_cache_next = (db->epoch_cache_next + 1) % ST_EPOCH_CACHE_SLOTS;
	slot->epoch_date = epoch_date;
	memcpy(slot->key, key, ST_EPOCH_KEY_SIZE);
	crypto_generichash_init(&st, key, ST_EPOCH_KEY_SIZE, ST_PSEUDONYM_SIZE);
	memcpy(slot->keyed, &st, sizeof st);
	sodium_memzero(&st, sizeof st);
	*out = slot;
	return ST_OK;
}

int st_epoch_key_cached(struct st_db *db, MDB_txn *txn, uint32_t epoch_date, int64_t now_ms,
                        uint8_t key[ST_EPOCH_KEY_SIZE])
{
	struct st_epoch_cache_slot *slot;
	int rc = slot_of(db, txn, epoch_date, now_ms, key, &slot);

	if (rc == ST_OK && slot)
		memcpy(key, slot->key, ST_EPOCH_KEY_SIZE);
	return rc;
}

int st_pseudonym_cached(struct st_db *db, MDB_txn *txn, uint32_t epoch_date, int64_t now_ms,
                        const uint8_t token[16], uint8_t out[ST_PSEUDONYM_SIZE])
{
	struct st_epoch_cache_slot *slot;
	uint8_t key[ST_EPOCH_KEY_SIZE];
	crypto_generichash_state st;
	int rc = slot_of(db, txn, epoch_date, now_ms, key, &slot);

	if (rc == ST_OK && !slot)
		st_pseudonym(key, token, out);
	if (rc == ST_OK && slot) {
		memcpy(&st, slot->keyed, sizeof st);
		crypto_generichash_update(&st, token, KP_CARD_TOKEN_SIZE);
		crypto_generichash_final(&st, out, ST_PSEUDONYM_SIZE);
		sodium_memzero(&st, sizeof st);
	}
	sodium_memzero(key, sizeof key);
	return rc;
}

void st_epoch_cache_clear(struct st_db *db)
{
	sodium_memzero(db->epoch_cache, sizeof db->epoch_cache);
	db->epoch_cache_next = 0;
}
