/*
 * Description: every kind of bad frame gets a signed NACK with the right
 * reason (a payload without header or magic: none, it is only counted), nothing of it is stored, and the daemon keeps serving good frames;
 * a forged frame of an enrolled device shows in its rejects (device show).
 * Real mosquitto, real komposterd, real LMDB.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "firmware-proto/hex.h"
#include "tests/e2e/probe.h"

#define DEV 0x00000000000a1b2cULL
#define OTHER 0x00000000000a1b2dULL

static struct kp_broker broker;
static struct kp_daemon_proc daemon_proc;
static struct kp_probe probe;
static uint8_t frame[KP_FRAME_MAX];

static void start(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&daemon_proc, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&daemon_proc), 0);
}

static void stop(void)
{
	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(&daemon_proc, SIGTERM), 0, "komposterd must exit 0 after SIGTERM");
	kp_broker_stop(&broker);
}

TestSuite(rejections, .init = start, .fini = stop, .timeout = 60);

static void expect_nack(uint64_t reason, uint64_t batch_seq)
{
	struct kp_reply_seen r;
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "no reply within 10 s");
	cr_assert(r.signature_ok, "reply not signed by the server key");
	cr_assert_eq(r.h.type, KP_TYPE_NACK, "expected a NACK, got type %u", r.h.type);
	cr_assert_eq(r.h.aux, reason, "NACK reason %llu, expected %llu", (unsigned long long)r.h.aux,
	             (unsigned long long)reason);
	cr_assert_eq(r.h.batch_seq, batch_seq);
}

/* A good frame afterwards is still ACKed as the first, and after that the
 * log holds its 3 taps and nothing else. */
static void expect_nothing_stored_and_still_serving(void)
{
	struct kp_probe good;
	struct kp_reply_seen r;
	uint64_t id = 0x0000000000c0ffeeULL;
	cr_assert_eq(kp_probe_open(&good, &broker, &daemon_proc, id, 1, 0), 0);
	size_t len = kp_probe_frame(&good, 1, 3, frame, 27, 0x11);
	cr_assert_eq(kp_probe_publish(&good, id, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&good, 10000, &r), 0);
	cr_assert(r.signature_ok);
	cr_assert_eq(r.h.type, KP_TYPE_ACK);
	cr_assert_eq(r.h.aux, 1, "watermark after the first good frame");
	kp_probe_close(&good);

	char *out = NULL;
	cr_assert_eq(kp_komposter(&daemon_proc, &out, "dump", NULL), 0);
	int lines = 0;
	for (char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	cr_expect_eq(lines, 3, "the log holds more than the good frame: %s", out);
	cr_expect_not_null(strstr(out, "0000000000c0ffee"), "the good frame is missing: %s", out);
	cr_expect_null(strstr(out, "00000000000a1b2c"), "a rejected frame was stored: %s", out);
	free(out);
}

/* DEV's rejects show `n` frames refused for `field` (and no frame stored),
 * in `device show --json`, within 10 s (the writer stores them with its
 * next group). */
static void expect_rejects(const char *field, double n)
{
	char hex[17];
	double got = -1;

	kp_device_id_format(DEV, hex);
	for (int i = 0; i < 100 && got != n; i++) {
		char *out = NULL;
		cJSON *doc, *rej;

		if (i > 0)
			usleep(100 * 1000);
		cr_assert_eq(kp_komposter(&daemon_proc, &out, "device", "show", hex, "--json", NULL), 0);
		doc = cJSON_Parse(out);
		free(out);
		cr_assert_not_null(doc);
		rej = cJSON_GetObjectItem(doc, "rejects");
		cr_assert(cJSON_IsObject(rej), "no rejects object");
		got = cJSON_GetNumberValue(cJSON_GetObjectItem(rej, field));
		cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "frames")), 0);
		cr_expect(cJSON_IsNull(cJSON_GetObjectItem(doc, "last_seen")), "a refused frame was seen");
		cJSON_Delete(doc);
	}
	cr_expect_eq(got, n, "rejects.%s %g, want %g", field, got, n);
}

/* Re-signs a frame after its fields were changed. */
static void resign(size_t len)
{
	cr_assert_eq(kp_frame_sign(frame, len, probe.sk), KP_OK);
}

Test(rejections, forged_signature_is_nacked_bad_signature)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	frame[KP_HEADER_SIZE + 9] ^= 0x01; /* a card token bit, after signing */
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_BAD_SIGNATURE, 1);
	expect_nothing_stored_and_still_serving();
	expect_rejects("bad_signature", 1);
}

Test(rejections, unknown_device_is_nacked_unknown)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 0, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_UNKNOWN_DEVICE, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, unknown_key_id_is_nacked_unknown)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	probe.key_id = 3; /* enrolled as 0 */
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_UNKNOWN_DEVICE, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, revoked_device_is_nacked_revoked_at_once)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	cr_assert_eq(kp_komposter(&daemon_proc, NULL, "device", "revoke", "a1b2c", NULL), 0);
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_REVOKED, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, frame_on_another_devices_topic_is_nacked_mismatch)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, OTHER), 0);
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, OTHER, frame, len), 0);
	expect_nack(KP_NACK_TOPIC_MISMATCH, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, truncated_frame_is_nacked_malformed_with_its_batch)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 5, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len - 1), 0);
	expect_nack(KP_NACK_MALFORMED, 5);
	expect_nothing_stored_and_still_serving();
}

/* PROTOCOL.md: a payload that cannot name a device or key (no header, no
 * magic) is dropped unanswered and counted, at no signature's cost. */
