/*
 * epoch_keys.h — the life of the pseudonym epoch keys (pseudonym.h): made
 * by the writer when an epoch is first needed, destroyed once the epoch is
 * older than the retention, and never made again for that epoch.
 *
 * Promises:
 *  - st_epoch_keys_destroy_before destroys, in one synced write
 *    transaction, the key of every epoch that ends before a date: its
 *    record becomes a tombstone (when made, when destroyed; no key bytes),
 *    and the database's horizon (a `meta` record) rises to the first epoch
 *    kept. The epoch keys cached by this process (the writer's) are wiped
 *    with sodium_memzero. Destroying again changes nothing.
 *  - an epoch below the horizon never gets a key again: a late tap of it is
 *    stored (its ACK after the commit holds as ever) with a pseudonym made
 *    from a one-off random key that is neither stored nor cached, one per
 *    tap; so is the frame_hash of a frame whose first record falls there.
 *    Such a pseudonym links to nothing, not even to the same card's other
 *    late taps: each counts as one more distinct rider of its date.
 *  - the key bytes are gone from every record LMDB returns. LMDB does not
 *    zero the pages it frees, so the old bytes may stay in data.mdb's free
 *    pages until they are reused; a compacting copy (`mdb_copy -c`) has
 *    none.
 *
 * epoch_keys records: key epoch date BE4 (the first service date of the
 * epoch, st_epoch_start), value either a live key, key ‖ created_at LE8
 * (ST_EPOCH_KEY_RECORD_SIZE), or a tombstone, created_at LE8 ‖
 * destroyed_at LE8 (ST_EPOCH_TOMBSTONE_SIZE). The horizon: meta key
 * "epoch_horizon", value the first epoch date kept, LE4 (absent: none
 * destroyed yet).
 * Errors: ST_EINVAL for bad arguments, ST_ECORRUPT for a record that does
 * not decode, ST_EFULL when the map cannot grow, or the LMDB error.
 */
#ifndef ST_EPOCH_KEYS_H
#define ST_EPOCH_KEYS_H

#include <stdint.h>

#include "storage/db.h"

#define ST_EPOCH_KEY_RECORD_SIZE 40 /* key 32 ‖ created_at LE8 */
#define ST_EPOCH_TOMBSTONE_SIZE 16  /* created_at LE8 ‖ destroyed_at LE8 */
#define ST_RETENTION_DAYS_MAX 3650

struct st_epoch_key_info {
	uint32_t epoch_date;  /* yyyymmdd, first date of the epoch */
	int64_t created_at;   /* Unix ms */
	int64_t destroyed_at; /* Unix ms; 0 while the key exists */
};

struct st_epoch_destroyed {
	uint32_t count;   /* keys destroyed by this call */
	uint32_t first;   /* oldest and newest epoch destroyed (0 when count is 0) */
	uint32_t last;
	uint32_t horizon; /* first epoch date kept, after the call */
};

/* The first service date still within the retention at now_ms: today's
 * service date (in the database's zone, from its service-day start) minus
 * retention_days (1..ST_RETENTION_DAYS_MAX). Every date before it ended
 * more than retention_days ago. */
int st_epoch_retention_before(struct st_db *db, int64_t now_ms, int retention_days, uint32_t *before);

/* Destroys the key of every epoch that ends before `before` (a valid
 * yyyymmdd), i.e. every epoch starting before st_epoch_start(before). The
 * writer thread's (or the only) user of db calls it: it clears db's key
 * cache. *out (may be NULL) says what was done. */
int st_epoch_keys_destroy_before(struct st_db *db, uint32_t before, int64_t now_ms,
                                 struct st_epoch_destroyed *out);

/* Every epoch_keys record in date order, live or destroyed; fn returns 0
 * to go on, nonzero to stop (then ST_ESTOP). */
int st_epoch_keys_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_epoch_key_info *k),
                          void *ctx);

/* The first epoch date kept (0: nothing destroyed yet). */
int st_epoch_horizon(struct st_read *r, uint32_t *horizon);

#endif
