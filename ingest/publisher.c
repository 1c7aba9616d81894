/*
 * publisher.c — signs and publishes ACK/NACK frames.
 *
 * This is the only thread of ours that calls Paho's publish, so the verify
 * workers and the writer never wait on Paho's global lock (DESIGN.md). The
 * in-flight count goes down in Paho's onSuccess/onFailure callbacks, which
 * only take our small mutex.
 */
#include "ingest/publisher.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ingest/intake_mqtt.h"
#include "ingest/keyfile.h"

struct kp_publisher {
	struct kp_daemon *d;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int inflight;
	uint64_t give_up_ns; /* set by kp_publisher_stop: drain until then, then drop */
};

static int giving_up(struct kp_publisher *p)
{
	uint64_t at = __atomic_load_n(&p->give_up_ns, __ATOMIC_RELAXED);
	return at != 0 && kp_now_mono_ns() >= at;
}

static void settle(struct kp_publisher *p, int ok)
{
	pthread_mutex_lock(&p->lock);
	p->inflight--;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	if (!ok)
		atomic_fetch_add_explicit(&p->d->metrics.replies_failed, 1, memory_order_relaxed);
}

static void on_sent(void *ctx, MQTTAsync_successData *resp)
{
	settle(ctx, 1);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData *resp)
{
	settle(ctx, 0);
}

/* Waits until fewer than max_inflight publishes are inside Paho and takes
 * a slot. Returns -1 when the drain deadline passed first. The wait is in
 * short slices so a deadline set meanwhile is seen. */
static int wait_for_room(struct kp_publisher *p)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while (p->inflight >= p->d->cfg.mqtt_max_inflight && !(rc = giving_up(p) ? -1 : 0)) {
		uint64_t at = kp_now_mono_ns() + 100000000u;
		struct timespec ts = { (time_t)(at / 1000000000u), (long)(at % 1000000000u) };
		pthread_cond_timedwait(&p->changed, &p->lock, &ts);
	}
	if (rc == 0)
		p->inflight++;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Hands one publish to Paho. Paho refuses with MAX_BUFFERED_MESSAGES while
 * its send thread has not caught up (it may be waiting for the lock that
 * messageArrived holds while the intake ring is full): that is temporary,
 * so wait a little and try again instead of dropping the ACK. */
static int send_to_paho(struct kp_publisher *p, const char *topic, MQTTAsync_message *msg,
                        MQTTAsync_responseOptions *opts)
{
	for (;;) {
		int rc = MQTTAsync_sendMessage(kp_intake_client(p->d->mqtt), topic, msg, opts);
		if (rc != MQTTASYNC_MAX_BUFFERED_MESSAGES || giving_up(p))
			return rc;
		kp_sleep_ms(1);
	}
}

static void publish(struct kp_publisher *p, const struct kp_reply *r)
{
	struct kp_daemon *d = p->d;
	uint8_t frame[KP_ACK_FRAME_SIZE];
	char topic[64], dev[17];
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	if (kp_frame_make_reply(frame, sizeof(frame), r->type, 0, r->device_id, r->batch_seq,
	                        kp_now_ms(), r->aux, d->server_sk) < 0) {
		atomic_fetch_add_explicit(&d->metrics.replies_failed, 1, memory_order_relaxed);
		return;
	}
	kp_device_id_format(r->device_id, dev);
	snprintf(topic, sizeof(topic), "komposter/v1/dev/%s/ack", dev);
	msg.payload = frame;
	msg.payloadlen = (int)sizeof(frame);
	msg.qos = 1;
	opts.onSuccess = on_sent;
	opts.onFailure = on_send_failed;
	opts.context = p;
	if (wait_for_room(p) != 0) {
		atomic_fetch_add_explicit(&d->metrics.replies_failed, 1, memory_order_relaxed);
		return;
	}
	if (send_to_paho(p, topic, &msg, &opts) != MQTTASYNC_SUCCESS)
		settle(p, 0); /* not connected: the device re-sends and is answered then */
}

static void *publisher_main(void *arg)
{
	struct kp_publisher *p = arg;
	struct kp_reply r;

	while (kp_ring_pop(&p->d->replies.ring, &r, 0) == 0) {
		atomic_store_explicit(&p->d->metrics.reply_queue_depth,
		                      (int_fast64_t)kp_ring_depth(&p->d->replies.ring), memory_order_relaxed);
		publish(p, &r);
	}
	return NULL;
}

int kp_publisher_start(struct kp_daemon *d)
{
	struct kp_publisher *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->d = d;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
		free(p);
		return -1;
	}
	d->publisher = p;
	return 0;
}

void kp_publisher_stop(struct kp_daemon *d, int timeout_ms)
{
	struct kp_publisher *p = d->publisher;

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

void kp_publisher_free(struct kp_daemon *d)
{
	struct kp_publisher *p = d->publisher;

	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	free(p);
	d->publisher = NULL;
}
