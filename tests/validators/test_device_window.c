/*
 * Description: which frames a validator publishes, and when, without a
 * broker: a fake transport records every publish and hands out tokens, and
 * the test plays Paho by calling the device's callbacks (connected, lost,
 * publish completed or failed, SUBACK) and vd_device_poll with injected
 * clock values. Frames the server NACKs leave the window, so newer frames
 * keep flowing, and are retried on their backoff, also across a reconnect; a
 * frame is never published again while its last publish is pending in Paho,
 * and its resend timer starts at the PUBACK; lost completions never strand a
 * frame: not one that never comes (a deadline), not a failure Paho reports
 * with token 0, not publishes a reconnect cut off, and a late completion of a
 * publish given up on is ignored; a
 * refused subscribe (by Paho, by a SUBACK 0x80 or a granted QoS 0) is retried
 * while online, and one whose SUBACK never comes is made again.
 */
#include "tests/validators/tmpdir.h"

#include <sodium.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "validators/device_impl.h"

#define DEVICE 0x00000000c0ffee11ULL
#define LOG_MAX 1024
#define BACKOFF_MS 1000
#define RESEND_MS 10000
#define PUBLISH_TIMEOUT_MS 30000

struct publish_log {
	uint64_t seq[LOG_MAX];
	void *context[LOG_MAX]; /* what Paho's callbacks would get */
	int completed[LOG_MAX];
	unsigned n;
	int subscribes;
	int refuse_subscribe;
};

static char dir[64];
static uint8_t server_pk[KP_PUBLIC_KEY_SIZE], server_sk[KP_SECRET_KEY_SIZE];
static uint8_t device_pk[KP_PUBLIC_KEY_SIZE], device_sk[KP_SECRET_KEY_SIZE];
static struct vd_device *dev;
static struct publish_log io_log;

static int fake_publish(struct vd_device *d, const uint8_t *frame, size_t len,
                        struct vd_ticket *ticket)
{
	struct kp_header h;

	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	cr_assert_lt(io_log.n, LOG_MAX);
	io_log.seq[io_log.n] = h.batch_seq;
	io_log.context[io_log.n] = ticket;
	io_log.n++;
	return VD_OK;
}

static int fake_subscribe(struct vd_device *d)
{
	io_log.subscribes++;
	return io_log.refuse_subscribe ? VD_EMQTT : VD_OK;
}

static const struct vd_io fake_io = {.subscribe = fake_subscribe, .publish = fake_publish};

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	vd_tmpdir_make(dir, sizeof dir);
	cr_assert_eq(crypto_sign_keypair(server_pk, server_sk), 0);
	cr_assert_eq(crypto_sign_keypair(device_pk, device_sk), 0);
	memset(&io_log, 0, sizeof io_log);
	dev = NULL;
}

static void teardown(void)
{
	vd_device_close(dev);
	vd_tmpdir_remove(dir);
}

TestSuite(device_window, .init = setup, .fini = teardown);

/* A device with one tap per frame and `frames` frames sealed, not online. */
static void open_device(unsigned window, unsigned backoff_slots, int64_t resend_ms, int frames)
{
	struct vd_device_config cfg = {
		.device_id = DEVICE,
		.key_id = 1,
		.batch = 1,
		.window = window,
		.backoff_slots = backoff_slots,
		.resend_ms = resend_ms,
		.publish_timeout_ms = PUBLISH_TIMEOUT_MS,
		.backoff_min_ms = BACKOFF_MS,
		.outbox_dir = dir,
	};

	memcpy(cfg.secret_key, device_sk, sizeof cfg.secret_key);
	memcpy(cfg.server_pk, server_pk, sizeof cfg.server_pk);
	cr_assert_eq(vd_device_open(&cfg, &dev, NULL), VD_OK);
	dev->io = &fake_io;
	for (int i = 0; i < frames; i++) {
		struct kp_tap t = {.tapped_at = 1700000000000 + i, .route_id = 5, .vehicle_id = 42};
		cr_assert_eq(vd_device_tap(dev, &t), VD_OK);
	}
	cr_assert_eq(vd_device_pending(dev), (size_t)frames);
}

