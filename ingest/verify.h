/*
 * verify.h — the verify workers: take frames from ctx->in, decide, and either
 * hand them to the writer (ctx->out) or answer at once (ctx->replies): a
 * NACK with its reason, or — for a frame already stored — an ACK with the
 * current watermark, without spending an Ed25519 verification.
 *
 * First, before any other check: a frame whose topic names a device this
 * instance does not own (cfg.partition, firmware-proto/partition.h) is
 * counted (frames_not_owned) and dropped, never stored nor answered: its
 * owner answers it (README "Beyond one machine").
 * Then a payload too short to hold a header or without the magic `KMP1`
 * cannot name a device or a key: it is counted (frames_unreadable) and
 * dropped unanswered, at no signature's cost (PROTOCOL.md, "Delivery
 * contract"): no device that speaks the protocol sends one.
 * Then, in order: a well-formed frame of the topic's stream's type —
 * TAPS on .../taps, COUNTS on .../counts — (4), topic ↔ frame device (5),
 * device and key enrolled (2), device of the stream's kind — validator for
 * taps, apc for counts — (4), device and key active (3), already stored
 * (re-ACK), signature (1), timestamps (sent_at and every tapped_at or
 * observed_at) within the accepted window (6). A frame
 * the registry cannot be read for is answered NACK 7 (retry later).
 * A NACK is sent only while its (device, reason) is within its rate
 * (nack_limit.h); a suppressed one is counted (nacks_suppressed{reason})
 * and, like the NACK, its reject note to the writer is left out.
 * The registry is read in a fresh LMDB read transaction per frame, so an
 * enrolment or a revocation counts from the next frame on.
 *
 * Borrowed, and must outlive the workers: the database (read transactions
 * only), the three queues and the metrics. An item taken from ctx->in is
 * either pushed to ctx->out (the writer owns it then) or freed here.
 */
#ifndef KP_VERIFY_H
#define KP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/partition.h"
#include "ingest/metrics.h"
#include "ingest/nack_limit.h"
#include "ingest/replies.h"
#include "ingest/ring.h"
#include "storage/db.h"

struct kp_verify_config {
	int accept_past_days; /* records and sent_at older than this: NACK 6 */
	int accept_future_s;  /* ... or further ahead than this */
	struct kp_partition partition; /* the devices this instance owns; n 0 or 1: every one */
};

struct kp_verify_ctx {
	struct kp_verify_config cfg;
	struct st_db *db;
	struct kp_ring *in;         /* struct kp_inbound, from the intake */
	struct kp_ring *out;        /* struct kp_inbound, to the writer */
	struct kp_replies *replies; /* NACKs and re-ACKs */
	struct kp_metrics *m;       /* rejected{reason}, frames_duplicate, ring and queue depths */
	struct kp_nack_limit *nack_limit; /* shared by the workers; asked before each NACK */
};

struct kp_verify_pool;

/* Starts n workers (n >= 1) on a copy of *ctx. 0, or -1 (no worker left
 * running; ctx->in is closed then). */
int kp_verify_start(const struct kp_verify_ctx *ctx, int n, struct kp_verify_pool **out);
/* Waits until the workers drained ctx->in (close it first) and ended; frees
 * the pool. */
void kp_verify_join(struct kp_verify_pool *pool);

/* One frame's verdict, without queues: KP_VERDICT_STORE (hand it to the
 * writer), KP_VERDICT_STORED_BEFORE (*watermark set), KP_VERDICT_NOT_OWNED
 * (another instance's device: no answer), KP_VERDICT_UNREADABLE (no header
 * or no magic: no answer), or a NACK reason (enum kp_nack_reason, always
 * > 0). */
#define KP_VERDICT_STORE 0
#define KP_VERDICT_STORED_BEFORE (-1)
#define KP_VERDICT_NOT_OWNED (-2)
#define KP_VERDICT_UNREADABLE (-3)
int kp_verify_frame(const struct kp_verify_ctx *ctx, uint64_t topic_device, uint8_t stream,
                    const uint8_t *frame, size_t len, int64_t now_ms, uint64_t *watermark);

#endif
