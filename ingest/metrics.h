/*
 * metrics.h — the daemon's counters, gauges and histograms, updated with
 * relaxed atomics from any thread, and rendered in the Prometheus text
 * exposition format for GET /metrics. One instance, owned by komposterd.c.
 */
#ifndef KP_METRICS_H
#define KP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"

#define KP_HIST_BUCKETS 14

struct kp_histogram {
	const double *bounds; /* KP_HIST_BUCKETS upper bounds; +Inf is implied */
	atomic_uint_fast64_t buckets[KP_HIST_BUCKETS + 1];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_micro; /* sum × 1e6, so seconds keep precision */
};

struct kp_metrics {
	atomic_uint_fast64_t frames_in;
	atomic_uint_fast64_t frames_stored;
	atomic_uint_fast64_t frames_duplicate;
	atomic_uint_fast64_t taps_stored;
	atomic_uint_fast64_t counts_stored; /* count records of COUNTS frames */
	atomic_uint_fast64_t rejected[KP_NACK_REASON_MAX + 1]; /* by NACK reason; [0] bad topic */
	atomic_uint_fast64_t acks_sent;
	atomic_uint_fast64_t nacks_sent;
	atomic_uint_fast64_t replies_failed;
	atomic_uint_fast64_t replies_dropped;
	atomic_uint_fast64_t storage_full;
	atomic_uint_fast64_t storage_errors;
	atomic_uint_fast64_t map_grows;
	atomic_uint_fast64_t map_size_bytes;
	atomic_uint_fast64_t mqtt_connected;
	atomic_uint_fast64_t mqtt_reconnects;
	atomic_uint_fast64_t http_requests;
	atomic_uint_fast64_t http_evicted; /* waiting connections cut off for a new one */
	atomic_uint_fast64_t http_refused; /* answered 503: every slot taken */
	atomic_uint_fast64_t http_refused_unanswered;
	atomic_int_fast64_t ring_depth;
	atomic_int_fast64_t writer_queue_depth;
	atomic_int_fast64_t reply_queue_depth;
	struct kp_histogram group_frames;   /* frames per commit group */
	struct kp_histogram commit_seconds; /* st_commit_group latency */
};

void kp_metrics_init(struct kp_metrics *m);
void kp_histogram_observe(struct kp_histogram *h, double value);

/* Renders every metric into a malloc'd NUL-terminated buffer (*len bytes);
 * the caller frees it. Returns NULL when out of memory. */
char *kp_metrics_render(struct kp_metrics *m, size_t *len);

#endif
