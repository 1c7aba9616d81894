/*
 * report.c — medians, the bound line, text and JSON.
 */
#include "tools/bench/report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_report_median(const struct bench_figures *runs, int n, struct bench_figures *out)
{
	double col[64];

	if (n > 64)
		n = 64;
	for (int f = 0; f < BF_N; f++) {
		for (int r = 0; r < n; r++)
			col[r] = runs[r].v[f];
		qsort(col, (size_t)n, sizeof(col[0]), cmp_double);
		out->v[f] = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2;
	}
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The ceiling komposterd comes closest to bound it; when it is far from
 * all of them (below 0.8), its own CPU did. */
void bench_report_bound(const struct bench_figures *f, char *buf, size_t cap)
{
	static const struct {
		int fig;
		const char *name;
	} ceil[] = { { BF_BROKER_FPS, "the broker" }, { BF_VERIFY_W, "Ed25519 verification" },
		     { BF_IDEAL_FPS, "the ideal ingester" } };
	size_t best = 0;
	double best_r = 0;

	for (size_t i = 0; i < sizeof(ceil) / sizeof(ceil[0]); i++) {
		double r = ratio(f->v[BF_KD_FPS], f->v[ceil[i].fig]);
		if (r > best_r) {
			best_r = r;
			best = i;
		}
	}
	if (best_r >= 0.8)
		snprintf(buf, cap, "%s (komposterd at %.2f of it)", ceil[best].name, best_r);
	else
		snprintf(buf, cap, "komposterd CPU (%.0f us/frame; at most %.2f of any ceiling)",
		         f->v[BF_KD_CPU_US], best_r);
}

int bench_report_text(FILE *out, const struct bench_params *p, const struct bench_figures *f)
{
	const double *v = f->v;
	char bound[160];

	bench_report_bound(f, bound, sizeof(bound));
	fprintf(out, "komposter bench: %u devices x %u frames x %u taps, %d publishers (window %d), "
	             "%d workers, latency_nice %d, median of %d run%s\n",
	        p->devices, p->frames, p->taps, p->publishers, p->window, p->workers, p->nice, p->runs,
	        p->runs == 1 ? "" : "s");
	fprintf(out, "  %-20s %10s %12s %10s %12s %10s\n", "", "frames/s", "taps/s", "komposterd", "CPU us/frame",
	        "RssAnon");
	fprintf(out, "  %-20s %10.0f %12.0f %10.2f\n", "broker ceiling", v[BF_BROKER_FPS], v[BF_BROKER_FPS] * p->taps,
	        ratio(v[BF_KD_FPS], v[BF_BROKER_FPS]));
	fprintf(out, "  %-20s %10.0f %12.0f\n", "verify, 1 thread", v[BF_VERIFY_1], v[BF_VERIFY_1] * p->taps);
	fprintf(out, "  %-20s %10.0f %12.0f %10.2f   (%.2f x 1 thread)\n", "verify, W threads", v[BF_VERIFY_W],
	        v[BF_VERIFY_W] * p->taps, ratio(v[BF_KD_FPS], v[BF_VERIFY_W]), ratio(v[BF_VERIFY_W], v[BF_VERIFY_1]));
	fprintf(out, "  %-20s %10.0f %12.0f %10.2f %12.0f %7.1f MiB\n", "ideal ingester", v[BF_IDEAL_FPS],
	        v[BF_IDEAL_FPS] * p->taps, ratio(v[BF_KD_FPS], v[BF_IDEAL_FPS]), v[BF_IDEAL_CPU_US], v[BF_IDEAL_RSS_MIB]);
	if (p->python_frames)
		fprintf(out, "  %-20s %10.0f %12.0f %10.2f %12.0f %7.1f MiB   (%llu frames)\n", "python ingester",
		        v[BF_PY_FPS], v[BF_PY_FPS] * p->taps, ratio(v[BF_KD_FPS], v[BF_PY_FPS]), v[BF_PY_CPU_US],
		        v[BF_PY_RSS_MIB], (unsigned long long)p->python_frames);
	else
		fprintf(out, "  %-20s not measured (--no-python)\n", "python ingester");
	fprintf(out, "  %-20s %10.0f %12.0f %10s %12.0f %7.1f MiB\n", "komposterd", v[BF_KD_FPS], v[BF_KD_FPS] * p->taps,
	        "1.00", v[BF_KD_CPU_US], v[BF_KD_RSS_MIB]);
	char load[48];

	if (p->latency_rate > 0)
		snprintf(load, sizeof(load), "%llu frames/s", (unsigned long long)p->latency_rate);
	else
		snprintf(load, sizeof(load), "half rate");
	if (p->extra == 0)
		fprintf(out, "  latency, frame -> covering ACK at %s: not measured (--latency-frames 0)\n", load);
	else
		fprintf(out, "  latency, frame -> covering ACK at %s: ideal p50 %.1f ms, p99 %.1f ms, p999 %.1f ms; "
		             "komposterd p50 %.1f ms, p99 %.1f ms, p999 %.1f ms (p99 %.2f x, p999 %.2f x the ideal's)\n",
		        load, v[BF_IDEAL_P50], v[BF_IDEAL_P99], v[BF_IDEAL_P999], v[BF_KD_P50], v[BF_KD_P99], v[BF_KD_P999],
		        ratio(v[BF_KD_P99], v[BF_IDEAL_P99]), ratio(v[BF_KD_P999], v[BF_IDEAL_P999]));
	fprintf(out, "  disk: one commit's two syncs p50 %.2f ms, p99 %.2f ms, p999 %.2f ms (%d commits)\n",
	        v[BF_SYNC_P50], v[BF_SYNC_P99], v[BF_SYNC_P999], p->sync_commits);
	fprintf(out, "  stored %llu of %llu frames sent, check: %llu problems, %llu frames covered\n",
	        (unsigned long long)p->stored, (unsigned long long)p->sent, (unsigned long long)p->problems,
	        (unsigned long long)p->covered);
	fprintf(out, "  re-sent after no ACK within %d ms: ideal %.0f, ", p->resend_after_ms, v[BF_IDEAL_RESENT]);
	if (p->python_frames)
		fprintf(out, "python %.0f, ", v[BF_PY_RESENT]);
	fprintf(out, "komposterd %.0f frames\n", v[BF_KD_RESENT]);
	fprintf(out, "  bound: %s\n", bound);
	return ferror(out) ? -1 : 0;
}

/* An ingester's throughput, CPU and memory into a new object. */
static cJSON *rates(const double *v, int fps, int cpu, int rss, int resent, const struct bench_params *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "frames_per_s", v[fps]);
	cJSON_AddNumberToObject(o, "taps_per_s", v[fps] * p->taps);
	cJSON_AddNumberToObject(o, "cpu_us_per_frame", v[cpu]);
	cJSON_AddNumberToObject(o, "peak_rss_anon_mib", v[rss]);
	cJSON_AddNumberToObject(o, "resent", v[resent]);
	return o;
}

