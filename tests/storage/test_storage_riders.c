/*
 * Description: distinct riders per (service date, route) and per date
 * (riders.h), through the real commit path: accepted taps count once per
 * card in their route's and their date's sketch, denied taps and repeated
 * frames add nothing, sketches of two routes merge into the date's, a day
 * of thousands of riders is estimated within its error, and st_check
 * recomputes every sketch from the log and reports a tampered one.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firmware-proto/bytes.h"
#include "helpers.h"
#include "storage/check.h"
#include "storage/riders.h"

TestSuite(riders, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST). */
static const int64_t noon = 1715763600000;
static const uint32_t today = 20240515;

static double estimate(uint32_t date, uint32_t route)
{
	struct st_read r;
	double e = -1;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_riders_estimate(&r, date, route, &e), ST_OK);
	st_read_end(&r);
	return e;
}

static size_t sketch(uint32_t date, uint32_t route, uint8_t buf[ST_HLL_SERIALIZED_MAX])
{
	struct st_read r;
	size_t len = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_riders_sketch_get(&r, date, route, buf, ST_HLL_SERIALIZED_MAX, &len), ST_OK);
	st_read_end(&r);
	return len;
}

static void commit(const uint8_t *frame, size_t len, enum st_outcome want)
{
	struct st_commit_item it;

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, want);
}

static uint64_t check_problems(char **text)
{
	struct st_check_report rep;
	size_t text_len;
	FILE *out = open_memstream(text, &text_len);

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &rep, out, NULL, NULL), ST_OK);
	fclose(out);
	return rep.problems;
}

/* Riders 1 and 2 on route 7 (rider 1 twice), rider 3 on route 8. */
static void three_riders_two_routes(const struct tdev *d)
{
	uint8_t frame[KP_FRAME_MAX];
	const struct kp_tap taps[] = {t_tap(noon, 7, 100, 1, 800, 1), t_tap(noon + 60000, 7, 101, 1, 800, 2),
	                              t_tap(noon + 120000, 7, 100, 1, 800, 1), t_tap(noon, 8, 200, 1, 800, 3)};

	commit(frame, t_frame(frame, d, 1, taps, 4), ST_STORED);
}

Test(riders, three_riders_on_two_routes_are_two_one_and_three)
{
	struct tdev d;

	tdev_make(&d, 0xA1);
	tdb_open();
	cr_assert_eq(estimate(today, 7), 0);
	three_riders_two_routes(&d);
	cr_assert_eq(llround(estimate(today, 7)), 2);
	cr_assert_eq(llround(estimate(today, 8)), 1);
	cr_assert_eq(llround(estimate(today, ST_RIDERS_ALL)), 3);
	cr_assert_eq(estimate(today + 1, ST_RIDERS_ALL), 0);
}

Test(riders, denied_taps_add_no_rider)
{
	uint8_t frame[KP_FRAME_MAX], before[ST_HLL_SERIALIZED_MAX], after[ST_HLL_SERIALIZED_MAX];
	struct kp_tap taps[] = {t_tap(noon, 7, 100, 1, 0, 9), t_tap(noon, 9, 100, 1, 0, 10)};
	struct tdev d;
	size_t lb, la;

	tdev_make(&d, 0xA2);
	tdb_open();
	three_riders_two_routes(&d);
	lb = sketch(today, ST_RIDERS_ALL, before);
	taps[0].result = KP_TAP_DENIED_BALANCE;
	taps[1].result = KP_TAP_DENIED_BLOCKLISTED;
	commit(frame, t_frame(frame, &d, 2, taps, 2), ST_STORED);
	la = sketch(today, ST_RIDERS_ALL, after);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(before, after, la), 0);
	cr_assert_eq(llround(estimate(today, 7)), 2);
	cr_assert_eq(estimate(today, 9), 0);
}

Test(riders, a_repeated_frame_adds_nothing)
{
	uint8_t frame[KP_FRAME_MAX], before[ST_HLL_SERIALIZED_MAX], after[ST_HLL_SERIALIZED_MAX];
	struct tdev d;
	size_t len, lb;

	tdev_make(&d, 0xA3);
	tdb_open();
	len = t_frame_simple(frame, &d, 1, 5, noon, 40);
	commit(frame, len, ST_STORED);
	lb = sketch(today, 7, before);
	commit(frame, len, ST_DUPLICATE);
	cr_assert_eq(sketch(today, 7, after), lb);
	cr_assert_eq(memcmp(before, after, lb), 0);
	cr_assert_eq(llround(estimate(today, 7)), 5);
}

