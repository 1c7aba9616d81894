/*
 * verify.h — the verify workers: take frames from d->intake, decide, and
 * either hand them to the writer (d->to_writer) or answer at once
 * (d->replies): a NACK with its reason, or — for a frame already stored — an
 * ACK with the current watermark, without spending an Ed25519 verification.
 *
 * Checks, in order: topic ↔ frame device (5), well-formed TAPS frame (4),
 * device and key enrolled (2), device and key active (3), already stored
 * (re-ACK), signature (1), timestamps within the accepted window (6).
 * The registry is read in a fresh LMDB read transaction per frame, so an
 * enrolment or a revocation counts from the next frame on.
 */
#ifndef KP_VERIFY_H
#define KP_VERIFY_H

#include "ingest/daemon.h"

struct kp_verify_pool;

/* Starts n workers (n >= 1). */
int kp_verify_start(struct kp_daemon *d, int n, struct kp_verify_pool **out);
/* Waits until the workers drained d->intake (close it first) and ended. */
void kp_verify_join(struct kp_verify_pool *pool);

/* One frame's verdict, without queues: KP_VERDICT_STORE (hand it to the
 * writer), KP_VERDICT_STORED_BEFORE (*watermark set), or a NACK reason
 * (enum kp_nack_reason, always > 0). */
#define KP_VERDICT_STORE 0
#define KP_VERDICT_STORED_BEFORE (-1)
int kp_verify_frame(struct kp_daemon *d, uint64_t topic_device, const uint8_t *frame, size_t len,
                    int64_t now_ms, uint64_t *watermark);

#endif
