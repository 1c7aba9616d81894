/*
 * mqtt.c — Paho MQTTAsync connections and the publisher set.
 */
#define _GNU_SOURCE
#include "tools/bench/mqtt.h"

#include "ingest/paho_awake.h"
#include "ingest/tcp_nodelay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_state(struct bench_conn *c, int state)
{
	pthread_mutex_lock(&c->mu);
	c->state = state;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void on_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	set_state(ctx, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	set_state(ctx, -1);
}

/* Waits until the pending connect or subscribe is answered. */
static int wait_state(struct bench_conn *c, const char *what)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&c->mu);
	while (c->state == 0 && rc == 0)
		rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
	int st = c->state;
	pthread_mutex_unlock(&c->mu);
	if (st != 1)
		fprintf(stderr, "komposter: bench: MQTT %s %s\n", what, st == 0 ? "timed out" : "failed");
	return st == 1 ? 0 : -1;
}

static int on_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct bench_conn *c = ctx;
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);

	if (c->awake_len && tl == c->awake_len && memcmp(topic, c->awake_topic, tl) == 0)
		goto taken;
	/* 0: not taken now; Paho keeps it (unacknowledged) and calls again. */
	if (c->on_msg && c->on_msg(c->ctx, topic, tl, m->payload, (size_t)m->payloadlen) == 0)
		return 0;
taken:
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

int bench_conn_open(struct bench_conn *c, const char *uri, const char *client_id, int window,
                    bench_msg_fn on_msg, void *ctx)
{
	if (bench_conn_start(c, uri, client_id, window, on_msg, ctx) != 0)
		return -1;
	return bench_conn_wait(c);
}

/* Nagle off as komposterd has it (ingest/tcp_nodelay.h): with it on, the
 * publishers' frames and the ideal's ACKs wait up to 40 ms more. */
int bench_conn_wait(struct bench_conn *c)
{
	if (wait_state(c, "connect") != 0)
		return -1;
	if (kp_tcp_nodelay_to(c->uri) <= 0) {
		fprintf(stderr, "komposter: bench: cannot turn Nagle off on the connection to %s\n", c->uri);
		return -1;
	}
	return 0;
}

int bench_conn_start(struct bench_conn *c, const char *uri, const char *client_id, int window,
                     bench_msg_fn on_msg, void *ctx)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->window = window;
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	c->on_msg = on_msg;
	c->ctx = ctx;
	if (MQTTAsync_create(&c->client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setCallbacks(c->client, c, NULL, on_arrived, NULL) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposter: bench: cannot make the MQTT client %s\n", client_id);
		return -1;
	}
	o.keepAliveInterval = 30;
	o.cleansession = 1;
	o.maxInflight = window > 0 ? window * 2 : 64;
	o.onSuccess = on_ok;
	o.onFailure = on_fail;
	o.context = c;
	if (MQTTAsync_connect(c->client, &o) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposter: bench: cannot connect to %s\n", uri);
		return -1;
	}
	return 0;
}

int bench_conn_subscribe(struct bench_conn *c, const char *filter)
{
	MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;

	r.onSuccess = on_ok;
	r.onFailure = on_fail;
	r.context = c;
	set_state(c, 0);
	if (MQTTAsync_subscribe(c->client, filter, 1, &r) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposter: bench: cannot subscribe to %s\n", filter);
		return -1;
	}
	return wait_state(c, "subscribe");
}

int bench_conn_unsubscribe(struct bench_conn *c, const char *filter)
{
	MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;

	r.onSuccess = on_ok;
	r.onFailure = on_fail;
	r.context = c;
	set_state(c, 0);
	if (MQTTAsync_unsubscribe(c->client, filter, &r) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposter: bench: cannot unsubscribe from %s\n", filter);
		return -1;
	}
	return wait_state(c, "unsubscribe");
}

static void publish_done(struct bench_conn *c, int ok)
{
	pthread_mutex_lock(&c->mu);
	c->inflight--;
	if (!ok)
		c->failed++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	publish_done(ctx, 1);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	publish_done(ctx, 0);
}

int bench_conn_publish(struct bench_conn *c, const char *topic, const void *data, size_t len)
{
	MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;

	pthread_mutex_lock(&c->mu);
	while (c->inflight >= c->window)
		pthread_cond_wait(&c->cv, &c->mu);
	c->inflight++;
	pthread_mutex_unlock(&c->mu);
	r.onSuccess = on_pub_ok;
	r.onFailure = on_pub_fail;
	r.context = c;
	int rc = MQTTAsync_send(c->client, topic, (int)len, data, 1, 0, &r);
	if (rc != MQTTASYNC_SUCCESS) {
		publish_done(c, 0);
		fprintf(stderr, "komposter: bench: publish on %s refused (Paho %d)\n", topic, rc);
		return -1;
	}
	return 0;
}

