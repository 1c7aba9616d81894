/*
 * Description: how `komposter bench` prints its figures (tools/bench/report.c),
 * no broker needed. A run without a latency phase (--latency-frames 0) says
 * "not measured" in text and gives latency_ms null in JSON, never 0.0 ms; a
 * run with one prints its percentiles in both. The Python ingester is null
 * (and komposterd's ratio to it) when not run, its figures when it was.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools/bench/report.h"

static struct bench_params params(uint32_t extra)
{
	return (struct bench_params){ .devices = 20, .frames = 20, .extra = extra, .taps = 32, .publishers = 4,
		                      .window = 64, .workers = 2, .runs = 1, .sent = 401, .stored = 401 };
}

static struct bench_figures figures(void)
{
	struct bench_figures f;
	for (int i = 0; i < BF_N; i++)
		f.v[i] = 100.0 + i;
	return f;
}

/* The report printed into a malloc'd string. */
static char *render(int json, const struct bench_params *p, const struct bench_figures *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(json ? bench_report_json(out, p, f) : bench_report_text(out, p, f), 0);
	cr_assert_eq(fclose(out), 0);
	return buf;
}

static const cJSON *latency(const cJSON *root, const char *ingester)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, ingester);
	cr_assert(cJSON_IsObject(o), "no object \"%s\"", ingester);
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
	cr_assert_not_null(lat, "%s has no latency_ms", ingester);
	return lat;
}

Test(bench_report, no_latency_phase_prints_not_measured_in_text)
{
	struct bench_params p = params(0);
	struct bench_figures f = figures();
	char *text = render(0, &p, &f);

	cr_assert_not_null(strstr(text, "latency, frame -> covering ACK at half rate: not measured"), "%s", text);
	cr_assert_null(strstr(text, " ms"), "a latency figure printed: %s", text);
	free(text);
}

Test(bench_report, no_latency_phase_gives_null_latency_in_json)
{
	struct bench_params p = params(0);
	struct bench_figures f = figures();
	char *text = render(1, &p, &f);
	cJSON *root = cJSON_Parse(text);

	cr_assert_not_null(root, "%s", text);
	cr_assert(cJSON_IsNull(latency(root, "ideal")));
	cr_assert(cJSON_IsNull(latency(root, "komposterd")));
	cJSON_Delete(root);
	free(text);
}

Test(bench_report, a_latency_phase_prints_its_percentiles)
{
	struct bench_params p = params(5);
	struct bench_figures f = figures();
	char *text = render(0, &p, &f), *json = render(1, &p, &f);
	cJSON *root = cJSON_Parse(json);
	char want[64];

	snprintf(want, sizeof(want), "komposterd p50 %.1f ms", f.v[BF_KD_P50]);
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_null(strstr(text, "rate: not measured"), "%s", text);
	const cJSON *p99 = cJSON_GetObjectItemCaseSensitive(latency(root, "komposterd"), "p99");
	cr_assert(cJSON_IsNumber(p99));
	cr_assert_eq(p99->valuedouble, f.v[BF_KD_P99]);
	cJSON_Delete(root);
	free(text);
	free(json);
}

Test(bench_report, the_python_ingester_is_null_when_not_run_and_reported_with_its_ratio_when_run)
{
	struct bench_params p = params(5);
	struct bench_figures f = figures();
	char *off = render(1, &p, &f), *off_text = render(0, &p, &f);
	cJSON *root = cJSON_Parse(off);

	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "python")), "%s", off);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "komposterd"),
	                                                        "ratio_to_python")));
	cr_assert_not_null(strstr(off_text, "python ingester      not measured"), "%s", off_text);
	cJSON_Delete(root);

	p.python_frames = 200;
	char *on = render(1, &p, &f);
	root = cJSON_Parse(on);
	const cJSON *py = cJSON_GetObjectItemCaseSensitive(root, "python");
	cr_assert(cJSON_IsObject(py), "%s", on);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(py, "frames")->valuedouble, 200);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(py, "frames_per_s")->valuedouble, f.v[BF_PY_FPS]);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "komposterd"),
	                                                  "ratio_to_python");
	cr_assert(cJSON_IsNumber(r));
	cr_assert_float_eq(r->valuedouble, f.v[BF_KD_FPS] / f.v[BF_PY_FPS], 1e-9);
	cJSON_Delete(root);
	free(off);
	free(off_text);
	free(on);
}
