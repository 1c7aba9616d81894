/*
 * intake_mqtt.h — the MQTT side of komposterd, on Paho MQTTAsync: a
 * persistent session (cleansession 0, stable client id) subscribed at QoS 1
 * to the daemon's topic set, with no Paho persistence on disk (frames carry
 * raw card tokens, which never touch our disk).
 *
 * messageArrived only parses the topic and pushes the message, uncopied, into
 * ctx->out; when that ring is full it waits, which stalls Paho's socket
 * reads: TCP pushes back on the broker, the broker queues, devices keep
 * their outboxes. Paho sends the PUBACK once messageArrived returns
 * (intake_mqtt.c), so a frame taken is the pipeline's to keep: durability is
 * the application ACK's job, never MQTT's.
 *
 * While it waits, messageArrived holds Paho's global lock, so any thread that
 * calls Paho then waits too. That is why the intake owns a supervisor thread
 * for the retries: once a second it retries the first connection (Paho's
 * automatic reconnect covers later losses) and, every 5 s, a subscription the
 * broker refused or granted below QoS 1. Besides the publisher, which sends
 * through kp_intake_transport and may wait for the lock too, no thread of
 * the daemon calls into the intake: readiness is health->subscribed, an
 * atomic, and the io_uring loop never calls Paho.
 *
 * Frigate's messages ({prefix}/events, {prefix}/available) take another
 * path: each is copied (malloc) into a struct kp_frigate_msg for ctx->frigate,
 * waiting for room there the same way; one over KP_FRIGATE_PAYLOAD_MAX is
 * counted as too_large and not copied. When the copy cannot be made,
 * messageArrived returns 0 and Paho delivers the message again later.
 *
 * Borrowed, and must outlive the intake: the strings of the config, the
 * rings, the metrics and the health flags. Every item pushed to ctx->out
 * lends Paho's message buffer (inbound.h).
 */
#ifndef KP_INTAKE_MQTT_H
#define KP_INTAKE_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/partition.h"
#include "ingest/health.h"
#include "ingest/inbound.h"
#include "ingest/metrics.h"
#include "ingest/ring.h"
#include "ingest/subscriptions.h"
#include "ingest/transport.h"

struct kp_intake_config {
	const char *uri;
	const char *client_id;
	const char *username; /* "" for none */
	const char *password; /* "" for none */
	int keepalive_s;
	int publish_max_inflight; /* the publisher's bound on publishes inside Paho */
	/* Frigate's topic prefix: {prefix}/events and {prefix}/available are
	 * subscribed too; NULL or "" takes no Frigate messages. */
	const char *frigate_prefix;
	/* This instance's share of the devices. n 0 or 1: one wildcard filter
	 * per stream, as always. n > 1: each owned device's taps and counts
	 * topics (subscriptions.h), the set read through owned_devices when
	 * connected, every resync_s seconds after (enrolments and removals while
	 * running) and at once after kp_intake_reread, subscribed and unsubscribed by difference
	 * in SUBSCRIBEs of at most KP_INTAKE_BATCH_DEVICES devices, all again
	 * after every (re)connect. Readiness is then every batch granted QoS 1. */
	struct kp_partition partition;
	int resync_s; /* partitioned: seconds between registry re-reads, at least 1 */
	/* Fills *out (empty, unsealed is fine) with the devices this instance
	 * owns; 0, or -1 after a line on stderr (the old set is kept, retried).
	 * Called on the supervisor thread only. */
	int (*owned_devices)(void *ctx, struct kp_device_set *out);
	void *owned_ctx;
};

struct kp_intake_ctx {
	struct kp_intake_config cfg;
	struct kp_ring *out;      /* struct kp_inbound, to the verify workers */
	struct kp_ring *frigate;  /* struct kp_frigate_msg, to the Frigate stage (frigate_stage.h) */
	struct kp_metrics *m;     /* frames_in, rejected{bad_topic}, ring_depth, mqtt_* */
	struct kp_health *health; /* subscribed */
};

struct kp_intake;

#define KP_INTAKE_BATCH_DEVICES 64

/* Makes the Paho client on a copy of *ctx; nothing goes on the network yet.
 * 0, or -1 with a line on stderr. */
int kp_intake_create(const struct kp_intake_ctx *ctx, struct kp_intake **out);
/* Starts connecting and the supervisor thread. 0, or -1 (no thread). */
int kp_intake_start(struct kp_intake *in);
/* The first step of a lossless stop: the supervisor retries nothing and the
 * client disconnects (cleansession 0: the broker keeps what follows for the
 * session). Every frame Paho PUBACKed is pushed to ctx->out, so keep the
 * pipeline draining (rings open) while this waits, at most timeout_ms, for
 * the disconnect. 0 when disconnected (no frame comes after); -1 after a
 * line on stderr when the wait gave up: close ctx->out then, and frames
 * that still arrive are dropped and counted (dropped_stopping). Replies
 * sent after this fail (the devices re-send; next run ACKs duplicates). */
int kp_intake_close(struct kp_intake *in, int timeout_ms);
/* Ends the supervisor, disconnects if still connected (bounded wait),
 * destroys the client and frees the intake. Close ctx->out and ctx->frigate
 * first: a messageArrived waiting for room there holds the Paho lock that
 * the supervisor and the disconnect need. */
void kp_intake_destroy(struct kp_intake *in);
/* Partitioned: the supervisor re-reads the owned devices at its next round
 * (now), not resync_s after the last read; the SIGHUP of komposterd. Sets a
 * flag and wakes the supervisor: never calls Paho, never waits for it, so
 * any thread may call it. A no-op with N <= 1. */
void kp_intake_reread(struct kp_intake *in);
/* The transport (transport.h) that sends through this intake's Paho client:
 * MQTTAsync_sendMessage at QoS 1; Paho's MAX_BUFFERED_MESSAGES is
 * KP_SEND_BUSY, any other refusal KP_SEND_FAILED, and done is called from
 * Paho's onSuccess/onFailure. Valid until kp_intake_destroy, after which no
 * done call comes. */
struct kp_transport kp_intake_transport(struct kp_intake *in);

/* The topic of a message as intake takes it: a device topic (see
 * firmware-proto/topic.h) of a stream the daemon subscribes to (taps).
 * Fills *device_id and *stream (enum kp_stream); 0, or -1 for any other
 * topic (counted as bad_topic and dropped). */
int kp_intake_parse_topic(const char *topic, size_t len, uint64_t *device_id, uint8_t *stream);

#endif
