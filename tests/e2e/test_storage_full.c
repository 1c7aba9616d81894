/*
 * Description: when the LMDB map cannot grow any more, or the disk under
 * it is full, frames are answered with NACK 7 (storage full, retry later)
 * and an alarm metric, never a crash; everything ACKed before stays stored
 * and consistent, and the daemon keeps running and answering (a retry is
 * NACK 7 again, or stored and ACKed if it fits by then).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tests/e2e/probe.h"

#define DEV 0x0000000000f0110fULL
#define TAPS 200

static long count_lines(const char *text)
{
	long n = 0;
	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	return n;
}

/* Sends 200-tap frames until one is answered NACK 7, then checks that the
 * daemon raised the alarm, still answers, re-ACKs what it stored, and that
 * exactly what was ACKed is in the database and consistent. */
static void fill_until_storage_full(struct kp_broker *broker, struct kp_daemon_proc *d)
{
	struct kp_probe probe;
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_reply_seen r;
	uint64_t acked = 0, seq;

	cr_assert_eq(kp_daemon_start(d), 0);
	cr_assert_eq(kp_probe_open(&probe, broker, d, DEV, 1, 0), 0);

	/* 200 taps a frame is about 10 KB stored: 1 MiB is full long before 200 frames. */
	for (seq = 1; seq <= 200; seq++) {
		size_t len = kp_probe_frame(&probe, seq, TAPS, frame, 27, 0x44);
		cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
		cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "no reply to frame %llu", (unsigned long long)seq);
		cr_assert(r.signature_ok);
		if (r.h.type == KP_TYPE_NACK)
			break;
		cr_assert_eq(r.h.aux, seq, "watermark");
		acked = seq;
	}
	cr_assert_eq(r.h.type, KP_TYPE_NACK, "storage never filled");
	cr_assert_eq(r.h.aux, KP_NACK_STORAGE_FULL);
	cr_assert_eq(r.h.batch_seq, seq);
	cr_assert_gt(acked, 0, "nothing fit at all");

	char *body = NULL;
	cr_assert_eq(kp_http_get(d->http_port, "/metrics", &body), 200, "daemon not answering");
	cr_expect_geq(kp_metric(body, "komposter_storage_full_total"), 1);
	cr_expect_eq(kp_metric(body, "komposter_frames_stored_total"), (double)acked);
	free(body);
	cr_expect_eq(kp_http_get(d->http_port, "/readyz", &body), 503);
	free(body);

	/* The same frame again, as a device retries after NACK 7: answered, and
	 * stored only if ACKed. It may fit now: pages an older transaction freed
	 * (the writer's derive runs free some, storage/derive.h) become free to
	 * use once no reader holds the snapshot before them. */
	size_t len = kp_probe_frame(&probe, seq, TAPS, frame, 27, 0x44);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0);
	if (r.h.type == KP_TYPE_ACK) {
		cr_expect_eq(r.h.aux, seq, "an ACK of the retry covers it");
		acked = seq;
	} else {
		cr_expect_eq(r.h.type, KP_TYPE_NACK);
		cr_expect_eq(r.h.aux, KP_NACK_STORAGE_FULL);
	}

	/* An ACKed frame re-sent is still re-ACKed from the index. */
	len = kp_probe_frame(&probe, 1, TAPS, frame, 27, 0x44);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0);
	cr_expect_eq(r.h.type, KP_TYPE_ACK);
	cr_expect_eq(r.h.aux, acked);

	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(d, SIGTERM), 0);
	kp_broker_stop(broker);

	char *dump = NULL;
	cr_assert_eq(kp_komposter(d, &dump, "dump", NULL), 0);
	cr_expect_eq(count_lines(dump), (long)(acked * TAPS), "what was ACKed is what is stored");
	free(dump);
	cr_expect_eq(kp_komposter(d, NULL, "check", NULL), 0);
}

Test(storage_full, a_full_map_is_nack_7_and_an_alarm_not_a_crash, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "storage.map_size_mb = 1\nstorage.map_size_max_mb = 1\n"), 0);
	fill_until_storage_full(&broker, &d);
}

static char mounted[400];

static void unmount_disk(void)
{
	if (mounted[0])
		umount2(mounted, MNT_DETACH);
}

Test(storage_full, a_full_disk_is_nack_7_and_an_alarm_not_a_crash, .timeout = 120, .fini = unmount_disk)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;

	cr_assert_eq(kp_broker_start(&broker), 0);
	/* The map may grow to 64 MiB, but the disk under it holds 1 MiB. */
	cr_assert_eq(kp_daemon_setup(&d, &broker, "storage.map_size_mb = 1\nstorage.map_size_max_mb = 64\n"), 0);
	snprintf(mounted, sizeof(mounted), "%s/data", d.dir);
	cr_assert_eq(mkdir(mounted, 0700), 0);
	if (mount("tmpfs", mounted, "tmpfs", 0, "size=1m,mode=0700") != 0) {
		mounted[0] = '\0';
		kp_broker_stop(&broker);
		cr_skip_test("cannot mount a 1 MiB tmpfs here (%s): needs root", strerror(errno));
	}
	fill_until_storage_full(&broker, &d);
}
