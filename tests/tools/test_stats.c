/*
 * Description: `komposter stats --json` sums the tap aggregates of a
 * database filled through st_commit_group, grouped by route and by hour,
 * over service dates (a tap at 02:30 belongs to the previous date when the
 * service day starts at 03:00), with a total; the table has a total row.
 * `stats --counts` sums the door cycles of an APC's COUNTS frames by route,
 * stop, hour and door, with peak and mean occupancy when grouped by route
 * and/or hour only; fare and door are refused in the wrong mode.
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

static struct kp_count door_cycle(int hour, int minute, uint32_t route, uint32_t stop, uint8_t door,
                                  uint16_t boardings, uint16_t alightings)
{
	return (struct kp_count){ .observed_at = fill_utc_ms(2024, 6, 15, hour, minute), .route_id = route,
		                  .stop_id = stop, .vehicle_id = 5, .door = door,
		                  .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = boardings,
		                  .alightings = alightings, .occupancy = KP_OCCUPANCY_UNKNOWN,
		                  .confidence = 90 };
}

static struct kp_count snapshot(int hour, int minute, uint32_t route, uint16_t occupancy)
{
	return (struct kp_count){ .observed_at = fill_utc_ms(2024, 6, 15, hour, minute), .route_id = route,
		                  .vehicle_id = 5, .kind = KP_COUNT_KIND_OCCUPANCY, .occupancy = occupancy,
		                  .confidence = 90 };
}

/* An APC on routes 10 and 20 on 2024-06-15, in two frames. */
static void fill_apc_counts(void)
{
	const struct kp_count first[] = {
		door_cycle(7, 10, 10, 110, 1, 5, 0),
		door_cycle(7, 10, 10, 110, 2, 2, 1),
		door_cycle(7, 20, 10, 111, 1, 3, 4),
		snapshot(7, 15, 10, 9),
		snapshot(7, 25, 10, 12),
	};
	const struct kp_count second[] = {
		door_cycle(8, 5, 20, 120, 1, 6, 0),
		snapshot(8, 6, 20, 6),
		snapshot(8, 7, 20, KP_OCCUPANCY_UNKNOWN),
	};

	cr_assert_eq(fill_counts(db, 0xc3, 1, first, 5), 0);
	cr_assert_eq(fill_counts(db, 0xc3, 2, second, 3), 0);
}

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
	fill_apc_counts();
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

static cJSON *counts_json(const char *by)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--counts", "--from", "2024-06-15", "--to", "2024-06-15",
	                       "--by", by, "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static void expect_counts(const cJSON *o, double boardings, double alightings)
{
	cr_assert_eq(field(o, "boardings"), boardings);
	cr_assert_eq(field(o, "alightings"), alightings);
}

Test(stats, counts_by_route_give_boardings_alightings_peak_and_mean)
{
	cJSON *doc = counts_json("route");
	const cJSON *r10, *r20, *total = cJSON_GetObjectItemCaseSensitive(doc, "total");

	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "rows")), 2);
	r10 = row(doc, "route_id", 10);
	r20 = row(doc, "route_id", 20);
	expect_counts(r10, 10, 5);
	cr_expect_eq(field(r10, "peak"), 12);
	cr_expect_eq(field(r10, "mean"), 10.5);
	expect_counts(r20, 6, 0);
	cr_expect_eq(field(r20, "peak"), 6);
	cr_expect_eq(field(r20, "mean"), 6, "the unknown snapshot is not counted");
	expect_counts(total, 16, 5);
	cr_expect_eq(field(total, "peak"), 12);
	cr_expect_eq(field(total, "mean"), 9);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(doc, "accepted"), "no tap sums in counts");
	cJSON_Delete(doc);
}

Test(stats, counts_by_stop_and_door_have_no_load)
{
	cJSON *doc = counts_json("stop,door");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *r;
	int seen = 0;

	cr_assert_eq(cJSON_GetArraySize(rows), 4, "110/1, 110/2, 111/1, 120/1");
	cJSON_ArrayForEach(r, rows) {
		cr_expect_null(cJSON_GetObjectItemCaseSensitive(r, "peak"), "a stop row has no load");
		if (field(r, "stop_id") == 110 && field(r, "door") == 2) {
			expect_counts(r, 2, 1);
			seen = 1;
		}
	}
	cr_assert(seen);
	expect_counts(cJSON_GetObjectItemCaseSensitive(doc, "total"), 16, 5);
	cJSON_Delete(doc);
}

Test(stats, the_counts_table_has_the_mean_in_tenths)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--counts", "--from", "2024-06-15", "--to", "2024-06-15",
	                       "--by", "hour", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), 4, "header, hours 7 and 8, total: %s", r.out);
	cr_assert_not_null(strstr(r.out, "BOARDINGS"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "10.5"), "%s", r.out);
	tools_run_free(&r);
}

Test(stats, fare_with_counts_and_door_without_are_usage_errors)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--counts", "--by", "fare", NULL), 0);
	cr_expect_eq(r.status, 2, "stderr: %s", r.err);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--by", "route,door", NULL), 0);
	cr_expect_eq(r.status, 2, "stderr: %s", r.err);
	tools_run_free(&r);
}
