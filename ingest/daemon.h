/*
 * daemon.h — what the stages of komposterd share. komposterd.c owns the one
 * instance; each stage reads its config and talks to its neighbours only
 * through the rings named here:
 *
 *   intake_mqtt ──intake──▶ verify workers ──to_writer──▶ writer
 *        ▲                        │                          │
 *        └──── publisher ◀──replies (bounded, never blocks)──┘
 *
 * Items travel by value; a kp_inbound owns its bytes until a stage calls
 * kp_inbound_free (inbound.h).
 */
#ifndef KP_DAEMON_H
#define KP_DAEMON_H

#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "ingest/config.h"
#include "ingest/inbound.h"
#include "ingest/metrics.h"
#include "ingest/ring.h"
#include "ingest/clock.h"
#include "storage/db.h"

struct kp_reply {
	uint64_t device_id;
	uint64_t batch_seq;
	uint64_t aux; /* watermark (ACK) or reason (NACK) */
	uint8_t type; /* KP_TYPE_ACK or KP_TYPE_NACK */
};

struct kp_intake;
struct kp_publisher;

struct kp_daemon {
	struct kp_config cfg;
	struct st_db *db;
	uint8_t server_sk[KP_SECRET_KEY_SIZE];
	struct kp_metrics metrics;
	struct kp_ring intake;    /* struct kp_inbound: MQTT → verify */
	struct kp_ring to_writer; /* struct kp_inbound: verify → writer */
	struct kp_ring replies;   /* struct kp_reply: verify, writer → publisher; never waited on */
	struct kp_intake *mqtt;
	struct kp_publisher *publisher;
	atomic_int stopping;      /* set by the loop on SIGTERM: intake drops new frames */
	atomic_int storage_ok;    /* for /readyz: 0 after a storage error until the next good commit */
};

/* Queues a reply and counts it in the metrics. Never waits: when the reply
 * queue is full (a flood the publisher cannot sign and send fast enough),
 * the reply is dropped and counted. Dropping is safe: a device whose frame
 * got no answer re-sends it and is answered then. */
void kp_daemon_reply(struct kp_daemon *d, uint8_t type, uint64_t device_id, uint64_t batch_seq,
                     uint64_t aux);

#endif
