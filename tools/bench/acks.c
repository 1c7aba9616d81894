/*
 * acks.c — ACK verification, coverage and the phases of an ingester run.
 */
#define _GNU_SOURCE
#include "tools/bench/acks.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/topic.h"
#include "tools/bench/proc.h"

int bench_acks_init(struct bench_acks *a, const struct bench_stream *s, const uint8_t server_pk[KP_PUBLIC_KEY_SIZE])
{
	memset(a, 0, sizeof(*a));
	a->s = s;
	memcpy(a->server_pk, server_pk, KP_PUBLIC_KEY_SIZE);
	pthread_mutex_init(&a->mu, NULL);
	return bench_cover_init(&a->cover, s->devices, s->frames + s->extra);
}

void bench_acks_free(struct bench_acks *a)
{
	bench_cover_free(&a->cover);
	pthread_mutex_destroy(&a->mu);
}

int bench_acks_on_msg(void *ctx, const char *topic, size_t tl, const uint8_t *p, size_t len)
{
	struct bench_acks *a = ctx;
	struct kp_header h;
	uint64_t dev;
	enum kp_stream st;
	int64_t now = bench_now_ns();

	pthread_mutex_lock(&a->mu);
	if (kp_topic_parse(topic, tl, &dev, &st) != KP_OK || kp_frame_decode(p, len, &h) != KP_OK ||
	    h.device_id != dev || kp_frame_verify(p, len, a->server_pk) != KP_OK) {
		a->bad++;
	} else if (h.type == KP_TYPE_NACK) {
		a->nacks++;
		a->last_nack_reason = h.aux;
	} else if (h.type == KP_TYPE_ACK) {
		uint32_t d = bench_stream_find(a->s, h.device_id);
		a->acks++;
		if (d == a->s->devices)
			a->probe_acked = 1;
		else if (d != UINT32_MAX)
			bench_cover_ack(&a->cover, d, h.batch_seq, h.aux, now);
	}
	pthread_mutex_unlock(&a->mu);
	return 1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Reads the counters under the receiver's lock. */
static void snapshot(struct bench_acks *a, size_t *covered, uint64_t *fails, uint64_t *probe)
{
	pthread_mutex_lock(&a->mu);
	*covered = a->cover.total;
	*fails = a->nacks + a->bad;
	*probe = a->probe_acked;
	pthread_mutex_unlock(&a->mu);
}

static int check_fails(struct bench_acks *a, uint64_t fails)
{
	if (fails == 0)
		return 0;
	fprintf(stderr, "komposter: bench: %llu NACKs (last reason: %s) and %llu ACKs failing the server signature\n",
	        (unsigned long long)a->nacks, kp_nack_reason_name(a->last_nack_reason), (unsigned long long)a->bad);
	return -1;
}

static int probe(struct bench_acks *a, struct bench_conn *pub, int timeout_s)
{
	const struct bench_stream *s = a->s;
	size_t covered;
	uint64_t fails, acked = 0;

	for (int waited = 0; waited < timeout_s * 1000; waited += 200) {
		if (bench_conn_publish(pub, s->dev[s->devices].topic, bench_stream_frame(s, bench_stream_total(s)),
		                       s->frame_size) != 0)
			return -1;
		for (int i = 0; i < 20 && !acked; i++) {
			sleep_ms(10);
			snapshot(a, &covered, &fails, &acked);
		}
		if (acked)
			return check_fails(a, fails);
	}
	fprintf(stderr, "komposter: bench: the ingester did not answer the probe frame within %d s\n", timeout_s);
	return -1;
}

#define MISSING_BATCH 64 /* uncovered frames looked up per lock of the receiver */

/* One measured phase: frames [first, last) of the stream. */
struct phase {
	const char *name;
	size_t first, last;
};

/* Names the first frames of the phase that no ACK covered, so that a stall
 * can be followed into the ingester's log and database. */
static void report_missing(struct bench_acks *a, const struct phase *ph)
{
	uint32_t dev[8];
	uint64_t seq[8];
	size_t from = ph->first;

	pthread_mutex_lock(&a->mu);
	size_t n = bench_cover_missing(&a->cover, &from, ph->last, 8, dev, seq);
	pthread_mutex_unlock(&a->mu);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "komposter: bench: not covered: device %llu batch_seq %llu\n",
		        (unsigned long long)a->s->dev[dev[i]].id, (unsigned long long)seq[i]);
}

/* Publishes again every frame of the phase that no ACK has covered yet, each
 * on the connection that first sent it; adds their count to *resent. A frame
 * covered meanwhile is sent once more: the ingester answers a duplicate. */
