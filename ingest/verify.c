/*
 * verify.c — the verify workers.
 *
 * Cheap checks come first and the Ed25519 verification (about 50 µs) last,
 * so floods of garbage or of re-sent frames cost little. A frame already in
 * the once-only index is answered from there: it was durably stored, so an
 * ACK is true whoever sent this copy. Everything else that passes goes to the
 * writer, which decides duplicates again inside its transaction (two copies
 * of a new frame may be in flight at once).
 *
 * Each stream has one frame type and one device kind (stream_rule): TAPS
 * from validators on .../taps, COUNTS from APCs on .../counts. Anything
 * else is a device or firmware that does not follow the protocol, so it is
 * NACK 4 (malformed), decided before the signature check: a validator's
 * key must not be able to put counts in, nor an APC's taps.
 *
 * NACKs are rate-limited per (device, reason) (nack_limit.h). The reject
 * note to the writer goes with the NACK and is suppressed with it: notes
 * ride in the writer's group transactions, but each takes a slot of the
 * writer's bounded ring, which honest frames wait for; a flood would make
 * them wait. So a device's rejects (device_stats.h) count the NACKs it was
 * sent, and the flood's full size is in nacks_suppressed{reason}.
 */
#include "ingest/verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "ingest/clock.h"
#include "ingest/inbound.h"
#include "ingest/thread_attr.h"
#include "storage/devices.h"
#include "storage/handoff.h"
#include "storage/once.h"

struct kp_verify_pool {
	struct kp_verify_ctx ctx;
	int n;
	pthread_t threads[];
};

/* The frame type and device kind of a stream; 0 for a stream no device sends on. */
struct stream_rule {
	uint8_t type; /* enum kp_frame_type */
	uint8_t kind; /* enum st_device_kind */
};

static struct stream_rule stream_rule(uint8_t stream)
{
	switch (stream) {
	case KP_STREAM_TAPS:
		return (struct stream_rule){KP_TYPE_TAPS, ST_KIND_VALIDATOR};
	case KP_STREAM_COUNTS:
		return (struct stream_rule){KP_TYPE_COUNTS, ST_KIND_APC};
	default:
		return (struct stream_rule){0, 0};
	}
}

/* Registry and once-only lookups in one short read transaction. Returns
 * KP_VERDICT_STORE (go on), KP_VERDICT_STORED_BEFORE or a NACK reason. */
static int check_registry(const struct kp_verify_ctx *ctx, const struct kp_header *h, uint8_t kind,
                          uint8_t pk[KP_PUBLIC_KEY_SIZE], uint64_t *watermark)
{
	struct st_read r;
	struct st_device dev;
	struct st_device_key key;
	uint64_t seq;
	int handed = 0;
	int verdict = KP_VERDICT_STORE;

	int rc = st_read_begin(ctx->db, &r);
	if (rc != ST_OK) {
		/* Cannot read (reader slots full?): ask the device to retry later. */
		atomic_fetch_add_explicit(&ctx->m->storage_errors, 1, memory_order_relaxed);
		fprintf(stderr, "komposterd: ALARM: read transaction: %s; NACK 7\n", st_strerror(rc));
		return KP_NACK_STORAGE_FULL;
	}
	if (st_device_get(&r, h->device_id, &dev) != ST_OK ||
	    st_device_key_get(&r, h->device_id, h->key_id, &key) != ST_OK) {
		verdict = KP_NACK_UNKNOWN_DEVICE;
	} else if (dev.kind != kind) {
		verdict = KP_NACK_MALFORMED;
	} else if (dev.state != ST_STATE_ACTIVE || key.state != ST_STATE_ACTIVE) {
		verdict = KP_NACK_REVOKED;
	} else if (st_once_lookup(&r, h->device_id, h->batch_seq, &seq) == ST_OK &&
	           st_once_watermark(&r, h->device_id, watermark) == ST_OK) {
		verdict = KP_VERDICT_STORED_BEFORE;
	} else if (st_handoff_lookup(&r, h->device_id, h->batch_seq, &handed) == ST_OK && handed &&
	           st_once_watermark(&r, h->device_id, watermark) == ST_OK) {
		verdict = KP_VERDICT_STORED_BEFORE; /* by the device's former owner */
	} else {
		memcpy(pk, key.public_key, KP_PUBLIC_KEY_SIZE);
	}
	st_read_end(&r);
	return verdict;
}