Test(riders, the_same_cards_tapping_again_add_nothing)
{
	uint8_t frame[KP_FRAME_MAX], before[ST_HLL_SERIALIZED_MAX], after[ST_HLL_SERIALIZED_MAX];
	struct tdev d;
	size_t lb;

	tdev_make(&d, 0xA9);
	tdb_open();
	commit(frame, t_frame_simple(frame, &d, 1, 100, noon, 1), ST_STORED);
	lb = sketch(today, ST_RIDERS_ALL, before);
	commit(frame, t_frame_simple(frame, &d, 2, 100, noon + 3600000, 1), ST_STORED);
	commit(frame, t_frame_simple(frame, &d, 3, 50, noon + 7200000, 26), ST_STORED);
	cr_assert_eq(sketch(today, ST_RIDERS_ALL, after), lb);
	cr_assert_eq(memcmp(before, after, lb), 0);
	cr_assert_eq(llround(estimate(today, 7)), 100);
}

Test(riders, two_routes_sketches_merge_into_the_dates)
{
	uint8_t a[ST_HLL_SERIALIZED_MAX], b[ST_HLL_SERIALIZED_MAX], all[ST_HLL_SERIALIZED_MAX],
	    merged[ST_HLL_SERIALIZED_MAX];
	struct tdev d;
	size_t la, lb, lall, lm = 0;

	tdev_make(&d, 0xA4);
	tdb_open();
	three_riders_two_routes(&d);
	la = sketch(today, 7, a);
	lb = sketch(today, 8, b);
	lall = sketch(today, ST_RIDERS_ALL, all);
	cr_assert_eq(st_riders_merge_bytes(a, la, b, lb, merged, sizeof merged, &lm), ST_OK);
	cr_assert_eq(lm, lall);
	cr_assert_eq(memcmp(merged, all, lm), 0);
	cr_assert_eq(st_riders_merge_bytes(a, la - 1, b, lb, merged, sizeof merged, &lm), ST_ECORRUPT);
	cr_assert_eq(st_riders_merge_bytes(a, la, b, lb, merged, 5, &lm), ST_EINVAL);
}

/* n distinct cards from card0 on route 7 at noon, 100 taps a frame, a
 * group of frames per commit. */
static void riders_day(const struct tdev *d, uint32_t n, uint32_t card0)
{
	static uint8_t frames[20][KP_FRAME_MAX];
	struct st_commit_item items[20];
	uint64_t seq = 1;

	for (uint32_t done = 0; done < n;) {
		size_t k = 0;

		for (; k < 20 && done < n; k++) {
			uint16_t taps = (uint16_t)(n - done < 100 ? n - done : 100);

			items[k] = (struct st_commit_item){.frame = frames[k], .received_at = noon};
			items[k].len = t_frame_simple(frames[k], d, seq++, taps, noon, card0 + done);
			done += taps;
		}
		cr_assert_eq(st_commit_group(tdb.db, items, k, NULL), ST_OK);
	}
}

