/*
 * nack_limit.h — NACKs are rate-limited per (device, NACK reason), so that a
 * flood of forged or malformed frames on a device's topic costs the daemon
 * a few signed replies, not one per frame, and cannot drown the device's
 * ack topic in NACKs it must verify.
 *
 * Each (device, reason) has a bucket of burst NACKs that refills one every
 * refill_ms, kept as one "theoretical arrival time" (GCRA, as auth_limit.h):
 * each NACK sent pushes the pair's time forward by one refill, and the pair
 * is suppressed while its time is more than burst - 1 refills ahead of now.
 * A suppressed NACK does not push it further: a flood that never stops
 * still gets one NACK every refill_ms.
 *
 * Promises:
 *  - memory is fixed: KP_NACK_LIMIT_SLOTS pairs, no allocation. A pair whose
 *    bucket is full again holds nothing and counts as free; when every slot
 *    is live, the pair NACKed longest ago is forgotten (its next frame gets
 *    a fresh burst). A flood over more than KP_NACK_LIMIT_SLOTS devices at
 *    once therefore gets more than the burst per pair: the table bounds
 *    memory, not the total;
 *  - the total is bounded by a second bucket over all pairs (total_burst
 *    NACKs at once, then one every total_refill_ms): a forger rotating
 *    through device ids that exist nowhere gets a fresh burst per id, so
 *    without it every forged frame could still cost one signed NACK. A NACK
 *    the total refuses does not use its pair's bucket either;
 *  - a lookup is a scan of the table under a mutex, well under the cost of
 *    the Ed25519 verification that every NACKed frame has mostly cost
 *    already or been spared (verify.c);
 *  - time is the caller's (monotonic milliseconds), for tests;
 *  - thread-safe: the verify workers share one table.
 */
#ifndef KP_NACK_LIMIT_H
#define KP_NACK_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define KP_NACK_LIMIT_SLOTS 512
#define KP_NACK_LIMIT_BURST 5          /* NACKs a (device, reason) may get at once */
#define KP_NACK_LIMIT_REFILL_MS 10000  /* then one more every 10 s */
#define KP_NACK_LIMIT_TOTAL_BURST 200  /* NACKs of all pairs at once */
#define KP_NACK_LIMIT_TOTAL_REFILL_MS 10 /* then 100 a second in all */

struct kp_nack_limit_slot {
	uint64_t device_id;
	uint64_t tat_ms;  /* when the bucket is full again; 0: free slot */
	uint64_t last_ms; /* when a NACK was last allowed, for eviction */
	uint8_t reason;
};

struct kp_nack_limit {
	pthread_mutex_t lock;
	uint64_t burst, refill_ms;
	uint64_t total_burst, total_refill_ms;
	uint64_t total_tat_ms; /* the bucket over all pairs (GCRA as the pairs') */
	struct kp_nack_limit_slot slot[KP_NACK_LIMIT_SLOTS];
};

/* Empties the table; per pair burst >= 1 NACKs at once, then one every
 * refill_ms >= 1; in all, total_burst >= 1 at once, then one every
 * total_refill_ms >= 1. 0, or -1 for bad values or when the mutex cannot be
 * made. */
int kp_nack_limit_init(struct kp_nack_limit *l, unsigned burst, uint64_t refill_ms, unsigned total_burst,
                       uint64_t total_refill_ms);
void kp_nack_limit_destroy(struct kp_nack_limit *l);

/* true when a NACK of `reason` to device_id may be sent at now_ms, and
 * counts it; false when it is to be suppressed (nothing counted). */
bool kp_nack_limit_allow(struct kp_nack_limit *l, uint64_t device_id, uint8_t reason, uint64_t now_ms);

#endif
