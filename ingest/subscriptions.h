/*
 * subscriptions.h — the devices a partitioned komposterd subscribes to
 * (README "Beyond one machine"): MQTT wildcards match whole topic levels
 * only, so instance K of N > 1 subscribes per owned device, and this module
 * says which devices and which topics.
 *
 * Promises:
 *  - a device set is sorted and without repeats once sealed; add only
 *    appends (amortised O(1)), seal sorts;
 *  - kp_device_set_minus(a, b) is exactly the ids of a not in b (both
 *    sealed), so "subscribe want - have, unsubscribe have - want" moves the
 *    broker from have to want;
 *  - a device's topics are its taps and counts topics (firmware-proto/topic.h),
 *    never its ack topic, which is the daemon's own output;
 *  - no I/O, no global state; a set owns its memory (kp_device_set_free).
 * Functions returning int give 0, or -1 when out of memory (the set is
 * then unchanged).
 */
#ifndef KP_SUBSCRIPTIONS_H
#define KP_SUBSCRIPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/topic.h"

struct kp_device_set {
	uint64_t *ids;
	size_t n, cap;
};

int kp_device_set_add(struct kp_device_set *s, uint64_t id);
/* Sorts and drops repeats. */
void kp_device_set_seal(struct kp_device_set *s);
int kp_device_set_has(const struct kp_device_set *s, uint64_t id); /* sealed s */
/* out = a - b (a and b sealed; out is cleared first and comes out sealed). */
int kp_device_set_minus(const struct kp_device_set *a, const struct kp_device_set *b,
                        struct kp_device_set *out);
/* Moves src into dst (dst's memory is freed; src is left empty). */
void kp_device_set_move(struct kp_device_set *dst, struct kp_device_set *src);
void kp_device_set_clear(struct kp_device_set *s);
void kp_device_set_free(struct kp_device_set *s);

/* A device's subscribed topics: taps, then counts. */
#define KP_DEVICE_TOPICS 2
int kp_device_topics(uint64_t device_id, char out[KP_DEVICE_TOPICS][KP_TOPIC_MAX]);

#endif
