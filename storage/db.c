/*
 * db.c — opening the LMDB environment, and the transaction plumbing that
 * every storage module goes through.
 *
 * Why it is built this way:
 *  - One environment per process, a directory with data.mdb and lock.mdb, so
 *    mdb_stat, mdb_dump and mdb_copy work on it as it is. All named
 *    databases are opened once, here, and their handles kept in struct st_db.
 *  - MDB_NOTLS: LMDB's reader slot belongs to the st_read, not to the
 *    thread, so reader slots are not tied to thread lifetimes.
 *  - LMDB can only change the map size while this process has no transaction
 *    open. So every transaction, read or write, holds a process-wide rwlock
 *    shared, and growing the map takes it exclusive. The lock prefers
 *    writers so a steady stream of short reads cannot starve a resize. A
 *    pthread rwlock may only be unlocked by the thread that locked it, so
 *    every transaction, read ones included, ends on the thread that began it.
 *  - Another process (the daemon, or the CLI writing devices) may grow the
 *    map: a txn_begin then returns MDB_MAP_RESIZED and we adopt the new size
 *    (mdb_env_set_mapsize(env, 0)) under the exclusive lock and begin again.
 *  - Commits use LMDB's default sync: when a write call returns ST_OK the
 *    data is on disk.
 *  - The service-day settings are settled (recorded, compared or adopted,
 *    settings.c) in the transaction that opens the named databases, so a
 *    new database never exists without them; TZ is set only afterwards,
 *    from the settings the database will actually use.
 */
#define _GNU_SOURCE
#include "storage/db_internal.h"
#include "storage/dir_lock.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)
#define RESIZED_RETRIES 8
#define SCHEMA_KEY "schema_version"

static _Thread_local int last_raw_error;

void st_options_default(struct st_options *opts)
{
	opts->path = "./data";
	opts->map_size_initial = 64 * MIB;
	opts->map_size_max = 64 * GIB;
	opts->timezone = "Europe/Kyiv";
	opts->service_day_start_hour = 3;
	opts->epoch_period = ST_EPOCH_DAY;
	opts->read_only = 0;
	opts->adopt_settings = 0;
	opts->exclusive = 0;
}

int st_last_error(void)
{
	return last_raw_error;
}

static int status_of_errno(int e)
{
	switch (e) {
	case ENOENT:
		return ST_ENOTFOUND;
	case ENOSPC:
	case EDQUOT:
		return ST_EFULL;
	case EINVAL:
		return ST_EINVAL;
	default:
		return ST_EIO;
	}
}

int st_get_last(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val)
{
	MDB_cursor *cur;
	int rc = st_status(mdb_cursor_open(txn, dbi, &cur));

	if (rc != ST_OK)
		return rc;
	rc = st_status(mdb_cursor_get(cur, key, val, MDB_LAST));
	mdb_cursor_close(cur);
	return rc;
}

int st_status(int rc)
{
	if (rc == MDB_SUCCESS)
		return ST_OK;
	last_raw_error = rc;
	switch (rc) {
	case MDB_NOTFOUND:
		return ST_ENOTFOUND;
	case MDB_KEYEXIST:
		return ST_EEXIST;
	case MDB_MAP_FULL:
		return ST_EMAPFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return ST_ECORRUPT;
	default:
		return rc > 0 ? status_of_errno(rc) : ST_EIO;
	}
}

const char *st_strerror(int status)
{
	switch (status) {
	case ST_OK:
		return "ok";
	case ST_ENOTFOUND:
		return "not found";
	case ST_EEXIST:
		return "already exists";
	case ST_EFULL:
		return "storage full";
	case ST_EINVAL:
		return "invalid argument";
	case ST_EIO:
		return "I/O or LMDB error";
	case ST_ECORRUPT:
		return "stored data is corrupt";
	case ST_ESTOP:
		return "stopped by callback";
	case ST_EMISMATCH:
		return "database was made with other service-day settings";
	case ST_EBUSY:
		return "database is in use by another komposterd";
	default:
		return "unknown status";
	}
}

