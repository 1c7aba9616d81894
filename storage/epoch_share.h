/*
 * epoch_share.h — one pseudonym epoch secret for every instance of a
 * deployment (partitioned komposterd instances, issue 16), so that one card
 * has one pseudonym city-wide and the distinct-rider sketches of the
 * instances merge.
 *
 * Promises:
 *  - st_epoch_keys_export makes, in one synced write transaction, the key
 *    of every epoch from `from`'s epoch through `through` that has none yet
 *    (as the writer would: random, stored with its created_at), and returns
 *    those epochs' keys as a key file, in memory; an epoch of the range
 *    that was destroyed refuses the export (ST_ECONFLICT), so does a range
 *    that starts below the horizon.
 *  - st_epoch_keys_import checks a key file (format, checksum, and the same
 *    timezone, service-day start and epoch period as the database: else
 *    ST_EMISMATCH) and stores its keys in one synced write transaction, all
 *    or none: a key equal to the one held is skipped; a key of an epoch
 *    whose key differs, or of an epoch that was destroyed here (tombstone,
 *    or below the horizon), refuses the whole file with ST_ECONFLICT, its
 *    epoch in out->epoch. A key is never replaced and a destroyed epoch
 *    never comes back.
 *  - with st_options.epoch_keys_imported the writer never makes a key: a
 *    frame with a record of a live epoch without one is left out of its
 *    commit group (outcome ST_NOKEY, nothing of it stored, commit.h; the
 *    rest of the group is stored; the daemon answers it NACK 7 and raises an
 *    alarm), and the device re-sends after the import.
 *  - key bytes live only in the file, the database and buffers this module
 *    wipes with sodium_memzero (st_epoch_key_file_free); raw card tokens
 *    are not involved at all.
 *
 * The key file (binary, little-endian unless said): magic "KPEPKEY1" ‖
 * epoch_period u8 ‖ service_day_start_hour u8 ‖ tz_len u8 ‖ timezone ‖
 * count LE4 ‖ count × (epoch date BE4 ‖ key 32 ‖ created_at LE8), epochs
 * strictly increasing ‖ BLAKE2b-256 of all that precedes (a check against
 * truncation and corruption, not an authentication: the file is a secret
 * the operator carries, like the database itself).
 * Errors: ST_EINVAL for bad arguments or a file that does not decode.
 */
#ifndef ST_EPOCH_SHARE_H
#define ST_EPOCH_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

#define ST_EPOCH_SHARE_MAX_DAYS 3660 /* the longest range one export covers */

struct st_epoch_key_file {
	uint8_t *buf; /* the file's bytes (secret) */
	size_t len;
	uint32_t count; /* keys in the file */
	uint32_t made;  /* of which made by this export */
};

/* Exports the keys of the epochs from st_epoch_start(from) through
 * through (valid yyyymmdd, from <= through, at most
 * ST_EPOCH_SHARE_MAX_DAYS days apart), making the missing ones (created
 * at now_ms). On ST_OK free *out with st_epoch_key_file_free. */
int st_epoch_keys_export(struct st_db *db, uint32_t from, uint32_t through, int64_t now_ms,
                         struct st_epoch_key_file *out);

/* Wipes and frees the file's bytes. */
void st_epoch_key_file_free(struct st_epoch_key_file *f);

struct st_epoch_imported {
	uint32_t count; /* keys in the file */
	uint32_t added; /* new to this database */
	uint32_t same;  /* already held, identical */
	uint32_t epoch; /* on ST_ECONFLICT: the epoch refused */
	int destroyed;  /* on ST_ECONFLICT: 1 when that epoch was destroyed here */
};

/* Imports a key file (see above). out may not be NULL. */
int st_epoch_keys_import(struct st_db *db, const uint8_t *buf, size_t len, struct st_epoch_imported *out);

#endif
