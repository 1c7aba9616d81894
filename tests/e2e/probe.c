/*
 * probe.c — see probe.h. Synchronous Paho (MQTTClient) keeps the tests
 * linear: publish, then wait for the reply with a deadline.
 */
#include "tests/e2e/probe.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
#include "firmware-proto/topic.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kp_probe_enrol(struct kp_probe *pr, const struct kp_daemon_proc *d, const char *kind)
{
	char id[KP_DEVICE_ID_TEXT_SIZE], pub[2 * KP_PUBLIC_KEY_SIZE + 1], key_id[8];

	kp_device_id_format(pr->device_id, id);
	kp_hex_encode(pr->pk, sizeof(pr->pk), pub);
	snprintf(key_id, sizeof(key_id), "%u", pr->key_id);
	int rc = kp_komposter(d, NULL, "device", "add", "--id", id, "--key-id", key_id, "--public-key",
	                      pub, "--kind", kind, "--operator", "test", "--vehicle", "7", NULL);
	if (rc != 0)
		fprintf(stderr, "probe: komposter device add exited %d\n", rc);
	return rc == 0 ? 0 : -1;
}

int kp_mqtt_connect(const struct kp_broker *b, const struct kp_mqtt_login *login, MQTTClient *out)
{
	static const struct kp_mqtt_login anonymous;
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
	int rc;

	if (!login)
		login = &anonymous;
	const char *client_id = login->client_id ? login->client_id : "kp-e2e-client";
	*out = NULL;
	rc = MQTTClient_create(out, b->uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
	if (rc != MQTTCLIENT_SUCCESS) {
		*out = NULL;
		return rc;
	}
	opts.cleansession = 1;
	opts.username = login->username;
	opts.password = login->password;
	rc = MQTTClient_connect(*out, &opts);
	if (rc != MQTTCLIENT_SUCCESS)
		MQTTClient_destroy(out); /* sets *out to NULL */
	return rc;
}

int kp_probe_open(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                  uint64_t device_id, int do_enrol, uint64_t listen_device)
{
	return kp_probe_open_login(pr, b, d, device_id, do_enrol, listen_device, NULL);
}

static int probe_open(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                      uint64_t device_id, const char *enrol_kind, uint64_t listen_device,
                      const struct kp_mqtt_login *login);

int kp_probe_open_kind(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                       uint64_t device_id, const char *kind)
{
	return probe_open(pr, b, d, device_id, kind, 0, NULL);
}

int kp_probe_open_login(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                        uint64_t device_id, int do_enrol, uint64_t listen_device,
                        const struct kp_mqtt_login *login)
{
	return probe_open(pr, b, d, device_id, do_enrol ? "validator" : NULL, listen_device, login);
}

/* enrol_kind: NULL to enrol nothing. */
static int probe_open(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                      uint64_t device_id, const char *enrol_kind, uint64_t listen_device,
                      const struct kp_mqtt_login *login)
{
	struct kp_mqtt_login as = login ? *login : (struct kp_mqtt_login){ 0 };
	char client_id[40], topic[KP_TOPIC_MAX];
	char err[KP_KEYFILE_ERR_SIZE];
	int rc;

	memset(pr, 0, sizeof(*pr));
	if (sodium_init() < 0)
		return -1;
	pr->device_id = device_id;
	crypto_sign_keypair(pr->pk, pr->sk);
	if (kp_keyfile_read_public(d->server_pub, pr->server_pk, err) != 0) {
		fprintf(stderr, "probe: %s\n", err);
		return -1;
	}
	if (enrol_kind && kp_probe_enrol(pr, d, enrol_kind) != 0)
		return -1;
	snprintf(client_id, sizeof(client_id), "probe-%016llx", (unsigned long long)device_id);
	if (!as.client_id)
		as.client_id = client_id;
	rc = kp_mqtt_connect(b, &as, &pr->client);
	if (rc != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "probe: connect as %s: %d\n", as.client_id, rc);
		return -1;
	}
	if (kp_topic_build(topic, sizeof(topic), listen_device ? listen_device : device_id,
	                   KP_STREAM_ACK) < 0)
		return -1;
	return MQTTClient_subscribe(pr->client, topic, 1) == MQTTCLIENT_SUCCESS ? 0 : -1;
}