static int in_window(const struct kp_verify_config *cfg, int64_t t, int64_t now_ms)
{
	int64_t oldest = now_ms - (int64_t)cfg->accept_past_days * 86400000;
	int64_t newest = now_ms + (int64_t)cfg->accept_future_s * 1000;
	return t >= oldest && t <= newest;
}

static int check_times(const struct kp_verify_config *cfg, const uint8_t *frame,
                       const struct kp_header *h, int64_t now_ms)
{
	struct kp_tap tap;
	struct kp_count count;
	int64_t at;

	if (!in_window(cfg, h->sent_at, now_ms))
		return KP_NACK_TIME_WINDOW;
	for (uint16_t i = 0; i < h->count; i++) {
		if (h->type == KP_TYPE_COUNTS) {
			kp_frame_get_count(frame, i, &count);
			at = count.observed_at;
		} else {
			kp_frame_get_tap(frame, i, &tap);
			at = tap.tapped_at;
		}
		if (!in_window(cfg, at, now_ms))
			return KP_NACK_TIME_WINDOW;
	}
	return KP_VERDICT_STORE;
}

int kp_verify_frame(const struct kp_verify_ctx *ctx, uint64_t topic_device, uint8_t stream,
                    const uint8_t *frame, size_t len, int64_t now_ms, uint64_t *watermark)
{
	struct stream_rule rule = stream_rule(stream);
	struct kp_header h;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	int verdict;

	/* The topic's device, not the frame's: nothing of the frame is read for
	 * a device another instance answers. */
	if (ctx->cfg.partition.n > 1 && !kp_partition_owns(&ctx->cfg.partition, topic_device))
		return KP_VERDICT_NOT_OWNED;
	if (len < KP_HEADER_SIZE || memcmp(frame, KP_MAGIC, strlen(KP_MAGIC)) != 0)
		return KP_VERDICT_UNREADABLE;
	if (kp_frame_decode(frame, len, &h) != KP_OK || rule.type == 0 || h.type != rule.type)
		return KP_NACK_MALFORMED;
	if (h.device_id != topic_device)
		return KP_NACK_TOPIC_MISMATCH;
	verdict = check_registry(ctx, &h, rule.kind, pk, watermark);
	if (verdict != KP_VERDICT_STORE)
		return verdict;
	if (kp_frame_verify(frame, len, pk) != KP_OK)
		return KP_NACK_BAD_SIGNATURE;
	return check_times(&ctx->cfg, frame, &h, now_ms);
}

/* The batch_seq to name in a NACK or re-ACK: the frame's header is
 * readable (unreadable frames are not answered). */
static uint64_t answered_seq(const uint8_t *frame, size_t len)
{
	struct kp_header h;
	return kp_frame_peek_header(frame, len, &h) == KP_OK ? h.batch_seq : 0;
}

/* The frame's sent_at for a reject note, 0 when its header does not read. */
static int64_t refused_sent_at(const uint8_t *frame, size_t len)
{
	struct kp_header h;
	return kp_frame_peek_header(frame, len, &h) == KP_OK ? h.sent_at : 0;
}

/* Hands the writer a note of the reject (no bytes) so that the device's
 * rejects count it in the next group's transaction; the writer stores it
 * only for an enrolled device. A closed ring (shutting down) drops it. */
static void note_reject(const struct kp_verify_ctx *ctx, struct kp_inbound *in, int verdict)
{
	struct kp_inbound note = {
		.topic_device = in->topic_device,
		.received_at = in->received_at,
		.stream = in->stream,
		.reject = (uint8_t)verdict,
		.sent_at = refused_sent_at(in->frame, in->len),
	};

	kp_inbound_free(in);
	if (kp_ring_push(ctx->out, &note) == 0)
		atomic_store_explicit(&ctx->m->writer_queue_depth, (int_fast64_t)kp_ring_depth(ctx->out),
		                      memory_order_relaxed);
}