static int64_t poll_at(int64_t now)
{
	int64_t next = -1;

	cr_assert_eq(vd_device_poll(dev, now, &next), VD_OK, "%s", vd_device_error(dev));
	return next;
}

/* Paho's on_connected, then the owner's poll (it subscribes and publishes),
 * then the broker's SUBACK granting QoS 1 (applied by the next poll). */
static void go_online(int64_t now)
{
	vd_cb_connected(dev, NULL);
	poll_at(now);
	vd_cb_subscribed(dev, &(MQTTAsync_successData){.alt.qos = 1});
}

static unsigned sends_of(uint64_t seq, unsigned from)
{
	unsigned n = 0;

	for (unsigned i = from; i < io_log.n; i++)
		n += io_log.seq[i] == seq;
	return n;
}

/* Paho reports every publish so far as PUBACKed, then the owner polls. */
static void complete_all(int64_t now)
{
	for (unsigned i = 0; i < io_log.n; i++) {
		if (io_log.completed[i])
			continue;
		io_log.completed[i] = 1;
		vd_cb_published(io_log.context[i], &(MQTTAsync_successData){.token = (int)i + 1});
	}
	poll_at(now);
}

/* Paho's onSuccess (PUBACK) for publish i of the log. */
static void puback(unsigned i)
{
	cr_assert_lt(i, io_log.n);
	io_log.completed[i] = 1;
	vd_cb_published(io_log.context[i], &(MQTTAsync_successData){.token = (int)i + 1});
}

/* Paho's connection loss, seen by the owner, then a new connection. */
static void reconnect(int64_t lost_at, int64_t back_at)
{
	vd_cb_connection_lost(dev, NULL);
	poll_at(lost_at);
	go_online(back_at);
}

static void reply(uint8_t type, uint64_t seq, uint64_t aux, int64_t now)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];

	cr_assert_eq(kp_frame_make_reply(buf, sizeof buf, type, 1, DEVICE, seq, 1700000000000, aux,
	                                 server_sk), KP_ACK_FRAME_SIZE);
	cr_assert_eq(vd_device_handle_reply(dev, buf, sizeof buf, now), VD_OK);
}

Test(device_window, nacked_frames_leave_the_window_so_newer_frames_flow)
{
	unsigned mark;

	open_device(4, 8, RESEND_MS, 8);
	go_online(0);
	cr_assert_eq(io_log.n, 4, "the window is 4 frames");
	complete_all(0);
	for (uint64_t seq = 1; seq <= 4; seq++)
		reply(KP_TYPE_NACK, seq, KP_NACK_TIME_WINDOW, 10);
	mark = io_log.n;
	poll_at(10);
	for (uint64_t seq = 5; seq <= 8; seq++)
		cr_expect_eq(sends_of(seq, mark), 1, "frame %llu must not wait behind NACKed frames",
		             (unsigned long long)seq);
	for (uint64_t seq = 1; seq <= 4; seq++)
		cr_expect_eq(sends_of(seq, mark), 0, "frame %llu is in backoff",
		             (unsigned long long)seq);
	complete_all(10);
	mark = io_log.n;
	poll_at(10 + BACKOFF_MS - 1);
	cr_expect_eq(io_log.n, mark);
	poll_at(10 + BACKOFF_MS);
	for (uint64_t seq = 1; seq <= 4; seq++)
		cr_expect_eq(sends_of(seq, mark), 1, "frame %llu is retried when its backoff ends",
		             (unsigned long long)seq);
	cr_expect_eq(vd_device_pending(dev), 8, "a NACK never drops a frame");
}

