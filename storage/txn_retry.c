/*
 * txn_retry.c — the grow-the-map-and-run-again loop, and the resize lock
 * discipline it depends on.
 *
 * Why it is built this way: LMDB reports a full map at a put or at commit,
 * and the only remedy is to abort, enlarge the map (which LMDB allows only
 * while the process has no transaction open on the environment) and do the
 * whole transaction again. Every writer of komposter needs exactly that, so
 * it is written once, here, over plain LMDB codes; each caller keeps its own
 * codes by handing in its status mapping. The resize lock is optional
 * because a device outbox is used by one thread, while the database is
 * shared by readers and writers on many threads. A map grown by another
 * process shows up as MDB_MAP_RESIZED at the next txn_begin; the new size is
 * adopted (mdb_env_set_mapsize(env, 0)) under the exclusive lock.
 */
#include "storage/txn_retry.h"
#include <errno.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define RESIZED_RETRIES 8

static int status_of(const struct st_txn_env *e, int rc)
{
	return e->status ? e->status(rc) : rc;
}

size_t st_map_next(size_t current, size_t map_min, size_t map_max)
{
	if (current >= map_max)
		return 0;
	if (current > map_max / 2)
		return map_max;
	return current * 2 > map_min ? current * 2 : map_min;
}

static int lock_shared(const struct st_txn_env *e)
{
	return e->resize_lock ? pthread_rwlock_rdlock(e->resize_lock) : 0;
}

static int lock_exclusive(const struct st_txn_env *e)
{
	return e->resize_lock ? pthread_rwlock_wrlock(e->resize_lock) : 0;
}

static void unlock(const struct st_txn_env *e)
{
	if (e->resize_lock)
		pthread_rwlock_unlock(e->resize_lock);
}

/* Sets the map to `size` (0: adopt the size on disk) with the lock exclusive. */
static int set_map_size(const struct st_txn_env *e, size_t size)
{
	int rc = lock_exclusive(e);

	if (rc != 0)
		return rc;
	rc = mdb_env_set_mapsize(e->env, size);
	unlock(e);
	return rc;
}

int st_txn_begin(const struct st_txn_env *e, unsigned flags, MDB_txn **txn)
{
	for (int tries = 0;; tries++) {
		int rc = lock_shared(e);

		if (rc != 0)
			return status_of(e, rc);
		rc = mdb_txn_begin(e->env, NULL, flags, txn);
		if (rc == MDB_SUCCESS)
			return 0;
		unlock(e);
		if (rc == MDB_MAP_RESIZED && tries < RESIZED_RETRIES)
			rc = set_map_size(e, 0);
		if (rc != MDB_SUCCESS)
			return status_of(e, rc);
	}
}

/* LMDB writes pages with pwrite and calls a short write EIO: on a full file
 * system that, not ENOSPC, is what a commit returns. A commit's EIO where the
 * file system has no room left for two more pages is a full disk (retry
 * later), not a failing one. */
static int commit_error(const struct st_txn_env *e, int rc)
{
	const char *path;
	struct statvfs fs;

	if (rc == EIO && mdb_env_get_path(e->env, &path) == MDB_SUCCESS && statvfs(path, &fs) == 0 &&
	    (unsigned long long)fs.f_bavail * fs.f_frsize < 2ull * (unsigned long long)sysconf(_SC_PAGESIZE))
		return ENOSPC;
	return rc;
}

int st_txn_end(const struct st_txn_env *e, MDB_txn *txn, int rc)
{
	if (rc == 0) /* mdb_txn_commit frees txn whatever it returns */
		rc = status_of(e, commit_error(e, mdb_txn_commit(txn)));
	else
		mdb_txn_abort(txn);
	unlock(e);
	return rc;
}

void st_txn_abort(const struct st_txn_env *e, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	unlock(e);
}

int st_map_grow(const struct st_txn_env *e)
{
	MDB_envinfo info;
	size_t next;
	int rc = lock_exclusive(e);

	if (rc != 0)
		return status_of(e, rc);
	rc = mdb_env_info(e->env, &info);
	if (rc == MDB_SUCCESS) {
		next = st_map_next(info.me_mapsize, e->map_min, e->map_max);
		rc = next ? mdb_env_set_mapsize(e->env, next) : MDB_MAP_FULL;
	}
	unlock(e);
	return status_of(e, rc);
}

int st_txn_run(const struct st_txn_env *e, int (*work)(void *ctx, MDB_txn *txn), void *ctx,
               uint32_t *grows)
{
	for (;;) {
		MDB_txn *txn;
		int rc = st_txn_begin(e, 0, &txn);

		if (rc != 0)
			return rc;
		rc = st_txn_end(e, txn, work(ctx, txn));
		if (rc != e->full)
			return rc;
		rc = st_map_grow(e);
		if (rc != 0)
			return rc;
		if (grows)
			(*grows)++;
	}
}
