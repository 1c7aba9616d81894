/*
 * Description: the device outbox numbers frames 1, 2, 3, … with no gap and
 * never reuses a number (across close/reopen and failed writes), keeps every
 * frame until an ACK covers it, and an ACK removes its own frame and every
 * frame up to the watermark but nothing later. The map grows by doubling up
 * to an address-space-aware cap and saturates there instead of wrapping.
 */
#include "tests/validators/tmpdir.h"

#include <errno.h>
#include <string.h>
#include "validators/outbox.h"

#define FRAME_LEN 100

static char dir[64];

static void setup(void)
{
	vd_tmpdir_make(dir, sizeof dir);
}

static void teardown(void)
{
	vd_tmpdir_remove(dir);
}

TestSuite(outbox, .init = setup, .fini = teardown);

/* Fills a frame with its own number, so a read-back can tell frames apart. */
static int fill_seq(void *arg, uint64_t seq, uint8_t *frame, size_t len)
{
	memset(frame, (int)(seq & 0xff), len);
	memcpy(frame, &seq, sizeof seq);
	return 0;
}

static int fill_fails(void *arg, uint64_t seq, uint8_t *frame, size_t len)
{
	return EIO;
}

static uint64_t append(struct vd_outbox *ob)
{
	uint64_t seq = 0;
	cr_assert_eq(vd_outbox_next_seq(ob, FRAME_LEN, fill_seq, NULL, &seq), 0);
	return seq;
}

struct walk {
	uint64_t seqs[64];
	size_t n;
	int bad_bytes;
};

static int collect(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct walk *w = arg;
	uint64_t inside;

	memcpy(&inside, frame, sizeof inside);
	if (len != FRAME_LEN || inside != seq)
		w->bad_bytes++;
	if (w->n < 64)
		w->seqs[w->n++] = seq;
	return 0;
}

static struct walk walk_all(struct vd_outbox *ob)
{
	struct walk w = {0};
	cr_assert_eq(vd_outbox_foreach(ob, 1, collect, &w), 0);
	cr_expect_eq(w.bad_bytes, 0, "a frame came back with other bytes than stored");
	return w;
}

static size_t count(struct vd_outbox *ob)
{
	size_t n = 99;
	cr_assert_eq(vd_outbox_count(ob, &n), 0);
	return n;
}

Test(outbox, numbering_starts_at_one_and_has_no_gaps)
{
	struct vd_outbox *ob;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (uint64_t want = 1; want <= 20; want++)
		cr_expect_eq(append(ob), want);
	cr_expect_eq(count(ob), 20);
	vd_outbox_close(ob);
}

Test(outbox, numbering_and_frames_survive_close_and_reopen)
{
	struct vd_outbox *ob;
	uint64_t last = 0;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 5; i++)
		append(ob);
	vd_outbox_close(ob);

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	cr_assert_eq(vd_outbox_last_seq(ob, &last), 0);
	cr_expect_eq(last, 5);
	cr_expect_eq(count(ob), 5);
	cr_expect_eq(append(ob), 6);
	vd_outbox_close(ob);
}

Test(outbox, acked_numbers_are_never_reused_after_reopen)
{
	struct vd_outbox *ob;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 3; i++)
		append(ob);
	cr_assert_eq(vd_outbox_ack(ob, 3, 3, NULL), 0);
	cr_expect_eq(count(ob), 0);
	vd_outbox_close(ob);

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	cr_expect_eq(append(ob), 4, "an empty outbox must still continue the numbering");
	vd_outbox_close(ob);
}

Test(outbox, failed_fill_stores_nothing_and_uses_no_number)
{
	struct vd_outbox *ob;
	uint64_t seq = 0;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	append(ob);
	cr_expect_eq(vd_outbox_next_seq(ob, FRAME_LEN, fill_fails, NULL, &seq), EIO);
	cr_expect_eq(count(ob), 1);
	cr_expect_eq(append(ob), 2, "the failed write must not leave a gap");
	vd_outbox_close(ob);
}