Test(device_window, backed_off_frames_tracked_are_bounded_and_keep_being_retried)
{
	unsigned mark;

	open_device(2, 2, RESEND_MS, 6);
	go_online(0);
	complete_all(0);
	reply(KP_TYPE_NACK, 1, KP_NACK_STORAGE_FULL, 0);
	reply(KP_TYPE_NACK, 2, KP_NACK_STORAGE_FULL, 0);
	poll_at(0);
	cr_assert_eq(sends_of(3, 0) + sends_of(4, 0), 2, "3 and 4 take the freed window");
	complete_all(0);
	reply(KP_TYPE_NACK, 3, KP_NACK_STORAGE_FULL, 0);
	reply(KP_TYPE_NACK, 4, KP_NACK_STORAGE_FULL, 0);
	poll_at(0);
	cr_expect_eq(sends_of(5, 0) + sends_of(6, 0), 0,
	             "with both backoff slots taken, NACKed frames keep their window slots");
	mark = io_log.n;
	poll_at(BACKOFF_MS);
	for (uint64_t seq = 1; seq <= 4; seq++)
		cr_expect_eq(sends_of(seq, mark), 1, "frame %llu is retried on its schedule",
		             (unsigned long long)seq);
	complete_all(BACKOFF_MS);
	reply(KP_TYPE_ACK, 1, 0, BACKOFF_MS);
	poll_at(BACKOFF_MS);
	cr_expect_eq(sends_of(5, 0), 1, "an ACK frees a slot and frame 5 flows");
	cr_expect_eq(vd_device_pending(dev), 5);
}

Test(device_window, no_resend_while_the_last_publish_is_pending_and_the_timer_starts_at_puback)
{
	int64_t next;

	open_device(1, 0, 100, 1);
	go_online(0);
	cr_assert_eq(io_log.n, 1);
	poll_at(100);
	next = poll_at(5000);
	cr_expect_eq(io_log.n, 1, "a publish Paho has not completed is not repeated");
	cr_expect_eq(next, PUBLISH_TIMEOUT_MS, "only the publish's deadline is timed");
	puback(0);
	next = poll_at(5000);
	cr_expect_eq(next, 5100, "resend_ms counts from the PUBACK");
	poll_at(5099);
	cr_expect_eq(io_log.n, 1);
	poll_at(5100);
	cr_expect_eq(io_log.n, 2);
	cr_expect_eq(vd_device_stats(dev)->resent, 1);
}

Test(device_window, failed_publish_is_retried_soon)
{
	int64_t next;

	open_device(1, 0, RESEND_MS, 1);
	go_online(0);
	vd_cb_publish_failed(io_log.context[0], &(MQTTAsync_failureData){.token = 1});
	next = poll_at(50);
	cr_expect_eq(next, 50 + VD_SEND_RETRY_MS);
	cr_expect_eq(vd_device_stats(dev)->publish_failures, 1);
	poll_at(50 + VD_SEND_RETRY_MS);
	cr_expect_eq(sends_of(1, 0), 2);
}

Test(device_window, lost_completions_never_strand_a_frame)
{
	int64_t next;

	open_device(1, 0, RESEND_MS, 1);
	go_online(0);
	/* Fill the completion ring with completions of other tickets, and one more. */
	for (unsigned i = 0; i <= dev->mb.done_cap; i++)
		vd_cb_published(&dev->tickets[dev->ntickets - 1], &(MQTTAsync_successData){.token = 0});
	next = poll_at(20);
	cr_expect_eq(next, 20 + RESEND_MS, "a lost completion counts as a completion");
	poll_at(20 + RESEND_MS);
	cr_expect_eq(sends_of(1, 0), 2);
}

Test(device_window, reconnect_resends_at_once_except_frames_in_nack_backoff)
{
	unsigned mark;

	open_device(2, 0, RESEND_MS, 2);
	go_online(0);
	complete_all(0);
	reply(KP_TYPE_NACK, 1, KP_NACK_STORAGE_FULL, 0); /* frame 1 due at BACKOFF_MS */
	poll_at(0);
	mark = io_log.n;
	reconnect(100, 200);
	cr_expect_eq(sends_of(2, mark), 1, "frame 2 goes out again right after the reconnect");
	cr_expect_eq(sends_of(1, mark), 0, "frame 1 waits out its backoff");
	cr_expect_eq(vd_device_stats(dev)->connects, 2);
	poll_at(BACKOFF_MS);
	cr_expect_eq(sends_of(1, mark), 1);
}

