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
 *    shared, and growing the map takes it exclusive (txn_retry.h, which also
 *    adopts a map another process grew). The lock prefers writers so a
 *    steady stream of short reads cannot starve a resize. A pthread rwlock
 *    may only be unlocked by the thread that locked it, so every
 *    transaction, read ones included, ends on the thread that began it.
 *  - Commits use LMDB's default sync: when a write call returns ST_OK the
 *    data is on disk.
 *  - The service-day settings are settled (recorded, compared or adopted,
 *    settings.c) in the transaction that opens the named databases, so a
 *    new database never exists without them; the zone's table (zone.h) is
 *    read only afterwards, from the settings the database will actually
 *    use, and kept in struct st_db: the process's TZ is never changed.
 */
#define _GNU_SOURCE
#include "storage/db_internal.h"
#include "storage/dir_lock.h"
#include "storage/zone.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)
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
	opts->epoch_keys_imported = 0;
	opts->riders_defer_ms = 0;
	opts->derive_defer_ms = 0;
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
	case EACCES:
	case EPERM:
		return ST_EACCES;
	case EROFS:
		return ST_EROFS;
	case ENOTDIR:
		return ST_ENOTDIR;
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

int st_walk(MDB_txn *txn, MDB_dbi dbi, const MDB_val *from,
            int (*fn)(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val), void *ctx)
{
	MDB_cursor *cur;
	MDB_val k = from ? *from : (MDB_val){0, NULL};
	MDB_val v;
	MDB_cursor_op op = from ? MDB_SET_RANGE : MDB_FIRST;
	int rc = st_status(mdb_cursor_open(txn, dbi, &cur));

	if (rc != ST_OK)
		return rc;
	for (;;) {
		rc = st_status(mdb_cursor_get(cur, &k, &v, op));
		if (rc != ST_OK) {
			if (rc == ST_ENOTFOUND) /* past the last record */
				rc = ST_OK;
			break;
		}
		rc = fn(ctx, cur, &k, &v);
		if (rc != ST_OK)
			break;
		op = MDB_NEXT;
	}
	mdb_cursor_close(cur);
	return rc == ST_WALK_DONE ? ST_OK : rc;
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
	case ST_ESCHEMA:
		return "the database was made by another version of komposter (schema version differs)";
	case ST_EACCES:
		return "permission denied";
	case ST_EROFS:
		return "read-only file system";
	case ST_ENOTDIR:
		return "not a directory";
	case ST_EZONE:
		return "unknown time zone (timezone must name a zone of the tz database, such as Europe/Kyiv)";
	case ST_ENOKEY:
		return "no pseudonym epoch key for this epoch ([storage] pseudonym_keys = imported: "
		       "run 'komposter keys import' with a file exported through it)";
	case ST_ECONFLICT:
		return "an imported epoch key conflicts with the key held, or its epoch was destroyed";
	default:
		return "unknown status";
	}
}

/* ---- transactions (txn_retry.c holds the resize lock discipline) ---- */

int st_read_begin(struct st_db *db, struct st_read *r)
{
	if (!db || !r)
		return ST_EINVAL;
	r->db = db;
	r->txn = NULL;
	return st_txn_begin(&db->txe, MDB_RDONLY, &r->txn);
}

void st_read_end(struct st_read *r)
{
	if (!r || !r->txn)
		return;
	st_txn_abort(&r->db->txe, r->txn);
	r->txn = NULL;
}