Test(rejections, garbage_is_counted_unreadable_and_not_answered)
{
	double unreadable = 0;

	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	cr_assert_eq(kp_probe_publish(&probe, DEV, (const uint8_t *)"hello, komposter", 16), 0);
	for (int i = 0; i < 400 && unreadable < 1; i++) {
		usleep(25000);
		unreadable = kp_daemon_metric(&daemon_proc, "komposter_frames_unreadable_total");
	}
	cr_assert_eq(unreadable, 1, "the garbage was not counted unreadable");
	/* The garbage is handled: a truncated frame's NACK is the first reply. */
	size_t len = kp_probe_frame(&probe, 5, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len - 1), 0);
	expect_nack(KP_NACK_MALFORMED, 5);
	cr_expect_eq(kp_daemon_metric(&daemon_proc, "komposter_nacks_sent_total"), 1, "the garbage was answered");
	expect_nothing_stored_and_still_serving();
}

Test(rejections, taps_from_last_year_are_nacked_time_window)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 1, frame, 27, 0x22);
	struct kp_tap t;
	kp_frame_get_tap(frame, 0, &t);
	t.tapped_at -= 365LL * 86400 * 1000;
	kp_frame_put_tap(frame, 0, &t);
	resign(len);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_TIME_WINDOW, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, a_signed_counts_frame_on_the_taps_topic_is_nacked_malformed)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	struct kp_header h = { .type = KP_TYPE_COUNTS, .count = 1, .device_id = DEV, .batch_seq = 1,
		               .sent_at = 1700000000000 };
	struct kp_count c = { .observed_at = 1700000000000, .route_id = 27, .door = 1, .kind = 1,
		              .boardings = 3, .occupancy = 10, .confidence = 90 };
	cr_assert_eq(kp_frame_put_header(frame, sizeof(frame), &h), KP_OK);
	kp_frame_put_count(frame, 0, &c);
	size_t len = kp_frame_size(KP_TYPE_COUNTS, 1);
	resign(len);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_MALFORMED, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, a_revoked_key_is_nacked_while_the_other_key_still_works)
{
	uint8_t pk1[KP_PUBLIC_KEY_SIZE], sk1[KP_SECRET_KEY_SIZE];
	char pub[2 * KP_PUBLIC_KEY_SIZE + 1];
	struct kp_reply_seen r;

	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	crypto_sign_keypair(pk1, sk1);
	kp_hex_encode(pk1, sizeof(pk1), pub);
	cr_assert_eq(kp_komposter(&daemon_proc, NULL, "device", "add", "--id", "a1b2c", "--key-id", "1",
	                          "--public-key", pub, NULL), 0);
	cr_assert_eq(kp_komposter(&daemon_proc, NULL, "device", "revoke", "a1b2c", "--key-id", "0", NULL), 0);

	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22); /* key 0 */
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_REVOKED, 1);

	probe.key_id = 1;
	memcpy(probe.sk, sk1, sizeof(sk1));
	len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x22);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0);
	cr_assert(r.signature_ok);
	cr_assert_eq(r.h.type, KP_TYPE_ACK, "the device's other key must still count");
	cr_assert_eq(r.h.aux, 1);
}

Test(rejections, taps_from_the_future_are_nacked_time_window)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 1, frame, 27, 0x22);
	struct kp_tap t;
	kp_frame_get_tap(frame, 0, &t);
	t.tapped_at += 2LL * 3600 * 1000; /* the default window allows 10 minutes */
	kp_frame_put_tap(frame, 0, &t);
	resign(len);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_TIME_WINDOW, 1);
	expect_nothing_stored_and_still_serving();
}

Test(rejections, a_frame_sent_long_ago_is_nacked_time_window)
{
	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 1, frame, 27, 0x22);
	struct kp_header h;
	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	h.sent_at -= 90LL * 86400 * 1000; /* taps are recent, the frame's clock is not */
	cr_assert_eq(kp_frame_put_header(frame, sizeof(frame), &h), KP_OK);
	resign(len);
	cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0);
	expect_nack(KP_NACK_TIME_WINDOW, 1);
	expect_nothing_stored_and_still_serving();
}

/* The log of the daemon, for the line a dropped frame leaves. */
static char *daemon_log(void)
{
	char path[320];
	uint8_t *data = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/komposterd.log", daemon_proc.dir);
	cr_assert_eq(kp_file_read(path, &data, &len), 0);
	char *text = realloc(data, len + 1);
	cr_assert_not_null(text);
	text[len] = '\0';
	return text;
}

Test(rejections, a_topic_naming_device_zero_is_a_bad_topic_dropped_with_a_log_line)
{
	/* Device 0 names nobody: the topic is written out, as an attacker would. */
	static const char topic[] = "komposter/v1/dev/0000000000000000/taps";
	char *body = NULL;
	double bad = 0;

	cr_assert_eq(kp_probe_open(&probe, &broker, &daemon_proc, DEV, 1, 0), 0);
	size_t len = kp_probe_frame(&probe, 1, 2, frame, 27, 0x33);
	cr_assert_eq(MQTTClient_publish(probe.client, topic, (int)len, frame, 1, 0, NULL), MQTTCLIENT_SUCCESS);
	for (int i = 0; i < 200 && bad < 1; i++) {
		usleep(25000);
		free(body);
		cr_assert_eq(kp_http_get(daemon_proc.http_port, "/metrics", &body), 200);
		bad = kp_metric(body, "komposter_frames_rejected_total{reason=\"bad_topic\"}");
	}
	cr_expect_eq(bad, 1, "the frame was not counted as a bad topic");
	cr_expect_eq(kp_metric(body, "komposter_replies_failed_total"), 0, "a reply to device 0 was tried");
	free(body);
	char *log = daemon_log();
	cr_expect_not_null(strstr(log, "dropped a frame on topic 'komposter/v1/dev/0000000000000000/taps'"),
	                   "%s", log);
	free(log);
	expect_nothing_stored_and_still_serving();
}