Test(device_window, subscribe_refused_by_paho_is_retried_while_online)
{
	int64_t next;

	open_device(2, 0, RESEND_MS, 2);
	io_log.refuse_subscribe = 1;
	vd_cb_connected(dev, NULL);
	next = poll_at(1000);
	cr_expect_eq(io_log.subscribes, 1);
	cr_expect_eq(next, 1000 + VD_SUBSCRIBE_RETRY_MS, "online but not subscribed: poll again");
	cr_expect_eq(io_log.n, 0, "nothing is published before the subscription");
	poll_at(1500);
	cr_expect_eq(io_log.subscribes, 1, "retries are spaced");
	io_log.refuse_subscribe = 0;
	poll_at(1000 + VD_SUBSCRIBE_RETRY_MS);
	cr_expect_eq(io_log.subscribes, 2);
	cr_expect_eq(io_log.n, 2, "subscribed: the window goes out");
	cr_expect_eq(vd_device_stats(dev)->subscribe_failures, 1);
}

Test(device_window, refused_suback_reaches_the_owner_and_is_retried)
{
	int64_t next;
	unsigned mark;

	open_device(2, 0, RESEND_MS, 2);
	vd_cb_connected(dev, NULL);
	poll_at(0);
	cr_assert_eq(io_log.subscribes, 1);
	cr_assert_eq(io_log.n, 2);
	mark = io_log.n;
	vd_cb_subscribed(dev, &(MQTTAsync_successData){.alt.qos = 0}); /* granted QoS 0 */
	next = poll_at(10);
	cr_expect_eq(vd_device_stats(dev)->subscribe_failures, 1);
	cr_expect_eq(next, 10 + VD_SUBSCRIBE_RETRY_MS);
	poll_at(10 + VD_SUBSCRIBE_RETRY_MS);
	cr_expect_eq(io_log.subscribes, 2);
	vd_cb_subscribe_failed(dev, &(MQTTAsync_failureData){.code = 0x80}); /* SUBACK 0x80 */
	poll_at(20 + VD_SUBSCRIBE_RETRY_MS);
	cr_expect_eq(vd_device_stats(dev)->subscribe_failures, 2);
	poll_at(20 + 2 * VD_SUBSCRIBE_RETRY_MS);
	cr_expect_eq(io_log.subscribes, 3);
	vd_cb_subscribed(dev, &(MQTTAsync_successData){.alt.qos = 1});
	poll_at(30 + 2 * VD_SUBSCRIBE_RETRY_MS);
	cr_expect_eq(vd_device_stats(dev)->subscribe_failures, 2, "granted QoS 1 is a success");
	cr_expect_eq(vd_device_stats(dev)->connects, 1, "a subscribe retry is not a reconnect");
	cr_expect_eq(io_log.n, mark, "nor does it re-send the window");
}

Test(device_window, a_publish_paho_fails_with_token_0_is_retried)
{
	unsigned mark;

	open_device(2, 0, RESEND_MS, 2);
	go_online(0);
	puback(1);
	/* MQTTAsync_processCommand (1.3.12), a PUBLISH whose socket write fails:
	 * data.token = 0, the command's context intact. */
	vd_cb_publish_failed(io_log.context[0], &(MQTTAsync_failureData){.token = 0, .code = -1});
	poll_at(50);
	mark = io_log.n;
	poll_at(50 + VD_SEND_RETRY_MS);
	cr_expect_eq(sends_of(1, mark), 1, "the failed publish is retried");
	cr_expect_eq(sends_of(2, mark), 0, "frame 2 was PUBACKed: it waits for resend_ms");
	cr_expect_eq(vd_device_stats(dev)->publish_failures, 1);
}