int bench_conn_drain(struct bench_conn *c, int timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (c->inflight > 0 && rc == 0)
		rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
	int left = c->inflight, failed = c->failed;
	pthread_mutex_unlock(&c->mu);
	return left == 0 && failed == 0 ? 0 : -1;
}

static void *keep_awake(void *arg)
{
	struct bench_conn *c = arg;
	static const char nothing[1];
	struct timespec until;

	pthread_mutex_lock(&c->mu);
	while (!c->awake_quit) {
		pthread_mutex_unlock(&c->mu);
		(void)MQTTAsync_send(c->client, c->awake_topic, 0, nothing, 0, 0, NULL);
		pthread_mutex_lock(&c->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)KP_PAHO_AWAKE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!c->awake_quit && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int bench_conn_keep_awake(struct bench_conn *c, const char *client_id)
{
	MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;

	if (kp_paho_awake_topic(c->awake_topic, client_id) != 0) {
		fprintf(stderr, "komposter: bench: client id %s names no awake topic\n", client_id);
		return -1;
	}
	c->awake_len = strlen(c->awake_topic); /* before Paho's thread can see one */
	r.onSuccess = on_ok;
	r.onFailure = on_fail;
	r.context = c;
	set_state(c, 0);
	if (MQTTAsync_subscribe(c->client, c->awake_topic, 0, &r) != MQTTASYNC_SUCCESS ||
	    wait_state(c, "subscribe") != 0) {
		fprintf(stderr, "komposter: bench: cannot subscribe to %s\n", c->awake_topic);
		return -1;
	}
	if (pthread_create(&c->awake_thread, NULL, keep_awake, c) != 0) {
		fprintf(stderr, "komposter: bench: cannot start the keep-awake thread\n");
		return -1;
	}
	c->awake_started = 1;
	return 0;
}

void bench_conn_close(struct bench_conn *c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	if (!c->client)
		return;
	if (c->awake_started) {
		pthread_mutex_lock(&c->mu);
		c->awake_quit = 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->awake_thread, NULL);
		c->awake_started = 0;
	}
	d.timeout = 1000;
	if (MQTTAsync_isConnected(c->client))
		MQTTAsync_disconnect(c->client, &d);
	for (int i = 0; i < 100 && MQTTAsync_isConnected(c->client); i++) {
		struct timespec ts = { 0, 10000000L };
		nanosleep(&ts, NULL);
	}
	MQTTAsync_destroy(&c->client);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}

struct pub_job {
	struct bench_conn *conn;
	const struct bench_stream *s;
	size_t first, last, step;
	double rate;
	int64_t t0;
	struct bench_cover *cover;
	int rc;
};

static void pace(const struct pub_job *j, size_t i)
{
	int64_t due = j->t0 + (int64_t)((double)(i - j->first) * 1e9 / j->rate);
	int64_t now = bench_now_ns();
	if (due > now) {
		struct timespec ts = { (due - now) / 1000000000, (due - now) % 1000000000 };
		nanosleep(&ts, NULL);
	}
}

static void *pub_thread(void *arg)
{
	struct pub_job *j = arg;
	const struct bench_stream *s = j->s;

	for (size_t i = j->first; i < j->last; i += j->step) {
		uint32_t d = bench_stream_device(s, i);
		if (j->rate > 0)
			pace(j, i);
		if (j->cover)
			bench_cover_published(j->cover, d, i / s->devices + 1, bench_now_ns());
		if (bench_conn_publish(j->conn, s->dev[d].topic, bench_stream_frame(s, i), s->frame_size) != 0) {
			j->rc = -1;
			return NULL;
		}
	}
	return NULL;
}

int bench_publish(struct bench_conn *conns, int n, const struct bench_stream *s, size_t first,
                  size_t last, double rate, struct bench_cover *cover)
{
	struct pub_job jobs[64];
	pthread_t th[64];
	int started = 0, rc = 0;
	int64_t t0 = bench_now_ns();

	if (n > 64)
		n = 64;
	for (int p = 0; p < n; p++) {
		jobs[p] = (struct pub_job){ &conns[p], s, first + (size_t)p, last, (size_t)n, rate, t0, cover, 0 };
		if (pthread_create(&th[p], NULL, pub_thread, &jobs[p]) != 0) {
			fprintf(stderr, "komposter: bench: cannot start a publisher thread\n");
			rc = -1;
			break;
		}
		started++;
	}
	for (int p = 0; p < started; p++) {
		pthread_join(th[p], NULL);
		if (jobs[p].rc != 0)
			rc = -1;
	}
	return rc;
}
