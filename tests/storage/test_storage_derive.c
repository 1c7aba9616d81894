/*
 * test_storage_derive.c — the derived trees written behind the log
 * (storage/derive.h): a deferred group writes none of them, st_derive_run
 * derives the frames after the mark a step at a time, a read-write open
 * derives what a closed (or killed) writer held, a database with a mark
 * stays exact when a writer in step takes it over, the distinct riders
 * come with the derived frames (a deferred group touches no sketch, and
 * the sketches' mark never passes the derived trees'), so do the hash
 * chain's heads (continued where an older komposter chained ahead in its
 * commit), and st_check holds at every step.
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "firmware-proto/bytes.h"
#include "helpers.h"
#include "storage/chain.h"
#include "storage/check.h"
#include "storage/derive.h"
#include "storage/device_stats.h"
#include "storage/once.h"
#include "storage/riders.h"
#include "storage/tap_agg.h"

TestSuite(derive, .init = tdb_setup, .fini = tdb_teardown);

#define TAPS 3 /* per frame */

static struct tdev dev;

static void check_clean(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_assert_eq(rep.problems, 0, "st_check found %llu problems", (unsigned long long)rep.problems);
}

/* Commits frame batch_seq of dev, its TAPS riders the cards card0 on. */
static void commit_frame_cards(uint64_t batch_seq, uint32_t card0)
{
	uint8_t buf[KP_FRAME_MAX];
	const int64_t at = t_utc_ms(2026, 3, 10, 9, 0, 0) + (int64_t)batch_seq * 1000;
	struct st_commit_item it = {.frame = buf, .received_at = at};

	it.len = t_frame_simple(buf, &dev, batch_seq, TAPS, at, card0);
	cr_assert_eq(st_commit_group(tdb.db, &it, 1, NULL), ST_OK);
	cr_assert_eq(it.outcome, ST_STORED);
}

/* Commits frames batch_seq first..last of dev, one group of them; the
 * watermark its ACK would carry. */
static uint64_t commit_frames(uint64_t first, uint64_t last)
{
	static uint8_t bufs[16][KP_FRAME_MAX];
	struct st_commit_item it[16] = {0};
	const int64_t at = t_utc_ms(2026, 3, 10, 9, 0, 0);
	size_t n = 0;

	cr_assert_leq(last - first + 1, 16);
	for (uint64_t b = first; b <= last; b++, n++) {
		it[n].len = t_frame_simple(bufs[n], &dev, b, TAPS, at + (int64_t)b * 1000, (uint32_t)b * 100);
		it[n].frame = bufs[n];
		it[n].received_at = at + (int64_t)b * 1000;
	}
	cr_assert_eq(st_commit_group(tdb.db, it, n, NULL), ST_OK);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(it[i].outcome, ST_STORED);
		cr_assert_eq(it[i].watermark, it[0].watermark, "one watermark for the device's group");
	}
	return it[0].watermark;
}

static int sum_accepted(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	(void)k;
	*(uint64_t *)ctx += v->accepted;
	return 0;
}

/* Accepted taps in the cells, frames in dev's traffic, and the mark. */
static void derived(uint64_t *taps, uint64_t *frames, uint64_t *through, uint64_t *last)
{
	struct st_read r;
	struct st_device_stats s;
	int rc;

	*taps = 0;
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 20000101, 29991231, sum_accepted, taps), ST_OK);
	rc = st_device_stats_get(&r, dev.id, &s);
	cr_assert(rc == ST_OK || rc == ST_ENOTFOUND);
	*frames = rc == ST_OK ? s.frames : 0;
	cr_assert_eq(st_derive_behind(&r, through, last), ST_OK);
	st_read_end(&r);
}

static void expect(uint64_t frames_derived, uint64_t frames_stored)
{
	uint64_t taps, frames, through, last;

	derived(&taps, &frames, &through, &last);
	cr_expect_eq(last, frames_stored, "log ends at %llu", (unsigned long long)last);
	cr_expect_eq(through, frames_derived, "mark at %llu", (unsigned long long)through);
	cr_expect_eq(frames, frames_derived, "traffic counts %llu frames", (unsigned long long)frames);
	cr_expect_eq(taps, frames_derived * TAPS, "cells hold %llu taps", (unsigned long long)taps);
	check_clean();
}