Test(device_window, a_reconnect_resends_every_frame_whose_publish_was_pending)
{
	unsigned mark;

	open_device(3, 0, RESEND_MS, 3);
	go_online(0);
	cr_assert_eq(io_log.n, 3);
	/* No completion for any of them, as for publishes that a broker restart
	 * cut off and whose callbacks never reach the window. */
	mark = io_log.n;
	reconnect(100, 200);
	for (uint64_t seq = 1; seq <= 3; seq++)
		cr_expect_eq(sends_of(seq, mark), 1, "frame %llu goes out again on the new connection",
		             (unsigned long long)seq);
	cr_expect_eq(vd_device_stats(dev)->resent, 3);
}

Test(device_window, a_late_completion_of_a_publish_given_up_on_is_ignored)
{
	unsigned mark;
	int64_t next;

	open_device(1, 0, RESEND_MS, 1);
	go_online(0);
	mark = io_log.n;
	reconnect(100, 200);
	cr_assert_eq(sends_of(1, mark), 1);
	/* Paho sends the old, still queued publish on the new connection and
	 * reports its PUBACK, possibly under the same message id as the new one. */
	vd_cb_published(io_log.context[0], &(MQTTAsync_successData){.token = 1});
	next = poll_at(300);
	cr_expect_eq(vd_device_stats(dev)->stale_completions, 1);
	cr_expect_neq(next, 300 + RESEND_MS, "the stale PUBACK must not start the resend timer");
	poll_at(300 + RESEND_MS);
	cr_expect_eq(sends_of(1, mark), 1, "the new publish is still pending: no re-send");
	puback(mark);
	next = poll_at(400);
	cr_expect_eq(next, 400 + RESEND_MS, "the new publish's own PUBACK starts the timer");
	cr_expect_eq(vd_device_stats(dev)->stale_completions, 1);
}

Test(device_window, a_completion_after_the_ack_is_ignored)
{
	open_device(2, 0, RESEND_MS, 2);
	go_online(0);
	reply(KP_TYPE_ACK, 1, 0, 10); /* the daemon's ACK overtook Paho's PUBACK */
	poll_at(10);
	puback(0);
	poll_at(20);
	cr_expect_eq(vd_device_stats(dev)->stale_completions, 1);
	cr_expect_eq(vd_device_pending(dev), 1);
	puback(1);
	cr_expect_eq(poll_at(30), 30 + RESEND_MS, "frame 2's PUBACK is its own");
}

Test(device_window, a_publish_never_completed_is_given_up_at_its_deadline_and_resent)
{
	const int64_t resend = 2 * PUBLISH_TIMEOUT_MS; /* keeps frame 2's timer out of the way */
	int64_t next;

	open_device(2, 0, resend, 2);
	go_online(0);
	cr_assert_eq(io_log.n, 2);
	puback(1);
	next = poll_at(100);
	cr_expect_eq(next, PUBLISH_TIMEOUT_MS, "frame 1's deadline is timed");
	poll_at(PUBLISH_TIMEOUT_MS - 1);
	cr_expect_eq(sends_of(1, 0), 1, "not before the deadline");
	next = poll_at(PUBLISH_TIMEOUT_MS);
	cr_expect_eq(sends_of(1, 0), 2, "the publish counts as failed: the frame goes out again");
	cr_expect_eq(sends_of(2, 0), 1, "frame 2 was PUBACKed: its resend timer runs");
	cr_expect_eq(vd_device_stats(dev)->publish_timeouts, 1);
	cr_expect_eq(vd_device_stats(dev)->resent, 1);
	cr_expect_eq(next, 2 * PUBLISH_TIMEOUT_MS, "the new publish has a deadline of its own");
	/* The first publish completes after all: it must not count for the second. */
	puback(0);
	next = poll_at(PUBLISH_TIMEOUT_MS + 10);
	cr_expect_eq(vd_device_stats(dev)->stale_completions, 1);
	cr_expect_eq(next, 2 * PUBLISH_TIMEOUT_MS, "the second publish is still pending");
	puback(2);
	next = poll_at(PUBLISH_TIMEOUT_MS + 20);
	cr_expect_eq(next, 100 + resend, "frame 2's resend is next");
	poll_at(PUBLISH_TIMEOUT_MS + 20 + resend - 1);
	cr_expect_eq(sends_of(1, 0), 2, "the resend timer counts from the second publish's PUBACK");
	poll_at(PUBLISH_TIMEOUT_MS + 20 + resend);
	cr_expect_eq(sends_of(1, 0), 3);
}