static int resend_uncovered(struct bench_acks *a, struct bench_conn *pubs, int n, const struct phase *ph,
                            uint64_t *resent)
{
	const struct bench_stream *s = a->s;
	uint32_t dev[MISSING_BATCH];
	uint64_t seq[MISSING_BATCH];
	size_t from = ph->first, k;

	do {
		pthread_mutex_lock(&a->mu);
		k = bench_cover_missing(&a->cover, &from, ph->last, MISSING_BATCH, dev, seq);
		pthread_mutex_unlock(&a->mu);
		for (size_t i = 0; i < k; i++) {
			size_t f = bench_stream_index(s, dev[i], seq[i]);
			if (bench_conn_publish(&pubs[f % (size_t)n], s->dev[dev[i]].topic, bench_stream_frame(s, f),
			                       s->frame_size) != 0)
				return -1;
		}
		*resent += k;
	} while (k > 0);
	return 0;
}

/* Waits until the phase's frames are all covered, re-sending the uncovered
 * ones after each stall of resend_after_ms; a stall of timeout_s fails. */
static int wait_covered(struct bench_acks *a, struct bench_conn *pubs, int n, const struct phase *ph,
                        const struct bench_ingest_opts *o, uint64_t *resent)
{
	size_t covered, last = 0;
	uint64_t fails, probe_ok;
	int64_t progress_at = bench_now_ns(), resent_at = progress_at;
	const int64_t resend_ns = (int64_t)o->resend_after_ms * 1000000;

	for (;;) {
		snapshot(a, &covered, &fails, &probe_ok);
		if (check_fails(a, fails) != 0)
			return -1;
		if (covered >= ph->last)
			return 0;
		int64_t now = bench_now_ns();
		if (covered != last) {
			last = covered;
			progress_at = resent_at = now;
		} else if (now - progress_at > (int64_t)o->timeout_s * 1000000000) {
			fprintf(stderr, "komposter: bench: timeout in the %s phase: %zu of %zu frames covered, none for %d s\n",
			        ph->name, covered, ph->last, o->timeout_s);
			report_missing(a, ph);
			return -1;
		} else if (now - resent_at > resend_ns) {
			if (resend_uncovered(a, pubs, n, ph, resent) != 0)
				return -1;
			resent_at = bench_now_ns();
		}
		sleep_ms(1);
	}
}

static int drain(struct bench_conn *pubs, int n)
{
	for (int p = 0; p < n; p++)
		if (bench_conn_drain(&pubs[p], 30000) != 0) {
			fprintf(stderr, "komposter: bench: the broker did not acknowledge every publish\n");
			return -1;
		}
	return 0;
}

static int latency_phase(struct bench_acks *a, struct bench_conn *pubs, int n, const struct bench_ingest_opts *o,
                         struct bench_ingest_result *r)
{
	const struct bench_stream *s = a->s;
	struct phase ph = { "latency", (size_t)s->devices * s->frames, bench_stream_total(s) };

	if (ph.last == ph.first || r->fps <= 0)
		return 0;
	double rate = o->latency_rate > 0 ? o->latency_rate : r->fps / 2;

	if (bench_publish(pubs, n, s, ph.first, ph.last, rate, &a->cover) != 0 ||
	    wait_covered(a, pubs, n, &ph, o, &r->resent) != 0 || drain(pubs, n) != 0)
		return -1;
	pthread_mutex_lock(&a->mu);
	r->p50_ms = (double)bench_cover_percentile(&a->cover, 0.50) / 1e6;
	r->p99_ms = (double)bench_cover_percentile(&a->cover, 0.99) / 1e6;
	r->p999_ms = (double)bench_cover_percentile(&a->cover, 0.999) / 1e6;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

int bench_ingest_measure(struct bench_acks *a, struct bench_conn *pubs, int n, pid_t pid,
                         const struct bench_ingest_opts *o, struct bench_ingest_result *r)
{
	const struct bench_stream *s = a->s;
	struct phase ph = { "throughput", 0, (size_t)s->devices * s->frames };

	if (o->frames > 0 && o->frames < ph.last)
		ph.last = o->frames;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&a->mu);
	bench_cover_reset(&a->cover);
	a->acks = a->nacks = a->bad = a->probe_acked = 0;
	pthread_mutex_unlock(&a->mu);
	if (probe(a, &pubs[0], o->timeout_s) != 0 || drain(pubs, n) != 0)
		return -1;
	int64_t cpu0 = bench_cpu_ns(pid), t0 = bench_now_ns();
	if (bench_publish(pubs, n, s, ph.first, ph.last, 0, NULL) != 0 || wait_covered(a, pubs, n, &ph, o, &r->resent) != 0)
		return -1;
	int64_t t1 = bench_now_ns(), cpu1 = bench_cpu_ns(pid);
	if (drain(pubs, n) != 0)
		return -1;
	r->fps = (double)ph.last / ((double)(t1 - t0) / 1e9);
	r->cpu_us_per_frame = cpu0 >= 0 && cpu1 >= 0 ? (double)(cpu1 - cpu0) / 1e3 / (double)ph.last : -1;
	if (o->latency && latency_phase(a, pubs, n, o, r) != 0)
		return -1;
	r->acks = a->acks;
	return 0;
}
