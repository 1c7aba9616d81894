/*
 * replies.c — see replies.h: a ring with a try-push and three counters.
 */
#include "ingest/replies.h"

#include "ingest/clock.h"

int kp_replies_init(struct kp_replies *q, size_t capacity, struct kp_metrics *m)
{
	q->m = m;
	return kp_ring_init(&q->ring, capacity, sizeof(struct kp_reply));
}

void kp_replies_destroy(struct kp_replies *q)
{
	kp_ring_destroy(&q->ring);
}

void kp_replies_post(struct kp_replies *q, uint8_t type, uint64_t device_id, uint64_t batch_seq,
                     uint64_t aux)
{
	struct kp_reply r = { device_id, batch_seq, aux, kp_now_mono_ns(), type };

	if (kp_ring_try_push(&q->ring, &r) != 0) {
		atomic_fetch_add_explicit(&q->m->replies_dropped, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(type == KP_TYPE_ACK ? &q->m->acks_sent : &q->m->nacks_sent, 1,
	                          memory_order_relaxed);
}

void kp_replies_post_many(struct kp_replies *q, struct kp_reply *r, size_t n)
{
	uint64_t now = kp_now_mono_ns();
	size_t acks = 0, queued;

	for (size_t i = 0; i < n; i++)
		r[i].posted_ns = now;
	queued = kp_ring_try_push_many(&q->ring, r, n);
	for (size_t i = 0; i < queued; i++)
		acks += r[i].type == KP_TYPE_ACK;
	atomic_fetch_add_explicit(&q->m->acks_sent, acks, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->m->nacks_sent, queued - acks, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->m->replies_dropped, n - queued, memory_order_relaxed);
}
