/*
 * Description: moving devices between instances mid-stream (issue #16,
 * README "Moving devices between instances"). Two komposterd instances,
 * 0/2 and 1/2, behind one mosquitto with one server key, a fleet of 24
 * validators publishing paced taps. Mid-stream both are stopped (SIGTERM),
 * each exports the devices moving to 2/3 (`komposter partition export`),
 * the new instance imports both files, the two are reconfigured as 0/3
 * and 1/3, and all three start. The fleet (outboxes re-sending what had no
 * ACK) finishes: every tap is stored exactly once across the three (the
 * sum of their counts is what was sent). A probe device moving from 0/2 to
 * 2/3 replays a frame 0/2 stored and ACKed: the new owner re-ACKs it with
 * the handed watermark and does not store it; its next frame is stored
 * there and moves the watermark on.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/partition.h"
#include "tests/e2e/fleet.h"
#include "tests/e2e/probe.h"

#define DEVICES 24
#define TAPS 40
#define PROBE_TAPS 3

static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static void setup_instance(struct kp_daemon_proc *d, const struct kp_broker *b, int k, int n)
{
	char extra[160];

	snprintf(extra, sizeof(extra), "mqtt.partition=%d/%d\nmqtt.client_id=komposterd-move-%d-%d\n", k, n, k, b->port);
	cr_assert_eq(kp_daemon_setup(d, b, extra), 0);
}

/* Rewrites "partition=K/2" in d's config to "partition=K/3". */
static void repartition(const struct kp_daemon_proc *d, int k)
{
	uint8_t *text;
	size_t len;
	char from[32], to[32];

	cr_assert_eq(kp_file_read(d->config, &text, &len), 0);
	snprintf(from, sizeof(from), "partition=%d/2", k);
	snprintf(to, sizeof(to), "partition=%d/3", k);
	char *at = strstr((char *)text, from);
	cr_assert_not_null(at, "%s has no %s", d->config, from);
	memcpy(at, to, strlen(to));
	FILE *f = fopen(d->config, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(text);
}

static int owned_under(const char *fleet_txt, uint32_t k, uint32_t n)
{
	char line[256];
	FILE *f = fopen(fleet_txt, "r");
	int owned = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		owned += kp_partition_owner(strtoull(line, NULL, 16), n) == k;
	fclose(f);
	return owned;
}

static void wait_subscribed(const struct kp_daemon_proc *d, int want)
{
	double got = -1;

	for (int i = 0; i < 200 && got != want; i++) {
		pause_ms(50);
		got = kp_daemon_metric(d, "komposter_mqtt_devices_subscribed");
	}
	cr_assert_eq(got, want, "%s subscribed to %.0f devices, owns %d", d->dir, got, want);
}

/* The first id from 0x7E000000 on that 0 of 2 owns and 2 of 3 will. */
static uint64_t moving_probe_id(void)
{
	for (uint64_t id = 0x7E000000;; id++)
		if (kp_partition_owner(id, 2) == 0 && kp_partition_owner(id, 3) == 2)
			return id;
}

/* Publishes the probe's frame batch_seq and expects its ACK with aux. */
static void probe_send(struct kp_probe *pr, uint64_t batch_seq, uint64_t aux, const char *what)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_reply_seen r;
	size_t len = kp_probe_frame(pr, batch_seq, PROBE_TAPS, frame, 10, (uint8_t)batch_seq);

	cr_assert_eq(kp_probe_publish(pr, pr->device_id, frame, len), 0);
	cr_assert_eq(kp_probe_reply(pr, 15000, &r), 0, "%s: no reply", what);
	cr_expect(r.signature_ok && r.h.type == KP_TYPE_ACK, "%s: NACK %llu", what, (unsigned long long)r.h.aux);
	cr_expect_eq(r.h.batch_seq, batch_seq, "%s", what);
	cr_expect_eq(r.h.aux, aux, "%s: watermark", what);
}

static double taps_in_db(const struct kp_daemon_proc *d)
{
	double accepted, denied, amount;

	cr_assert_eq(kp_stats_totals(d, &accepted, &denied, &amount), 0);
	return accepted + denied;
}