static void open_deferred(void)
{
	tdb.opts.derive_defer_ms = 100;
	tdb_open();
	tdev_make(&dev, 0x5151);
}

Test(derive, a_deferred_group_writes_nothing_derived_and_a_run_derives_a_step_at_a_time)
{
	uint64_t done;

	open_deferred();
	commit_frames(1, 2); /* the first deferred group records the mark at 0 */
	commit_frames(3, 5);
	expect(0, 5);
	cr_assert_eq(st_derive_held(tdb.db), 5);
	cr_assert_gt(st_derive_due_ms(tdb.db), 0);
	cr_assert_eq(st_derive_run(tdb.db, 2 * TAPS - 1, &done), ST_OK); /* whole frames: the second reaches it */
	cr_assert_eq(done, 2);
	expect(2, 5);
	cr_assert_eq(st_derive_held(tdb.db), 3);
	cr_assert_eq(st_derive_run(tdb.db, 0, &done), ST_OK);
	cr_assert_eq(done, 3);
	expect(5, 5);
	cr_assert_eq(st_derive_held(tdb.db), 0);
	cr_assert_eq(st_derive_due_ms(tdb.db), 0);
	cr_assert_eq(st_derive_run(tdb.db, 0, &done), ST_OK);
	cr_assert_eq(done, 0, "nothing is derived twice");
	expect(5, 5);
}

Test(derive, catch_up_derives_everything_stored)
{
	open_deferred();
	commit_frames(1, 4);
	expect(0, 4);
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	expect(4, 4);
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	expect(4, 4);
}

Test(derive, a_read_write_open_derives_what_a_closed_writer_held)
{
	open_deferred();
	commit_frames(1, 3);
	cr_assert_eq(st_derive_run(tdb.db, TAPS, NULL), ST_OK);
	commit_frames(4, 6);
	expect(1, 6);
	tdb_close(); /* as a kill would leave it: five frames not derived */

	tdb.opts.read_only = 1;
	tdb_open();
	expect(1, 6); /* a reader that cannot write sees the trees as of the mark */
	tdb_close();

	tdb.opts.read_only = 0;
	tdb_open();
	expect(6, 6);
	cr_assert_eq(st_derive_held(tdb.db), 0);
}

Test(derive, a_writer_in_step_keeps_a_recorded_mark_moving)
{
	open_deferred();
	commit_frames(1, 2);
	tdb_close();

	tdb.opts.derive_defer_ms = 0;
	tdb_open(); /* derives 1..2 and keeps the mark */
	expect(2, 2);
	commit_frames(3, 4);
	expect(4, 4);
	tdb_close();

	tdb.opts.derive_defer_ms = 100; /* deferred again: nothing counted twice */
	tdb_open();
	expect(4, 4);
	commit_frames(5, 5);
	expect(4, 5);
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	expect(5, 5);
}

Test(derive, a_database_always_in_step_has_no_mark_and_nothing_behind)
{
	uint64_t done;

	tdb_open();
	tdev_make(&dev, 0x5151);
	commit_frames(1, 3);
	expect(3, 3);
	cr_assert_eq(st_derive_held(tdb.db), 0);
	cr_assert_eq(st_derive_run(tdb.db, 0, &done), ST_OK);
	cr_assert_eq(done, 0);
	expect(3, 3);
}

Test(derive, a_negative_deferral_is_refused)
{
	struct st_db *db = NULL;

	tdb.opts.derive_defer_ms = -1;
	cr_assert_eq(st_db_open(&db, &tdb.opts), ST_EINVAL);
	cr_assert_null(db);
}

