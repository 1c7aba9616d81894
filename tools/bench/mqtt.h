/*
 * mqtt.h — the benchmark's MQTT connections (Paho MQTTAsync): connect and
 * subscribe synchronously, publish at QoS 1 with a bounded window of
 * unacknowledged publishes per connection (Paho walks its pending list on
 * every send and PUBACK, so what is handed to it stays small), and a
 * publisher set that sends a range of the stream over several connections,
 * as fast as it can or paced at a given rate.
 *
 * Functions return 0, or -1 after one line on stderr.
 */
#ifndef KP_BENCH_MQTT_H
#define KP_BENCH_MQTT_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/paho_awake.h"
#include "tools/bench/cover.h"
#include "tools/bench/stream.h"

/* Called on Paho's thread for each message received; the payload is
 * borrowed for the call. Returns 1 (taken), or 0 (not now: Paho keeps the
 * message unacknowledged and offers it again later, so the broker's
 * in-flight limit holds the sender back). */
typedef int (*bench_msg_fn)(void *ctx, const char *topic, size_t topic_len, const uint8_t *payload,
                             size_t len);

struct bench_conn {
	MQTTAsync client;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	int window;
	int state;   /* 0 waiting, 1 done, -1 failed (connect, subscribe) */
	int failed;  /* publishes refused */
	bench_msg_fn on_msg;
	void *ctx;
	char uri[128]; /* the broker's, for Nagle off once connected */
	/* bench_conn_keep_awake: the topic, and the thread that publishes to it */
	char awake_topic[KP_PAHO_AWAKE_TOPIC_MAX];
	size_t awake_len;
	pthread_t awake_thread;
	int awake_started, awake_quit; /* awake_quit under mu */
};

int64_t bench_now_ns(void); /* CLOCK_MONOTONIC */

int bench_conn_open(struct bench_conn *c, const char *uri, const char *client_id, int window,
                    bench_msg_fn on_msg, void *ctx);
/* The same in two steps, so that several connections are made at once
 * (Paho takes up to a second to see each new socket). */
int bench_conn_start(struct bench_conn *c, const char *uri, const char *client_id, int window,
                     bench_msg_fn on_msg, void *ctx);
int bench_conn_wait(struct bench_conn *c);
int bench_conn_subscribe(struct bench_conn *c, const char *filter);
int bench_conn_unsubscribe(struct bench_conn *c, const char *filter);
/* Keeps Paho's receive thread in this process out of its idle sleep
 * (ingest/paho_awake.h), as komposterd does: subscribes c to its own awake
 * topic and publishes to it every KP_PAHO_AWAKE_MS until bench_conn_close.
 * One connection per process is enough: the thread polls every socket. */
int bench_conn_keep_awake(struct bench_conn *c, const char *client_id);
/* Waits while the window is full, then hands one QoS 1 publish to Paho. */
int bench_conn_publish(struct bench_conn *c, const char *topic, const void *data, size_t len);
/* Waits until no publish of c is unacknowledged (or timeout_ms passed: -1). */
int bench_conn_drain(struct bench_conn *c, int timeout_ms);
void bench_conn_close(struct bench_conn *c);

/* Publishes frames [first, last) of s over conns[0..n) (frame i on
 * connection i % n), paced at rate frames/s when rate > 0. With cover,
 * each frame's publish time is recorded there. */
int bench_publish(struct bench_conn *conns, int n, const struct bench_stream *s, size_t first,
                  size_t last, double rate, struct bench_cover *cover);

#endif
