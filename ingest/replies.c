/*
 * replies.c — see replies.h: a ring with a try-push and three counters.
 */
#include "ingest/replies.h"

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
	struct kp_reply r = { device_id, batch_seq, aux, type };

	if (kp_ring_try_push(&q->ring, &r) != 0) {
		atomic_fetch_add_explicit(&q->m->replies_dropped, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(type == KP_TYPE_ACK ? &q->m->acks_sent : &q->m->nacks_sent, 1,
	                          memory_order_relaxed);
}