Test(derive, a_failed_run_is_due_again_a_deferral_later_not_at_once)
{
	int64_t due, retry;

	open_deferred();
	commit_frames(1, 1);
	due = st_derive_due_ms(tdb.db);
	cr_assert_gt(due, 0);
	cr_assert_eq(st_derive_retry_ms(tdb.db), 0);
	st_derive_ran(tdb.db, ST_EFULL);
	retry = st_derive_retry_ms(tdb.db);
	cr_expect_geq(retry, due, "a failed run is not tried again before the frame's own due time");
	cr_expect_eq(st_derive_due_ms(tdb.db), retry);
	st_derive_ran(tdb.db, ST_OK);
	cr_expect_eq(st_derive_retry_ms(tdb.db), 0);
	cr_expect_eq(st_derive_due_ms(tdb.db), due);
}

/* The stored sketch of route 7 on the frames' date (0 when none), and the
 * sketches' mark. Each frame has TAPS riders of its own. */
static void riders_stored(double *estimate, uint64_t *through)
{
	struct st_read r;
	uint64_t last;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_riders_estimate(&r, 20260310, 7, estimate), ST_OK);
	cr_assert_eq(st_riders_behind(&r, through, &last), ST_OK);
	st_read_end(&r);
}

static void expect_riders(uint64_t frames)
{
	double e;
	uint64_t through;

	riders_stored(&e, &through);
	cr_expect_eq(through, frames, "sketches' mark at %llu", (unsigned long long)through);
	cr_expect(e > frames * TAPS - 0.5 && e < frames * TAPS + 0.5, "sketch says %.1f riders, want %llu", e,
	          (unsigned long long)(frames * TAPS));
	check_clean();
}

Test(derive, a_deferred_group_touches_no_sketch_and_a_run_brings_its_frames_riders)
{
	open_deferred(); /* the sketches in step with the derived trees (riders_defer_ms 0) */
	commit_frames(1, 2);
	commit_frames(3, 4);
	expect(0, 4);
	expect_riders(0);
	cr_assert_eq(st_derive_run(tdb.db, 2 * TAPS, NULL), ST_OK);
	expect(2, 4);
	expect_riders(2);
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	expect_riders(4);
}

Test(derive, held_sketches_never_pass_the_derived_frames_and_a_kill_loses_none_of_them)
{
	tdb.opts.riders_defer_ms = 3600 * 1000; /* held until synced */
	open_deferred();
	commit_frames(1, 3);
	cr_assert_eq(st_derive_run(tdb.db, 2 * TAPS, NULL), ST_OK); /* frames 1..2 into the held sketches */
	expect_riders(0);
	cr_assert_gt(st_riders_due_ms(tdb.db), 0, "the derived frames' riders are held");
	commit_frames(4, 5);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	expect(2, 5);
	expect_riders(2); /* what was derived, not the log's end */
	cr_assert_eq(st_riders_due_ms(tdb.db), 0);

	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK); /* 3..5 held again */
	expect(5, 5);
	expect_riders(2);
	tdb_close(); /* as a kill would leave it: the held riders are only in the log */

	tdb_open();
	expect_riders(2);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	expect_riders(5);
}

/* ST_OK when the chain holds a head after entry seq, ST_ENOTFOUND if not. */
static int chained(uint64_t seq)
{
	uint8_t head[ST_CHAIN_HEAD_SIZE];
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_chain_head(&r, seq, head);
	st_read_end(&r);
	return rc;
}

Test(derive, the_chain_heads_come_with_the_derived_frames)
{
	open_deferred();
	commit_frames(1, 2);
	commit_frames(3, 4);
	cr_expect_eq(chained(1), ST_ENOTFOUND, "a deferred group chained its frame");
	expect(0, 4); /* st_check: no head is wanted after the mark */
	cr_assert_eq(st_derive_run(tdb.db, 2 * TAPS, NULL), ST_OK);
	cr_expect_eq(chained(2), ST_OK);
	cr_expect_eq(chained(3), ST_ENOTFOUND);
	expect(2, 4); /* ... and each head up to it recomputes from the log */
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	cr_expect_eq(chained(4), ST_OK);
	expect(4, 4);
}

static MDB_dbi raw_dbi(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;

	cr_assert_eq(mdb_dbi_open(txn, name, MDB_INTEGERKEY, &dbi), 0);
	return dbi;
}

/* Chains entries 1..*upto of the log as a komposter that chained in its
 * commit did. */