Test(riders, a_thousand_riders_are_counted_within_one_percent_and_check_agrees)
{
	struct tdev d;
	char *text = NULL;
	double e;

	tdev_make(&d, 0xA5);
	tdb_open();
	riders_day(&d, 1000, 1);
	riders_day(&d, 0, 1);
	e = estimate(today, 7);
	cr_assert_leq(fabs(e - 1000) / 1000, 0.01, "estimate %.1f", e);
	cr_assert_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

Test(riders, twenty_thousand_riders_go_dense_within_three_errors_and_check_agrees)
{
	uint8_t buf[ST_HLL_SERIALIZED_MAX];
	struct tdev d;
	char *text = NULL;
	double e;

	tdev_make(&d, 0xA6);
	tdb_open();
	riders_day(&d, 20000, 1);
	e = estimate(today, ST_RIDERS_ALL);
	fprintf(stderr, "riders: 20000 distinct through the commit path, estimate %.0f, error %.3f %%\n", e,
	        fabs(e - 20000) / 200);
	cr_assert_leq(fabs(e - 20000) / 20000, 3 * ST_HLL_STD_ERROR, "estimate %.1f", e);
	cr_assert_eq(sketch(today, 7, buf), ST_HLL_DENSE_SIZE);
	cr_assert_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

/* The stored key of a riders cell: date BE4 ‖ route BE4. */
static MDB_val key_of(uint8_t kb[8], uint32_t date, uint32_t route)
{
	kp_store_u32be(kb, date);
	kp_store_u32be(kb + 4, route);
	return (MDB_val){8, kb};
}

static void raw_edit_riders(void (*edit)(MDB_txn *txn, MDB_dbi dbi))
{
	struct t_raw raw;

	tdb_close();
	t_raw_begin(&raw, "riders", 0);
	edit(raw.txn, raw.dbi);
	t_raw_commit(&raw);
	tdb_open();
}

/* Rider 3's entry in route 8's sketch moves to another register (the top
 * bit of its index flips). */
static void move_an_entry(MDB_txn *txn, MDB_dbi dbi)
{
	uint8_t kb[8];
	MDB_val k = key_of(kb, today, 8), v;
	uint8_t copy[ST_HLL_SERIALIZED_MAX];

	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_eq(v.mv_size, ST_HLL_SPARSE_HEADER_SIZE + ST_HLL_SPARSE_ENTRY_SIZE);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[ST_HLL_SPARSE_HEADER_SIZE + 3] ^= 0x40;
	v.mv_data = copy;
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void add_a_cell(MDB_txn *txn, MDB_dbi dbi)
{
	uint8_t kb[8];
	uint8_t empty[] = {ST_HLL_VERSION, ST_HLL_P, ST_HLL_FORM_SPARSE, 0, 0, 0};
	MDB_val k = key_of(kb, today, 99), v = {sizeof empty, empty};

	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void break_a_cell(MDB_txn *txn, MDB_dbi dbi)
{
	uint8_t kb[8];
	uint8_t junk[] = {9, 9, 9};
	MDB_val k = key_of(kb, today, 7), v = {sizeof junk, junk};

	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void drop_the_total(MDB_txn *txn, MDB_dbi dbi)
{
	uint8_t kb[8];
	MDB_val k = key_of(kb, today, ST_RIDERS_ALL);

	cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
}

static void expect_riders_problem(void (*edit)(MDB_txn *txn, MDB_dbi dbi), const char *what)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xA7);
	tdb_open();
	three_riders_two_routes(&d);
	cr_assert_eq(check_problems(&text), 0, "%s", text);
	free(text);
	raw_edit_riders(edit);
	cr_assert_geq(check_problems(&text), 1);
	cr_assert_not_null(strstr(text, what), "%s", text);
	free(text);
}

Test(riders, check_reports_a_tampered_sketch)
{
	expect_riders_problem(move_an_entry, "riders: sketch of 20240515 route 8 differs from the log's in 2 of");
}

Test(riders, check_reports_a_sketch_with_no_taps_behind_it)
{
	expect_riders_problem(add_a_cell, "riders: sketch of 20240515 route 99 has no accepted tap");
}

Test(riders, check_reports_a_sketch_that_does_not_decode)
{
	expect_riders_problem(break_a_cell, "riders: sketch of 20240515 route 7 (3 bytes) does not decode");
}

Test(riders, check_reports_a_missing_sketch)
{
	expect_riders_problem(drop_the_total, "riders: sketch of 20240515 all routes missing");
}

Test(riders, a_stored_sketch_that_does_not_decode_fails_the_next_commit_and_the_estimate)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	struct st_read r;
	struct tdev d;
	double e;

	tdev_make(&d, 0xA8);
	tdb_open();
	three_riders_two_routes(&d);
	raw_edit_riders(break_a_cell);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 2, 1, noon, 50), &it), ST_ECORRUPT);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_riders_estimate(&r, today, 7, &e), ST_ECORRUPT);
	st_read_end(&r);
}

