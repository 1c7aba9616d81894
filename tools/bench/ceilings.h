/*
 * ceilings.h — the ceilings an ingester is compared with, each measured
 * alone: the broker's (the same publishers feeding a subscriber that only
 * counts, on its own connection), Ed25519 verification's (the stream's
 * frames verified on 1 thread and on W threads, no broker), and the disk's
 * sync floor (what one LMDB commit costs at least where komposterd's
 * database lives: a page written and synced, then the meta page written
 * and synced), which bounds komposterd's frame -> ACK latency from below.
 *
 * Functions return 0, or -1 after one line on stderr.
 */
#ifndef KP_BENCH_CEILINGS_H
#define KP_BENCH_CEILINGS_H

#include "tools/bench/mqtt.h"
#include "tools/bench/stream.h"

/* The counting subscriber: connected once (bench_conn_wait on its conn),
 * subscribed only during the broker ceiling. */
struct bench_counter {
	struct bench_conn conn;
	size_t got;
};
int bench_counter_start(struct bench_counter *k, const char *uri);

/* Frames/s from the first publish until the counter has every frame of
 * the throughput phase. */
int bench_ceiling_broker(struct bench_counter *k, struct bench_conn *pubs, int n, const struct bench_stream *s,
                         int timeout_s, double *fps);
/* Verifications/s of up to `max` frames on `threads` threads. */
int bench_ceiling_verify(const struct bench_stream *s, int threads, size_t max, double *per_s);

#define BENCH_SYNC_COMMITS 200 /* commits timed per sync floor */
#define BENCH_SYNC_PAGE 4096   /* bytes of each write: one LMDB page */

struct bench_sync_floor {
	double p50_ms, p99_ms, p999_ms;
};
/* In a file made in dir (its size written and synced first, then removed),
 * `commits` times: pwrite one page at a data offset, fdatasync, pwrite one
 * page at a meta offset, fdatasync; percentiles of each commit's time. */
int bench_ceiling_sync(const char *dir, int commits, struct bench_sync_floor *out);

#endif
