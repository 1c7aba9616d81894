/*
 * replies.h — the ACK and NACK decisions on their way from the stages that
 * make them (verify, writer) to the one that signs and sends them
 * (publisher.h): a bounded queue that never makes a decider wait.
 *
 * kp_replies_post queues a reply. When the queue is full — a flood the
 * publisher cannot sign and send fast enough — the reply is dropped and
 * counted (komposter_replies_dropped_total); the publisher counts what it
 * sends. Dropping is safe: a device whose
 * frame got no answer re-sends it and is answered then. Never waiting is what
 * lets the writer and the verify workers stay off Paho's lock (DESIGN.md).
 *
 * The publisher pops from `ring` and closes it to end; nothing else touches
 * it. The metrics are borrowed and must outlive the queue.
 */
#ifndef KP_REPLIES_H
#define KP_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "ingest/metrics.h"
#include "ingest/ring.h"

struct kp_reply {
	uint64_t device_id;
	uint64_t batch_seq;
	uint64_t aux; /* watermark (ACK) or reason (NACK) */
	uint64_t posted_ns; /* CLOCK_MONOTONIC when queued: the publisher's wait (metrics) */
	uint8_t type;       /* KP_TYPE_ACK or KP_TYPE_NACK */
};

struct kp_replies {
	struct kp_ring ring;  /* struct kp_reply */
	struct kp_metrics *m; /* borrowed */
};

/* 0, or -1 when out of memory. */
int kp_replies_init(struct kp_replies *q, size_t capacity, struct kp_metrics *m);
void kp_replies_destroy(struct kp_replies *q);
/* Queues one reply without waiting, or drops it; counted either way. */
void kp_replies_post(struct kp_replies *q, uint8_t type, uint64_t device_id, uint64_t batch_seq,
                     uint64_t aux);
/* Queues r[0..n) (type, device_id, batch_seq, aux set; posted_ns is set
 * here) under one lock and one wake-up of the publisher; what does not fit
 * is dropped and counted. */
void kp_replies_post_many(struct kp_replies *q, struct kp_reply *r, size_t n);

/* Folds the ACKs of r[0..n) per device, since an ACK covers its batch_seq
 * and every frame of its device up to its watermark (PROTOCOL.md): with W
 * the highest watermark among a device's ACKs, one ACK for all of them at or
 * below W (naming the highest such batch_seq) and one per distinct
 * batch_seq above W, every one with watermark W. A watermark only grows (a
 * stored frame stays stored), so W is true for the older ones too. NACKs
 * are kept, each. r is reordered (ACKs by device and batch_seq, then the
 * NACKs), in place and without allocating; a folded ACK keeps the oldest
 * posted_ns of its own. Returns the number of replies left in r. */
size_t kp_replies_fold(struct kp_reply *r, size_t n);

#endif