/* Deferred sketches (riders.h): komposterd's writer holds the notes. */
#define HELD_FOR_AN_HOUR 3600000

Test(riders, held_notes_are_not_in_the_sketches_until_synced_and_check_agrees_at_every_step)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xB1);
	tdb.opts.riders_defer_ms = HELD_FOR_AN_HOUR;
	tdb_open();
	three_riders_two_routes(&d);
	cr_expect_eq(estimate(today, 7), 0, "written before they were due");
	cr_expect_eq(check_problems(&text), 0, "held: %s", text);
	free(text);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	cr_expect_eq(llround(estimate(today, 7)), 2);
	cr_expect_eq(llround(estimate(today, 8)), 1);
	cr_expect_eq(llround(estimate(today, ST_RIDERS_ALL)), 3);
	cr_expect_eq(check_problems(&text), 0, "synced: %s", text);
	free(text);
}

Test(riders, notes_lost_with_the_process_are_read_back_from_the_log_at_the_next_open)
{
	struct tdev d;
	char *text = NULL;
	double e;

	tdev_make(&d, 0xB2);
	tdb.opts.riders_defer_ms = HELD_FOR_AN_HOUR;
	tdb_open();
	riders_day(&d, 1000, 1); /* 10 frames, one group, all held */
	tdb_reopen();            /* a crash: held notes are gone, the log is not */
	cr_expect_eq(estimate(today, 7), 0);
	cr_expect_eq(check_problems(&text), 0, "after the crash: %s", text);
	free(text);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK, "the open read them back");
	e = estimate(today, 7);
	cr_expect_leq(fabs(e - 1000) / 1000, 0.01, "estimate %.1f", e);
	/* With the mark at the log's end, check rebuilds every sketch from the
	 * whole log and compares them byte for byte. */
	cr_expect_eq(check_problems(&text), 0, "read back and synced: %s", text);
	free(text);
}

Test(riders, held_notes_are_written_with_the_first_group_after_they_fall_due)
{
	struct tdev d;
	uint8_t frame[KP_FRAME_MAX];
	const struct kp_tap a = t_tap(noon, 7, 100, 1, 800, 1), b = t_tap(noon, 7, 100, 1, 800, 2);
	char *text = NULL;

	tdev_make(&d, 0xB3);
	tdb.opts.riders_defer_ms = 50;
	tdb_open();
	commit(frame, t_frame(frame, &d, 1, &a, 1), ST_STORED);
	cr_expect_eq(estimate(today, 7), 0);
	usleep(80 * 1000); /* at least the deferral: due, whatever the machine */
	commit(frame, t_frame(frame, &d, 2, &b, 1), ST_STORED);
	cr_expect_eq(llround(estimate(today, 7)), 2, "the held rider and the new one");
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

/* One frame, one tap on each of routes first..first+n-1, rider card0 + i
 * on route first + i. */
static void taps_on_routes(const struct tdev *d, uint64_t seq, uint32_t first, uint32_t n, uint32_t card0)
{
	static uint8_t frame[KP_FRAME_MAX];
	static struct kp_tap taps[KP_RECORDS_MAX];

	cr_assert_leq(n, KP_RECORDS_MAX);
	for (uint32_t i = 0; i < n; i++)
		taps[i] = t_tap(noon, first + i, 100, 1, 800, card0 + i);
	commit(frame, t_frame(frame, d, seq, taps, (uint16_t)n), ST_STORED);
}

static unsigned routes_stored(uint32_t first, uint32_t n)
{
	unsigned stored = 0;

	for (uint32_t i = 0; i < n; i++)
		stored += estimate(today, first + i) > 0;
	return stored;
}

Test(riders, a_group_writes_at_most_four_due_sketches_and_the_next_groups_the_rest)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xB4);
	tdb.opts.riders_defer_ms = 50;
	tdb_open();
	taps_on_routes(&d, 1, 1, 10, 1000); /* 11 sketches: 10 routes and the date's */
	cr_expect_eq(routes_stored(1, 10), 0);
	usleep(80 * 1000); /* all due, whatever the machine */
	taps_on_routes(&d, 2, 1, 1, 2000);
	unsigned after_one = routes_stored(1, 10) + (estimate(today, ST_RIDERS_ALL) > 0);
	cr_expect_eq(after_one, 4, "the first group after they fell due wrote %u", after_one);
	cr_expect_eq(check_problems(&text), 0, "four written: %s", text);
	free(text);
	taps_on_routes(&d, 3, 1, 1, 3000);
	taps_on_routes(&d, 4, 1, 1, 4000);
	cr_expect_eq(routes_stored(1, 10), 10, "four, four, then the last three");
	cr_expect_gt(estimate(today, ST_RIDERS_ALL), 0);
	cr_expect_eq(check_problems(&text), 0, "all written: %s", text);
	free(text);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	cr_expect_eq(llround(estimate(today, ST_RIDERS_ALL)), 10 + 3);
	cr_expect_eq(check_problems(&text), 0, "synced: %s", text);
	free(text);
}

