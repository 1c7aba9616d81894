/*
 * Description: the revision of each service date (date_rev.h) moves when,
 * and only when, a commit changes that date's cells: taps (accepted or
 * denied) and counts move their own date's revision and no other; a
 * repeated frame moves nothing; a range's revision is its highest date's;
 * a range without data is 0.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "storage/date_rev.h"

TestSuite(date_rev, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST); the next day at the same time. */
static const int64_t day1 = 1715763600000;
static const int64_t day2 = 1715763600000 + 86400000;

static uint64_t rev(uint32_t from, uint32_t to)
{
	struct st_read r;
	uint64_t v = 99;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_date_rev_max(&r, from, to, &v), ST_OK);
	st_read_end(&r);
	return v;
}

static void commit(const uint8_t *frame, size_t len, enum st_outcome want)
{
	struct st_commit_item it;

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, want);
}

Test(date_rev, a_commit_moves_only_the_dates_it_changed)
{
	struct tdev d;
	uint8_t f[KP_FRAME_MAX];
	size_t n;

	tdb_open();
	tdev_make(&d, 1);
	cr_expect_eq(rev(20240515, 20240516), 0);

	n = t_frame_simple(f, &d, 1, 3, day1, 1);
	commit(f, n, ST_STORED);
	uint64_t r1 = rev(20240515, 20240515);
	cr_expect_gt(r1, 0);
	cr_expect_eq(rev(20240516, 20240516), 0);

	n = t_frame_simple(f, &d, 2, 3, day2, 10);
	commit(f, n, ST_STORED);
	cr_expect_eq(rev(20240515, 20240515), r1, "a commit of the 16th moved the 15th");
	uint64_t r2 = rev(20240516, 20240516);
	cr_expect_gt(r2, r1);
	cr_expect_eq(rev(20240501, 20240531), r2, "a range's revision is its highest date's");

	commit(f, n, ST_DUPLICATE);
	cr_expect_eq(rev(20240516, 20240516), r2, "a repeated frame moved the date");
}

Test(date_rev, denied_taps_and_counts_move_their_date)
{
	struct tdev d, apc;
	uint8_t f[KP_FRAME_MAX];
	struct kp_tap denied = t_tap(day1, 7, 100, 1, 800, 5);
	struct kp_count door = t_door_cycle(day2, 7, 100, 1, 4, 2);
	size_t n;

	tdb_open();
	tdev_make(&d, 1);
	tdev_make(&apc, 2);
	denied.result = KP_TAP_DENIED_BALANCE;
	n = t_frame(f, &d, 1, &denied, 1);
	commit(f, n, ST_STORED);
	cr_expect_gt(rev(20240515, 20240515), 0, "a denied tap changes the date's cells");

	n = t_count_frame(f, &apc, 1, &door, 1);
	commit(f, n, ST_STORED);
	cr_expect_gt(rev(20240516, 20240516), rev(20240515, 20240515));
}

Test(date_rev, a_reversed_range_is_refused)
{
	struct st_read r;
	uint64_t v;

	tdb_open();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_date_rev_max(&r, 20240516, 20240515, &v), ST_EINVAL);
	st_read_end(&r);
}
