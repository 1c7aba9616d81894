/*
 * db.h — the komposter LMDB environment: one directory, several named
 * databases, opened once per process.
 *
 * Promises:
 *  - every database of DESIGN.md exists after st_db_open (created on first open);
 *  - the map grows on MDB_MAP_FULL inside st_commit_group (commit.h) up to
 *    map_size_max; beyond that, or when the disk is full, writes fail with
 *    ST_EFULL and nothing already committed is touched;
 *  - stale reader slots are cleared at open (mdb_reader_check);
 *  - a read transaction (struct st_read) sees one committed snapshot. Read
 *    transactions must be short and stay on the thread that began them: the
 *    map can only grow while none is open in this process, so st_read_begin
 *    takes the resize lock shared and st_read_end releases it.
 *  - mdb_stat, mdb_dump and mdb_copy work on the directory as it is;
 *  - the service-day settings (timezone, service_day_start_hour,
 *    epoch_period) belong to the database: they are recorded in `meta` when
 *    it is created and never change. Every open computes service dates,
 *    hours and epochs with the recorded settings, whatever its options say:
 *    a read-write open whose settings differ fails with ST_EMISMATCH (unless
 *    adopt_settings), a read-only or adopt_settings open takes the recorded
 *    ones, and st_db_options and st_db_zone report the settings in use. A
 *    database made before settings were recorded gets its opener's on its
 *    first read-write open without adopt_settings; until then other opens
 *    use their options.
 * Errors are the negative ST_E* codes below; st_strerror names them.
 * Times are Unix epoch milliseconds. Service dates are yyyymmdd integers.
 */
#ifndef ST_DB_H
#define ST_DB_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

enum st_status {
	ST_OK = 0,
	ST_ENOTFOUND = -1, /* no such record */
	ST_EEXIST = -2,    /* record exists already */
	ST_EFULL = -3,     /* map at its maximum or disk full: retry later */
	ST_EINVAL = -4,    /* bad argument */
	ST_EIO = -5,       /* LMDB or system error; see errno-style detail in the log */
	ST_ECORRUPT = -6,  /* stored data does not decode */
	ST_ESTOP = -7,     /* a foreach callback asked to stop (not an error for the caller of foreach) */
	ST_EMISMATCH = -8, /* the database was made with other service-day settings */
	ST_EACCES = -9,    /* the system refused access to a file or directory (EACCES, EPERM) */
	ST_EROFS = -10,    /* a write on a read-only file system (e.g. outside a unit's ReadWritePaths) */
	ST_ENOTDIR = -11,  /* the path, or a part of it, is not a directory */
	ST_EZONE = -12,    /* the time zone is not a tz database zone name (zone.h) */
	ST_EBUSY = -13,    /* another komposterd holds the database (st_options.exclusive) */
	ST_ESCHEMA = -14,  /* the database was made by another version of komposter (schema version differs) */
	ST_ENOKEY = -15,   /* imported epoch keys (epoch_share.h): no key for the epoch yet; retry later */
	ST_ECONFLICT = -16, /* an imported epoch key conflicts with the one held, or its epoch was destroyed */
};

enum st_epoch_period {
	ST_EPOCH_DAY = 0,
	ST_EPOCH_WEEK = 1,
	ST_EPOCH_MONTH = 2,
};

struct st_options {
	const char *path;           /* directory; created if missing (default "./data") */
	size_t map_size_initial;    /* bytes (default 64 MiB) */
	size_t map_size_max;        /* bytes (default 64 GiB) */
	/* The service-day settings: used to create a database; checked against
	 * (or, adopting, replaced by) the recorded ones on later opens. */
	const char *timezone;       /* tz database zone name for service dates, required
	                             * (default "Europe/Kyiv"); see st_zone_valid (zone.h) */
	int service_day_start_hour; /* 0..23: taps before it belong to the previous date (default 3) */
	int epoch_period;           /* enum st_epoch_period (default day) */
	int read_only;              /* open for tools that only read; always adopts the recorded settings */
	int adopt_settings;         /* read-write: use the recorded settings instead of the three
	                             * above (tools that never change them); default 0 */
	int exclusive;              /* read-write: hold the directory's lock (dir_lock.h) while
	                             * open, ST_EBUSY when another process holds it; default 0 */
	int epoch_keys_imported;    /* 1: the writer never makes an epoch key; a tap of an epoch
	                             * without one fails its group with ST_ENOKEY (epoch_share.h);
	                             * default 0: made when first needed (pseudonym.h) */
	int riders_defer_ms;        /* 0 (default): the riders' sketches are written in every commit
	                             * group; N > 0: at most every N ms (riders.h, "Deferred");
	                             * below 0: ST_EINVAL */
	int derive_defer_ms;        /* 0 (default): the trees derived from the log are written
	                             * in every commit group; N > 0: behind it, the writer
	                             * deriving frames N ms after their commit (derive.h);
	                             * below 0: ST_EINVAL */
};

/* Fills opts with the defaults above. */
void st_options_default(struct st_options *opts);

struct st_db;   /* opaque; one per process */
struct st_zone; /* zone.h */

/* The database directory is made (with its parents) when missing; when it
 * cannot be used the error says why: ST_EACCES, ST_EROFS, ST_ENOTDIR (the
 * path is a file, or runs through one), ST_EFULL (no space left).
 * ST_EINVAL for bad options; ST_EZONE for a timezone that st_zone_valid
 * refuses (glibc would silently use UTC), found before anything is created
 * or recorded (a read-only or adopt_settings open checks only the zone it
 * ends up using); ST_ENOTFOUND for a read-only open of a database that does not exist;
 * ST_ESCHEMA for a database of another schema version (made by another
 * version of komposter: it is never migrated); ST_ECORRUPT for one whose
 * recorded schema version does not decode; ST_EMISMATCH for a
 * read-write open without adopt_settings whose timezone (compared as
 * written), service_day_start_hour or epoch_period differs from the
 * recorded ones: nothing is changed then. A read-only open creates nothing
 * and works while another process has the database open for writing. One
 * st_db per process and environment (an LMDB rule). opts is copied, its
 * strings too: the caller's need not outlive the call. */
int st_db_open(struct st_db **out, const struct st_options *opts);
void st_db_close(struct st_db *db);
/* The options in use: the service-day settings are the recorded (adopted)
 * ones; strings live as long as db. */
const struct st_options *st_db_options(const struct st_db *db);
/* The time zone of those settings, read at open (zone.h) for
 * st_service_day; it lives as long as db. st_db_open leaves the process's
 * TZ as it was. */
const struct st_zone *st_db_zone(const struct st_db *db);
size_t st_db_map_size(const struct st_db *db);
const char *st_strerror(int status);
/* The raw LMDB or errno code behind the last failure in this thread (give it
 * to mdb_strerror to log the detail of an ST_EIO), 0 if none yet. */
int st_last_error(void);

/* A short read transaction. Begin, read through the module APIs, end.
 * A read transaction is begun and ended on the same thread: it holds the
 * resize lock (a pthread rwlock) shared, and only the thread that took a
 * rwlock may release it (POSIX leaves anything else undefined). Never begin
 * a second one, or call a write function, in a thread that holds one: the
 * resize lock is not recursive and a waiting resize would deadlock it. */
struct st_read {
	struct st_db *db;
	MDB_txn *txn;
};
int st_read_begin(struct st_db *db, struct st_read *r);
void st_read_end(struct st_read *r);

#endif