/* ---- resize lock and transactions ---- */

static int adopt_map_size(struct st_db *db)
{
	int rc;

	if (pthread_rwlock_wrlock(&db->resize_lock) != 0)
		return ST_EIO;
	rc = st_status(mdb_env_set_mapsize(db->env, 0));
	pthread_rwlock_unlock(&db->resize_lock);
	return rc;
}

/* Begins a txn holding the resize lock shared; on error the lock is not held. */
static int begin_locked(struct st_db *db, unsigned flags, MDB_txn **txn)
{
	for (int tries = 0;; tries++) {
		int rc;

		if (pthread_rwlock_rdlock(&db->resize_lock) != 0)
			return ST_EIO;
		rc = mdb_txn_begin(db->env, NULL, flags, txn);
		if (rc == MDB_SUCCESS)
			return ST_OK;
		pthread_rwlock_unlock(&db->resize_lock);
		if (rc != MDB_MAP_RESIZED || tries >= RESIZED_RETRIES)
			return st_status(rc);
		rc = adopt_map_size(db);
		if (rc != ST_OK)
			return rc;
	}
}

int st_read_begin(struct st_db *db, struct st_read *r)
{
	if (!db || !r)
		return ST_EINVAL;
	r->db = db;
	r->txn = NULL;
	return begin_locked(db, MDB_RDONLY, &r->txn);
}

void st_read_end(struct st_read *r)
{
	if (!r || !r->txn)
		return;
	mdb_txn_abort(r->txn);
	r->txn = NULL;
	pthread_rwlock_unlock(&r->db->resize_lock);
}

int st_write_begin(struct st_db *db, MDB_txn **txn)
{
	if (db->opts.read_only)
		return ST_EINVAL;
	return begin_locked(db, 0, txn);
}

/* LMDB writes pages with pwrite and calls a short write EIO; on a full
 * filesystem that is what a commit returns, not ENOSPC. A write-time EIO on
 * a filesystem with less room than one more page is a full disk (NACK 7,
 * retry later), not a failing one. */
static int commit_status(struct st_db *db, int mdb_rc)
{
	struct statvfs fs;
	int rc = st_status(mdb_rc);

	if (mdb_rc == EIO && statvfs(db->path, &fs) == 0 &&
	    (unsigned long long)fs.f_bavail * fs.f_frsize < 2ull * (unsigned long long)sysconf(_SC_PAGESIZE))
		return ST_EFULL;
	return rc;
}

int st_write_end(struct st_db *db, MDB_txn *txn, int rc)
{
	if (rc == ST_OK)
		rc = commit_status(db, mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&db->resize_lock);
	return rc;
}

int st_db_grow(struct st_db *db)
{
	MDB_envinfo info;
	size_t max = db->opts.map_size_max;
	size_t next;
	int rc = ST_OK;

	if (pthread_rwlock_wrlock(&db->resize_lock) != 0)
		return ST_EIO;
	rc = st_status(mdb_env_info(db->env, &info));
	if (rc != ST_OK)
		goto out;
	if (info.me_mapsize >= max) {
		rc = ST_EFULL;
		goto out;
	}
	next = info.me_mapsize > max / 2 ? max : info.me_mapsize * 2;
	rc = st_status(mdb_env_set_mapsize(db->env, next));
out:
	pthread_rwlock_unlock(&db->resize_lock);
	return rc;
}

int st_write_run(struct st_db *db, int (*fn)(void *ctx, MDB_txn *txn), void *ctx, uint32_t *grows)
{
	for (;;) {
		MDB_txn *txn;
		int rc = st_write_begin(db, &txn);

		if (rc != ST_OK)
			return rc == ST_EMAPFULL ? ST_EFULL : rc;
		rc = st_write_end(db, txn, fn(ctx, txn));
		if (rc != ST_EMAPFULL)
			return rc;
		rc = st_db_grow(db);
		if (rc != ST_OK)
			return rc;
		if (grows)
			(*grows)++;
	}
}

