/*
 * Description: the publisher stage alone, with a transport that keeps what
 * would go to the broker: every reply is signed with the server key and sent
 * on its device's ack topic; at most max_inflight sends wait for their
 * confirmation at once; a busy transport is asked again, a refused or lost
 * send is counted and frees its slot; stopping gives up on a transport that
 * never confirms, counting what it drops.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "ingest/clock.h"
#include "ingest/publisher.h"
#include "threads.h"

#define MAX_SENT 64

/* The transport under the test's control. */
struct capture {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int busy_left;    /* answer KP_SEND_BUSY this many times first */
	int refuse;       /* answer KP_SEND_FAILED to everything */
	int hold;         /* keep confirmations for confirm_oldest, else confirm at once */
	int confirm_ok;   /* what an immediate confirmation reports */
	int attempts, busy_answers;
	int outstanding, most_outstanding;
	size_t n;         /* sends taken */
	char topics[MAX_SENT][64];
	uint8_t frames[MAX_SENT][KP_ACK_FRAME_SIZE];
	size_t lens[MAX_SENT];
	struct kp_send_done *held[MAX_SENT];
	size_t held_first, held_n;
};

static struct capture cap;
static struct kp_metrics m;
static struct kp_replies replies;
static uint8_t server_pk[KP_PUBLIC_KEY_SIZE], server_sk[KP_SECRET_KEY_SIZE];
static struct kp_publisher *pub;

static int capture_send(void *ctx, const char *topic, const uint8_t *bytes, size_t len,
                        struct kp_send_done *done)
{
	struct capture *c = ctx;
	int rc = KP_SEND_OK;

	pthread_mutex_lock(&c->lock);
	c->attempts++;
	if (c->refuse) {
		rc = KP_SEND_FAILED;
	} else if (c->busy_left > 0) {
		c->busy_left--;
		c->busy_answers++;
		rc = KP_SEND_BUSY;
	} else if (c->n < MAX_SENT && len <= KP_ACK_FRAME_SIZE) {
		snprintf(c->topics[c->n], sizeof(c->topics[0]), "%s", topic);
		memcpy(c->frames[c->n], bytes, len);
		c->lens[c->n] = len;
		c->n++;
		if (++c->outstanding > c->most_outstanding)
			c->most_outstanding = c->outstanding;
		if (c->hold)
			c->held[c->held_first + c->held_n++] = done;
	} else {
		rc = KP_SEND_FAILED; /* more than the test expects: seen as c->attempts */
	}
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	if (rc == KP_SEND_OK && !c->hold) {
		pthread_mutex_lock(&c->lock);
		c->outstanding--;
		pthread_mutex_unlock(&c->lock);
		done->fn(done, c->confirm_ok); /* at once, as a transport may */
	}
	return rc;
}

/* Waits until at least n sends were taken (10 s at most). */
static void wait_sent(size_t n)
{
	uint64_t deadline = kp_now_mono_ns() + 10 * 1000000000ull;
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
	int timed_out = 0;

	pthread_mutex_lock(&cap.lock);
	while (cap.n < n && !timed_out)
		timed_out = pthread_cond_timedwait(&cap.changed, &cap.lock, &ts) != 0;
	size_t got = cap.n;
	pthread_mutex_unlock(&cap.lock);
	cr_assert_geq(got, n, "%zu sends within 10 s, expected %zu", got, n);
}

/* Confirms the oldest held send, from this thread (Paho's are others). */
static void confirm_oldest(int ok)
{
	pthread_mutex_lock(&cap.lock);
	cr_assert_gt(cap.held_n, 0, "nothing to confirm");
	struct kp_send_done *done = cap.held[cap.held_first++];
	cap.held_n--;
	cap.outstanding--;
	pthread_mutex_unlock(&cap.lock);
	done->fn(done, ok);
}

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(crypto_sign_keypair(server_pk, server_sk), 0);
	memset(&cap, 0, sizeof(cap));
	cap.confirm_ok = 1;
	pthread_condattr_t attr;
	cr_assert_eq(pthread_condattr_init(&attr), 0);
	cr_assert_eq(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
	cr_assert_eq(pthread_cond_init(&cap.changed, &attr), 0);
	pthread_condattr_destroy(&attr);
	cr_assert_eq(pthread_mutex_init(&cap.lock, NULL), 0);
	kp_metrics_init(&m);
	cr_assert_eq(kp_replies_init(&replies, 64, &m), 0);
	pub = NULL;
}

