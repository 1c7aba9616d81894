/*
 * Description: `komposter backup DIR` copies a database into a new DIR
 * (mode 0700, data.mdb mode 0600) that `komposter check` passes with every
 * tap; it refuses a non-empty DIR and one that holds a data.mdb with exit 1
 * and one line, before touching anything, and takes exactly one DIR.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fill.h"
#include "harness.h"

#define TAPS 30

static char dir[64], db[128], conf[128], out[128], out_file[160];

static void setup(void)
{
	struct kp_tap taps[TAPS];

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(out, sizeof(out), "%s/backup", dir);
	snprintf(out_file, sizeof(out_file), "%s/data.mdb", out);
	cr_assert_eq(fill_write_config(conf, db), 0);
	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < TAPS; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 9, (int)i);
		taps[i].card_token[0] = (uint8_t)i;
		taps[i].route_id = 7;
		taps[i].stop_id = 70;
		taps[i].fare_product = 1;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, 0xb1, taps, TAPS, 6), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(backup, .init = setup, .fini = teardown);

static void expect_refused(const char *why)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "backup", "-c", conf, out, NULL), 0);
	cr_expect_eq(r.status, 1, "%s: exit %d, stderr: %s", why, r.status, r.err);
	cr_expect_eq(strncmp(r.err, "komposter: backup: ", 19), 0, "stderr: %s", r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "%s: stderr: %s", why, r.err);
	cr_expect_not_null(strstr(r.err, "not empty"), "stderr: %s", r.err);
	tools_run_free(&r);
}

Test(backup, a_copy_into_a_new_dir_is_private_and_passes_check)
{
	struct tools_run r;
	struct stat st;

	cr_assert_eq(tools_run(&r, "backup", "-c", conf, out, NULL), 0);
	cr_assert_eq(r.status, 0, "stdout: %s stderr: %s", r.out, r.err);
	cr_expect_not_null(strstr(r.err, "backup: copying"), "no progress line: %s", r.err);
	cr_expect_not_null(strstr(r.out, "data.mdb"), "stdout: %s", r.out);
	tools_run_free(&r);
	cr_assert_eq(stat(out, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "DIR mode %o", st.st_mode & 07777);
	cr_assert_eq(stat(out_file, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "data.mdb mode %o", st.st_mode & 07777);

	cr_assert_eq(tools_run(&r, "check", "-c", conf, "--db", out, NULL), 0);
	cr_expect_eq(r.status, 0, "stdout: %s stderr: %s", r.out, r.err);
	cr_expect_not_null(strstr(r.out, "taps 30,"), "stdout: %s", r.out);
	cr_expect_not_null(strstr(r.out, "problems 0"), "stdout: %s", r.out);
	tools_run_free(&r);
}

Test(backup, an_empty_existing_dir_is_taken_and_made_private)
{
	struct tools_run r;
	struct stat st;

	cr_assert_eq(mkdir(out, 0755), 0);
	cr_assert_eq(tools_run(&r, "backup", "--no-compact", "-c", conf, out, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	tools_run_free(&r);
	cr_assert_eq(stat(out, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "DIR mode %o", st.st_mode & 07777);
	cr_expect_eq(stat(out_file, &st), 0);
}

Test(backup, a_dir_holding_a_data_mdb_is_refused_and_left_alone)
{
	struct stat st;
	FILE *f;

	cr_assert_eq(mkdir(out, 0700), 0);
	cr_assert_not_null(f = fopen(out_file, "w"));
	cr_assert_eq(fputs("an older backup", f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	expect_refused("a DIR with data.mdb");
	cr_assert_eq(stat(out_file, &st), 0);
	cr_expect_eq(st.st_size, (off_t)strlen("an older backup"), "data.mdb was overwritten");
}

Test(backup, a_non_empty_dir_is_refused)
{
	char other[192];
	FILE *f;

	cr_assert_eq(mkdir(out, 0700), 0);
	snprintf(other, sizeof(other), "%s/notes.txt", out);
	cr_assert_not_null(f = fopen(other, "w"));
	cr_assert_eq(fclose(f), 0);
	expect_refused("a non-empty DIR");
	cr_expect_neq(access(out_file, F_OK), 0, "a copy was written beside notes.txt");
}

Test(backup, the_database_dir_itself_is_refused)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "backup", "-c", conf, db, NULL), 0);
	cr_expect_eq(r.status, 1, "stderr: %s", r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	tools_run_free(&r);
}

Test(backup, it_takes_exactly_one_dir)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "backup", "-c", conf, NULL), 0);
	cr_expect_eq(r.status, 2, "no DIR: exit %d", r.status);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "backup", "-c", conf, out, "second", NULL), 0);
	cr_expect_eq(r.status, 2, "two DIRs: exit %d", r.status);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "backup", "--help", NULL), 0);
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "Usage: komposter backup"), "stdout: %s", r.out);
	tools_run_free(&r);
}
