/*
 * probe.h — an independent device for the end-to-end tests, knowing only
 * PROTOCOL.md: its own Ed25519 key, enrolled with `komposter device add`,
 * frames built with the codec, published with a plain synchronous Paho
 * client, and replies read from its ack topic and checked with the server's
 * public key.
 */
#ifndef KP_TEST_PROBE_H
#define KP_TEST_PROBE_H

#include <MQTTClient.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "tests/e2e/harness.h"

struct kp_probe {
	uint64_t device_id;
	uint8_t key_id;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	uint8_t server_pk[KP_PUBLIC_KEY_SIZE];
	MQTTClient client;
};

struct kp_reply_seen {
	struct kp_header h; /* type ACK or NACK; aux watermark or reason */
	int signature_ok;   /* verified with the server key */
};

/* How a client logs in to the broker. A NULL login or NULL field: client id
 * "probe-<16 hex>" for a probe, else "kp-e2e-client"; no user name; no password. */
struct kp_mqtt_login {
	const char *client_id;
	const char *username;
	const char *password;
};

/* Connects a synchronous Paho client to b->uri with a clean session.
 * Returns MQTTClient_connect's code: MQTTCLIENT_SUCCESS (the client is in
 * *out), the broker's refusal (4 bad user name or password, 5 not
 * authorised), or another failure; on any failure *out is NULL. */
int kp_mqtt_connect(const struct kp_broker *b, const struct kp_mqtt_login *login, MQTTClient *out);

/* Makes a key pair; enrols it unless enrol == 0; connects and subscribes to
 * the ack topic of `listen_device` (its own id when 0). */
int kp_probe_open(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                  uint64_t device_id, int enrol, uint64_t listen_device);
/* kp_probe_open of a device enrolled with `komposter device add --kind
 * kind` ("validator", "apc"). */
int kp_probe_open_kind(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                       uint64_t device_id, const char *kind);
/* kp_probe_open, logging in as `login` says (NULL: as kp_probe_open). */
int kp_probe_open_login(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                        uint64_t device_id, int enrol, uint64_t listen_device,
                        const struct kp_mqtt_login *login);
void kp_probe_close(struct kp_probe *pr);
/* Enrols the probe's key in d too (`komposter device add --kind kind`), as
 * in another instance that will own the device. 0 or -1. */
int kp_probe_enrol(struct kp_probe *pr, const struct kp_daemon_proc *d, const char *kind);

/* A signed TAPS frame of n taps (tapped_at = now - i s) into buf; returns length. */
size_t kp_probe_frame(struct kp_probe *pr, uint64_t batch_seq, uint16_t n, uint8_t *buf,
                      uint32_t route_id, uint8_t token_seed);
/* A signed COUNTS frame of recs[0..n) into buf (sent_at now); returns its length, 0 on failure. */
size_t kp_probe_count_frame(struct kp_probe *pr, uint64_t batch_seq, const struct kp_count *recs, uint16_t n,
                            uint8_t *buf);
/* Publishes bytes on komposter/v1/dev/{topic_device}/taps (QoS 1). */
int kp_probe_publish(struct kp_probe *pr, uint64_t topic_device, const uint8_t *frame, size_t len);
/* The same on the topic of `stream` (enum kp_stream: KP_STREAM_TAPS, KP_STREAM_COUNTS). */
int kp_probe_publish_stream(struct kp_probe *pr, uint64_t topic_device, int stream, const uint8_t *frame,
                            size_t len);
/* Waits up to timeout_ms for one reply. 0 or -1 (timeout). */
int kp_probe_reply(struct kp_probe *pr, int timeout_ms, struct kp_reply_seen *out);

#endif