Test(device_window, a_nack_during_a_pending_publish_keeps_its_backoff_past_the_deadline)
{
	open_device(1, 1, RESEND_MS, 1);
	go_online(0);
	/* The NACK overtook Paho's PUBACK, and the PUBACK never comes. */
	reply(KP_TYPE_NACK, 1, KP_NACK_STORAGE_FULL, 10);
	poll_at(10);
	poll_at(10 + BACKOFF_MS);
	cr_expect_eq(sends_of(1, 0), 1, "the publish is pending and not past its deadline");
	poll_at(PUBLISH_TIMEOUT_MS);
	cr_expect_eq(sends_of(1, 0), 2, "past the deadline, with the backoff over, it goes out");
	cr_expect_eq(vd_device_stats(dev)->publish_timeouts, 1);
	cr_expect_eq(vd_device_pending(dev), 1);
}

Test(device_window, a_subscribe_whose_suback_never_comes_is_made_again)
{
	const int64_t resend = 3 * VD_SUBACK_TIMEOUT_MS; /* keeps the resend timers out of the way */
	int64_t next;

	open_device(2, 0, resend, 2);
	vd_cb_connected(dev, NULL);
	next = poll_at(0);
	cr_assert_eq(io_log.subscribes, 1);
	cr_assert_eq(io_log.n, 2, "publishing starts once Paho took the subscribe");
	cr_expect_eq(next, VD_SUBACK_TIMEOUT_MS, "the SUBACK's deadline is timed");
	complete_all(10);
	poll_at(VD_SUBACK_TIMEOUT_MS - 1);
	cr_expect_eq(io_log.subscribes, 1);
	next = poll_at(VD_SUBACK_TIMEOUT_MS);
	cr_expect_eq(io_log.subscribes, 2, "no SUBACK by the deadline: subscribe again");
	cr_expect_eq(vd_device_stats(dev)->subscribe_timeouts, 1);
	cr_expect_eq(vd_device_stats(dev)->connects, 1, "not a reconnect");
	cr_expect_eq(io_log.n, 2, "nor a re-send of the window");
	cr_expect_eq(next, 2 * VD_SUBACK_TIMEOUT_MS);
	vd_cb_subscribed(dev, &(MQTTAsync_successData){.alt.qos = 1});
	next = poll_at(VD_SUBACK_TIMEOUT_MS + 10);
	cr_expect_eq(next, 10 + resend, "granted: only the resend timers are left");
	poll_at(3 * VD_SUBACK_TIMEOUT_MS);
	cr_expect_eq(io_log.subscribes, 2);
}

Test(device_window, a_suback_of_the_old_connection_does_not_count_for_the_new_one)
{
	open_device(1, 0, RESEND_MS, 1);
	go_online(0);
	complete_all(0);
	cr_assert_eq(io_log.subscribes, 1);
	vd_cb_connection_lost(dev, NULL);
	poll_at(100);
	vd_cb_connected(dev, NULL);
	poll_at(200);
	cr_assert_eq(io_log.subscribes, 2);
	poll_at(200 + VD_SUBACK_TIMEOUT_MS);
	cr_expect_eq(io_log.subscribes, 3, "the new connection's subscribe had no SUBACK");
	cr_expect_eq(vd_device_stats(dev)->subscribe_timeouts, 1);
}
