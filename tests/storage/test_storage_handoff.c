/*
 * Description: once-only state handed over with a device moved in from
 * another instance (handoff.h): a frame at or under the handed watermark,
 * or one of the handed frame ids above it, is a duplicate for
 * st_commit_group (never stored, taps not counted), any other frame of the
 * device is stored; a device is handed once; st_check accepts the table and
 * reports a handed frame that is in the log too.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/derive.h"
#include "storage/handoff.h"
#include "storage/log.h"
#include "storage/once.h"

TestSuite(handoff, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

static uint8_t commit_batch(const struct tdev *d, uint64_t batch_seq)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	size_t len = t_frame_simple(frame, d, batch_seq, 3, noon, 1);

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	return it.outcome;
}

static uint64_t check_problems(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, NULL, NULL, NULL), ST_OK);
	return rep.problems;
}

Test(handoff, handed_frames_are_duplicates_the_rest_stored)
{
	const uint64_t above[] = {7, 9};
	struct tdev d;
	struct st_read r;
	uint64_t w, last;
	int handed;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 5, above, 2), ST_OK);
	cr_expect_eq(commit_batch(&d, 1), ST_DUPLICATE, "under the handed watermark");
	cr_expect_eq(commit_batch(&d, 5), ST_DUPLICATE, "at the handed watermark");
	cr_expect_eq(commit_batch(&d, 7), ST_DUPLICATE, "a handed frame above it");
	cr_expect_eq(commit_batch(&d, 6), ST_STORED, "a gap the old owner did not store");
	cr_expect_eq(commit_batch(&d, 8), ST_STORED);
	cr_expect_eq(commit_batch(&d, 6), ST_DUPLICATE, "stored here before");
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_log_last_seq(&r, &last), ST_OK);
	cr_expect_eq(last, 2, "only 6 and 8 are in the log");
	cr_expect_eq(st_handoff_watermark(&r, d.id, &w), ST_OK);
	cr_expect_eq(w, 5);
	cr_expect_eq(st_handoff_lookup(&r, d.id, 9, &handed), ST_OK);
	cr_expect_eq(handed, 1);
	cr_expect_eq(st_handoff_lookup(&r, d.id, 10, &handed), ST_OK);
	cr_expect_eq(handed, 0);
	cr_expect_eq(st_handoff_lookup(&r, 0xB2, 1, &handed), ST_OK);
	cr_expect_eq(handed, 0, "a device never handed");
	cr_expect_eq(st_handoff_watermark(&r, 0xB2, &w), ST_ENOTFOUND);
	st_read_end(&r);
	cr_expect_eq(check_problems(), 0);
}

Test(handoff, a_device_is_handed_once_and_ids_must_be_above_the_watermark)
{
	const uint64_t low[] = {3};

	tdb_open();
	cr_expect_eq(st_handoff_put(tdb.db, 0xB1, 5, low, 1), ST_EINVAL);
	cr_assert_eq(st_handoff_put(tdb.db, 0xB1, 5, NULL, 0), ST_OK);
	cr_expect_eq(st_handoff_put(tdb.db, 0xB1, 6, NULL, 0), ST_EEXIST);
}

Test(handoff, check_reports_a_handed_frame_that_is_in_the_log)
{
	const uint64_t above[] = {4};
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(commit_batch(&d, 4), ST_STORED);
	cr_assert_eq(commit_batch(&d, 1), ST_STORED);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 2, above, 1), ST_OK);
	cr_expect_eq(check_problems(), 2, "batch 1 under the watermark and batch 4, both in the log");
}

Test(handoff, handed_table_survives_a_reopen)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 3, NULL, 0), ST_OK);
	tdb_reopen();
	cr_expect_eq(commit_batch(&d, 2), ST_DUPLICATE);
	cr_expect_eq(commit_batch(&d, 4), ST_STORED);
}

static uint64_t own_watermark(uint64_t device_id)
{
	struct st_read r;
	uint64_t w = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_once_watermark(&r, device_id, &w), ST_OK);
	st_read_end(&r);
	return w;
}

Test(handoff, import_seeds_the_watermark_so_the_next_frame_moves_it)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 5, NULL, 0), ST_OK);
	cr_expect_eq(own_watermark(d.id), 5, "seeded at the handed watermark");
	cr_expect_eq(check_problems(), 0, "a seeded watermark with no frame here yet");
	cr_assert_eq(commit_batch(&d, 6), ST_STORED);
	cr_expect_eq(own_watermark(d.id), 6, "W + 1 moves it");
	cr_assert_eq(commit_batch(&d, 8), ST_STORED);
	cr_expect_eq(own_watermark(d.id), 6);
	cr_expect_eq(check_problems(), 0);
}

Test(handoff, seeding_never_lowers_the_watermark_and_runs_over_stored_frames)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(commit_batch(&d, 4), ST_STORED);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 3, NULL, 0), ST_OK);
	cr_expect_eq(own_watermark(d.id), 4, "3, then the stored 4");
	cr_expect_eq(check_problems(), 0, "the stored base is at the derived 4");
	cr_assert_eq(st_handoff_put(tdb.db, 0xB2, 0, NULL, 0), ST_OK);
	cr_expect_eq(own_watermark(0xB2), 0);
}

Test(handoff, seeding_a_device_whose_frames_are_not_derived_yet)
{
	struct tdev d;

	tdb.opts.derive_defer_ms = 100; /* komposterd's: the commits leave the base behind */
	tdb_open();
	tdev_make(&d, 0xB1);
	cr_assert_eq(commit_batch(&d, 4), ST_STORED);
	cr_assert_eq(commit_batch(&d, 5), ST_STORED);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 3, NULL, 0), ST_OK);
	cr_expect_eq(own_watermark(d.id), 5);
	cr_expect_eq(check_problems(), 0);
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	cr_expect_eq(own_watermark(d.id), 5);
	cr_expect_eq(check_problems(), 0);
}
