/*
 * Description: `komposter check` exits 0 with a summary (entries, taps,
 * count records, problems) on a database written by the daemon's commit path, and 1 with one line on stderr when
 * there is no database, without creating one, and 1 with the problem on
 * stdout when a stored aggregate no longer matches the log.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "fill.h"
#include "harness.h"

static char dir[64], db[128], conf[128];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(check, .init = setup, .fini = teardown);

Test(check, a_missing_database_fails_and_is_not_created)
{
	struct tools_run r;
	struct stat st;

	cr_assert_eq(tools_run(&r, "check", "--db", db, NULL), 0);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(strncmp(r.err, "komposter: check: ", 18), 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	tools_run_free(&r);
	cr_assert_neq(stat(db, &st), 0, "check created the database");
}

Test(check, a_good_database_passes)
{
	struct kp_tap taps[40];
	struct tools_run r;

	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < 40; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 8, (int)i);
		taps[i].card_token[0] = (uint8_t)i;
		taps[i].route_id = 10 + (uint32_t)(i % 3);
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, 0xa1, taps, 40, 7), 0);
	/* the config gives the time zone the aggregates were written in */
	cr_assert_eq(tools_run(&r, "check", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "stdout: %s stderr: %s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "problems 0"), "stdout: %s", r.out);
	cr_assert_not_null(strstr(r.out, "taps 40"), "stdout: %s", r.out);
	tools_run_free(&r);
}

/* Changes the first byte of the first tap_agg value (the low byte of its
 * accepted count, storage/tap_agg.c) behind the storage layer's back. */
static void damage_first_tap_agg(const char *db_dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t val[64];

	cr_assert_eq(mdb_env_create(&env), MDB_SUCCESS);
	cr_assert_eq(mdb_env_set_maxdbs(env, 16), MDB_SUCCESS);
	cr_assert_eq(mdb_env_open(env, db_dir, 0, 0600), MDB_SUCCESS);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), MDB_SUCCESS);
	cr_assert_eq(mdb_dbi_open(txn, "tap_agg", 0, &dbi), MDB_SUCCESS);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), MDB_SUCCESS);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), MDB_SUCCESS);
	cr_assert(v.mv_size > 0 && v.mv_size <= sizeof(val), "value of %zu bytes", v.mv_size);
	memcpy(val, v.mv_data, v.mv_size);
	val[0] ^= 0x40;
	v.mv_data = val;
	cr_assert_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), MDB_SUCCESS);
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_txn_commit(txn), MDB_SUCCESS);
	mdb_env_close(env);
}

Test(check, count_records_are_checked_and_counted_in_the_summary)
{
	const struct kp_count recs[] = {
		{ .observed_at = fill_utc_ms(2024, 6, 15, 8, 0), .route_id = 10, .stop_id = 100, .door = 1,
		  .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = 4, .alightings = 1,
		  .occupancy = KP_OCCUPANCY_UNKNOWN, .confidence = KP_CONFIDENCE_UNKNOWN },
		{ .observed_at = fill_utc_ms(2024, 6, 15, 8, 1), .route_id = 10, .kind = KP_COUNT_KIND_OCCUPANCY,
		  .occupancy = 17, .confidence = KP_CONFIDENCE_UNKNOWN },
	};
	struct tools_run r;

	cr_assert_eq(fill_counts(db, 0xa3, 1, recs, 2), 0);
	cr_assert_eq(tools_run(&r, "check", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "stdout: %s stderr: %s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "entries 1, taps 0, counts 2, problems 0"), "stdout: %s", r.out);
	tools_run_free(&r);
}

Test(check, a_damaged_aggregate_fails_with_the_problem_on_stdout)
{
	struct kp_tap taps[12];
	struct tools_run r;

	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < 12; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 8, (int)i);
		taps[i].card_token[0] = (uint8_t)i;
		taps[i].route_id = 10 + (uint32_t)(i % 2);
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, 0xa2, taps, 12, 5), 0);
	damage_first_tap_agg(db);
	cr_assert_eq(tools_run(&r, "check", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 1, "stdout: %s stderr: %s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "tap_agg: cell "), "stdout: %s", r.out);
	cr_assert_not_null(strstr(r.out, "problems 1"), "stdout: %s", r.out);
	cr_assert_not_null(strstr(r.err, "komposter: check: 1 problem found"), "stderr: %s", r.err);
	tools_run_free(&r);
}
