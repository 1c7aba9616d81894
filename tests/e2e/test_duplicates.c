/*
 * Description: every frame sent twice and out of order is stored exactly
 * once; every frame is covered by a signed ACK (its batch_seq, or at most its
 * watermark: copies in one commit group share their device's ACK), the
 * watermark ends at the last frame, and a copy sent after all were stored
 * is ACKed again.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/e2e/probe.h"

#define DEV 0x0000000000d00d1eULL
#define FRAMES 40
#define TAPS 5

Test(duplicates, every_frame_twice_out_of_order_is_stored_once_and_reacked, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe probe;
	static uint8_t frames[FRAMES][KP_FRAME_MAX];
	size_t lens[FRAMES];
	int order[2 * FRAMES];

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open(&probe, &broker, &d, DEV, 1, 0), 0);

	for (int i = 0; i < FRAMES; i++)
		lens[i] = kp_probe_frame(&probe, (uint64_t)i + 1, TAPS, frames[i], 27, 0x30);
	/* Each frame twice, shuffled with a fixed seed (reproducible). */
	for (int i = 0; i < 2 * FRAMES; i++)
		order[i] = i % FRAMES;
	srand(7);
	for (int i = 2 * FRAMES - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < 2 * FRAMES; i++)
		cr_assert_eq(kp_probe_publish(&probe, DEV, frames[order[i]], lens[order[i]]), 0);

	int covered[FRAMES] = { 0 };
	uint64_t watermark = 0;
	int replies = 0;
	while (watermark < FRAMES) {
		struct kp_reply_seen r;
		cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "watermark %llu after %d replies",
		             (unsigned long long)watermark, replies);
		replies++;
		cr_assert(r.signature_ok);
		cr_assert_eq(r.h.type, KP_TYPE_ACK, "NACK reason %llu", (unsigned long long)r.h.aux);
		cr_assert(r.h.batch_seq >= 1 && r.h.batch_seq <= FRAMES && r.h.aux <= FRAMES);
		covered[r.h.batch_seq - 1] = 1;
		for (uint64_t i = 0; i < r.h.aux; i++)
			covered[i] = 1;
		if (r.h.aux > watermark)
			watermark = r.h.aux;
	}
	for (int i = 0; i < FRAMES; i++)
		cr_expect(covered[i], "frame %d covered by no ACK", i + 1);
	cr_expect(replies <= 2 * FRAMES, "%d replies for %d frames", replies, 2 * FRAMES);

	/* Every copy was taken: the daemon counted each one, stored or duplicate. */
	char *metrics = NULL;
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(kp_http_get(d.http_port, "/metrics", &metrics), 200);
		if (kp_metric(metrics, "komposter_frames_stored_total") +
		            kp_metric(metrics, "komposter_frames_duplicate_total") >= 2 * FRAMES)
			break;
		free(metrics);
		metrics = NULL;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	cr_assert_not_null(metrics, "not every copy was committed within 10 s");
	cr_expect_eq(kp_metric(metrics, "komposter_frames_stored_total"), FRAMES);
	cr_expect_eq(kp_metric(metrics, "komposter_frames_duplicate_total"), FRAMES);
	cr_expect_eq(kp_metric(metrics, "komposter_taps_stored_total"), FRAMES * TAPS);
	free(metrics);

	/* A copy after everything was stored: re-ACKed, never stored again. */
	struct kp_reply_seen r;
	while (kp_probe_reply(&probe, 300, &r) == 0)
		cr_assert(r.signature_ok && r.h.type == KP_TYPE_ACK);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frames[6], lens[6]), 0);
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "a late copy was not re-ACKed");
	cr_expect(r.signature_ok && r.h.type == KP_TYPE_ACK);
	cr_expect_eq(r.h.batch_seq, 7);
	cr_expect_eq(r.h.aux, FRAMES);
	cr_assert_eq(kp_http_get(d.http_port, "/metrics", &metrics), 200);
	cr_expect_eq(kp_metric(metrics, "komposter_frames_stored_total"), FRAMES);
	cr_expect_eq(kp_metric(metrics, "komposter_frames_duplicate_total"), FRAMES + 1);
	free(metrics);

	char *dump = NULL;
	cr_assert_eq(kp_komposter(&d, &dump, "dump", NULL), 0);
	int lines = 0;
	for (char *p = dump; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	cr_expect_eq(lines, FRAMES * TAPS, "dump shows %d taps", lines);
	free(dump);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);

	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

Test(duplicates, the_watermark_covers_only_frames_stored_without_gaps, .timeout = 60)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe probe;
	static uint8_t frame[KP_FRAME_MAX];
	/* Frames 3, 2, 1 one at a time: 3 and 2 are stored but frame 1 is not yet,
	 * so their ACKs must report watermark 0; frame 1 closes the gap: 3. */
	const uint64_t order[] = { 3, 2, 1, 3 };
	const uint64_t watermark[] = { 0, 0, 3, 3 };

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open(&probe, &broker, &d, DEV, 1, 0), 0);
	for (int i = 0; i < 4; i++) {
		struct kp_reply_seen r;
		size_t len = kp_probe_frame(&probe, order[i], TAPS, frame, 27, 0x31);
		cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
		cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0);
		cr_assert(r.signature_ok);
		cr_assert_eq(r.h.type, KP_TYPE_ACK);
		cr_expect_eq(r.h.batch_seq, order[i]);
		cr_expect_eq(r.h.aux, watermark[i], "ACK of frame %llu reports watermark %llu, not %llu",
		             (unsigned long long)order[i], (unsigned long long)r.h.aux,
		             (unsigned long long)watermark[i]);
	}
	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
