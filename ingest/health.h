/*
 * health.h — the two facts GET /readyz reports, each written by the stage
 * that knows it and read by the HTTP loop. Atomics only: answering a probe
 * never takes a lock a stage holds, so the loop cannot wait on a stage (and
 * never on Paho's lock, see DESIGN.md). komposterd.c owns the one instance.
 */
#ifndef KP_HEALTH_H
#define KP_HEALTH_H

#include <stdatomic.h>

struct kp_health {
	atomic_int subscribed; /* intake: subscribed to the broker at QoS 1 */
	atomic_int storage_ok; /* writer: 0 after a failed commit until the next good one */
};

#endif
