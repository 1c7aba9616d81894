/*
 * Description: the benchmark's ACK coverage (tools/bench/cover.c). An ACK
 * covers its own frame and every frame of its device up to its watermark;
 * a frame counts once, at its first covering ACK, with the latency from
 * its publish time; seqs and watermarks beyond the stream and unknown
 * devices cover nothing; frames covered one by one extend the watermark.
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
