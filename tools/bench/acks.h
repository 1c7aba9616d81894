/*
 * acks.h — the generator's ACK receiver and one measured ingester run.
 *
 * Every ACK received is decoded and its server signature verified before
 * it counts; a verified ACK applies coverage (cover.h); NACKs and ACKs that
 * fail the signature are counted and fail the run. bench_ingest_measure
 * runs the phases every ingester (the ideal one, komposterd) goes through:
 * the probe until answered, the throughput phase at full speed until its
 * last frame is covered, then the latency phase paced at half that rate
 * (or at the rate the caller fixed).
 * Like a device, the generator re-sends what got no ACK: once a phase's
 * frames are all published and coverage has not moved for resend_after_ms,
 * every frame of the phase still uncovered is published again (an
 * ingester may drop a reply when its queue is full and answer the
 * re-sent frame instead), and again after each further such stall.
 */
#ifndef KP_BENCH_ACKS_H
#define KP_BENCH_ACKS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "tools/bench/cover.h"
#include "tools/bench/mqtt.h"
#include "tools/bench/stream.h"

struct bench_acks {
	const struct bench_stream *s;
	uint8_t server_pk[KP_PUBLIC_KEY_SIZE];
	struct bench_cover cover;
	pthread_mutex_t mu;
	uint64_t acks, nacks, bad, probe_acked;
	uint64_t last_nack_reason;
};

int bench_acks_init(struct bench_acks *a, const struct bench_stream *s, const uint8_t server_pk[KP_PUBLIC_KEY_SIZE]);
void bench_acks_free(struct bench_acks *a);
/* A bench_msg_fn for the receiver's connection (ctx: the bench_acks). */
int bench_acks_on_msg(void *ctx, const char *topic, size_t tl, const uint8_t *p, size_t len);

struct bench_ingest_opts {
	size_t frames;       /* of the throughput phase (0 or more than it holds: all of it) */
	int latency;         /* run the paced phase */
	int timeout_s;       /* a phase covering nothing more for this long fails */
	int resend_after_ms; /* a stall this long re-sends the phase's uncovered frames */
	double latency_rate; /* frames/s of the paced phase; 0: half of the throughput phase's */
};

struct bench_ingest_result {
	double fps;              /* frames/s of the throughput phase, its re-sends included */
	double cpu_us_per_frame; /* of pid over that phase */
	double p50_ms, p99_ms, p999_ms;
	uint64_t acks;
	uint64_t resent;         /* frames published again, both phases */
};

/* Measures one ingester (pid: its process, for CPU) fed over pubs[0..n).
 * Returns 0, or -1 after one line (a timeout says which phase and how many
 * frames were covered). */
int bench_ingest_measure(struct bench_acks *a, struct bench_conn *pubs, int n, pid_t pid,
                         const struct bench_ingest_opts *o, struct bench_ingest_result *r);

#endif
