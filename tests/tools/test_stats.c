/*
 * Description: `komposter stats --json` sums the tap aggregates of a
 * database filled through st_commit_group, grouped by route and by hour,
 * over service dates (a tap at 02:30 belongs to the previous date when the
 * service day starts at 03:00), with a total; the table has a total row.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"

static char dir[64], db[128], conf[128];

struct tap_spec {
	int day, hour, minute;
	uint32_t route;
	uint8_t result;
	uint32_t amount;
};

/* 2024-06-15 in UTC, service day from 03:00. */
static const struct tap_spec spec[] = {
	{ 15, 7, 10, 10, KP_TAP_ACCEPTED, 800 },
	{ 15, 7, 20, 10, KP_TAP_ACCEPTED, 800 },
	{ 15, 7, 30, 10, KP_TAP_DENIED_BALANCE, 0 },
	{ 15, 8, 5, 20, KP_TAP_ACCEPTED, 1000 },
	{ 15, 8, 50, 20, KP_TAP_ACCEPTED, 1000 },
	{ 15, 9, 0, 10, KP_TAP_ACCEPTED, 800 },
	{ 16, 2, 30, 20, KP_TAP_ACCEPTED, 1000 }, /* service date 15th, hour 2 */
	{ 16, 5, 0, 10, KP_TAP_ACCEPTED, 800 },   /* service date 16th */
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
		taps[i].tapped_at = fill_utc_ms(2024, 6, spec[i].day, spec[i].hour, spec[i].minute);
		taps[i].card_token[15] = (uint8_t)i;
		taps[i].route_id = spec[i].route;
		taps[i].stop_id = 100 + spec[i].route;
		taps[i].fare_product = 1;
		taps[i].result = spec[i].result;
		taps[i].amount = spec[i].amount;
	}
	cr_assert_eq(fill_taps(db, 0xb2, taps, SPEC_N, 3), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(stats, .init = setup, .fini = teardown);

static cJSON *stats_json(const char *from, const char *to, const char *by)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--from", from, "--to", to, "--by", by,
	                       "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static double field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "no number '%s'", name);
	return f->valuedouble;
}

/* The row whose `key` is `value`, or a failed assertion. */
static const cJSON *row(const cJSON *doc, const char *key, double value)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *r;

	cr_assert(cJSON_IsArray(rows));
	cJSON_ArrayForEach(r, rows)
		if (field(r, key) == value)
			return r;
	cr_assert_fail("no row with %s %g", key, value);
	return NULL;
}

static void expect_sums(const cJSON *o, double accepted, double denied, double amount)
{
	cr_assert_eq(field(o, "accepted"), accepted);
	cr_assert_eq(field(o, "denied"), denied);
	cr_assert_eq(field(o, "amount"), amount);
}

Test(stats, sums_by_route_over_one_service_date)
{
	cJSON *doc = stats_json("2024-06-15", "2024-06-15", "route");

	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "rows")), 2);
	expect_sums(row(doc, "route_id", 10), 3, 1, 2400);
	expect_sums(row(doc, "route_id", 20), 3, 0, 3000);
	expect_sums(cJSON_GetObjectItemCaseSensitive(doc, "total"), 6, 1, 5400);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "from")->valuestring, "2024-06-15");
	cJSON_Delete(doc);
}

Test(stats, sums_by_hour_with_the_night_tap_in_the_previous_date)
{
	cJSON *doc = stats_json("2024-06-15", "2024-06-15", "hour");

	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "rows")), 4);
	expect_sums(row(doc, "hour", 2), 1, 0, 1000);
	expect_sums(row(doc, "hour", 7), 2, 1, 1600);
	expect_sums(row(doc, "hour", 8), 2, 0, 2000);
	expect_sums(row(doc, "hour", 9), 1, 0, 800);
	cJSON_Delete(doc);
}

Test(stats, a_two_date_range_by_hour_and_route)
{
	cJSON *doc = stats_json("2024-06-15", "2024-06-16", "hour,route");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *r;
	int seen = 0;

	cr_assert_eq(cJSON_GetArraySize(rows), 5, "hours 2, 5, 7, 8, 9");
	cJSON_ArrayForEach(r, rows) {
		if (field(r, "hour") == 5) {
			cr_assert_eq(field(r, "route_id"), 10);
			expect_sums(r, 1, 0, 800);
			seen = 1;
		}
	}
	cr_assert(seen);
	expect_sums(cJSON_GetObjectItemCaseSensitive(doc, "total"), 7, 1, 6200);
	cJSON_Delete(doc);
}

Test(stats, the_table_has_a_header_and_a_total_row)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--from", "2024-06-15", "--to",
	                       "2024-06-15", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), 4, "header, routes 10 and 20, total: %s", r.out);
	cr_assert_not_null(strstr(r.out, "ROUTE"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "total"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "5400"), "%s", r.out);
	tools_run_free(&r);
}
