/*
 * Description: `komposter stats --riders` prints the distinct riders of a
 * range of service dates per route and per date (the date's total with
 * route "all", JSON route_id null), from a database filled through
 * st_commit_group: a card counts once per route and once per date however
 * often it taps, denied taps count nobody; --by and --counts are refused
 * beside it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/db.h"

static char dir[64], db[128], conf[128];

struct tap_spec {
	int day, hour;
	uint32_t route;
	uint8_t card;
	uint8_t result;
};

/* 2024-06-15: cards 1, 2 on route 10 (card 1 twice), card 1 on route 20,
 * card 3 denied on route 20; 2024-06-16: card 1 on route 10. */
static const struct tap_spec spec[] = {
	{ 15, 7, 10, 1, KP_TAP_ACCEPTED }, { 15, 8, 10, 1, KP_TAP_ACCEPTED },
	{ 15, 8, 10, 2, KP_TAP_ACCEPTED }, { 15, 9, 20, 1, KP_TAP_ACCEPTED },
	{ 15, 9, 20, 3, KP_TAP_DENIED_BALANCE }, { 16, 7, 10, 1, KP_TAP_ACCEPTED },
};
#define SPEC_N (sizeof(spec) / sizeof(spec[0]))

static void setup(void)
{
	struct kp_tap taps[SPEC_N];

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < SPEC_N; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, spec[i].day, spec[i].hour, 0);
		taps[i].route_id = spec[i].route;
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].direction = 0;
		taps[i].result = spec[i].result;
		taps[i].amount = spec[i].result == KP_TAP_ACCEPTED ? 800 : 0;
		taps[i].card_token[0] = spec[i].card;
	}
	cr_assert_eq(fill_taps(db, 0x51, taps, SPEC_N, 2), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(stats_riders, .init = setup, .fini = teardown);

Test(stats_riders, json_has_each_route_and_each_dates_total)
{
	static const struct {
		const char *date;
		int route; /* -1: the date's total */
		int riders;
	} want[] = { { "2024-06-15", 10, 2 }, { "2024-06-15", 20, 1 }, { "2024-06-15", -1, 2 },
		     { "2024-06-16", 10, 1 }, { "2024-06-16", -1, 1 } };
	struct tools_run r;
	cJSON *doc, *rows;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--from", "2024-06-15", "--to", "2024-06-16",
	                       "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_assert_float_eq(cJSON_GetObjectItem(doc, "standard_error")->valuedouble, 0.0081, 1e-9);
	rows = cJSON_GetObjectItem(doc, "rows");
	cr_assert_eq(cJSON_GetArraySize(rows), 5, "%s", r.out);
	for (int i = 0; i < 5; i++) {
		cJSON *row = cJSON_GetArrayItem(rows, i), *route = cJSON_GetObjectItem(row, "route_id");

		cr_expect_str_eq(cJSON_GetObjectItem(row, "date")->valuestring, want[i].date);
		if (want[i].route < 0)
			cr_expect(cJSON_IsNull(route), "row %d: %s", i, r.out);
		else
			cr_expect_eq(route->valueint, want[i].route, "row %d", i);
		cr_expect_eq(cJSON_GetObjectItem(row, "riders")->valueint, want[i].riders, "row %d: %s", i, r.out);
	}
	cJSON_Delete(doc);
	tools_run_free(&r);
}

Test(stats_riders, table_names_the_total_all_and_states_the_error)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--from", "2024-06-15", "--to", "2024-06-15",
	                       NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, "2024-06-15         all           2\n"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "0.81 %"), "%s", r.out);
	tools_run_free(&r);
}

Test(stats_riders, by_and_counts_are_refused_beside_it)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--by", "stop", NULL), 0);
	cr_expect_eq(r.status, 2, "stderr: %s", r.err);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--counts", NULL), 0);
	cr_expect_eq(r.status, 2, "stderr: %s", r.err);
	tools_run_free(&r);
}

/* A database written in step says nothing: its sketches hold the whole log. */
Test(stats_riders, json_says_the_sketches_hold_the_whole_log)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_expect_eq(cJSON_GetObjectItem(doc, "log_through")->valueint, 3, "%s", r.out); /* 6 taps, 2 a frame */
	cr_expect_eq(cJSON_GetObjectItem(doc, "log_last")->valueint, 3, "%s", r.out);
	cJSON_Delete(doc);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", NULL), 0);
	cr_expect_null(strstr(r.out, "the sketches hold the log up to"), "%s", r.out);
	tools_run_free(&r);
}

/* komposterd holds taps in memory (riders.h, "Deferred"); one killed before
 * it wrote them leaves the stored sketches behind the log until its next
 * start. The table says so instead of printing a short count as if whole. */
Test(stats_riders, sketches_behind_the_log_are_said_to_be)
{
	struct kp_tap taps[2];
	struct st_options opts;
	struct st_db *held;
	struct tools_run r;
	cJSON *doc;

	fill_taps_at_one_stop(taps, 2, 40);
	st_options_default(&opts);
	opts.path = db;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.riders_defer_ms = 3600 * 1000; /* held for an hour: a kill comes first */
	cr_assert_eq(st_db_open(&held, &opts), ST_OK);
	cr_assert_eq(fill_taps_db(held, 0x52, taps, 2, 1), 0); /* frames 4 and 5 */
	st_db_close(held);

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--from", "2024-06-15", "--to", "2024-06-15",
	                       NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, "2024-06-15          10           2\n"), "the two new riders are held, not counted: %s", r.out);
	cr_expect_not_null(strstr(r.out, "the sketches hold the log up to frame 3 of 5: the riders of the 2 after it"),
	                   "%s", r.out);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--riders", "--json", NULL), 0);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_expect_eq(cJSON_GetObjectItem(doc, "log_through")->valueint, 3, "%s", r.out);
	cr_expect_eq(cJSON_GetObjectItem(doc, "log_last")->valueint, 5, "%s", r.out);
	cJSON_Delete(doc);
	tools_run_free(&r);
}