/* Closes the queue and stops the publisher (giving up after timeout_ms). */
static void stop(int timeout_ms)
{
	kp_ring_close(&replies.ring);
	kp_publisher_stop(pub, timeout_ms);
	/* The capture is torn down with the test: no confirmation comes after. */
	kp_publisher_free(pub);
	pub = NULL;
}

static void teardown(void)
{
	if (pub)
		stop(100);
	kp_replies_destroy(&replies);
	pthread_mutex_destroy(&cap.lock);
	pthread_cond_destroy(&cap.changed);
}

TestSuite(publisher, .init = setup, .fini = teardown);

static void start_nice(int max_inflight, int nice)
{
	struct kp_publisher_ctx ctx = {
		.transport = { .ctx = &cap, .send = capture_send },
		.server_sk = server_sk,
		.max_inflight = max_inflight,
		.replies = &replies,
		.m = &m,
		.nice = nice,
	};
	cr_assert_eq(kp_publisher_start(&ctx, &pub), 0);
}

static void start(int max_inflight)
{
	start_nice(max_inflight, 0);
}

/* Starts the publisher and stops it once it sent everything queued. */
static void publish_all(int max_inflight)
{
	start(max_inflight);
	stop(5000);
}

/* n ACKs of n devices: none folds into another. */
static void post_acks(int n)
{
	for (int i = 1; i <= n; i++)
		kp_replies_post(&replies, KP_TYPE_ACK, 0x70 + (uint64_t)i, 1, 1);
}

Test(publisher, every_reply_is_signed_by_the_server_and_sent_on_its_devices_ack_topic)
{
	uint8_t other_pk[KP_PUBLIC_KEY_SIZE], other_sk[KP_SECRET_KEY_SIZE];
	struct kp_header h;
	int64_t before = kp_now_ms();

	kp_replies_post(&replies, KP_TYPE_ACK, 0xa1, 5, 4);
	kp_replies_post(&replies, KP_TYPE_NACK, 0x0123456789abcdefULL, 9, KP_NACK_REVOKED);
	publish_all(8);
	int64_t after = kp_now_ms();

	cr_assert_eq(cap.n, 2);
	cr_expect_str_eq(cap.topics[0], "komposter/v1/dev/00000000000000a1/ack");
	cr_expect_str_eq(cap.topics[1], "komposter/v1/dev/0123456789abcdef/ack");
	cr_assert_eq(crypto_sign_keypair(other_pk, other_sk), 0);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(cap.lens[i], KP_ACK_FRAME_SIZE);
		cr_expect_eq(kp_frame_verify(cap.frames[i], cap.lens[i], server_pk), KP_OK, "reply %zu", i);
		cr_expect_eq(kp_frame_verify(cap.frames[i], cap.lens[i], other_pk), KP_EBADSIG);
	}
	cr_assert_eq(kp_frame_decode(cap.frames[0], cap.lens[0], &h), KP_OK);
	cr_expect_eq(h.type, KP_TYPE_ACK);
	cr_expect_eq(h.device_id, 0xa1);
	cr_expect_eq(h.batch_seq, 5);
	cr_expect_eq(h.aux, 4, "the watermark");
	cr_expect(h.sent_at >= before && h.sent_at <= after, "sent_at is not the signing time");
	cr_assert_eq(kp_frame_decode(cap.frames[1], cap.lens[1], &h), KP_OK);
	cr_expect_eq(h.type, KP_TYPE_NACK);
	cr_expect_eq(h.device_id, 0x0123456789abcdefULL);
	cr_expect_eq(h.batch_seq, 9);
	cr_expect_eq(h.aux, KP_NACK_REVOKED, "the reason");
	cr_expect_eq(atomic_load(&m.replies_failed), 0);
}