Test(partition_move, two_to_three_instances_mid_stream_stores_each_tap_once, .timeout = 120)
{
	static struct kp_broker b;
	static struct kp_daemon_proc d[3];
	static struct kp_fleet fleet;
	static struct kp_probe probe;
	struct kp_fleet_summary sum;
	char fleet_txt[360], file[2][400];
	double total = 0, have;

	cr_assert_eq(kp_broker_start(&b), 0);
	setup_instance(&d[0], &b, 0, 2);
	setup_instance(&d[1], &b, 1, 2);
	setup_instance(&d[2], &b, 2, 3);
	cr_assert_eq(kp_daemon_share_key(&d[1], &d[0]), 0);
	cr_assert_eq(kp_daemon_share_key(&d[2], &d[0]), 0);
	cr_assert_eq(kp_daemon_start(&d[0]), 0);
	cr_assert_eq(kp_daemon_start(&d[1]), 0);
	cr_assert_eq(kp_fleet_init(&fleet, &d[0], DEVICES), 0);
	snprintf(fleet_txt, sizeof(fleet_txt), "%s/fleet.txt", fleet.state);
	cr_assert_eq(kp_enrol_fleet(&d[1], fleet_txt), 0);
	cr_assert_eq(kp_enrol_fleet(&d[2], fleet_txt), 0);
	cr_assert_gt(owned_under(fleet_txt, 2, 3), 0, "no device moves to 2/3");
	cr_assert_eq(kp_probe_open(&probe, &b, &d[0], moving_probe_id(), 1, 0), 0);
	cr_assert_eq(kp_probe_enrol(&probe, &d[2], "validator"), 0);
	wait_subscribed(&d[0], owned_under(fleet_txt, 0, 2) + 1);
	wait_subscribed(&d[1], owned_under(fleet_txt, 1, 2));
	probe_send(&probe, 1, 1, "before the move");

	/* Paced: about 4 s of taps, so that the stop lands mid-stream. */
	pid_t sim = kp_fleet_start(&fleet, &b, &d[0], TAPS, "--rate", "10", "--batch", "4", "--resend-ms", "2000",
	                           "--timeout", "60", NULL);
	for (int i = 0; i < 500 && kp_stored_taps(&d[0]) + kp_stored_taps(&d[1]) < DEVICES * TAPS / 5; i++)
		pause_ms(20);
	cr_assert_eq(kp_daemon_stop(&d[0], SIGTERM), 0);
	cr_assert_eq(kp_daemon_stop(&d[1], SIGTERM), 0);
	cr_assert_lt(taps_in_db(&d[0]) + taps_in_db(&d[1]), DEVICES * TAPS, "the stop came after the stream");

	for (int k = 0; k < 2; k++) {
		snprintf(file[k], sizeof(file[k]), "%s/move-%d-to-2.json", d[k].dir, k);
		cr_assert_eq(kp_komposter(&d[k], NULL, "partition", "export", "--to", "3", "--owner", "2", "--out",
		                          file[k], NULL),
		             0, "export from %d/2", k);
		repartition(&d[k], k);
	}
	cr_assert_eq(kp_komposter(&d[2], NULL, "partition", "import", file[0], file[1], NULL), 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(kp_daemon_start(&d[k]), 0, "instance %d/3 did not start", k);
	probe_send(&probe, 1, 1, "replayed on the new owner");
	probe_send(&probe, 2, 2, "the next frame, on the new owner");

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS);
	sum.taps += 2 * PROBE_TAPS; /* the probe's batches 1 and 2, each once */
	for (int i = 0; i < 50 && (total = taps_in_db(&d[0]) + taps_in_db(&d[1]) + taps_in_db(&d[2])) < sum.taps; i++)
		pause_ms(100);
	for (int k = 0; k < 3; k++) {
		have = taps_in_db(&d[k]);
		cr_log_info("instance %d/3 holds %.0f taps", k, have);
	}
	cr_expect_gt(taps_in_db(&d[2]), 0, "the new owner stored none of its devices' taps");
	cr_expect_eq(total, sum.taps, "%.0f taps stored in all three, %.0f sent", total, sum.taps);
	kp_probe_close(&probe);
	for (int k = 0; k < 3; k++)
		cr_expect_eq(kp_daemon_stop(&d[k], SIGTERM), 0);
	kp_broker_stop(&b);
}
