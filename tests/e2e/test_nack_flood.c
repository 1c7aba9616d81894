/*
 * Description: an honest device publishes its frames while a forger floods
 * its topic with forged, malformed and unreadable frames and floods an
 * unknown device's topic with frames of its own: every honest frame is
 * stored once and ACKed; each (device, NACK reason) gets at most its burst
 * of NACKs (plus one per refill that passed), the rest are counted
 * suppressed; the unreadable payloads are counted and never answered.
 * Real mosquitto, real komposterd, real LMDB.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <time.h>

#include "firmware-proto/topic.h"
#include "ingest/nack_limit.h"
#include "tests/e2e/probe.h"

#define DEV 0x00000000000f1001ULL     /* the honest device */
#define UNKNOWN 0x00000000000f1002ULL /* never enrolled */
#define HONEST_FRAMES 20
#define FLOOD_PER_FRAME 8 /* of each kind, between two honest frames */

static struct kp_broker broker;
static struct kp_daemon_proc daemon_proc;

static void start(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&daemon_proc, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&daemon_proc), 0);
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&daemon_proc, SIGTERM), 0, "komposterd must exit 0 after SIGTERM");
	kp_broker_stop(&broker);
}

TestSuite(nack_flood, .init = start, .fini = stop, .timeout = 60);

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A forger does not wait for PUBACKs: QoS 0, in order on its connection. */
static void send_qos0(struct kp_probe *from, uint64_t topic_device, const uint8_t *payload, size_t len)
{
	char topic[KP_TOPIC_MAX];

	cr_assert_geq(kp_topic_build(topic, sizeof topic, topic_device, KP_STREAM_TAPS), 0);
	cr_assert_eq(MQTTClient_publish(from->client, topic, (int)len, payload, 0, 0, NULL), MQTTCLIENT_SUCCESS);
}

/* One round of the flood: forged and truncated frames on DEV's topic,
 * garbage on it, and the unknown device's own frames. */
static void flood(struct kp_probe *impostor, struct kp_probe *stranger, uint64_t round)
{
	static uint8_t frame[KP_FRAME_MAX];
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\n\r\n";

	for (uint64_t i = 0; i < FLOOD_PER_FRAME; i++) {
		uint64_t seq = round * FLOOD_PER_FRAME + i + 1;
		size_t len = kp_probe_frame(impostor, seq, 2, frame, 27, 0x66);

		send_qos0(impostor, DEV, frame, len);     /* NACK 1 */
		send_qos0(impostor, DEV, frame, len - 1); /* NACK 4 */
		send_qos0(impostor, DEV, garbage, sizeof garbage);
		len = kp_probe_frame(stranger, seq, 1, frame, 27, 0x67);
		send_qos0(stranger, UNKNOWN, frame, len); /* NACK 2 */
	}
}

/* Replies to p until no reply for quiet_ms (or until its watermark
 * reaches `until`, when nonzero), NACKs counted by reason. */
static uint64_t collect(struct kp_probe *p, uint64_t until, int quiet_ms, unsigned nacks[KP_NACK_REASON_MAX + 1])
{
	struct kp_reply_seen r;
	uint64_t watermark = 0;

	while ((until == 0 || watermark < until) && kp_probe_reply(p, quiet_ms, &r) == 0) {
		cr_assert(r.signature_ok, "a reply not signed by the server key");
		if (r.h.type == KP_TYPE_ACK) {
			if (r.h.aux > watermark)
				watermark = r.h.aux;
		} else {
			cr_assert_eq(r.h.type, KP_TYPE_NACK);
			cr_assert(r.h.aux >= 1 && r.h.aux <= KP_NACK_REASON_MAX);
			nacks[r.h.aux]++;
		}
	}
	return watermark;
}

Test(nack_flood, honest_frames_are_stored_and_acked_while_nacks_to_the_flood_are_limited)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_probe honest, impostor, stranger;
	unsigned nacks_dev[KP_NACK_REASON_MAX + 1] = { 0 }, nacks_unknown[KP_NACK_REASON_MAX + 1] = { 0 };
	double began = mono_s();

	cr_assert_eq(kp_probe_open(&honest, &broker, &daemon_proc, DEV, 1, 0), 0);
	/* The impostor's own client id: the broker would otherwise cut the
	 * honest device's session off for it. */
	const struct kp_mqtt_login as_impostor = { .client_id = "impostor" };
	cr_assert_eq(kp_probe_open_login(&impostor, &broker, &daemon_proc, DEV, 0, 0x00000000000f10ffULL, &as_impostor), 0);
	cr_assert_eq(kp_probe_open(&stranger, &broker, &daemon_proc, UNKNOWN, 0, 0), 0);
	for (uint64_t seq = 1; seq <= HONEST_FRAMES; seq++) {
		size_t len = kp_probe_frame(&honest, seq, 3, frame, 27, 0x11);

		cr_assert_eq(kp_probe_publish(&honest, DEV, frame, len), 0);
		flood(&impostor, &stranger, seq);
	}
	uint64_t watermark = collect(&honest, HONEST_FRAMES, 10000, nacks_dev);
	cr_assert_eq(watermark, HONEST_FRAMES, "honest frames ACKed up to %llu", (unsigned long long)watermark);
	collect(&honest, 0, 1000, nacks_dev);
	collect(&stranger, 0, 1000, nacks_unknown);

	/* The limit is a burst and then one per refill: allow for the refills
	 * that passed, however slow the machine. */
	unsigned limit = KP_NACK_LIMIT_BURST + 1 + (unsigned)((mono_s() - began) * 1000 / KP_NACK_LIMIT_REFILL_MS);
	cr_expect_gt(nacks_dev[KP_NACK_BAD_SIGNATURE], 0);
	cr_expect_leq(nacks_dev[KP_NACK_BAD_SIGNATURE], limit);
	cr_expect_gt(nacks_dev[KP_NACK_MALFORMED], 0);
	cr_expect_leq(nacks_dev[KP_NACK_MALFORMED], limit);
	cr_expect_gt(nacks_unknown[KP_NACK_UNKNOWN_DEVICE], 0);
	cr_expect_leq(nacks_unknown[KP_NACK_UNKNOWN_DEVICE], limit);

	cr_expect_eq(kp_daemon_metric(&daemon_proc, "komposter_frames_stored_total"), HONEST_FRAMES);
	cr_expect_eq(kp_stored_taps(&daemon_proc), 3 * HONEST_FRAMES, "each honest frame stored once");
	cr_expect_gt(kp_daemon_metric(&daemon_proc, "komposter_nacks_suppressed_total{reason=\"bad_signature\"}"), 0);
	cr_expect_gt(kp_daemon_metric(&daemon_proc, "komposter_nacks_suppressed_total{reason=\"malformed_frame\"}"), 0);
	cr_expect_gt(kp_daemon_metric(&daemon_proc, "komposter_nacks_suppressed_total{reason=\"unknown_device_or_key\"}"), 0);
	cr_expect_eq(kp_daemon_metric(&daemon_proc, "komposter_frames_unreadable_total"),
	             HONEST_FRAMES * FLOOD_PER_FRAME);
	kp_probe_close(&honest);
	kp_probe_close(&impostor);
	kp_probe_close(&stranger);
}
