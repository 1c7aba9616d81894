/*
 * ceilings.c — broker, verify and disk sync ceilings.
 */
#define _GNU_SOURCE
#include "tools/bench/ceilings.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/cover.h"

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

/* Data pages rotate over this many offsets after the two meta pages, as
 * LMDB's dirty pages land in different places of a growing file. */
#define SYNC_DATA_PAGES 64

static int write_page(int fd, const uint8_t *page, off_t at)
{
	return pwrite(fd, page, BENCH_SYNC_PAGE, at) == BENCH_SYNC_PAGE ? 0 : -1;
}

/* The whole file written and synced once, so that no timed fdatasync has
 * to write the file's size: the floor, not a growing file's cost. */
static int sync_prefill(int fd, const uint8_t *page)
{
	for (off_t i = 0; i < 2 + SYNC_DATA_PAGES; i++)
		if (write_page(fd, page, i * BENCH_SYNC_PAGE) != 0)
			return -1;
	return fsync(fd);
}

/* One commit's writes and syncs: a data page, then meta page m of two. */
static int sync_commit(int fd, const uint8_t *page, int i)
{
	off_t data = (off_t)(2 + i % SYNC_DATA_PAGES) * BENCH_SYNC_PAGE, meta = (off_t)(i % 2) * BENCH_SYNC_PAGE;

	if (write_page(fd, page, data) != 0 || fdatasync(fd) != 0 || write_page(fd, page, meta) != 0 ||
	    fdatasync(fd) != 0)
		return -1;
	return 0;
}

static int time_commits(int fd, int commits, int64_t *ns)
{
	static uint8_t page[BENCH_SYNC_PAGE];

	memset(page, 0x6b, sizeof(page));
	if (sync_prefill(fd, page) != 0)
		return -1;
	for (int i = 0; i < commits; i++) {
		int64_t t0 = bench_now_ns();
		if (sync_commit(fd, page, i) != 0)
			return -1;
		ns[i] = bench_now_ns() - t0;
	}
	return 0;
}

static int sync_fail(const char *path)
{
	fprintf(stderr, "komposter: bench: sync floor in %s: %s\n", path, strerror(errno));
	return -1;
}

int bench_ceiling_sync(const char *dir, int commits, struct bench_sync_floor *out)
{
	char path[4096];
	size_t n = commits > 0 ? (size_t)commits : 1;
	int64_t *ns = calloc(n, sizeof(*ns));

	snprintf(path, sizeof(path), "%s/sync-floor", dir);
	if (!ns)
		return sync_fail(path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(ns);
		return sync_fail(path);
	}
	int rc = time_commits(fd, (int)n, ns) == 0 ? 0 : sync_fail(path);
	if (close(fd) != 0 && rc == 0)
		rc = sync_fail(path);
	if (unlink(path) != 0 && rc == 0)
		rc = sync_fail(path);
	if (rc == 0) {
		out->p50_ms = (double)bench_percentile_ns(ns, n, 0.50) / 1e6;
		out->p99_ms = (double)bench_percentile_ns(ns, n, 0.99) / 1e6;
		out->p999_ms = (double)bench_percentile_ns(ns, n, 0.999) / 1e6;
	}
	free(ns);
	return rc;
}