/* The idle writer's step (riders.h): a few sketches at a time, the oldest
 * first, so a frame arriving meanwhile waits for those alone. */
Test(riders, a_sync_of_a_few_writes_the_oldest_and_check_agrees_with_the_rest_still_held)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xB6);
	tdb.opts.riders_defer_ms = HELD_FOR_AN_HOUR;
	tdb_open();
	taps_on_routes(&d, 1, 1, 1, 1000); /* route 1 and the date's total held first */
	usleep(20 * 1000);
	taps_on_routes(&d, 2, 2, 3, 2000); /* then routes 2, 3 and 4 */
	cr_assert_eq(st_riders_sync(tdb.db, 2), ST_OK);
	cr_expect_eq(llround(estimate(today, 1)), 1, "the oldest route's sketch written");
	cr_expect_eq(llround(estimate(today, ST_RIDERS_ALL)), 4, "the date's, as old, with every rider since");
	cr_expect_eq(routes_stored(2, 3), 0, "the younger ones still held");
	cr_expect_eq(check_problems(&text), 0, "two written: %s", text);
	free(text);
	cr_assert_eq(st_riders_sync(tdb.db, 2), ST_OK);
	cr_expect_eq(routes_stored(2, 3), 2, "two more");
	cr_expect_eq(check_problems(&text), 0, "four written: %s", text);
	free(text);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	cr_expect_eq(routes_stored(1, 4), 4, "and the last");
	cr_expect_eq(st_riders_due_ms(tdb.db), 0, "none held");
	cr_expect_eq(check_problems(&text), 0, "all written: %s", text);
	free(text);
}

Test(riders, more_sketches_than_are_kept_in_memory_are_written_by_the_group_that_finds_them)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xB5);
	tdb.opts.riders_defer_ms = HELD_FOR_AN_HOUR;
	tdb_open();
	taps_on_routes(&d, 1, 1, 300, 10000); /* 301 sketches, more than are kept */
	cr_expect_eq(routes_stored(1, 300), 300, "not held: too many to keep");
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
	/* The next group drops some from memory; touched again, they are read
	 * back before they are added to. */
	taps_on_routes(&d, 2, 1, 1, 20000);
	taps_on_routes(&d, 3, 1, 300, 30000);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	for (uint32_t route = 1; route <= 300; route++)
		cr_expect_eq(llround(estimate(today, route)), route == 1 ? 3 : 2, "route %u", route);
	/* 601 riders in a sparse sketch of 2^25 indexes: two share one about
	 * once in 200 runs (each run's epoch key, and so each pseudonym, is
	 * random; seen: 600 once in 300). st_check below compares every
	 * register with the log's, so a rider lost on the way still fails. */
	long long all = llround(estimate(today, ST_RIDERS_ALL));
	cr_expect(all == 601 || all == 600, "all routes: %lld riders", all);
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

/* The first stored sketch of routes 1..10 gets its one entry moved to
 * another register. */
