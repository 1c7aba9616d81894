/*
 * Description: frames a komposterd committed and had not derived when it
 * was killed (storage/derive.h): a read-only command, with no komposterd
 * running to derive them, reads the cells as they are and says on stderr
 * how far they hold the log; a read-write open derives them, and then the
 * same command counts every frame and says nothing.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/db.h"

static char dir[64], db[128], conf[128];

static void open_db(struct st_db **out, int defer_ms)
{
	struct st_options opts;

	st_options_default(&opts);
	opts.path = db;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.derive_defer_ms = defer_ms;
	cr_assert_eq(st_db_open(out, &opts), ST_OK);
}

/* Three frames in step, then two a deferring writer held when it stopped. */
static void setup(void)
{
	struct kp_tap taps[3];
	struct st_db *held;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	fill_taps_at_one_stop(taps, 3, 1);
	cr_assert_eq(fill_taps(db, 0x61, taps, 3, 1), 0);
	open_db(&held, 3600 * 1000);
	fill_taps_at_one_stop(taps, 2, 10);
	cr_assert_eq(fill_taps_db(held, 0x62, taps, 2, 1), 0);
	st_db_close(held); /* as a kill leaves it: frames 4 and 5 not derived */
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(stats_held, .init = setup, .fini = teardown);

static double accepted(void)
{
	struct tools_run r;
	cJSON *doc;
	double n;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--from", "2024-06-15", "--to", "2024-06-15", "--json", NULL),
	             0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "total"), "accepted")->valuedouble;
	cJSON_Delete(doc);
	tools_run_free(&r);
	return n;
}

Test(stats_held, a_read_only_command_says_how_far_the_cells_hold_the_log)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--from", "2024-06-15", "--to", "2024-06-15", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "komposter: stats: note: the cells, indexes and device traffic hold the log "
	                                 "up to frame 3 of 5"),
	                   "%s", r.err);
	tools_run_free(&r);
	cr_expect_eq(accepted(), 3, "the held frames are not counted by a reader that cannot derive them");
}

Test(stats_held, a_read_write_open_derives_them)
{
	struct tools_run r;
	struct st_db *opened;

	open_db(&opened, 0);
	st_db_close(opened);
	cr_expect_eq(accepted(), 5);
	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--from", "2024-06-15", "--to", "2024-06-15", NULL), 0);
	cr_expect_null(strstr(r.err, "note:"), "%s", r.err);
	tools_run_free(&r);
}
