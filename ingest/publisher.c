/*
 * publisher.c — signs and sends ACK/NACK frames.
 *
 * This is the only thread of ours that sends replies, so the verify workers
 * and the writer never wait on the transport (for Paho: its global lock,
 * DESIGN.md). The in-flight count goes down in the transport's done calls,
 * which only take our small mutex.
 */
#include "ingest/publisher.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/topic.h"
#include "ingest/clock.h"
#include "ingest/thread_attr.h"

struct kp_publisher {
	struct kp_publisher_ctx ctx;
	struct kp_send_done done; /* handed to every send; see settle_done */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int inflight;
	uint64_t give_up_ns; /* set by kp_publisher_stop: drain until then, then drop */
	struct kp_reply batch[]; /* PUBLISHER_BATCH, taken from the queue at once */
};

static int giving_up(struct kp_publisher *p)
{
	uint64_t at = __atomic_load_n(&p->give_up_ns, __ATOMIC_RELAXED);
	return at != 0 && kp_now_mono_ns() >= at;
}

static void count_failed(struct kp_publisher *p)
{
	atomic_fetch_add_explicit(&p->ctx.m->replies_failed, 1, memory_order_relaxed);
}

static void settle(struct kp_publisher *p, int ok)
{
	pthread_mutex_lock(&p->lock);
	p->inflight--;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	if (!ok)
		count_failed(p);
}

/* The transport's confirmation of one send. */
static void settle_done(struct kp_send_done *done, int ok)
{
	settle((struct kp_publisher *)((char *)done - offsetof(struct kp_publisher, done)), ok);
}

/* Waits until fewer than max_inflight sends are unconfirmed and takes a
 * slot. Returns -1 when the drain deadline passed first. The wait is in
 * short slices so a deadline set meanwhile is seen. */
static int wait_for_room(struct kp_publisher *p)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while (p->inflight >= p->ctx.max_inflight && !(rc = giving_up(p) ? -1 : 0)) {
		uint64_t at = kp_now_mono_ns() + 100000000u;
		struct timespec ts = { (time_t)(at / 1000000000u), (long)(at % 1000000000u) };
		pthread_cond_timedwait(&p->changed, &p->lock, &ts);
	}
	if (rc == 0)
		p->inflight++;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Hands one send to the transport. A busy transport frees up by itself
 * (Paho is busy while its send thread has not caught up; it may be waiting
 * for the lock that messageArrived holds while the intake ring is full), so
 * wait a little and try again instead of dropping the ACK. */
static int send_reply(struct kp_publisher *p, const char *topic, const uint8_t *frame, size_t len)
{
	const struct kp_transport *t = &p->ctx.transport;

	for (;;) {
		int rc = t->send(t->ctx, topic, frame, len, &p->done);
		if (rc != KP_SEND_BUSY || giving_up(p))
			return rc;
		kp_sleep_ms(1);
	}
}

static void publish(struct kp_publisher *p, const struct kp_reply *r)
{
	uint8_t frame[KP_ACK_FRAME_SIZE];
	char topic[KP_TOPIC_MAX];

	if (kp_frame_make_reply(frame, sizeof(frame), r->type, 0, r->device_id, r->batch_seq,
	                        kp_now_ms(), r->aux, p->ctx.server_sk) < 0 ||
	    kp_topic_build(topic, sizeof(topic), r->device_id, KP_STREAM_ACK) < 0) {
		count_failed(p);
		return;
	}
	if (wait_for_room(p) != 0) {
		count_failed(p);
		return;
	}
	if (send_reply(p, topic, frame, sizeof(frame)) != KP_SEND_OK) {
		settle(p, 0); /* not connected: the device re-sends and is answered then */
		return;
	}
	atomic_fetch_add_explicit(r->type == KP_TYPE_ACK ? &p->ctx.m->acks_sent : &p->ctx.m->nacks_sent, 1,
	                          memory_order_relaxed);
}

/* Replies taken at once: one lock for the batch, and what is folded
 * (kp_replies_fold). A publisher that keeps up takes a group's ACKs, already
 * folded by the writer; one that falls behind takes up to this many at a
 * time, where several ACKs of a busy device fold into one: the further
 * behind, the fewer signatures and sends per frame, so a backlog shrinks
 * instead of filling the queue until replies are dropped (seen with
 * single-tap frames, docs/PERFORMANCE.md). */
#define PUBLISHER_BATCH 1024

static void publish_timed(struct kp_publisher *p, const struct kp_reply *r)
{
	uint64_t t0 = kp_now_mono_ns();

	kp_histogram_observe(&p->ctx.m->reply_wait_seconds, (double)(t0 - r->posted_ns) / 1e9);
	publish(p, r);
	kp_histogram_observe(&p->ctx.m->reply_send_seconds, (double)(kp_now_mono_ns() - t0) / 1e9);
}

static void *publisher_main(void *arg)
{
	struct kp_publisher *p = arg;
	struct kp_ring *queue = &p->ctx.replies->ring;
	struct kp_reply *r = p->batch;
	int err;

	if (p->ctx.nice != 0 && (err = kp_thread_nice(p->ctx.nice)) != 0)
		fprintf(stderr, "komposterd: publisher: cannot set nice %d: %s; running as started\n", p->ctx.nice,
		        strerror(err));
	while (kp_ring_pop(queue, &r[0], 0) == 0) {
		size_t taken = 1 + kp_ring_try_pop_many(queue, &r[1], PUBLISHER_BATCH - 1);
		size_t n = kp_replies_fold(r, taken);

		atomic_fetch_add_explicit(&p->ctx.m->acks_merged, taken - n, memory_order_relaxed);
		atomic_store_explicit(&p->ctx.m->reply_queue_depth, (int_fast64_t)kp_ring_depth(queue),
		                      memory_order_relaxed);
		for (size_t i = 0; i < n; i++)
			publish_timed(p, &r[i]);
	}
	return NULL;
}

int kp_publisher_start(const struct kp_publisher_ctx *ctx, struct kp_publisher **out)
{
	struct kp_publisher *p = calloc(1, sizeof(*p) + PUBLISHER_BATCH * sizeof(struct kp_reply));
	if (!p)
		return -1;
	p->ctx = *ctx;
	p->done.fn = settle_done;
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		goto err_free;
	if (pthread_cond_init(&p->changed, NULL) != 0)
		goto err_mutex;
	if (pthread_create(&p->thread, NULL, publisher_main, p) != 0)
		goto err_cond;
	(void)kp_thread_name(p->thread, "kp-publisher"); /* unnamed works the same (thread_attr.h) */
	*out = p;
	return 0;
err_cond:
	pthread_cond_destroy(&p->changed);
err_mutex:
	pthread_mutex_destroy(&p->lock);
err_free:
	free(p);
	return -1;
}

void kp_publisher_stop(struct kp_publisher *p, int timeout_ms)
{
	if (!p)
		return;
	__atomic_store_n(&p->give_up_ns, kp_now_mono_ns() + (uint64_t)timeout_ms * 1000000u, __ATOMIC_RELAXED);
	pthread_join(p->thread, NULL);
	for (int waited = 0; waited < timeout_ms && !giving_up(p); waited += 10) {
		pthread_mutex_lock(&p->lock);
		int left = p->inflight;
		pthread_mutex_unlock(&p->lock);
		if (left == 0)
			break;
		kp_sleep_ms(10);
	}
}

void kp_publisher_free(struct kp_publisher *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	free(p);
}
