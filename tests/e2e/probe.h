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

/* Makes a key pair; enrols it unless enrol == 0; connects and subscribes to
 * the ack topic of `listen_device` (its own id when 0). */
int kp_probe_open(struct kp_probe *pr, const struct kp_broker *b, const struct kp_daemon_proc *d,
                  uint64_t device_id, int enrol, uint64_t listen_device);
void kp_probe_close(struct kp_probe *pr);

/* A signed TAPS frame of n taps (tapped_at = now - i s) into buf; returns length. */
size_t kp_probe_frame(struct kp_probe *pr, uint64_t batch_seq, uint16_t n, uint8_t *buf,
                      uint32_t route_id, uint8_t token_seed);
/* Publishes bytes on komposter/v1/dev/{topic_device}/taps (QoS 1). */
int kp_probe_publish(struct kp_probe *pr, uint64_t topic_device, const uint8_t *frame, size_t len);
/* Waits up to timeout_ms for one reply. 0 or -1 (timeout). */
int kp_probe_reply(struct kp_probe *pr, int timeout_ms, struct kp_reply_seen *out);

#endif
