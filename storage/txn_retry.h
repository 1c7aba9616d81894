/*
 * txn_retry.h — transactions on an LMDB environment whose map grows when it
 * fills: a write runs the caller's work in one transaction and commits; on
 * MDB_MAP_FULL the transaction is aborted, the map doubled and the work run
 * again from the start. One loop for every LMDB environment komposter writes
 * (the database, storage/db.c; a device's outbox, validators/outbox.c); it
 * knows nothing else of either, and needs only LMDB and pthreads.
 *
 * Promises:
 *  - the map is resized only while this process has no transaction open on
 *    the environment (an LMDB rule). With a resize lock, every transaction
 *    begun here holds it shared until it ends and a resize holds it
 *    exclusive; without one (resize_lock NULL) the caller promises that one
 *    thread at a time uses the environment;
 *  - a transaction begun after another process grew the map adopts the new
 *    size (MDB_MAP_RESIZED) and begins again, a few times at most;
 *  - the map doubles, to at least map_min, and saturates at map_max (it
 *    never wraps); at map_max a write that does not fit fails with the full
 *    status below and nothing of it is stored;
 *  - the work may run several times for one call: it must start from the
 *    transaction it is given and keep nothing from an earlier run.
 * Codes: 0 is success everywhere. The codes LMDB (MDB_* or errno values) and
 * pthreads return go through `status` (NULL: returned as they are), so the
 * caller's work and this module speak one set of codes; `full` is that set's
 * code for a full map, status(MDB_MAP_FULL). Anything else the work returns
 * is returned as it is, after the transaction is aborted.
 */
#ifndef ST_TXN_RETRY_H
#define ST_TXN_RETRY_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct st_txn_env {
	MDB_env *env;
	pthread_rwlock_t *resize_lock; /* NULL: one thread uses env, nothing to lock */
	size_t map_min;                /* bytes: a grown map is at least this big */
	size_t map_max;                /* bytes: the map never grows beyond this */
	int (*status)(int rc);         /* LMDB/errno code → the caller's code; NULL: as is */
	int full;                      /* status(MDB_MAP_FULL): a write fails with it at map_max */
};

/* The map size after growing from `current`: doubled, at least map_min, at
 * most map_max (saturating, never wrapping); 0 when current is at map_max. */
size_t st_map_next(size_t current, size_t map_min, size_t map_max);

/* Begins a transaction (flags as for mdb_txn_begin). With a resize lock it
 * holds the lock shared until st_txn_end or st_txn_abort, which must run on
 * the same thread (a pthread rwlock is released by the thread that took it).
 * On error no transaction is open and the lock is not held. */
int st_txn_begin(const struct st_txn_env *e, unsigned flags, MDB_txn **txn);
/* Commits txn when rc is 0, aborts it otherwise; drops the lock; returns
 * the outcome (rc, or the commit's status). */
int st_txn_end(const struct st_txn_env *e, MDB_txn *txn, int rc);
void st_txn_abort(const struct st_txn_env *e, MDB_txn *txn);

/* Grows the map one step (st_map_next) with the resize lock exclusive. */
int st_map_grow(const struct st_txn_env *e);

/* Runs work(ctx, txn) in a write transaction and commits; while that fails
 * with a full map, grows the map and runs work again. *grows (may be NULL)
 * is increased by the number of growths. */
int st_txn_run(const struct st_txn_env *e, int (*work)(void *ctx, MDB_txn *txn), void *ctx,
               uint32_t *grows);

#endif
