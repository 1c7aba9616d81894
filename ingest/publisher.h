/*
 * publisher.h — the one thread that calls Paho to publish ACK and NACK
 * frames. It signs each reply with the server key and publishes it at QoS 1
 * on komposter/v1/dev/{dev}/ack, keeping at most mqtt.max_inflight publishes
 * inside Paho (Paho walks its pending list on every send) and the rest in
 * d->replies. A publish that fails is counted and dropped: the device re-sends
 * the frame and gets the ACK again, since ACKs are idempotent.
 */
#ifndef KP_PUBLISHER_H
#define KP_PUBLISHER_H

#include "ingest/daemon.h"

int kp_publisher_start(struct kp_daemon *d);
/* Drains d->replies (close it first) and waits for Paho to confirm what is
 * in flight, for timeout_ms in all at most (a broker that is gone cannot hold
 * up the shutdown); replies still queued then are dropped and counted. */
void kp_publisher_stop(struct kp_daemon *d, int timeout_ms);
/* Frees it; only after the Paho client is destroyed (no callback can come). */
void kp_publisher_free(struct kp_daemon *d);

#endif
