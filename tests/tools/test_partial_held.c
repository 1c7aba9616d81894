/*
 * Description: `komposter partial` signs what it writes for another
 * instance's `komposter merge`, so it refuses to write one from part of the
 * log: when a komposterd was killed holding distinct-rider sketches it had
 * not written (storage/riders.h), or frames it had not derived
 * (storage/derive.h), and no komposterd is running to catch up, it exits 1
 * with one line naming what holds how much, and writes nothing. Once a
 * komposterd has started and stopped (a read-write open replays the log
 * after the mark; its writer writes what it holds before it stops), the
 * same command writes the partial.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fill.h"
#include "harness.h"
#include "storage/db.h"
#include "storage/derive.h"
#include "storage/riders.h"

static char dir[64], db[128], conf[128], key[128], out[128];

static void open_db(struct st_db **opened, int riders_defer_ms, int derive_defer_ms)
{
	struct st_options opts;

	st_options_default(&opts);
	opts.path = db;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.riders_defer_ms = riders_defer_ms;
	opts.derive_defer_ms = derive_defer_ms;
	cr_assert_eq(st_db_open(opened, &opts), ST_OK);
}

/* Three frames in step, then two that a komposterd deferring `which` held
 * when it was killed. */
static void held(int riders_defer_ms, int derive_defer_ms)
{
	struct kp_tap taps[3];
	struct st_db *killed;
	struct tools_run r;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(out, sizeof(out), "%s/partial.json", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tools_run_free(&r);
	fill_taps_at_one_stop(taps, 3, 1);
	cr_assert_eq(fill_taps(db, 0x61, taps, 3, 1), 0);
	open_db(&killed, riders_defer_ms, derive_defer_ms);
	fill_taps_at_one_stop(taps, 2, 10);
	cr_assert_eq(fill_taps_db(killed, 0x62, taps, 2, 1), 0);
	st_db_close(killed); /* as a kill leaves it: nothing held written */
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

static int partial(struct tools_run *r)
{
	return tools_run(r, "-c", conf, "partial", "--date", "2024-06-15", "--key", key, "--out", out, NULL);
}

static void refused(const char *what)
{
	struct tools_run r;

	cr_assert_eq(partial(&r), 0);
	cr_expect_eq(r.status, 1, "stderr: %s", r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, what), "%s", r.err);
	cr_expect_neq(access(out, F_OK), 0, "a partial was written from part of the log");
	tools_run_free(&r);
}

/* A komposterd started and stopped: the open replays, its writer's stop
 * writes what it holds. */
static void komposterd_restarted(void)
{
	struct st_db *opened;

	open_db(&opened, 250, 100);
	cr_assert_eq(st_riders_sync(opened, 0), ST_OK);
	cr_assert_eq(st_derive_catch_up(opened), ST_OK);
	st_db_close(opened);
}

static void written(void)
{
	struct tools_run r;

	cr_assert_eq(partial(&r), 0);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(access(out, F_OK), 0);
	tools_run_free(&r);
}

static void riders_held(void)
{
	held(3600 * 1000, 0);
}

static void cells_held(void)
{
	held(0, 3600 * 1000);
}

Test(partial_held, refuses_sketches_that_miss_frames, .init = riders_held, .fini = teardown)
{
	refused("komposter: partial: the distinct-rider sketches hold the log up to frame 3 of 5: a komposterd "
	        "stopped before it derived the rest");
	komposterd_restarted();
	written();
}

Test(partial_held, refuses_cells_that_miss_frames, .init = cells_held, .fini = teardown)
{
	refused("komposter: partial: the cells, indexes and device traffic hold the log up to frame 3 of 5");
	komposterd_restarted();
	written();
}
