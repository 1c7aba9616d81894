/*
 * cover.h — which frames of a stream the ACKs have covered, and how long
 * each waited. An ACK for (device, batch_seq) with watermark aux covers
 * its own frame and every frame of that device with batch_seq <= aux
 * (PROTOCOL.md); a frame counts once, at its first covering ACK.
 *
 * Promises: bench_cover_ack never counts a frame twice, ignores seqs beyond
 * the stream, and records a latency (cover time - publish time) for each
 * newly covered frame whose publish time was set. One thread applies ACKs
 * (the receiver's); publishers only set publish times. No allocation after
 * bench_cover_init.
 */
#ifndef KP_BENCH_COVER_H
#define KP_BENCH_COVER_H

#include <stddef.h>
#include <stdint.h>

struct bench_cover {
	uint32_t devices;
	uint32_t per_device;  /* frames of each device: batch_seq 1..per_device */
	uint64_t *through;    /* per device: every seq <= through is covered */
	uint8_t *covered;     /* [d * per_device + seq - 1] */
	int64_t *pub_ns;      /* per frame index (seq - 1) * devices + d; 0: not timed */
	int64_t *lat_ns;      /* latencies of timed frames, lat_n of them */
	size_t lat_n;
	size_t total;         /* frames covered so far */
};

int bench_cover_init(struct bench_cover *c, uint32_t devices, uint32_t per_device);
void bench_cover_free(struct bench_cover *c);
/* Forgets every coverage and latency (a new run over the same stream). */
void bench_cover_reset(struct bench_cover *c);
/* The frame of device d with batch_seq seq was published at now_ns. */
void bench_cover_published(struct bench_cover *c, uint32_t d, uint64_t seq, int64_t now_ns);
/* Applies one ACK received at now_ns; returns the frames it newly covered. */
size_t bench_cover_ack(struct bench_cover *c, uint32_t d, uint64_t seq, uint64_t watermark, int64_t now_ns);
/* The frames among indexes [*from, upto) (the stream's order: index i is
 * device i % devices, batch_seq i / devices + 1) that no ACK covered, at
 * most max of them, as device index and batch_seq; returns how many it
 * wrote and moves *from past the last one it looked at, so that repeated
 * calls walk the whole range (0: none left). */
size_t bench_cover_missing(const struct bench_cover *c, size_t *from, size_t upto, size_t max, uint32_t *dev,
                           uint64_t *seq);
/* Percentile p (0..1) of the recorded latencies in ns (sorts them); 0 when none. */
int64_t bench_cover_percentile(struct bench_cover *c, double p);
/* Percentile p (0..1) of v[0..n) (sorts it in place); 0 when n is 0. */
int64_t bench_percentile_ns(int64_t *v, size_t n, double p);

#endif