static void handle(const struct kp_verify_ctx *ctx, struct kp_inbound *in)
{
	const uint8_t *frame = in->frame;
	size_t len = in->len;
	uint64_t watermark = 0;
	int verdict = kp_verify_frame(ctx, in->topic_device, in->stream, frame, len, kp_now_ms(), &watermark);

	if (verdict == KP_VERDICT_STORE) {
		if (kp_ring_push(ctx->out, in) == 0) {
			atomic_store_explicit(&ctx->m->writer_queue_depth, (int_fast64_t)kp_ring_depth(ctx->out),
			                      memory_order_relaxed);
			return;
		}
		verdict = KP_NACK_STORAGE_FULL; /* writer gone: shutting down */
	}
	if (verdict == KP_VERDICT_NOT_OWNED) {
		atomic_fetch_add_explicit(&ctx->m->frames_not_owned, 1, memory_order_relaxed);
	} else if (verdict == KP_VERDICT_UNREADABLE) {
		atomic_fetch_add_explicit(&ctx->m->frames_unreadable, 1, memory_order_relaxed);
	} else if (verdict == KP_VERDICT_STORED_BEFORE) {
		atomic_fetch_add_explicit(&ctx->m->frames_duplicate, 1, memory_order_relaxed);
		kp_replies_post(ctx->replies, KP_TYPE_ACK, in->topic_device, answered_seq(frame, len), watermark);
	} else {
		/* The note goes first: once the device has its NACK, any frame
		 * it sends next is behind the note in the writer's ring. */
		uint64_t device = in->topic_device, seq = answered_seq(frame, len);

		atomic_fetch_add_explicit(&ctx->m->rejected[verdict], 1, memory_order_relaxed);
		if (!kp_nack_limit_allow(ctx->nack_limit, device, (uint8_t)verdict, kp_now_mono_ns() / 1000000)) {
			atomic_fetch_add_explicit(&ctx->m->nacks_suppressed[verdict], 1, memory_order_relaxed);
			kp_inbound_free(in);
			return;
		}
		note_reject(ctx, in, verdict);
		kp_replies_post(ctx->replies, KP_TYPE_NACK, device, seq, (uint64_t)verdict);
		return;
	}
	kp_inbound_free(in);
}

static void *worker_main(void *arg)
{
	const struct kp_verify_ctx *ctx = &((struct kp_verify_pool *)arg)->ctx;
	struct kp_inbound in;

	while (kp_ring_pop(ctx->in, &in, 0) == 0) {
		atomic_store_explicit(&ctx->m->ring_depth, (int_fast64_t)kp_ring_depth(ctx->in),
		                      memory_order_relaxed);
		handle(ctx, &in);
	}
	return NULL;
}

int kp_verify_start(const struct kp_verify_ctx *ctx, int n, struct kp_verify_pool **out)
{
	struct kp_verify_pool *pool = calloc(1, sizeof(*pool) + (size_t)n * sizeof(pthread_t));
	if (!pool) {
		kp_ring_close(ctx->in);
		return -1;
	}
	pool->ctx = *ctx;
	for (pool->n = 0; pool->n < n; pool->n++) {
		if (pthread_create(&pool->threads[pool->n], NULL, worker_main, pool) != 0) {
			fprintf(stderr, "komposterd: cannot start verify worker %d\n", pool->n);
			kp_ring_close(ctx->in);
			kp_verify_join(pool);
			return -1;
		}
		(void)kp_thread_name(pool->threads[pool->n], "kp-verify"); /* unnamed works the same */
	}
	*out = pool;
	return 0;
}

void kp_verify_join(struct kp_verify_pool *pool)
{
	for (int i = 0; i < pool->n; i++)
		pthread_join(pool->threads[i], NULL);
	free(pool);
}
