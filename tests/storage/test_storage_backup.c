/*
 * Description: st_backup copies one consistent snapshot that opens as a
 * database with every committed entry, also after another process grew the
 * map under this one's open environment (MDB_MAP_RESIZED: the copy adopts
 * the new size and begins again), and refuses to write over a data.mdb.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "storage/backup.h"
#include "storage/check.h"

TestSuite(backup, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;
#define GROUP 16

/* Commits `groups` groups of GROUP full frames of d from batch_seq first. */
static int commit_frames(struct st_db *db, const struct tdev *d, uint64_t first, int groups)
{
	static uint8_t frames[GROUP][KP_FRAME_MAX];
	struct st_commit_item items[GROUP];
	struct st_commit_stats stats;

	for (int g = 0; g < groups; g++) {
		for (int i = 0; i < GROUP; i++) {
			uint64_t bs = first + (uint64_t)(g * GROUP + i);
			size_t len = t_frame_simple(frames[i], d, bs, KP_RECORDS_MAX, noon + (int64_t)bs * 1000,
			                            (uint32_t)bs * KP_RECORDS_MAX);
			items[i] = (struct st_commit_item){ .frame = frames[i], .len = len };
		}
		if (st_commit_group(db, items, GROUP, &stats) != ST_OK)
			return -1;
	}
	return 0;
}

/* The entries of the copy in dir, checked (problems must be 0). */
static uint64_t copy_entries(const char *dir)
{
	struct st_options o = tdb.opts;
	struct st_check_report rep;
	struct st_db *copy;

	o.path = dir;
	o.read_only = 1;
	cr_assert_eq(st_db_open(&copy, &o), ST_OK, "the copy does not open");
	cr_assert_eq(st_check(copy, &rep, stderr, NULL, NULL), ST_OK);
	st_db_close(copy);
	cr_expect_eq(rep.problems, 0);
	return rep.entries;
}

static void backup_dir(char out[128], const char *name)
{
	snprintf(out, 128, "%s-%s", tdb.dir, name);
	cr_assert_eq(mkdir(out, 0700), 0);
}

static void remove_backup(const char *dir)
{
	char path[160];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

Test(backup, a_copy_holds_every_entry_and_is_0600)
{
	struct st_backup_report rep = { 0 };
	struct tdev d;
	char dir[128], file[160];
	struct stat st;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(commit_frames(tdb.db, &d, 1, 2), 0);
	backup_dir(dir, "copy");
	cr_assert_eq(st_backup(tdb.db, dir, 1, &rep), ST_OK);
	cr_expect_gt(rep.copied_bytes, 0);
	snprintf(file, sizeof file, "%s/data.mdb", dir);
	cr_assert_eq(stat(file, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq((uint64_t)st.st_size, rep.copied_bytes);
	cr_expect_eq(st_backup(tdb.db, dir, 1, &rep), ST_EEXIST, "a second copy wrote over the first");
	cr_expect_eq(copy_entries(dir), 2 * GROUP);
	remove_backup(dir);
}

Test(backup, a_map_another_process_grew_is_adopted_and_the_copy_is_whole)
{
	struct st_backup_report rep = { 0 };
	struct tdev d;
	char dir[128];
	size_t before;
	int status;

	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 64 * T_MIB;
	tdb_open();
	tdev_make(&d, 0xB2);
	cr_assert_eq(commit_frames(tdb.db, &d, 1, 1), 0);
	before = st_db_map_size(tdb.db);

	/* Another process (a daemon) opens the same database and grows its map
	 * well past this one's; it never touches this process's environment. */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct st_db *other = NULL;
		int ok = st_db_open(&other, &tdb.opts) == ST_OK && commit_frames(other, &d, GROUP + 1, 8) == 0 &&
		         st_db_map_size(other) > before;
		st_db_close(other);
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process did not grow the map");
	cr_assert_eq(st_db_map_size(tdb.db), before, "this process saw the growth already");

	backup_dir(dir, "grown");
	cr_assert_eq(st_backup(tdb.db, dir, 1, &rep), ST_OK, "%s", st_strerror(st_last_error()));
	cr_expect_eq(copy_entries(dir), 9 * GROUP, "the copy misses what the other process committed");
	remove_backup(dir);
}