/* ---- open and close ---- */

static int check_options(const struct st_options *o)
{
	if (!o->path || !o->path[0])
		return ST_EINVAL;
	if (o->map_size_initial == 0 || o->map_size_max < o->map_size_initial)
		return ST_EINVAL;
	if (!o->timezone)
		return ST_EINVAL;
	if (o->service_day_start_hour < 0 || o->service_day_start_hour > 23)
		return ST_EINVAL;
	if (o->epoch_period < ST_EPOCH_DAY || o->epoch_period > ST_EPOCH_MONTH)
		return ST_EINVAL;
	return ST_OK;
}

static int mkdir_one(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return ST_OK;
	last_raw_error = errno;
	return status_of_errno(errno);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	int rc;

	if (len >= sizeof buf)
		return ST_EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = mkdir_one(buf);
		if (rc != ST_OK)
			return rc;
		*p = '/';
	}
	return mkdir_one(buf);
}

static int copy_options(struct st_db *db, const struct st_options *opts)
{
	db->opts = *opts;
	db->path = strdup(opts->path);
	db->timezone = strdup(opts->timezone);
	if (!db->path || !db->timezone)
		return ST_EIO;
	db->opts.path = db->path;
	db->opts.timezone = db->timezone;
	return ST_OK;
}

static int init_lock(struct st_db *db)
{
	pthread_rwlockattr_t attr;
	int rc = ST_EIO;

	if (pthread_rwlockattr_init(&attr) != 0)
		return ST_EIO;
	if (pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0)
		goto out;
	if (pthread_rwlock_init(&db->resize_lock, &attr) != 0)
		goto out;
	db->lock_ready = 1;
	rc = ST_OK;
out:
	pthread_rwlockattr_destroy(&attr);
	return rc;
}

/* The map size: what the database has grown to, at least map_size_initial. */
static int settle_map_size(struct st_db *db)
{
	int rc = st_status(mdb_env_set_mapsize(db->env, 0));

	if (rc != ST_OK || db->opts.read_only)
		return rc;
	if (st_db_map_size(db) < db->opts.map_size_initial)
		rc = st_status(mdb_env_set_mapsize(db->env, db->opts.map_size_initial));
	return rc;
}

static int open_env(struct st_db *db)
{
	unsigned flags = MDB_NOTLS | (db->opts.read_only ? MDB_RDONLY : 0);
	int dead = 0;
	int rc;

	rc = st_status(mdb_env_create(&db->env));
	if (rc != ST_OK)
		return rc;
	rc = st_status(mdb_env_set_maxdbs(db->env, ST_MAX_DBS));
	if (rc == ST_OK && !db->opts.read_only)
		rc = st_status(mdb_env_set_mapsize(db->env, db->opts.map_size_initial));
	if (rc == ST_OK)
		rc = st_status(mdb_env_open(db->env, db->path, flags, 0600));
	if (rc == ST_OK)
		rc = st_status(mdb_reader_check(db->env, &dead));
	if (rc == ST_OK)
		rc = settle_map_size(db);
	return rc;
}

/* Records the schema version in a new database (*created = 1) or checks it. */
static int check_schema(struct st_db *db, MDB_txn *txn, int *created)
{
	uint8_t buf[4];
	MDB_val k = {sizeof SCHEMA_KEY - 1, (void *)SCHEMA_KEY};
	MDB_val v;
	int rc = st_status(mdb_get(txn, db->dbi.meta, &k, &v));

	*created = 0;
	if (rc == ST_ENOTFOUND && !db->opts.read_only) {
		*created = 1;
		kp_store_u32le(buf, ST_SCHEMA_VERSION);
		v = (MDB_val){sizeof buf, buf};
		return st_status(mdb_put(txn, db->dbi.meta, &k, &v, 0));
	}
	if (rc == ST_ENOTFOUND)
		return ST_ECORRUPT;
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != sizeof buf || kp_load_u32le(v.mv_data) != ST_SCHEMA_VERSION)
		return ST_ECORRUPT;
	return ST_OK;
}

