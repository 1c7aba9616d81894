/*
 * Description: a device whose clock is hours off is flagged
 * ("clock_skewed": true) in /v1/devices and `komposter device show --json`,
 * and its frames are handled as PROTOCOL.md says: hours ahead, beyond the
 * accepted window, they are NACK 6 and nothing is stored (the flag comes
 * from the sent_at of the refused frames); hours behind, within the window,
 * they are stored and ACKed. A device on time is not flagged.
 * Real mosquitto, real komposterd, real LMDB.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "firmware-proto/hex.h"
#include "storage/device_stats.h"
#include "tests/e2e/probe.h"

#define AHEAD 0x00000000000c5001ULL   /* clock three hours ahead */
#define BEHIND 0x00000000000c5002ULL  /* clock two hours behind */
#define ON_TIME 0x00000000000c5003ULL
#define HOUR_MS (3600LL * 1000)

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

TestSuite(clock_skew, .init = start, .fini = stop, .timeout = 60);

/* Frame batch_seq of p's device as a device whose clock is shift_ms off
 * would make it: sent_at and every tapped_at shifted. */
static size_t skewed_frame(struct kp_probe *p, uint64_t batch_seq, int64_t shift_ms, uint8_t *frame)
{
	size_t len = kp_probe_frame(p, batch_seq, 2, frame, 27, 0x5c);
	struct kp_header h;
	struct kp_tap t;

	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	h.sent_at += shift_ms;
	cr_assert_eq(kp_frame_put_header(frame, KP_FRAME_MAX, &h), KP_OK);
	for (uint16_t i = 0; i < h.count; i++) {
		kp_frame_get_tap(frame, i, &t);
		t.tapped_at += shift_ms;
		kp_frame_put_tap(frame, i, &t);
	}
	cr_assert_eq(kp_frame_sign(frame, len, p->sk), KP_OK);
	return len;
}

/* Publishes two frames of p shifted by shift_ms; the replies' type and aux. */
static void send_two(struct kp_probe *p, int64_t shift_ms, uint8_t want_type, uint64_t want_aux[2])
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_reply_seen r;

	for (uint64_t seq = 1; seq <= 2; seq++) {
		size_t len = skewed_frame(p, seq, shift_ms, frame);

		cr_assert_eq(kp_probe_publish(p, p->device_id, frame, len), 0);
		cr_assert_eq(kp_probe_reply(p, 10000, &r), 0, "no reply within 10 s");
		cr_assert(r.signature_ok);
		cr_assert_eq(r.h.type, want_type, "device %llx: reply type %u", (unsigned long long)p->device_id,
		             r.h.type);
		cr_assert_eq(r.h.aux, want_aux[seq - 1]);
	}
}

/* GET path with a bearer token; the body of a 200 answer (malloc'd). */
static char *get_with_token(const char *path, const char *token)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)daemon_proc.http_port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[512], *buf = NULL, *body;
	size_t got = 0, cap = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	int len = snprintf(req, sizeof req,
	                   "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path,
	                   token);
	cr_assert_eq(write(fd, req, (size_t)len), len);
	do {
		if (got + 4096 + 1 > cap) {
			cap = 2 * cap + 8192;
			cr_assert_not_null(buf = realloc(buf, cap));
		}
		n = read(fd, buf + got, cap - got - 1);
		got += n > 0 ? (size_t)n : 0;
	} while (n > 0);
	close(fd);
	buf[got] = '\0';
	cr_assert_eq(strncmp(buf, "HTTP/1.1 200", 12), 0, "answer: %.200s", buf);
	cr_assert_not_null(body = strstr(buf, "\r\n\r\n"));
	body = strdup(body + 4);
	free(buf);
	return body;
}

/* The clock_skewed of device id in a /v1/devices document; -1 when absent. */
static int flag_in(const cJSON *doc, uint64_t id)
{
	char hex[KP_DEVICE_ID_TEXT_SIZE];
	const cJSON *d;

	kp_device_id_format(id, hex);
	cJSON_ArrayForEach(d, cJSON_GetObjectItem(doc, "devices")) {
		const cJSON *f = cJSON_GetObjectItem(d, "clock_skewed");

		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d, "id")), hex) == 0)
			return cJSON_IsBool(f) ? cJSON_IsTrue(f) : -1;
	}
	return -1;
}

Test(clock_skew, a_device_hours_off_is_flagged_and_its_frames_handled_as_the_protocol_says)
{
	struct kp_probe ahead, behind, on_time;
	uint64_t nack6[2] = { KP_NACK_TIME_WINDOW, KP_NACK_TIME_WINDOW }, acked[2] = { 1, 2 };
	char token[64], *out = NULL, hex[KP_DEVICE_ID_TEXT_SIZE];
	cJSON *doc = NULL;

	cr_assert_eq(kp_probe_open(&ahead, &broker, &daemon_proc, AHEAD, 1, 0), 0);
	cr_assert_eq(kp_probe_open(&behind, &broker, &daemon_proc, BEHIND, 1, 0), 0);
	cr_assert_eq(kp_probe_open(&on_time, &broker, &daemon_proc, ON_TIME, 1, 0), 0);
	send_two(&ahead, 3 * HOUR_MS, KP_TYPE_NACK, nack6);  /* beyond accept_future_s */
	send_two(&behind, -2 * HOUR_MS, KP_TYPE_ACK, acked); /* within accept_past_days */
	send_two(&on_time, 0, KP_TYPE_ACK, acked);

	cr_assert_eq(kp_komposter(&daemon_proc, &out, "token", "add", "--scope", "read", "--name", "t", NULL), 0);
	cr_assert_geq(strlen(out), 47, "token output: %s", out);
	snprintf(token, sizeof token, "%.47s", out);
	free(out);
	/* The refused frames' notes reach the record with the writer's next group. */
	for (int i = 0; i < 100 && flag_in(doc, AHEAD) != 1; i++) {
		if (i > 0)
			usleep(100 * 1000);
		cJSON_Delete(doc);
		out = get_with_token("/v1/devices", token);
		doc = cJSON_Parse(out);
		free(out);
		cr_assert_not_null(doc);
	}
	cr_expect_eq(flag_in(doc, AHEAD), 1, "the device three hours ahead is not flagged");
	cr_expect_eq(flag_in(doc, BEHIND), 1, "the device two hours behind is not flagged");
	cr_expect_eq(flag_in(doc, ON_TIME), 0, "the device on time is flagged");
	cJSON_Delete(doc);

	kp_device_id_format(AHEAD, hex);
	cr_assert_eq(kp_komposter(&daemon_proc, &out, "device", "show", hex, "--json", NULL), 0);
	doc = cJSON_Parse(out);
	free(out);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(doc, "clock_skewed")), "device show: not flagged");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "frames")), 0, "a frame from the future was stored");
	cJSON_Delete(doc);
	cr_expect_eq(kp_stored_taps(&daemon_proc), 2 * 2 * 2, "the frames behind and on time are stored");
	kp_probe_close(&ahead);
	kp_probe_close(&behind);
	kp_probe_close(&on_time);
}
