/*
 * dir_lock.c — the database's exclusive lock file (see dir_lock.h).
 *
 * flock(2), not fcntl(2) record locks: a flock belongs to the open file
 * description, so a second open in the same process conflicts too (the unit
 * tests rely on it), and closing some other descriptor of the file does not
 * silently drop it.
 */
#include "storage/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "storage/db.h"
#include "storage/db_internal.h"

static pid_t read_holder(int fd)
{
	char text[24];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n <= 0)
		return 0;
	text[n] = '\0';
	long pid = strtol(text, NULL, 10);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

static int write_holder(int fd)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
		return -1;
	return 0;
}

static int lock_path(const char *dir, char path[PATH_MAX])
{
	return snprintf(path, PATH_MAX, "%s/%s", dir, ST_DIR_LOCK_FILE) < PATH_MAX ? 0 : -1;
}

pid_t st_dir_lock_holder(const char *dir)
{
	char path[PATH_MAX];

	if (lock_path(dir, path) != 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	pid_t pid = read_holder(fd);
	close(fd);
	return pid;
}

int st_dir_lock(const char *dir, int *fd_out)
{
	char path[PATH_MAX];
	int fd;

	*fd_out = -1;
	if (lock_path(dir, path) != 0)
		return st_status(ENAMETOOLONG);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_status(errno);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(fd);
		return err == EWOULDBLOCK ? ST_EBUSY : st_status(err);
	}
	if (write_holder(fd) != 0) {
		int err = errno;
		close(fd);
		return st_status(err);
	}
	*fd_out = fd;
	return ST_OK;
}

void st_dir_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock; the pid left in the file is harmless */
}