static int open_dbis(struct st_db *db)
{
	const struct {
		const char *name;
		unsigned flags;
		MDB_dbi *handle;
	} dbs[] = {
		{"meta", 0, &db->dbi.meta},
		{"log", MDB_INTEGERKEY, &db->dbi.log},
		{"once", 0, &db->dbi.once},
		{"watermark", 0, &db->dbi.watermark},
		{"devices", 0, &db->dbi.devices},
		{"device_keys", 0, &db->dbi.device_keys},
		{"tap_agg", 0, &db->dbi.tap_agg},
		{"epoch_keys", 0, &db->dbi.epoch_keys},
		{"chain", MDB_INTEGERKEY, &db->dbi.chain},
	};
	unsigned create = db->opts.read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int created = 0;
	int rc;

	rc = st_status(mdb_txn_begin(db->env, NULL, db->opts.read_only ? MDB_RDONLY : 0, &txn));
	if (rc != ST_OK)
		return rc;
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == ST_OK; i++)
		rc = st_status(mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | create, dbs[i].handle));
	if (rc == ST_OK)
		rc = check_schema(db, txn, &created);
	if (rc == ST_OK)
		rc = st_settings_settle(db, txn, created);
	if (rc != ST_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	return st_status(mdb_txn_commit(txn)); /* keeps the handles, read-only too */
}

int st_db_open(struct st_db **out, const struct st_options *opts)
{
	struct st_db *db;
	int rc;

	if (!out || !opts)
		return ST_EINVAL;
	*out = NULL;
	rc = check_options(opts);
	if (rc != ST_OK)
		return rc;
	if (sodium_init() < 0) /* epoch keys come from its randomness */
		return ST_EIO;
	db = calloc(1, sizeof *db);
	if (!db)
		return ST_EIO;
	db->lock_fd = -1;
	rc = copy_options(db, opts);
	if (rc == ST_OK)
		rc = init_lock(db);
	if (rc == ST_OK && !db->opts.read_only && !db->opts.adopt_settings)
		rc = st_zone_check(db->opts.timezone); /* before anything is created */
	if (rc == ST_OK && !db->opts.read_only)
		rc = mkdir_p(db->path);
	if (rc == ST_OK && db->opts.exclusive && !db->opts.read_only)
		rc = st_dir_lock(db->path, &db->lock_fd);
	if (rc == ST_OK)
		rc = open_env(db);
	if (rc == ST_OK)
		rc = open_dbis(db);
	if (rc == ST_OK)
		rc = st_settings_apply(db);
	if (rc != ST_OK)
		goto err;
	*out = db;
	return ST_OK;
err:
	st_db_close(db);
	return rc == ST_EMAPFULL ? ST_EFULL : rc;
}

void st_db_close(struct st_db *db)
{
	if (!db)
		return;
	if (db->env)
		mdb_env_close(db->env);
	if (db->lock_ready)
		pthread_rwlock_destroy(&db->resize_lock);
	st_epoch_cache_clear(db);
	st_dir_unlock(db->lock_fd); /* last: the database is closed before another may take it */
	free(db->path);
	free(db->timezone);
	free(db);
}

const struct st_options *st_db_options(const struct st_db *db)
{
	return &db->opts;
}

size_t st_db_map_size(const struct st_db *db)
{
	MDB_envinfo info;

	if (mdb_env_info(db->env, &info) != MDB_SUCCESS)
		return 0;
	return info.me_mapsize;
}
