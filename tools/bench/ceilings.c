/*
 * ceilings.c — broker and verify ceilings.
 */
#define _GNU_SOURCE
#include "tools/bench/ceilings.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int count_msg(void *ctx, const char *topic, size_t tl, const uint8_t *p, size_t len)
{
	(void)topic;
	(void)tl;
	(void)p;
	(void)len;
	__atomic_add_fetch((size_t *)ctx, 1, __ATOMIC_RELAXED);
	return 1;
}

int bench_counter_start(struct bench_counter *k, const char *uri)
{
	char id[48];

	k->got = 0;
	snprintf(id, sizeof(id), "kp-bench-count-%d", (int)getpid());
	return bench_conn_start(&k->conn, uri, id, 1, count_msg, &k->got);
}

/* Waits until the counter has target frames; a stall of timeout_s fails. */
static int wait_count(size_t *got, size_t target, int timeout_s, int64_t t0, double *fps)
{
	int64_t last_change = bench_now_ns();
	size_t seen = 0;

	for (;;) {
		size_t now_got = __atomic_load_n(got, __ATOMIC_RELAXED);
		if (now_got >= target) {
			*fps = (double)target / ((double)(bench_now_ns() - t0) / 1e9);
			return 0;
		}
		if (now_got != seen) {
			seen = now_got;
			last_change = bench_now_ns();
		} else if (bench_now_ns() - last_change > (int64_t)timeout_s * 1000000000) {
			fprintf(stderr, "komposter: bench: broker ceiling: %zu of %zu frames arrived; timeout\n", now_got,
			        target);
			return -1;
		}
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
}

int bench_ceiling_broker(struct bench_counter *k, struct bench_conn *pubs, int n, const struct bench_stream *s,
                         int timeout_s, double *fps)
{
	size_t target = (size_t)s->devices * s->frames;
	const char *filter = kp_topic_filter(KP_STREAM_TAPS);

	__atomic_store_n(&k->got, 0, __ATOMIC_RELAXED);
	if (bench_conn_subscribe(&k->conn, filter) != 0)
		return -1;
	int64_t t0 = bench_now_ns();
	int rc = bench_publish(pubs, n, s, 0, target, 0, NULL);
	if (rc == 0)
		rc = wait_count(&k->got, target, timeout_s, t0, fps);
	for (int p = 0; p < n; p++)
		if (bench_conn_drain(&pubs[p], 30000) != 0)
			rc = -1;
	/* Counting no more: the other phases must not pay for it. */
	if (bench_conn_unsubscribe(&k->conn, filter) != 0)
		rc = -1;
	return rc;
}

struct verify_job {
	const struct bench_stream *s;
	size_t first, last, step;
	int bad;
};

static void *verify_thread(void *arg)
{
	struct verify_job *j = arg;
	const struct bench_stream *s = j->s;

	for (size_t i = j->first; i < j->last; i += j->step)
		if (kp_frame_verify(bench_stream_frame(s, i), s->frame_size, s->dev[bench_stream_device(s, i)].pk) != KP_OK)
			j->bad++;
	return NULL;
}

int bench_ceiling_verify(const struct bench_stream *s, int threads, size_t max, double *per_s)
{
	struct verify_job jobs[64];
	pthread_t th[64];
	size_t n = (size_t)s->devices * s->frames;
	int started = 0, bad = 0;

	if (n > max)
		n = max;
	if (threads > 64)
		threads = 64;
	int64_t t0 = bench_now_ns();
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct verify_job){ s, (size_t)t, n, (size_t)threads, 0 };
		if (pthread_create(&th[t], NULL, verify_thread, &jobs[t]) != 0)
			break;
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(th[t], NULL);
		bad += jobs[t].bad;
	}
	if (started != threads || bad) {
		fprintf(stderr, "komposter: bench: verify ceiling: %s\n",
		        bad ? "a pre-signed frame failed to verify" : "cannot start its threads");
		return -1;
	}
	*per_s = (double)n / ((double)(bench_now_ns() - t0) / 1e9);
	return 0;
}
