/*
 * report.h — the benchmark's figures, their medians over runs, and how they
 * are printed: a text table for people (frames/s and taps/s of each
 * ceiling and ingester, komposterd's ratio to each ceiling, CPU per frame
 * and peak RssAnon beside the ideal ingester's, latency, the frames each
 * ingester was sent again for want of an ACK, the disk's sync floor, one line saying what bound
 * the run) or one JSON object (cJSON) holding every figure.
 */
#ifndef KP_BENCH_REPORT_H
#define KP_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

enum bench_fig {
	BF_BROKER_FPS,
	BF_VERIFY_1,
	BF_VERIFY_W,
	BF_IDEAL_FPS,
	BF_IDEAL_CPU_US,
	BF_IDEAL_RSS_MIB,
	BF_IDEAL_P50,
	BF_IDEAL_P99,
	BF_IDEAL_P999,
	BF_KD_FPS,
	BF_KD_CPU_US,
	BF_KD_RSS_MIB,
	BF_KD_P50,
	BF_KD_P99,
	BF_KD_P999,
	BF_PY_FPS,
	BF_PY_CPU_US,
	BF_PY_RSS_MIB,
	BF_IDEAL_RESENT, /* frames re-sent after no ACK within resend_after_ms */
	BF_KD_RESENT,
	BF_PY_RESENT,
	BF_SYNC_P50, /* the disk's sync floor: one commit's two syncs, ms */
	BF_SYNC_P99,
	BF_SYNC_P999,
	BF_N
};

struct bench_figures {
	double v[BF_N];
};

struct bench_params {
	uint32_t devices, frames;
	uint32_t extra;     /* latency frames per device; 0: latency not measured */
	uint16_t taps;
	int publishers, window, workers, runs;
	int nice;            /* komposterd's latency_nice and the ideal's workers'; 0: not set */
	int resend_after_ms; /* a stall this long re-sends the uncovered frames */
	uint64_t latency_rate; /* frames/s of every latency phase; 0: half of each ingester's own rate */
	int sync_commits;    /* commits timed for the disk's sync floor */
	uint64_t python_frames; /* frames the Python ingester was measured on; 0: not run */
	uint64_t sent;      /* frames komposterd was sent (stream and probe), last run */
	uint64_t stored;    /* frames its database holds after the run */
	uint64_t problems;  /* st_check's */
	uint64_t covered;   /* frames covered by verified ACKs */
};

/* One pass of the benchmark: one stream (its taps per frame), every
 * ingester measured on it. */
struct bench_pass {
	struct bench_params p;
	struct bench_figures f; /* medians over the runs */
};

/* out->v[f] = the median of runs[0..n).v[f] for every figure. */
void bench_report_median(const struct bench_figures *runs, int n, struct bench_figures *out);
/* "komposterd at 0.82 of the ideal ingester" and the like. */
void bench_report_bound(const struct bench_figures *f, char *buf, size_t cap);
int bench_report_text(FILE *out, const struct bench_params *p, const struct bench_figures *f);
int bench_report_json(FILE *out, const struct bench_params *p, const struct bench_figures *f);
/* Every pass: text one table after the other; JSON the first pass's
 * object with the second (the single-tap pass) as its "single_tap". */
int bench_report_passes(FILE *out, const struct bench_pass *passes, int n, int json);

#endif
