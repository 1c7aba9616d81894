/*
 * publisher.h — the one thread that signs ACK and NACK frames and sends
 * them. It takes replies from ctx->replies, signs each with the server key
 * (sent_at: now), and sends it at QoS 1 on komposter/v1/dev/{dev}/ack through
 * ctx->transport, keeping at most max_inflight sends unconfirmed inside the
 * transport (Paho walks its pending list on every send) and the rest in the
 * queue. It takes what is queued in batches and folds the ACKs of a device
 * in a batch into one (kp_replies_fold, komposter_acks_merged_total), so a
 * publisher that falls behind catches up. It counts what it hands to the
 * transport (komposter_acks_sent_total, komposter_nacks_sent_total). A busy
 * transport is asked again; a send that is refused or lost is
 * counted (komposter_replies_failed_total) and dropped: the device re-sends
 * the frame and gets the answer again, since ACKs are idempotent.
 *
 * Borrowed, and must outlive the publisher: the transport, the server key,
 * the reply queue and the metrics.
 */
#ifndef KP_PUBLISHER_H
#define KP_PUBLISHER_H

#include <stdint.h>

#include "ingest/metrics.h"
#include "ingest/replies.h"
#include "ingest/transport.h"

struct kp_publisher_ctx {
	struct kp_transport transport;
	const uint8_t *server_sk;   /* KP_SECRET_KEY_SIZE bytes */
	int max_inflight;           /* >= 1 */
	struct kp_replies *replies; /* popped; the caller closes its ring to end */
	struct kp_metrics *m;       /* replies_failed, reply_queue_depth */
	int nice;                   /* the thread's nice value (thread_attr.h); 0: left as inherited */
};

struct kp_publisher;

/* Starts the thread on a copy of *ctx. 0, or -1 (nothing started). */
int kp_publisher_start(const struct kp_publisher_ctx *ctx, struct kp_publisher **out);
/* Sends what ctx->replies holds (close its ring first) and waits for the
 * transport to confirm what is in flight, for timeout_ms in all at most (a
 * broker that is gone cannot hold up the shutdown); replies still queued
 * then are dropped and counted. */
void kp_publisher_stop(struct kp_publisher *p, int timeout_ms);
/* Frees it; only after the transport is torn down (no done call can come). */
void kp_publisher_free(struct kp_publisher *p);

#endif