void kp_probe_close(struct kp_probe *pr)
{
	if (!pr->client)
		return;
	MQTTClient_disconnect(pr->client, 1000);
	MQTTClient_destroy(&pr->client);
}

size_t kp_probe_frame(struct kp_probe *pr, uint64_t batch_seq, uint16_t n, uint8_t *buf,
                      uint32_t route_id, uint8_t token_seed)
{
	int64_t now = now_ms();
	struct kp_header h = { .type = KP_TYPE_TAPS, .key_id = pr->key_id, .count = n,
		               .device_id = pr->device_id, .batch_seq = batch_seq, .sent_at = now };
	size_t len = kp_frame_size(KP_TYPE_TAPS, n);

	if (kp_frame_put_header(buf, KP_FRAME_MAX, &h) != KP_OK)
		return 0;
	for (uint16_t i = 0; i < n; i++) {
		struct kp_tap t = { .tapped_at = now - 1000 * (int64_t)i, .route_id = route_id, .stop_id = 100 + i,
			            .vehicle_id = 7, .fare_product = 1, .direction = 0,
			            .result = (uint8_t)(i % 10 == 9 ? 1 : 0), .amount = i % 10 == 9 ? 0 : 800 };
		memset(t.card_token, token_seed, sizeof(t.card_token));
		t.card_token[0] = (uint8_t)i;
		t.card_token[1] = (uint8_t)batch_seq;
		kp_frame_put_tap(buf, i, &t);
	}
	return kp_frame_sign(buf, len, pr->sk) == KP_OK ? len : 0;
}

size_t kp_probe_count_frame(struct kp_probe *pr, uint64_t batch_seq, const struct kp_count *recs, uint16_t n,
                            uint8_t *buf)
{
	struct kp_header h = { .type = KP_TYPE_COUNTS, .key_id = pr->key_id, .count = n,
		               .device_id = pr->device_id, .batch_seq = batch_seq, .sent_at = now_ms() };
	size_t len = kp_frame_size(KP_TYPE_COUNTS, n);

	if (len == 0 || kp_frame_put_header(buf, KP_FRAME_MAX, &h) != KP_OK)
		return 0;
	for (uint16_t i = 0; i < n; i++)
		kp_frame_put_count(buf, i, &recs[i]);
	return kp_frame_sign(buf, len, pr->sk) == KP_OK ? len : 0;
}

int kp_probe_publish(struct kp_probe *pr, uint64_t topic_device, const uint8_t *frame, size_t len)
{
	return kp_probe_publish_stream(pr, topic_device, KP_STREAM_TAPS, frame, len);
}

int kp_probe_publish_stream(struct kp_probe *pr, uint64_t topic_device, int stream, const uint8_t *frame,
                            size_t len)
{
	char topic[KP_TOPIC_MAX];
	MQTTClient_deliveryToken token;

	if (kp_topic_build(topic, sizeof(topic), topic_device, (enum kp_stream)stream) < 0)
		return -1;
	if (MQTTClient_publish(pr->client, topic, (int)len, frame, 1, 0, &token) != MQTTCLIENT_SUCCESS)
		return -1;
	return MQTTClient_waitForCompletion(pr->client, token, 5000) == MQTTCLIENT_SUCCESS ? 0 : -1;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kp_probe_reply(struct kp_probe *pr, int timeout_ms, struct kp_reply_seen *out)
{
	/* A deadline, not a count of receives: with several clients in one
	 * process, Paho returns from a receive early whenever another client's
	 * socket has something to handle. */
	for (int64_t deadline = monotonic_ms() + timeout_ms; monotonic_ms() < deadline;) {
		char *topic = NULL;
		int topic_len = 0;
		MQTTClient_message *msg = NULL;

		if (MQTTClient_receive(pr->client, &topic, &topic_len, &msg, 500) != MQTTCLIENT_SUCCESS)
			return -1;
		if (!msg)
			continue;
		const uint8_t *p = msg->payload;
		size_t len = (size_t)msg->payloadlen;
		int ok = kp_frame_decode(p, len, &out->h) == KP_OK;
		out->signature_ok = ok && kp_frame_verify(p, len, pr->server_pk) == KP_OK;
		MQTTClient_freeMessage(&msg);
		MQTTClient_free(topic);
		if (ok)
			return 0;
	}
	return -1;
}
