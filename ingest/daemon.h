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
#include "ingest/health.h"
#include "ingest/inbound.h"
#include "ingest/metrics.h"
#include "ingest/replies.h"
#include "ingest/ring.h"
#include "ingest/clock.h"
#include "storage/db.h"

struct kp_intake;
struct kp_publisher;
struct kp_writer;

struct kp_daemon {
	struct kp_config cfg;
	struct st_db *db;
	uint8_t server_sk[KP_SECRET_KEY_SIZE];
	struct kp_metrics metrics;
	struct kp_ring intake;    /* struct kp_inbound: MQTT → verify */
	struct kp_ring to_writer; /* struct kp_inbound: verify → writer */
	struct kp_replies replies; /* verify, writer → publisher; never waited on */
	struct kp_intake *mqtt;
	struct kp_publisher *publisher;
	struct kp_writer *writer;
	struct kp_health health;  /* for /readyz */
};

#endif