/* latency_ms is null when the run had no latency phase. */
static cJSON *ingester(const double *v, int fps, int cpu, int rss, int resent, int p50,
                       const struct bench_params *p)
{
	cJSON *o = rates(v, fps, cpu, rss, resent, p);
	cJSON *lat = p->extra ? cJSON_CreateObject() : cJSON_CreateNull();

	if (p->extra) {
		cJSON_AddNumberToObject(lat, "p50", v[p50]);
		cJSON_AddNumberToObject(lat, "p99", v[p50 + 1]);
		cJSON_AddNumberToObject(lat, "p999", v[p50 + 2]);
	}
	cJSON_AddItemToObject(o, "latency_ms", lat);
	return o;
}

/* The Python ingester's figures (no latency phase), or null when not run. */
static cJSON *python(const struct bench_params *p, const double *v)
{
	if (!p->python_frames)
		return cJSON_CreateNull();
	cJSON *o = rates(v, BF_PY_FPS, BF_PY_CPU_US, BF_PY_RSS_MIB, BF_PY_RESENT, p);
	cJSON_AddNumberToObject(o, "frames", (double)p->python_frames);
	return o;
}

static cJSON *build_json(const struct bench_params *p, const struct bench_figures *f)
{
	const double *v = f->v;
	cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateObject(), *vf = cJSON_CreateObject();
	cJSON *sf = cJSON_CreateObject();
	char bound[160];

	cJSON_AddNumberToObject(o, "devices", p->devices);
	cJSON_AddNumberToObject(o, "frames_per_device", p->frames);
	cJSON_AddNumberToObject(o, "latency_frames_per_device", p->extra);
	cJSON_AddNumberToObject(o, "taps_per_frame", p->taps);
	cJSON_AddNumberToObject(o, "publishers", p->publishers);
	cJSON_AddNumberToObject(o, "window", p->window);
	cJSON_AddNumberToObject(o, "workers", p->workers);
	cJSON_AddNumberToObject(o, "latency_nice", p->nice);
	cJSON_AddNumberToObject(o, "runs", p->runs);
	cJSON_AddNumberToObject(o, "resend_after_ms", p->resend_after_ms);
	if (p->latency_rate > 0) /* null: half of each ingester's own throughput */
		cJSON_AddNumberToObject(o, "latency_rate_per_s", (double)p->latency_rate);
	else
		cJSON_AddNullToObject(o, "latency_rate_per_s");
	cJSON_AddNumberToObject(b, "frames_per_s", v[BF_BROKER_FPS]);
	cJSON_AddNumberToObject(b, "taps_per_s", v[BF_BROKER_FPS] * p->taps);
	cJSON_AddItemToObject(o, "broker", b);
	cJSON_AddNumberToObject(vf, "one_thread_per_s", v[BF_VERIFY_1]);
	cJSON_AddNumberToObject(vf, "w_threads_per_s", v[BF_VERIFY_W]);
	cJSON_AddNumberToObject(vf, "w_over_1", ratio(v[BF_VERIFY_W], v[BF_VERIFY_1]));
	cJSON_AddItemToObject(o, "verify", vf);
	cJSON_AddNumberToObject(sf, "commits", p->sync_commits);
	cJSON_AddNumberToObject(sf, "p50", v[BF_SYNC_P50]);
	cJSON_AddNumberToObject(sf, "p99", v[BF_SYNC_P99]);
	cJSON_AddNumberToObject(sf, "p999", v[BF_SYNC_P999]);
	cJSON_AddItemToObject(o, "sync_floor", sf);
	cJSON_AddItemToObject(o, "ideal", ingester(v, BF_IDEAL_FPS, BF_IDEAL_CPU_US, BF_IDEAL_RSS_MIB, BF_IDEAL_RESENT,
	                                           BF_IDEAL_P50, p));
	cJSON *k = ingester(v, BF_KD_FPS, BF_KD_CPU_US, BF_KD_RSS_MIB, BF_KD_RESENT, BF_KD_P50, p);
	cJSON_AddNumberToObject(k, "ratio_to_broker", ratio(v[BF_KD_FPS], v[BF_BROKER_FPS]));
	cJSON_AddNumberToObject(k, "ratio_to_verify", ratio(v[BF_KD_FPS], v[BF_VERIFY_W]));
	cJSON_AddNumberToObject(k, "ratio_to_ideal", ratio(v[BF_KD_FPS], v[BF_IDEAL_FPS]));
	if (p->extra) { /* a shared machine's tail is its own: the ideal's in the same run is the yardstick */
		cJSON *lat = cJSON_GetObjectItemCaseSensitive(k, "latency_ms");
		cJSON_AddNumberToObject(lat, "p99_to_ideal", ratio(v[BF_KD_P99], v[BF_IDEAL_P99]));
		cJSON_AddNumberToObject(lat, "p999_to_ideal", ratio(v[BF_KD_P999], v[BF_IDEAL_P999]));
	}
	if (p->python_frames)
		cJSON_AddNumberToObject(k, "ratio_to_python", ratio(v[BF_KD_FPS], v[BF_PY_FPS]));
	else
		cJSON_AddNullToObject(k, "ratio_to_python");
	cJSON_AddNumberToObject(k, "sent", (double)p->sent);
	cJSON_AddNumberToObject(k, "stored", (double)p->stored);
	cJSON_AddNumberToObject(k, "covered", (double)p->covered);
	cJSON_AddNumberToObject(k, "check_problems", (double)p->problems);
	cJSON_AddItemToObject(o, "komposterd", k);
	cJSON_AddItemToObject(o, "python", python(p, v));
	bench_report_bound(f, bound, sizeof(bound));
	cJSON_AddStringToObject(o, "bound", bound);
	return o;
}

static int print_json(FILE *out, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	int rc = text && fprintf(out, "%s\n", text) > 0 && !ferror(out) ? 0 : -1;

	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

int bench_report_json(FILE *out, const struct bench_params *p, const struct bench_figures *f)
{
	return print_json(out, build_json(p, f));
}

int bench_report_passes(FILE *out, const struct bench_pass *passes, int n, int json)
{
	if (json) {
		cJSON *o = build_json(&passes[0].p, &passes[0].f);
		if (o && n > 1)
			cJSON_AddItemToObject(o, "single_tap", build_json(&passes[1].p, &passes[1].f));
		return print_json(out, o);
	}
	for (int i = 0; i < n; i++)
		if ((i > 0 && fputc('\n', out) == EOF) || bench_report_text(out, &passes[i].p, &passes[i].f) != 0)
			return -1;
	return 0;
}
