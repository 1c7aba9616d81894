/*
 * Description: when the database directory cannot be used, st_db_open says
 * why, in a status with its own message: a path that is a file (or runs
 * through one) is "not a directory", a directory the user may not write is
 * "permission denied", a read-only file system is "read-only file system";
 * never the catch-all "I/O or LMDB error".
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(open_errors, .init = tdb_setup, .fini = tdb_teardown);

#define NOBODY 65534

/* Opens path read-write (or read-only) and expects want; the status's
 * message is st_strerror's. */
static void expect_open(const char *path, int read_only, int want, const char *message)
{
	struct st_options o = tdb.opts;
	struct st_db *db = NULL;
	int rc;

	o.path = path;
	o.read_only = read_only;
	rc = st_db_open(&db, &o);
	cr_expect_eq(rc, want, "%s: %s, want %s", path, st_strerror(rc), st_strerror(want));
	cr_expect_null(db);
	cr_expect_str_eq(st_strerror(rc), message);
	st_db_close(db);
}

static void path_in_tdb(char *out, size_t size, const char *name)
{
	cr_assert_lt((size_t)snprintf(out, size, "%s/%s", tdb.dir, name), size);
}

Test(open_errors, a_path_that_is_a_file_is_not_a_directory)
{
	char file[128], below[160];
	FILE *f;

	path_in_tdb(file, sizeof file, "file");
	f = fopen(file, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_lt((size_t)snprintf(below, sizeof below, "%s/data", file), sizeof below);
	expect_open(file, 0, ST_ENOTDIR, "not a directory");
	expect_open(file, 1, ST_ENOTDIR, "not a directory");
	expect_open(below, 0, ST_ENOTDIR, "not a directory"); /* cannot be made */
}

/* Root may write anywhere: the open then runs as user nobody (effective
 * uid only, so the test can turn back to root and clean up). */
static int become_nobody(void)
{
	if (geteuid() != 0)
		return 1;
	if (chmod(tdb.dir, 0711) != 0) /* nobody may pass through, not write */
		return 0;
	return setegid(NOBODY) == 0 && seteuid(NOBODY) == 0;
}

static void back_to_root(uid_t uid, gid_t gid)
{
	cr_assert_eq(seteuid(uid), 0);
	cr_assert_eq(setegid(gid), 0);
}

Test(open_errors, a_directory_the_user_may_not_write_is_permission_denied)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char dir[128], below[160];

	path_in_tdb(dir, sizeof dir, "locked");
	cr_assert_eq(mkdir(dir, 0555), 0); /* anyone may enter, only root may write */
	cr_assert_lt((size_t)snprintf(below, sizeof below, "%s/data", dir), sizeof below);
	if (!become_nobody())
		cr_skip_test("cannot run as user nobody (%s)", strerror(errno));
	expect_open(dir, 0, ST_EACCES, "permission denied");
	expect_open(below, 0, ST_EACCES, "permission denied"); /* cannot be made */
	back_to_root(uid, gid);
}

/* A read-only tmpfs at dir, in a mount namespace of this test's own (the
 * test runs in a process of its own). 0 when that is not allowed here. */
static int mount_read_only(const char *dir)
{
	if (unshare(CLONE_NEWNS) != 0)
		return 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 0;
	return mount("tmpfs", dir, "tmpfs", MS_RDONLY, NULL) == 0;
}

Test(open_errors, a_read_only_file_system_says_so)
{
	char dir[128], below[160];

	path_in_tdb(dir, sizeof dir, "ro");
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_lt((size_t)snprintf(below, sizeof below, "%s/data", dir), sizeof below);
	if (!mount_read_only(dir))
		cr_skip_test("cannot mount a read-only file system here (%s)", strerror(errno));
	expect_open(dir, 0, ST_EROFS, "read-only file system");
	expect_open(below, 0, ST_EROFS, "read-only file system"); /* cannot be made */
	cr_assert_eq(umount(dir), 0);
}
