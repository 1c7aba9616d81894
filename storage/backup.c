/*
 * backup.c — st_backup: LMDB's own copy into a file this module makes.
 *
 * The file is opened here rather than by mdb_env_copy2 so that its mode is
 * 0600 whatever the umask, and O_EXCL refuses an existing copy even when two
 * backups race. mdb_env_copyfd2 neither fsyncs nor retries a map that grew
 * in another process; both are done here.
 */
#define _GNU_SOURCE
#include "storage/backup.h"
#include "storage/db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_FILE "data.mdb"
#define RESIZE_TRIES 4 /* a daemon grows its map a few times at most during a copy */

static uint64_t used_bytes(MDB_env *env)
{
	MDB_envinfo info;
	MDB_stat st;

	if (mdb_env_info(env, &info) != MDB_SUCCESS || mdb_env_stat(env, &st) != MDB_SUCCESS)
		return 0;
	return ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
}

/* The copy, begun again from an empty file when the map grew under it. */
static int copy_into(struct st_db *db, int fd, unsigned flags)
{
	int rc = MDB_MAP_RESIZED;

	for (int i = 0; i < RESIZE_TRIES && rc == MDB_MAP_RESIZED; i++) {
		rc = mdb_env_copyfd2(db->env, fd, flags);
		if (rc != MDB_MAP_RESIZED)
			break;
		/* No transaction is open in this process: the resize lock is ours. */
		if ((rc = mdb_env_set_mapsize(db->env, 0)) != MDB_SUCCESS)
			break;
		if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
			rc = errno;
			break;
		}
		rc = MDB_MAP_RESIZED;
	}
	return st_status(rc);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = ST_OK;

	if (fd < 0)
		return st_status(errno);
	if (fsync(fd) != 0)
		rc = st_status(errno);
	close(fd);
	return rc;
}

static int finish(int fd, const char *dir, struct st_backup_report *rep)
{
	struct stat st;

	if (fsync(fd) != 0 || fstat(fd, &st) != 0)
		return st_status(errno);
	rep->copied_bytes = (uint64_t)st.st_size;
	return sync_dir(dir);
}

int st_backup(struct st_db *db, const char *dir, int compact, struct st_backup_report *rep)
{
	char path[PATH_MAX];
	int n, fd, rc;

	if (!db || !dir || !rep)
		return ST_EINVAL;
	n = snprintf(path, sizeof path, "%s/%s", dir, BACKUP_FILE);
	if (n < 0 || (size_t)n >= sizeof path)
		return ST_EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? ST_EEXIST : st_status(errno);
	if (pthread_rwlock_wrlock(&db->resize_lock) != 0) {
		rc = ST_EIO;
	} else {
		rep->used_bytes = used_bytes(db->env);
		rc = copy_into(db, fd, compact ? MDB_CP_COMPACT : 0);
		pthread_rwlock_unlock(&db->resize_lock);
	}
	if (rc == ST_OK)
		rc = finish(fd, dir, rep);
	if (close(fd) != 0 && rc == ST_OK)
		rc = st_status(errno);
	if (rc != ST_OK)
		unlink(path); /* a partial copy must not pass for a backup */
	return rc;
}