Test(publisher, no_more_than_max_inflight_sends_wait_for_confirmation)
{
	enum { MAX_INFLIGHT = 2, REPLIES = 7 };

	cap.hold = 1;
	post_acks(REPLIES);
	start(MAX_INFLIGHT);
	/* Each confirmation lets exactly one more send through. */
	for (size_t confirmed = 0; confirmed < REPLIES; confirmed++) {
		size_t may = confirmed + MAX_INFLIGHT < REPLIES ? confirmed + MAX_INFLIGHT : REPLIES;
		wait_sent(may);
		confirm_oldest(1);
	}
	stop(5000);
	cr_expect_eq(cap.n, REPLIES);
	cr_expect_eq(cap.most_outstanding, MAX_INFLIGHT, "%d sends were unconfirmed at once",
	             cap.most_outstanding);
	cr_expect_eq(atomic_load(&m.replies_failed), 0);
}

Test(publisher, a_busy_transport_is_asked_again_and_nothing_is_lost)
{
	cap.busy_left = 3;
	post_acks(2);
	publish_all(4);
	cr_expect_eq(cap.busy_answers, 3);
	cr_expect_eq(cap.n, 2, "a busy answer dropped a reply");
	cr_expect_eq(atomic_load(&m.replies_failed), 0);
}

Test(publisher, a_refused_send_is_counted_and_frees_its_slot)
{
	cap.refuse = 1;
	post_acks(3);
	publish_all(1); /* one slot: a refused send that kept it would stop the next */
	cr_expect_eq(cap.attempts, 3, "only %d of 3 replies reached the transport", cap.attempts);
	cr_expect_eq(atomic_load(&m.replies_failed), 3);
}

Test(publisher, a_send_lost_after_it_was_taken_is_counted)
{
	cap.confirm_ok = 0;
	post_acks(2);
	publish_all(1);
	cr_expect_eq(cap.n, 2, "a lost send kept its slot");
	cr_expect_eq(atomic_load(&m.replies_failed), 2);
}

Test(publisher, stopping_gives_up_on_a_transport_that_never_confirms)
{
	cap.hold = 1;
	post_acks(3);
	start(1);
	wait_sent(1);
	stop(200); /* returns although the first send is never confirmed */
	cr_expect_eq(cap.n, 1);
	cr_expect_eq(atomic_load(&m.replies_failed), 2, "the two replies left are dropped and counted");
}

/* The writer's batch of a group's ACKs: queued in order, stamped, counted;
 * what does not fit is dropped and counted, never waited for. */
Test(replies, a_batch_is_queued_in_order_and_what_does_not_fit_is_dropped)
{
	struct kp_metrics mx;
	struct kp_replies q;
	struct kp_reply out[4];
	struct kp_reply batch[3] = {
		{ .device_id = 1, .batch_seq = 5, .aux = 5, .type = KP_TYPE_ACK },
		{ .device_id = 2, .batch_seq = 9, .aux = 3, .type = KP_TYPE_NACK },
		{ .device_id = 3, .batch_seq = 1, .aux = 1, .type = KP_TYPE_ACK },
	};
	uint64_t before = kp_now_mono_ns();

	kp_metrics_init(&mx);
	cr_assert_eq(kp_replies_init(&q, 2, &mx), 0);
	kp_replies_post_many(&q, batch, 3);
	cr_assert_eq(kp_ring_try_pop_many(&q.ring, out, 4), 2);
	cr_assert_eq(out[0].device_id, 1);
	cr_assert_eq(out[1].device_id, 2);
	cr_assert_eq(out[1].aux, 3);
	cr_assert_geq(out[0].posted_ns, before);
	cr_assert_eq(atomic_load(&mx.replies_dropped), 1);
	kp_replies_destroy(&q);
}

static struct kp_reply ack(uint64_t dev, uint64_t seq, uint64_t wm, uint64_t posted)
{
	return (struct kp_reply){ .device_id = dev, .batch_seq = seq, .aux = wm, .posted_ns = posted,
		                  .type = KP_TYPE_ACK };
}

