/*
 * backup.h — a consistent copy of the database while komposterd runs.
 *
 * Promises:
 *  - the copy is one committed snapshot (LMDB's mdb_env_copyfd2 reads it in
 *    one read transaction), so a daemon may go on writing meanwhile: the
 *    copy holds every frame committed (and so ACKed) before it began;
 *  - the copy is DIR/data.mdb, a database that st_db_open, mdb_stat and
 *    `komposter check` open as they are (its lock.mdb is made on first open);
 *  - the file is made with O_EXCL and mode 0600 (it holds the epoch keys,
 *    like the database), never over an existing one, and is fsynced with its
 *    directory before ST_OK;
 *  - on failure a partly written data.mdb is removed.
 * It is meant for a process that does nothing else with db meanwhile (the
 * CLI): it holds db's resize lock exclusive for the whole copy, so that it
 * may adopt a map another process grew (MDB_MAP_RESIZED) and begin again.
 */
#ifndef ST_BACKUP_H
#define ST_BACKUP_H

#include <stdint.h>

#include "storage/db.h"

struct st_backup_report {
	uint64_t used_bytes;   /* pages in use in the source when the copy began */
	uint64_t copied_bytes; /* the size of DIR/data.mdb */
};

/* Copies db into the existing directory dir (DIR/data.mdb); compact drops
 * free pages (MDB_CP_COMPACT), 0 copies page for page. Errors: ST_EEXIST
 * when DIR/data.mdb exists, ST_EACCES, ST_EROFS, ST_ENOTDIR, ST_ENOTFOUND
 * (no such dir), ST_EFULL (no space), ST_EIO (st_last_error has the LMDB or
 * errno code), ST_EINVAL for a path too long. */
int st_backup(struct st_db *db, const char *dir, int compact, struct st_backup_report *rep);

#endif