static void move_an_entry_of_a_written_route(MDB_txn *txn, MDB_dbi dbi)
{
	uint8_t kb[8], copy[ST_HLL_SERIALIZED_MAX];
	MDB_val k = key_of(kb, today, 1), v;
	MDB_cursor *cur;

	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
	cr_assert_leq(kp_load_u32be((const uint8_t *)k.mv_data + 4), 10);
	cr_assert_eq(v.mv_size, ST_HLL_SPARSE_HEADER_SIZE + ST_HLL_SPARSE_ENTRY_SIZE);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[ST_HLL_SPARSE_HEADER_SIZE + 3] ^= 0x40;
	memcpy(kb, k.mv_data, sizeof kb);
	k.mv_data = kb;
	v.mv_data = copy;
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

Test(riders, check_reports_a_tampered_sketch_written_ahead_of_the_mark)
{
	struct tdev d;
	char *text = NULL;

	tdev_make(&d, 0xB6);
	tdb.opts.riders_defer_ms = 50;
	tdb_open();
	taps_on_routes(&d, 1, 1, 10, 1000);
	usleep(80 * 1000);
	taps_on_routes(&d, 2, 20, 1, 2000); /* writes four of the eleven: the mark stays before frame 1 */
	cr_assert_eq(check_problems(&text), 0, "%s", text);
	free(text);
	raw_edit_riders(move_an_entry_of_a_written_route);
	cr_assert_geq(check_problems(&text), 1);
	cr_assert_not_null(strstr(text, "registers: stored about 1 riders, the log says about 0 up to the sketches' mark "
	                                "and 1 in all"),
	                   "%s", text);
	free(text);
}

/* A group of frames of 500 taps each, from batch seq: tap i of frame f on
 * route route0 + (f * 500 + i) % routes, card card0 + f * 500 + i. */
static int big_frames(const struct tdev *d, uint64_t seq, size_t frames, uint32_t route0, uint32_t routes,
                      uint32_t card0)
{
	static uint8_t buf[20][KP_FRAME_MAX];
	static struct kp_tap taps[500];
	struct st_commit_item items[20];

	cr_assert_leq(frames, 20);
	for (size_t f = 0; f < frames; f++) {
		for (uint32_t i = 0; i < 500; i++) {
			uint32_t n = (uint32_t)f * 500 + i;

			taps[i] = t_tap(noon, route0 + n % routes, 100, 1, 800, card0 + n);
		}
		items[f] = (struct st_commit_item){.frame = buf[f], .received_at = noon};
		items[f].len = t_frame(buf[f], d, seq + f, taps, 500);
	}
	return st_commit_group(tdb.db, items, frames, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(riders, sketches_that_do_not_fit_stay_held_and_due_later_and_nothing_is_lost)
{
	struct tdev d;
	char *text = NULL;
	uint64_t seq = 1;
	int rc;

	tdev_make(&d, 0xB7);
	tdb.opts.riders_defer_ms = HELD_FOR_AN_HOUR;
	tdb.opts.map_size_initial = tdb.opts.map_size_max = 4 * T_MIB;
	tdb_open();
	/* 30 routes of 1000 riders: 31 sketches of 4 KiB and more, held. */
	for (int g = 0; g < 3; g++, seq += 20)
		cr_assert_eq(big_frames(&d, seq, 20, 1, 30, (uint32_t)seq * 500), ST_OK);
	/* The map filled with frames of another route, then single taps. */
	while ((rc = big_frames(&d, seq, 1, 99, 1, 1000000 + (uint32_t)seq * 500)) == ST_OK)
		seq++;
	cr_assert_eq(rc, ST_EFULL);
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	struct kp_tap tap;
	while (tap = t_tap(noon, 99, 100, 1, 800, 5000000 + (uint32_t)seq),
	       (rc = t_commit1(frame, t_frame(frame, &d, seq, &tap, 1), &it)) == ST_OK)
		seq++;
	cr_assert_eq(rc, ST_EFULL);

	int64_t before = mono_ms();
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_EFULL, "the sketches fit after all: fill more");
	cr_expect_geq(st_riders_due_ms(tdb.db), before + HELD_FOR_AN_HOUR, "held and due a deferral later");
	cr_expect_eq(estimate(today, 1), 0);
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);

	tdb_close(); /* room again: the next open reads them back from the log */
	tdb.opts.map_size_max = 64 * T_MIB;
	tdb_open();
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	for (uint32_t route = 1; route <= 30; route++) {
		double e = estimate(today, route);

		cr_expect_leq(fabs(e - 1000) / 1000, 0.01, "route %u: %.1f", route, e);
	}
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
}