static void chain_ahead_in(MDB_txn *txn, void *upto)
{
	uint8_t head[ST_CHAIN_HEAD_SIZE] = {0};
	MDB_dbi log = raw_dbi(txn, "log"), chain = raw_dbi(txn, "chain");

	for (uint64_t seq = 1; seq <= *(uint64_t *)upto; seq++) {
		MDB_val k = {sizeof seq, &seq}, v, h = {sizeof head, head};

		cr_assert_eq(mdb_get(txn, log, &k, &v), 0);
		st_chain_next(head, v.mv_data, v.mv_size, head);
		cr_assert_eq(mdb_put(txn, chain, &k, &h, MDB_APPEND), 0);
	}
}

static void chain_ahead(uint64_t upto)
{
	t_raw_edit(chain_ahead_in, &upto);
}

/* Deletes the chain's heads from entry *from on. */
static void unchain_in(MDB_txn *txn, void *from)
{
	MDB_dbi chain = raw_dbi(txn, "chain");
	uint64_t seq = *(uint64_t *)from;
	MDB_val k = {sizeof seq, &seq};

	for (; mdb_del(txn, chain, &k, NULL) == 0; seq++)
		;
}

static void unchain_from(uint64_t from)
{
	t_raw_edit(unchain_in, &from);
}

/* Deletes the head of entry *seq alone. */
static void unchain_one_in(MDB_txn *txn, void *seq)
{
	MDB_val k = {sizeof(uint64_t), seq};

	cr_assert_eq(mdb_del(txn, raw_dbi(txn, "chain"), &k, NULL), 0);
}

Test(derive, a_chain_an_older_komposter_wrote_ahead_is_continued)
{
	open_deferred();
	commit_frames(1, 3);
	chain_ahead(2);
	tdb_open(); /* derives 1..3: keeps the heads of 1..2, chains 3 after them */
	cr_expect_eq(chained(3), ST_OK);
	expect(3, 3);
}

Test(derive, a_run_whose_riders_the_sketches_held_already_still_moves_their_mark)
{
	double e;
	uint64_t through;

	tdb.opts.riders_defer_ms = 3600 * 1000; /* held until synced */
	open_deferred();
	commit_frame_cards(1, 100);
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	expect_riders(1);
	commit_frame_cards(2, 100); /* the same three cards again: no sketch changes */
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	cr_assert_gt(st_riders_due_ms(tdb.db), 0, "a mark left behind is due");
	cr_assert_eq(st_riders_sync(tdb.db, 0), ST_OK);
	riders_stored(&e, &through);
	cr_expect_eq(through, 2, "the sketches' mark stayed at %llu", (unsigned long long)through);
	cr_expect(e > TAPS - 0.5 && e < TAPS + 0.5, "sketch says %.1f riders", e);
	check_clean();
}

Test(derive, a_chain_an_older_komposter_left_behind_the_mark_is_chained_up_to_it)
{
	open_deferred();
	commit_frames(1, 3);
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	unchain_from(2); /* as an older komposter, deriving without chaining, leaves it */
	tdb_open();
	commit_frames(4, 4);
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	cr_expect_eq(chained(2), ST_OK);
	cr_expect_eq(chained(4), ST_OK);
	expect(4, 4);
}

Test(derive, check_reports_a_head_after_the_mark_with_none_before_it)
{
	struct st_check_report rep;
	uint64_t seq = 2;

	open_deferred();
	commit_frames(1, 3);
	cr_assert_eq(st_derive_run(tdb.db, TAPS, NULL), ST_OK); /* derived and chained through 1 */
	unchain_from(1);
	chain_ahead(3); /* heads 1..3 that recompute from the log ... */
	t_raw_edit(unchain_one_in, &seq); /* ... but none for 2 */
	tdb.opts.read_only = 1; /* a read-write open would derive, and fail on it */
	tdb_open();
	cr_assert_eq(st_check(tdb.db, &rep, NULL, NULL, NULL), ST_OK);
	cr_expect_geq(rep.problems, 1, "a head stored after a missing one went unnoticed");
}

