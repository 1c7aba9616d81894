/*
 * Description: a (device, batch_seq) is stored at most once, whatever order
 * and however often it arrives; a repeat is reported as ST_DUPLICATE with
 * the sequence it was stored under; the watermark is the highest W with
 * every batch 1..W stored, and follows out-of-order arrivals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/log.h"
#include "storage/once.h"
#include "storage/tap_agg.h"

TestSuite(once_only, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

static uint64_t last_seq(void)
{
	struct st_read r;
	uint64_t last;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_last_seq(&r, &last), ST_OK);
	st_read_end(&r);
	return last;
}

static int sum_accepted(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	*(uint64_t *)ctx += v->accepted;
	return 0;
}

static uint64_t accepted_total(void)
{
	struct st_read r;
	uint64_t total = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 0, UINT32_MAX, sum_accepted, &total), ST_OK);
	st_read_end(&r);
	return total;
}

Test(once_only, repeat_frame_in_the_same_group_is_a_duplicate_stored_once)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item items[3] = {0};
	struct st_commit_stats stats;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xA1);
	len = t_frame_simple(frame, &d, 1, 5, noon, 1);
	for (int i = 0; i < 3; i++)
		items[i] = (struct st_commit_item){.frame = frame, .len = len};
	cr_assert_eq(st_commit_group(tdb.db, items, 3, &stats), ST_OK);
	cr_expect_eq(items[0].outcome, ST_STORED);
	cr_expect_eq(items[1].outcome, ST_DUPLICATE);
	cr_expect_eq(items[2].outcome, ST_DUPLICATE);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(items[i].seq, 1);
		cr_expect_eq(items[i].watermark, 1);
	}
	cr_expect_eq(stats.stored, 1);
	cr_expect_eq(stats.duplicates, 2);
	cr_expect_eq(stats.taps, 5);
	cr_expect_eq(last_seq(), 1);
	cr_expect_eq(accepted_total(), 5, "taps of a repeat are not counted again");
}

Test(once_only, repeat_frame_in_a_later_group_is_a_duplicate_not_restored)
{
	uint8_t f1[KP_FRAME_MAX], f2[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item it;
	size_t l1, l2;

	tdb_open();
	tdev_make(&d, 0xA2);
	l1 = t_frame_simple(f1, &d, 1, 2, noon, 1);
	l2 = t_frame_simple(f2, &d, 2, 2, noon + 1000, 50);
	cr_assert_eq(t_commit1(f1, l1, &it), ST_OK);
	cr_assert_eq(t_commit1(f2, l2, &it), ST_OK);
	cr_assert_eq(t_commit1(f1, l1, &it), ST_OK);
	cr_expect_eq(it.outcome, ST_DUPLICATE);
	cr_expect_eq(it.seq, 1, "the sequence it was stored under");
	cr_expect_eq(it.watermark, 2, "the current watermark, not the one of its first commit");
	cr_expect_eq(last_seq(), 2);
	cr_expect_eq(accepted_total(), 4);
}

Test(once_only, a_resent_frame_with_other_bytes_is_still_a_duplicate)
{
	uint8_t f1[KP_FRAME_MAX], f2[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item it;
	size_t l1, l2;

	tdb_open();
	tdev_make(&d, 0xA3);
	l1 = t_frame_simple(f1, &d, 1, 2, noon, 1);
	l2 = t_frame_simple(f2, &d, 1, 3, noon, 9);
	cr_assert_eq(t_commit1(f1, l1, &it), ST_OK);
	cr_assert_eq(t_commit1(f2, l2, &it), ST_OK);
	cr_expect_eq(it.outcome, ST_DUPLICATE);
	cr_expect_eq(last_seq(), 1);
}

Test(once_only, lookup_finds_stored_frames_only)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct st_read r;
	uint64_t seq = 99;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xA4);
	len = t_frame_simple(frame, &d, 7, 1, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_once_lookup(&r, 0xA4, 7, &seq), ST_OK);
	cr_expect_eq(seq, 1);
	cr_expect_eq(st_once_lookup(&r, 0xA4, 6, &seq), ST_ENOTFOUND);
	cr_expect_eq(st_once_lookup(&r, 0xA5, 7, &seq), ST_ENOTFOUND);
	st_read_end(&r);
}

Test(once_only, watermark_follows_out_of_order_batch_seqs)
{
	static const uint64_t order[3] = {3, 1, 2};
	static const uint64_t want[3] = {0, 1, 3};
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item it;
	struct st_read r;
	uint64_t w;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xB1);
	for (int i = 0; i < 3; i++) {
		len = t_frame_simple(frame, &d, order[i], 1, noon + i, (uint32_t)i);
		cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
		cr_expect_eq(it.outcome, ST_STORED);
		cr_expect_eq(it.watermark, want[i], "after batch %lu: W %lu, want %lu", (unsigned long)order[i],
		             (unsigned long)it.watermark, (unsigned long)want[i]);
		cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
		cr_assert_eq(st_once_watermark(&r, 0xB1, &w), ST_OK);
		st_read_end(&r);
		cr_expect_eq(w, want[i]);
	}
}

Test(once_only, watermark_of_an_out_of_order_group_is_reported_after_the_whole_group)
{
	static const uint64_t order[4] = {3, 1, 2, 5};
	uint8_t f[4][KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item items[4];

	tdb_open();
	tdev_make(&d, 0xB2);
	for (int i = 0; i < 4; i++) {
		size_t len = t_frame_simple(f[i], &d, order[i], 1, noon + i, (uint32_t)i);

		items[i] = (struct st_commit_item){.frame = f[i], .len = len};
	}
	cr_assert_eq(st_commit_group(tdb.db, items, 4, NULL), ST_OK);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(items[i].watermark, 3);
}

Test(once_only, devices_have_their_own_watermarks)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev a, b;
	struct st_read r;
	uint64_t wa, wb, wc;
	size_t len;

	tdb_open();
	tdev_make(&a, 0xC1);
	tdev_make(&b, 0xC2);
	len = t_frame_simple(frame, &a, 1, 1, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &a, 2, 1, noon, 2);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &b, 2, 1, noon, 3);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_once_watermark(&r, 0xC1, &wa), ST_OK);
	cr_assert_eq(st_once_watermark(&r, 0xC2, &wb), ST_OK);
	cr_assert_eq(st_once_watermark(&r, 0xC3, &wc), ST_OK);
	st_read_end(&r);
	cr_expect_eq(wa, 2);
	cr_expect_eq(wb, 0);
	cr_expect_eq(wc, 0, "an unknown device has watermark 0");
}

struct seen {
	uint64_t dev[4], batch[4], seq[4];
	int n;
};

static int collect(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 4);
	s->dev[s->n] = device_id;
	s->batch[s->n] = batch_seq;
	s->seq[s->n++] = seq;
	return 0;
}

Test(once_only, foreach_walks_the_index_in_device_and_batch_order)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev a, b;
	struct st_read r;
	struct seen s = {0};
	size_t len;

	tdb_open();
	tdev_make(&a, 0x0200);
	tdev_make(&b, 0x0100);
	len = t_frame_simple(frame, &a, 2, 1, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &a, 1, 1, noon, 2);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &b, 300, 1, noon, 3);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_once_foreach(&r, collect, &s), ST_OK);
	st_read_end(&r);
	cr_assert_eq(s.n, 3);
	cr_expect(s.dev[0] == 0x0100 && s.batch[0] == 300 && s.seq[0] == 3);
	cr_expect(s.dev[1] == 0x0200 && s.batch[1] == 1 && s.seq[1] == 2);
	cr_expect(s.dev[2] == 0x0200 && s.batch[2] == 2 && s.seq[2] == 1);
}