Test(outbox, ack_removes_its_frame_and_everything_up_to_the_watermark_only)
{
	struct vd_outbox *ob;
	size_t removed = 0;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 10; i++)
		append(ob);
	/* ACK of frame 7 with watermark 4: 1..4 and 7 go; 5, 6, 8, 9, 10 stay. */
	cr_assert_eq(vd_outbox_ack(ob, 7, 4, &removed), 0);
	cr_expect_eq(removed, 5);
	struct walk w = walk_all(ob);
	uint64_t want[] = {5, 6, 8, 9, 10};
	cr_assert_eq(w.n, 5);
	for (size_t i = 0; i < 5; i++)
		cr_expect_eq(w.seqs[i], want[i], "frame %zu is %llu", i, (unsigned long long)w.seqs[i]);
	vd_outbox_close(ob);
}

Test(outbox, repeated_and_stale_acks_change_nothing_more)
{
	struct vd_outbox *ob;
	size_t removed = 99;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 4; i++)
		append(ob);
	cr_assert_eq(vd_outbox_ack(ob, 2, 2, &removed), 0);
	cr_expect_eq(removed, 2);
	cr_assert_eq(vd_outbox_ack(ob, 2, 2, &removed), 0);
	cr_expect_eq(removed, 0);
	cr_assert_eq(vd_outbox_ack(ob, 1, 0, &removed), 0);
	cr_expect_eq(removed, 0);
	cr_expect_eq(count(ob), 2);
	vd_outbox_close(ob);
}

Test(outbox, foreach_walks_oldest_first_from_the_given_seq)
{
	struct vd_outbox *ob;
	struct walk w = {0};

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 300; i++) /* past 255: big-endian keys must sort numerically */
		append(ob);
	cr_assert_eq(vd_outbox_foreach(ob, 250, collect, &w), 0);
	cr_assert_eq(w.n, 51);
	for (size_t i = 0; i < w.n; i++)
		cr_expect_eq(w.seqs[i], 250 + i);
	vd_outbox_close(ob);
}

Test(outbox, put_above_the_counter_moves_it_so_the_number_is_not_reused)
{
	struct vd_outbox *ob;
	uint8_t frame[FRAME_LEN] = {0};

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	append(ob);
	uint64_t seq = 9;
	memcpy(frame, &seq, sizeof seq);
	cr_assert_eq(vd_outbox_put(ob, 9, frame, sizeof frame), 0);
	cr_expect_eq(append(ob), 10);
	cr_expect_eq(vd_outbox_put(ob, 0, frame, sizeof frame), EINVAL);
	vd_outbox_close(ob);
}

static int fill_big(void *arg, uint64_t seq, uint8_t *frame, size_t len)
{
	memset(frame, 0x5a, len);
	memcpy(frame, &seq, sizeof seq);
	return 0;
}

Test(outbox, map_grows_when_the_backlog_outgrows_it, .timeout = 120)
{
	struct vd_outbox *ob;
	const size_t big = 256 * 1024;
	uint64_t seq = 0;

	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	for (int i = 0; i < 100; i++) /* 25 MiB, past the 16 MiB initial map */
		cr_assert_eq(vd_outbox_next_seq(ob, big, fill_big, NULL, &seq), 0, "frame %d", i);
	cr_expect_eq(seq, 100);
	cr_expect_eq(count(ob), 100);
	vd_outbox_close(ob);
}

Test(outbox, map_growth_doubles_and_saturates_at_the_cap)
{
	const size_t max = VD_OUTBOX_MAP_MAX;
	size_t size = (size_t)16 << 20;
	int steps = 0;

	cr_expect_eq((uint64_t)max, sizeof(size_t) > 4 ? UINT64_C(64) << 30 : UINT64_C(1) << 30);
	cr_expect_eq(vd_outbox_map_next(size), size * 2);
	cr_expect_eq(vd_outbox_map_next(max / 2), max);
	cr_expect_eq(vd_outbox_map_next(max / 2 + 1), max, "saturates instead of overshooting");
	cr_expect_eq(vd_outbox_map_next(max - 1), max);
	cr_expect_eq(vd_outbox_map_next(max), 0, "at the cap: no more growth");
	cr_expect_eq(vd_outbox_map_next(SIZE_MAX), 0, "never wraps");
	while ((size = vd_outbox_map_next(size)) != 0) {
		cr_assert_leq(size, max);
		cr_assert_lt(++steps, 64);
	}
}
