/*
 * Description: the benchmark's ACK coverage (tools/bench/cover.c). An ACK
 * covers its own frame and every frame of its device up to its watermark;
 * a frame counts once, at its first covering ACK, with the latency from
 * its publish time; seqs and watermarks beyond the stream and unknown
 * devices cover nothing; frames covered one by one extend the watermark.
 * bench_cover_missing walks a phase's uncovered frames in the stream's
 * order, in batches, and nothing outside the phase: what the generator
 * re-sends after a stall.
 */
#include <criterion/criterion.h>

#include "tools/bench/cover.h"

static struct bench_cover c;

static void setup(void)
{
	cr_assert_eq(bench_cover_init(&c, 3, 10), 0);
}

static void teardown(void)
{
	bench_cover_free(&c);
}

TestSuite(bench_cover, .init = setup, .fini = teardown);

Test(bench_cover, an_ack_covers_its_frame_and_everything_up_to_its_watermark)
{
	cr_assert_eq(bench_cover_ack(&c, 1, 7, 4, 100), 5); /* 1..4 and 7 */
	cr_assert_eq(c.total, 5);
	cr_assert_eq(c.through[1], 4);
	cr_assert_eq(c.through[0], 0, "another device is not covered");
	cr_assert_eq(bench_cover_ack(&c, 1, 5, 0, 100), 1);
	cr_assert_eq(c.through[1], 5);
	cr_assert_eq(bench_cover_ack(&c, 1, 6, 0, 100), 1);
	cr_assert_eq(c.through[1], 7, "6 joins 5 and the already covered 7");
}

Test(bench_cover, a_frame_counts_once)
{
	cr_assert_eq(bench_cover_ack(&c, 0, 3, 0, 1), 1);
	cr_assert_eq(bench_cover_ack(&c, 0, 3, 0, 2), 0, "a repeated ACK");
	cr_assert_eq(bench_cover_ack(&c, 0, 2, 3, 3), 2, "1 and 2; 3 was covered");
	cr_assert_eq(bench_cover_ack(&c, 0, 1, 2, 4), 0);
	cr_assert_eq(c.total, 3);
}

Test(bench_cover, beyond_the_stream_covers_nothing_more)
{
	cr_assert_eq(bench_cover_ack(&c, 2, 11, 0, 1), 0, "seq past the device's frames");
	cr_assert_eq(bench_cover_ack(&c, 3, 1, 10, 1), 0, "no such device");
	cr_assert_eq(bench_cover_ack(&c, 2, 0, 1000, 1), 10, "watermark clamped to the stream");
	cr_assert_eq(c.total, 10);
}

Test(bench_cover, latency_is_measured_from_publish_to_the_first_covering_ack)
{
	bench_cover_published(&c, 0, 1, 1000);
	bench_cover_published(&c, 0, 2, 2000);
	bench_cover_published(&c, 0, 3, 3000);
	cr_assert_eq(bench_cover_ack(&c, 0, 2, 0, 2500), 1);
	cr_assert_eq(bench_cover_ack(&c, 0, 3, 3, 9000), 2);
	cr_assert_eq(bench_cover_ack(&c, 0, 3, 3, 99000), 0);
	cr_assert_eq(c.lat_n, 3);
	cr_assert_eq(bench_cover_percentile(&c, 0.0), 500);
	cr_assert_eq(bench_cover_percentile(&c, 0.5), 6000);
	cr_assert_eq(bench_cover_percentile(&c, 1.0), 8000);
}

Test(bench_cover, untimed_frames_count_without_a_latency_and_reset_forgets)
{
	cr_assert_eq(bench_cover_ack(&c, 1, 1, 10, 5), 10);
	cr_assert_eq(c.lat_n, 0);
	bench_cover_reset(&c);
	cr_assert_eq(c.total, 0);
	cr_assert_eq(c.through[1], 0);
	cr_assert_eq(bench_cover_ack(&c, 1, 1, 0, 5), 1, "covered again after the reset");
}

/* Every uncovered frame of [from, upto), collected in batches of `batch`,
 * as stream indexes (d + (seq - 1) * devices). */
static size_t walk_missing(size_t from, size_t upto, size_t batch, size_t *out)
{
	uint32_t dev[4];
	uint64_t seq[4];
	size_t n = 0, k;

	cr_assert_leq(batch, 4);
	do {
		k = bench_cover_missing(&c, &from, upto, batch, dev, seq);
		for (size_t i = 0; i < k; i++)
			out[n++] = dev[i] + (size_t)(seq[i] - 1) * c.devices;
	} while (k > 0);
	return n;
}

Test(bench_cover, missing_walks_the_uncovered_frames_of_a_range_in_batches)
{
	size_t got[30];

	cr_assert_eq(bench_cover_ack(&c, 0, 1, 10, 1), 10, "device 0 covered in full");
	cr_assert_eq(bench_cover_ack(&c, 1, 1, 3, 1), 3, "device 1 up to seq 3");
	cr_assert_eq(bench_cover_ack(&c, 2, 5, 0, 1), 1, "device 2 seq 5 alone");
	/* Indexes 6..17 are seqs 3..6: uncovered among them device 1's 4..6
	 * (10, 13, 16) and device 2's 3, 4, 6 (8, 11, 17). */
	size_t want[] = { 8, 10, 11, 13, 16, 17 };
	cr_assert_eq(walk_missing(6, 18, 4, got), 6);
	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(got[i], want[i], "[%zu]: %zu, not %zu", i, got[i], want[i]);
	cr_assert_eq(walk_missing(6, 18, 1, got), 6, "batches of one find the same");
	cr_assert_eq(got[5], 17);
	cr_assert_eq(walk_missing(0, 1000, 4, got), 30 - 14, "the range is clamped to the stream");
	cr_assert_eq(walk_missing(0, 2, 4, got), 0, "devices 0 and 1 have seq 1 covered");
	cr_assert_eq(walk_missing(2, 3, 4, got), 1, "device 2 has not");
}