/* The watermark base stored for dev, as plain LMDB reads it (0: none). */
static void stored_base_in(MDB_txn *txn, void *out)
{
	uint8_t kb[8];
	MDB_val k = {sizeof kb, kb}, v;
	MDB_dbi dbi;
	int rc;

	kp_store_u64be(kb, dev.id);
	cr_assert_eq(mdb_dbi_open(txn, "watermark", 0, &dbi), 0);
	rc = mdb_get(txn, dbi, &k, &v);
	cr_assert(rc == 0 || rc == MDB_NOTFOUND);
	*(uint64_t *)out = rc == 0 ? kp_load_u64le(v.mv_data) : 0;
}

static void set_base_in(MDB_txn *txn, void *w)
{
	uint8_t kb[8], vb[8];
	MDB_val k = {sizeof kb, kb}, v = {sizeof vb, vb};
	MDB_dbi dbi;

	kp_store_u64be(kb, dev.id);
	kp_store_u64le(vb, *(uint64_t *)w);
	cr_assert_eq(mdb_dbi_open(txn, "watermark", 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* The base; the database is closed after. */
static uint64_t stored_base(void)
{
	uint64_t w;

	t_raw_edit(stored_base_in, &w);
	return w;
}

static void set_base(uint64_t w)
{
	t_raw_edit(set_base_in, &w);
}

static uint64_t watermark_read(void)
{
	struct st_read r;
	uint64_t w;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_once_watermark(&r, dev.id, &w), ST_OK);
	st_read_end(&r);
	return w;
}

/* Opens read-only: a read-write open derives what is held (and settles). */
static void open_to_look(void)
{
	tdb.opts.read_only = 1;
	tdb_open();
	tdb.opts.read_only = 0;
}

Test(derive, a_deferred_group_writes_no_watermark_and_the_derived_frames_settle_it)
{
	open_deferred();
	cr_expect_eq(commit_frames(1, 3), 3);
	cr_expect_eq(watermark_read(), 3);
	cr_expect_eq(stored_base(), 0, "the commit wrote the watermark");
	open_to_look();
	cr_expect_eq(watermark_read(), 3, "readers count the frames after the base");
	check_clean();
	tdb_reopen(); /* read-write: derives the frames held */
	tdb_close();
	cr_expect_eq(stored_base(), 3, "deriving the frames did not settle it");
	tdb_open();
	expect(3, 3);
}

Test(derive, a_frame_filling_a_gap_moves_the_watermark_over_the_frames_after_it)
{
	open_deferred();
	cr_expect_eq(commit_frames(1, 2), 2);
	cr_expect_eq(commit_frames(4, 5), 2, "4 and 5 wait for 3");
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	cr_expect_eq(commit_frames(3, 3), 5);
	cr_expect_eq(watermark_read(), 5);
	check_clean();
	cr_assert_eq(st_derive_run(tdb.db, 0, NULL), ST_OK);
	tdb_close();
	cr_expect_eq(stored_base(), 5);
	tdb_open();
	check_clean();
}

/* st_check's problems with dev's base set to w (read-only: nothing settles). */
static uint64_t problems_with_base(uint64_t w)
{
	struct st_check_report rep;

	set_base(w);
	open_to_look();
	cr_assert_eq(st_check(tdb.db, &rep, NULL, NULL, NULL), ST_OK);
	tdb_close();
	return rep.problems;
}

Test(derive, check_wants_a_watermark_base_between_the_derived_frames_and_the_log)
{
	open_deferred();
	commit_frames(1, 4);
	cr_assert_eq(st_derive_run(tdb.db, 2 * TAPS, NULL), ST_OK); /* derives 1..2, settles at 4 */
	tdb_close();
	cr_expect_eq(stored_base(), 4);
	cr_expect_eq(problems_with_base(4), 0);
	cr_expect_eq(problems_with_base(2), 0, "a base at the derived frames' watermark is one");
	cr_expect_eq(problems_with_base(1), 1, "a base behind the derived frames went unnoticed");
	cr_expect_eq(problems_with_base(5), 1, "a base ahead of the log went unnoticed");
}
