/*
 * replies.c — see replies.h: a ring with a try-push and a drop counter, and
 * the per-device fold of ACKs that the writer applies to each commit group
 * and the publisher to each batch it takes.
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

	if (kp_ring_try_push(&q->ring, &r) != 0)
		atomic_fetch_add_explicit(&q->m->replies_dropped, 1, memory_order_relaxed);
}

void kp_replies_post_many(struct kp_replies *q, struct kp_reply *r, size_t n)
{
	uint64_t now = kp_now_mono_ns();

	for (size_t i = 0; i < n; i++)
		r[i].posted_ns = now;
	size_t queued = kp_ring_try_push_many(&q->ring, r, n);
	atomic_fetch_add_explicit(&q->m->replies_dropped, n - queued, memory_order_relaxed);
}

/* ACKs first, by device then batch_seq; NACKs after, in any order. */
static int reply_before(const struct kp_reply *x, const struct kp_reply *y)
{
	int xn = x->type != KP_TYPE_ACK, yn = y->type != KP_TYPE_ACK;

	if (xn != yn)
		return xn < yn;
	if (xn)
		return 0;
	if (x->device_id != y->device_id)
		return x->device_id < y->device_id;
	return x->batch_seq < y->batch_seq;
}

static void sift_down(struct kp_reply *r, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && reply_before(&r[child], &r[child + 1]))
			child++;
		if (!reply_before(&r[root], &r[child]))
			return;
		struct kp_reply t = r[root];
		r[root] = r[child];
		r[child] = t;
	}
}

/* Heapsort, in place: glibc's qsort mallocs a scratch buffer for arrays
 * over 1 KiB, and neither the writer nor the publisher allocates per batch. */
static void sort_replies(struct kp_reply *r, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(r, i, n);
	for (size_t end = n; end-- > 1;) {
		struct kp_reply t = r[0];
		r[0] = r[end];
		r[end] = t;
		sift_down(r, 0, end);
	}
}

/* One device's ACKs r[0..n), sorted by batch_seq, folded into out (which may
 * be r itself: out never passes the entry being read). Returns the count. */
static size_t fold_device(const struct kp_reply *r, size_t n, struct kp_reply *out)
{
	uint64_t w = 0, oldest = UINT64_MAX;
	size_t i = 0, k = 0;

	for (size_t j = 0; j < n; j++)
		w = r[j].aux > w ? r[j].aux : w;
	for (; i < n && r[i].batch_seq <= w; i++)
		oldest = r[i].posted_ns < oldest ? r[i].posted_ns : oldest;
	if (i > 0) {
		out[k] = r[i - 1];
		out[k].aux = w;
		out[k++].posted_ns = oldest;
	}
	for (; i < n; i++) {
		if (k > 0 && out[k - 1].batch_seq == r[i].batch_seq)
			continue; /* copies of one frame: one answer */
		out[k] = r[i];
		out[k++].aux = w;
	}
	return k;
}

size_t kp_replies_fold(struct kp_reply *r, size_t n)
{
	size_t start = 0, kept = 0;

	if (n < 2)
		return n;
	sort_replies(r, n);
	for (size_t i = 1; i <= n; i++) {
		if (i < n && r[i].type == KP_TYPE_ACK && r[start].type == KP_TYPE_ACK &&
		    r[i].device_id == r[start].device_id)
			continue;
		if (r[start].type == KP_TYPE_ACK) {
			kept += fold_device(&r[start], i - start, &r[kept]);
		} else {
			for (size_t j = start; j < i; j++)
				r[kept++] = r[j];
		}
		start = i;
	}
	return kept;
}