/* What the fold keeps covers every frame the ACKs it was given covered. */
Test(replies, the_fold_keeps_one_ack_per_device_at_its_highest_watermark_and_each_frame_above_it)
{
	struct kp_reply r[] = {
		ack(7, 3, 1, 30),  /* older group: watermark 1, its frame 3 above */
		ack(9, 1, 1, 10),
		ack(7, 5, 5, 50),  /* newer group: watermark 5 covers 1..5 */
		{ .device_id = 8, .batch_seq = 2, .aux = KP_NACK_REVOKED, .type = KP_TYPE_NACK },
		ack(7, 8, 5, 20),  /* beyond the watermark: its own */
		ack(7, 8, 5, 60),  /* a copy of it */
		ack(7, 2, 1, 40),
		{ .device_id = 8, .batch_seq = 3, .aux = KP_NACK_REVOKED, .type = KP_TYPE_NACK },
	};
	size_t n = kp_replies_fold(r, sizeof(r) / sizeof(r[0]));

	cr_assert_eq(n, 5);
	cr_expect_eq(r[0].device_id, 7);
	cr_expect_eq(r[0].batch_seq, 5);
	cr_expect_eq(r[0].aux, 5);
	cr_expect_eq(r[0].posted_ns, 30, "the oldest of the folded: %llu", (unsigned long long)r[0].posted_ns);
	cr_expect_eq(r[1].device_id, 7);
	cr_expect_eq(r[1].batch_seq, 8);
	cr_expect_eq(r[1].aux, 5);
	cr_expect_eq(r[2].device_id, 9);
	cr_expect_eq(r[2].batch_seq, 1);
	cr_expect_eq(r[2].aux, 1);
	cr_expect_eq(r[3].type, KP_TYPE_NACK);
	cr_expect_eq(r[4].type, KP_TYPE_NACK);
	cr_expect_eq(r[3].batch_seq + r[4].batch_seq, 5, "both NACKs kept");
	cr_expect_eq(kp_replies_fold(r, 1), 1);
	cr_expect_eq(kp_replies_fold(NULL, 0), 0);
}

/* A gap below every watermark: nothing at or below it, each frame its own. */
Test(replies, frames_all_above_the_watermark_stay_apart)
{
	struct kp_reply r[] = { ack(4, 9, 2, 1), ack(4, 7, 2, 1), ack(4, 9, 2, 1) };
	size_t n = kp_replies_fold(r, 3);

	cr_assert_eq(n, 2);
	cr_expect_eq(r[0].batch_seq, 7);
	cr_expect_eq(r[1].batch_seq, 9);
	cr_expect_eq(r[0].aux, 2);
}

/* A publisher behind its queue sends one ACK for a device's backlog. */
Test(publisher, a_backlog_of_one_device_is_answered_by_one_ack)
{
	struct kp_header h;

	for (uint64_t seq = 1; seq <= 10; seq++)
		kp_replies_post(&replies, KP_TYPE_ACK, 0x42, seq, seq);
	publish_all(8);
	cr_assert_eq(cap.n, 1);
	cr_assert_eq(kp_frame_decode(cap.frames[0], cap.lens[0], &h), KP_OK);
	cr_expect_eq(h.batch_seq, 10);
	cr_expect_eq(h.aux, 10);
	cr_expect_eq(atomic_load(&m.acks_merged), 9);
	cr_expect_eq(atomic_load(&m.acks_sent), 1);
}

Test(publisher, runs_as_kp_publisher_at_the_nice_value_it_was_given)
{
	/* A higher value than the test's: allowed without privileges. */
	int nice = tt_thread_nice(0) + 4;

	start_nice(8, nice);
	kp_replies_post(&replies, KP_TYPE_ACK, 0xa1, 1, 1);
	wait_sent(1); /* past the thread's start */
	pid_t tid = tt_thread_find("kp-publisher");
	cr_expect_gt(tid, 0, "no thread named kp-publisher");
	if (tid > 0)
		cr_expect_eq(tt_thread_nice(tid), nice);
	stop(5000);
}