int st_write_run(struct st_db *db, int (*fn)(void *ctx, MDB_txn *txn), void *ctx, uint32_t *grows)
{
	int rc;

	if (db->opts.read_only)
		return ST_EINVAL;
	rc = st_txn_run(&db->txe, fn, ctx, grows);
	return rc == ST_EMAPFULL ? ST_EFULL : rc;
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
	if (o->riders_defer_ms < 0 || o->derive_defer_ms < 0)
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
	db->txe = (struct st_txn_env){db->env, &db->resize_lock, db->opts.map_size_initial,
	                              db->opts.map_size_max, st_status, ST_EMAPFULL};
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
	if (v.mv_size != sizeof buf)
		return ST_ECORRUPT;
	if (kp_load_u32le(v.mv_data) != ST_SCHEMA_VERSION)
		return ST_ESCHEMA;
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
		{"door_agg", 0, &db->dbi.door_agg},
		{"load_agg", 0, &db->dbi.load_agg},
		{"epoch_keys", 0, &db->dbi.epoch_keys},
		{"chain", MDB_INTEGERKEY, &db->dbi.chain},
		{"cameras", 0, &db->dbi.cameras},
		{"vehicle_pos", 0, &db->dbi.vehicle_pos},
		{"vehicle_hours", 0, &db->dbi.vehicle_hours},
		{"riders", 0, &db->dbi.riders},
		{"nvr_counted", 0, &db->dbi.nvr_counted},
		{"nvr_order", 0, &db->dbi.nvr_order},
		{"nvr_events", 0, &db->dbi.nvr_events},
		{"nvr_outages", 0, &db->dbi.nvr_outages},
		{"gtfs_routes", 0, &db->dbi.gtfs_routes},
		{"gtfs_stops", 0, &db->dbi.gtfs_stops},
		{"tokens", 0, &db->dbi.tokens},
		{"device_stats", 0, &db->dbi.device_stats},
		{"date_rev", 0, &db->dbi.date_rev},
		{"date_frames", 0, &db->dbi.date_frames},
		{"handed", 0, &db->dbi.handed},
	};
	unsigned create = db->opts.read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int created = 0;
	int rc;

	rc = st_status(mdb_txn_begin(db->env, NULL, db->opts.read_only ? MDB_RDONLY : 0, &txn));
	if (rc != ST_OK)
		return rc;
	/* meta (dbs[0]) and the schema first: a database of another schema may
	 * lack tables of this one, and must be refused as such (ST_ESCHEMA). */
	rc = st_status(mdb_dbi_open(txn, dbs[0].name, dbs[0].flags | create, dbs[0].handle));
	if (rc == ST_OK)
		rc = check_schema(db, txn, &created);
	for (size_t i = 1; i < sizeof dbs / sizeof dbs[0] && rc == ST_OK; i++)
		rc = st_status(mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | create, dbs[i].handle));
	if (rc == ST_OK)
		rc = st_settings_settle(db, txn, created);
	if (rc != ST_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	return st_status(mdb_txn_commit(txn)); /* keeps the handles, read-only too */
}

/* Whether this open may record its own service-day settings: any
 * read-write open that does not adopt, and one that adopts but finds no
 * database to adopt from. */
static int may_record_options(const struct st_db *db)
{
	char data[PATH_MAX];
	struct stat st;
	int n;

	if (db->opts.read_only)
		return 0;
	if (!db->opts.adopt_settings)
		return 1;
	n = snprintf(data, sizeof data, "%s/data.mdb", db->path);
	return n < 0 || (size_t)n >= sizeof data || stat(data, &st) != 0;
}

int64_t st_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int st_meta_mark_get(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t *seq)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = st_status(mdb_get(txn, meta, &k, &v));

	if (rc == ST_ENOTFOUND) {
		*seq = UINT64_MAX;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != 8)
		return ST_ECORRUPT;
	*seq = kp_load_u64be(v.mv_data);
	return ST_OK;
}

int st_meta_mark_put(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t seq)
{
	uint8_t b[8];
	MDB_val k = {strlen(key), (void *)key}, v = {sizeof b, b};

	kp_store_u64be(b, seq);
	return st_status(mdb_put(txn, meta, &k, &v, 0));
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
	if (rc == ST_OK && may_record_options(db))
		rc = st_zone_valid(db->opts.timezone, NULL, 0); /* before anything is created */
	if (rc == ST_OK && !db->opts.read_only)
		rc = mkdir_p(db->path);
	if (rc == ST_OK && db->opts.exclusive && !db->opts.read_only)
		rc = st_dir_lock(db->path, &db->lock_fd);
	if (rc == ST_OK)
		rc = open_env(db);
	if (rc == ST_OK)
		rc = open_dbis(db);
	if (rc == ST_OK)
		rc = st_zone_open(&db->zone, db->opts.timezone);
	if (rc == ST_OK && !db->opts.read_only)
		rc = st_riders_replay(db);
	if (rc == ST_OK)
		rc = st_derive_open(db);
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
	st_derive_close(db);
	st_riders_batch_free(&db->riders);
	st_riders_cache_free(&db->riders_cache);
	st_dstats_batch_free(&db->dstats);
	st_dir_unlock(db->lock_fd); /* last: the database is closed before another may take it */
	st_zone_close(db->zone);
	free(db->path);
	free(db->timezone);
	free(db);
}

const struct st_options *st_db_options(const struct st_db *db)
{
	return &db->opts;
}

const struct st_zone *st_db_zone(const struct st_db *db)
{
	return db->zone;
}

size_t st_db_map_size(const struct st_db *db)
{
	MDB_envinfo info;

	if (mdb_env_info(db->env, &info) != MDB_SUCCESS)
		return 0;
	return info.me_mapsize;
}
