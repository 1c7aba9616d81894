/*
 * Description: how `komposter bench` prints its figures (tools/bench/report.c),
 * no broker needed. A run without a latency phase (--latency-frames 0) says
 * "not measured" in text and gives latency_ms null in JSON, never 0.0 ms; a
 * run with one prints its percentiles in both. The Python ingester is null
 * (and komposterd's ratio to it) when not run, its figures when it was.
 * The frames re-sent after no ACK are counted per ingester in both, and
 * the disk's sync floor printed in both.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools/bench/report.h"

/* Each test's report: a latency phase, no Python ingester, figures that
 * differ from each other. */
static struct bench_params p;
static struct bench_figures f;

static void setup(void)
{
	p = (struct bench_params){ .devices = 20, .frames = 20, .extra = 5, .taps = 32, .publishers = 4,
		                   .window = 64, .workers = 2, .runs = 1, .sent = 401, .stored = 401,
		                   .sync_commits = 200 };
	for (int i = 0; i < BF_N; i++)
		f.v[i] = 100.0 + i;
}

TestSuite(bench_report, .init = setup);

/* The report printed into a malloc'd string. */
static char *render(int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(json ? bench_report_json(out, &p, &f) : bench_report_text(out, &p, &f), 0);
	cr_assert_eq(fclose(out), 0);
	return buf;
}

/* The JSON report, parsed. */
static cJSON *render_json(void)
{
	char *text = render(1);
	cJSON *root = cJSON_Parse(text);

	cr_assert_not_null(root, "not JSON: %s", text);
	free(text);
	return root;
}

/* root.object.name, which must exist. */
static const cJSON *field(const cJSON *root, const char *object, const char *name)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, object);
	cr_assert(cJSON_IsObject(o), "no object \"%s\"", object);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	cr_assert_not_null(v, "%s has no %s", object, name);
	return v;
}

Test(bench_report, no_latency_phase_prints_not_measured_in_text)
{
	p.extra = 0;
	char *text = render(0);

	cr_assert_not_null(strstr(text, "latency, frame -> covering ACK at half rate: not measured"), "%s", text);
	cr_assert_null(strstr(text, "ideal p50"), "a latency figure printed: %s", text);
	free(text);
}

Test(bench_report, no_latency_phase_gives_null_latency_in_json)
{
	p.extra = 0;
	cJSON *root = render_json();

	cr_assert(cJSON_IsNull(field(root, "ideal", "latency_ms")));
	cr_assert(cJSON_IsNull(field(root, "komposterd", "latency_ms")));
	cJSON_Delete(root);
}

Test(bench_report, a_latency_phase_prints_its_percentiles)
{
	char *text = render(0);
	cJSON *root = render_json();
	char want[64];

	snprintf(want, sizeof(want), "komposterd p50 %.1f ms", f.v[BF_KD_P50]);
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_null(strstr(text, "rate: not measured"), "%s", text);
	const cJSON *p99 = cJSON_GetObjectItemCaseSensitive(field(root, "komposterd", "latency_ms"), "p99");
	cr_assert(cJSON_IsNumber(p99));
	cr_assert_eq(p99->valuedouble, f.v[BF_KD_P99]);
	cJSON_Delete(root);
	free(text);
}

Test(bench_report, the_python_ingester_is_null_when_not_run_and_reported_with_its_ratio_when_run)
{
	char *off_text = render(0);
	cJSON *root = render_json();

	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "python")));
	cr_assert(cJSON_IsNull(field(root, "komposterd", "ratio_to_python")));
	cr_assert_not_null(strstr(off_text, "python ingester      not measured"), "%s", off_text);
	cJSON_Delete(root);
	free(off_text);

	p.python_frames = 200;
	root = render_json();
	cr_assert_eq(field(root, "python", "frames")->valuedouble, 200);
	cr_assert_eq(field(root, "python", "frames_per_s")->valuedouble, f.v[BF_PY_FPS]);
	const cJSON *r = field(root, "komposterd", "ratio_to_python");
	cr_assert(cJSON_IsNumber(r));
	cr_assert_float_eq(r->valuedouble, f.v[BF_KD_FPS] / f.v[BF_PY_FPS], 1e-9);
	cJSON_Delete(root);
}

Test(bench_report, the_frames_re_sent_for_want_of_an_ack_are_reported_per_ingester)
{
	p.resend_after_ms = 1000;
	char *text = render(0);
	cJSON *root = render_json();
	char want[128];

	snprintf(want, sizeof(want), "re-sent after no ACK within 1000 ms: ideal %.0f, komposterd %.0f frames",
	         f.v[BF_IDEAL_RESENT], f.v[BF_KD_RESENT]);
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(root, "resend_after_ms")->valuedouble, 1000);
	cr_assert_eq(field(root, "ideal", "resent")->valuedouble, f.v[BF_IDEAL_RESENT]);
	cr_assert_eq(field(root, "komposterd", "resent")->valuedouble, f.v[BF_KD_RESENT]);
	cJSON_Delete(root);
	free(text);
}

Test(bench_report, the_disk_sync_floor_is_printed_in_text_and_json)
{
	char *text = render(0);
	cJSON *root = render_json();
	char want[128];

	snprintf(want, sizeof(want), "disk: one commit's two syncs p50 %.2f ms, p99 %.2f ms, p999 %.2f ms (200 commits)",
	         f.v[BF_SYNC_P50], f.v[BF_SYNC_P99], f.v[BF_SYNC_P999]);
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_eq(field(root, "sync_floor", "commits")->valuedouble, 200);
	cr_assert_eq(field(root, "sync_floor", "p50")->valuedouble, f.v[BF_SYNC_P50]);
	cr_assert_eq(field(root, "sync_floor", "p99")->valuedouble, f.v[BF_SYNC_P99]);
	cr_assert_eq(field(root, "sync_floor", "p999")->valuedouble, f.v[BF_SYNC_P999]);
	cJSON_Delete(root);
	free(text);
}

Test(bench_report, the_latency_phase_names_its_rate_when_it_was_fixed)
{
	char *half = render(0);
	cJSON *root = render_json();

	cr_assert_not_null(strstr(half, "covering ACK at half rate: ideal p50"), "%s", half);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "latency_rate_per_s")));
	cJSON_Delete(root);
	free(half);
	p.latency_rate = 1500;
	char *fixed = render(0);
	root = render_json();
	cr_assert_not_null(strstr(fixed, "covering ACK at 1500 frames/s: ideal p50"), "%s", fixed);
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(root, "latency_rate_per_s");
	cr_assert(cJSON_IsNumber(rate));
	cr_assert_eq(rate->valuedouble, 1500);
	cJSON_Delete(root);
	free(fixed);
}
