/*
 * Description: `komposter stats --with-cameras` on a database filled with
 * taps and signed APC counts through st_commit_group and NVR camera counts
 * through st_nvr_commit: exact rows per service date, hour, route or stop
 * and source, with accepted taps and the validation rate; signed and NVR
 * counts of one route never added together; street cameras only at stop
 * level, against the taps of every route; `stats --counts` keeps showing
 * the signed counts only; an NVR outage leaves its hour
 * without a rate (null, "-") while the signed row of that hour keeps one;
 * wrong combinations of options are usage errors.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/nvr.h"

static char dir[64], db[128], conf[128];

static struct kp_tap tap(int day, int hour, int minute, uint32_t route, uint32_t stop, uint8_t result,
                         uint8_t card)
{
	struct kp_tap t = { .tapped_at = fill_utc_ms(2024, 6, day, hour, minute), .route_id = route,
		            .stop_id = stop, .vehicle_id = 5, .fare_product = 1, .result = result,
		            .amount = result == KP_TAP_ACCEPTED ? 800 : 0 };

	t.card_token[15] = card;
	return t;
}

static struct kp_count door_cycle(int day, int hour, int minute, uint32_t route, uint32_t stop, uint8_t door,
                                  uint16_t boardings, uint16_t alightings)
{
	return (struct kp_count){ .observed_at = fill_utc_ms(2024, 6, day, hour, minute), .route_id = route,
		                  .stop_id = stop, .vehicle_id = 5, .door = door,
		                  .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = boardings,
		                  .alightings = alightings, .occupancy = KP_OCCUPANCY_UNKNOWN,
		                  .confidence = 90 };
}

/* n objects of camera, each counted once in `want` at (2024-06-15, hour,
 * route, stop); an onboard camera (route != 0) is bus 5's. */
static void nvr_counts(const char *camera, const char *prefix, int n, int hour, uint32_t route, uint32_t stop,
                       unsigned want)
{
	const struct fill_nvr_cell c = { camera, hour, route, stop, route ? 5 : 0, want };

	cr_assert_eq(fill_nvr_counts(db, &c, prefix, n), 0);
}

/* 2024-06-15 in UTC, service day from 03:00. Every tap, count and onboard
 * camera is of bus 5 (so the route level sets all of them against each
 * other; vehicle_hours.h).
 * Taps: route 10 at 07: 3 accepted (2 at stop 110, 1 at 111), 1 denied;
 *   route 20 at 07: 1 at stop 110; route 20 at 08: 2 at stop 120; route 10
 *   at 02:40 on the 16th (service date 15th, hour 2): 1 at stop 110.
 * APC (signed): route 10 h7 10 boardings 5 alightings over two stops and
 *   doors; route 20 h8 6 boardings; route 10 h2 4 boardings.
 * NVR: onboard camera of route 10 h7 4 boardings; street camera at stop
 *   110: h7 5 boardings and 1 alighting, h8 2 boardings with the NVR
 *   offline 08:30..08:40. */
static void setup(void)
{
	const struct kp_tap taps[] = {
		tap(15, 7, 10, 10, 110, KP_TAP_ACCEPTED, 1),
		tap(15, 7, 20, 10, 110, KP_TAP_ACCEPTED, 2),
		tap(15, 7, 30, 10, 110, KP_TAP_DENIED_BALANCE, 3),
		tap(15, 7, 40, 20, 110, KP_TAP_ACCEPTED, 4),
		tap(15, 7, 50, 10, 111, KP_TAP_ACCEPTED, 5),
		tap(15, 8, 5, 20, 120, KP_TAP_ACCEPTED, 6),
		tap(15, 8, 50, 20, 120, KP_TAP_ACCEPTED, 7),
		tap(16, 2, 30, 10, 110, KP_TAP_ACCEPTED, 8),
	};
	const struct kp_count counts[] = {
		door_cycle(15, 7, 10, 10, 110, 1, 5, 0),
		door_cycle(15, 7, 10, 10, 110, 2, 2, 1),
		door_cycle(15, 7, 50, 10, 111, 1, 3, 4),
		door_cycle(15, 8, 5, 20, 120, 1, 6, 0),
		door_cycle(16, 2, 40, 10, 110, 1, 4, 0),
	};

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	cr_assert_eq(fill_taps(db, 0xb2, taps, sizeof(taps) / sizeof(taps[0]), 4), 0);
	cr_assert_eq(fill_counts(db, 0xc3, 1, counts, sizeof(counts) / sizeof(counts[0])), 0);
	nvr_counts("bus5-front", "b", 4, 7, 10, 110, ST_NVR_BOARDED);
	nvr_counts("stop110", "s", 5, 7, 0, 110, ST_NVR_BOARDED);
	nvr_counts("stop110", "t", 1, 7, 0, 110, ST_NVR_ALIGHTED);
	nvr_counts("stop110", "u", 2, 8, 0, 110, ST_NVR_BOARDED);
	cr_assert_eq(fill_nvr_outage(db, fill_utc_ms(2024, 6, 15, 8, 30), fill_utc_ms(2024, 6, 15, 8, 40)), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(stats_cameras, .init = setup, .fini = teardown);

static cJSON *rate_json(const char *by)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--with-cameras", "--by", by, "--from", "2024-06-15",
	                       "--to", "2024-06-15", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.err_len, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "%s is not a number", name);
	return f->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(f), "%s is not a string", name);
	return f->valuestring;
}

/* rate < 0: null, and complete as given. */
static void expect_row(const cJSON *rows, int i, double hour, const char *place_key, double place,
                       const char *source, double boardings, double alightings, double accepted, int complete,
                       double rate)
{
	const cJSON *o = cJSON_GetArrayItem(rows, i), *rt;

	cr_assert_not_null(o, "no row %d", i);
	cr_expect_str_eq(str(o, "date"), "2024-06-15", "row %d", i);
	cr_expect_eq(num(o, "hour"), hour, "row %d hour", i);
	cr_expect_eq(num(o, place_key), place, "row %d %s", i, place_key);
	cr_expect_str_eq(str(o, "source"), source, "row %d", i);
	cr_expect_eq(num(o, "boardings"), boardings, "row %d boardings", i);
	cr_expect_eq(num(o, "alightings"), alightings, "row %d alightings", i);
	cr_expect_eq(num(o, "accepted"), accepted, "row %d accepted", i);
	cr_expect(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "complete")), "row %d complete", i);
	cr_expect_eq(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "complete")), complete, "row %d complete", i);
	rt = cJSON_GetObjectItemCaseSensitive(o, "rate");
	if (rate < 0) {
		cr_expect(cJSON_IsNull(rt), "row %d rate is not null", i);
	} else {
		cr_assert(cJSON_IsNumber(rt), "row %d rate is not a number", i);
		cr_expect(fabs(rt->valuedouble - rate) < 1e-9, "row %d rate %f, want %f", i, rt->valuedouble, rate);
	}
}

Test(stats_cameras, by_route_one_row_per_source_with_the_rate)
{
	cJSON *doc = rate_json("route");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");

	cr_expect_str_eq(str(doc, "by"), "route");
	cr_expect_str_eq(str(doc, "from"), "2024-06-15");
	cr_assert(cJSON_IsArray(rows));
	cr_assert_eq(cJSON_GetArraySize(rows), 4, "rows: %d", cJSON_GetArraySize(rows));
	/* Service-day order: 02:xx of the 16th ends service date 15, after 08:xx. */
	expect_row(rows, 0, 7, "route_id", 10, "signed", 10, 5, 3, 1, 0.3);
	expect_row(rows, 1, 7, "route_id", 10, "nvr", 4, 0, 3, 1, 0.75);
	expect_row(rows, 2, 8, "route_id", 20, "signed", 6, 0, 2, 1, 2.0 / 6.0);
	expect_row(rows, 3, 2, "route_id", 10, "signed", 4, 0, 1, 1, 0.25);
	cJSON_Delete(doc);
}

Test(stats_cameras, by_stop_street_cameras_against_taps_of_every_route)
{
	cJSON *doc = rate_json("stop");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");

	cr_expect_str_eq(str(doc, "by"), "stop");
	cr_assert_eq(cJSON_GetArraySize(rows), 2, "rows: %d", cJSON_GetArraySize(rows));
	expect_row(rows, 0, 7, "stop_id", 110, "nvr", 5, 1, 3, 1, 0.6);
	expect_row(rows, 1, 8, "stop_id", 110, "nvr", 2, 0, 0, 0, -1);
	cJSON_Delete(doc);
}

Test(stats_cameras, the_table_shows_the_rate_to_three_places_and_a_dash_when_missing)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--with-cameras", "--by", "stop", "--from", "2024-06-15",
	                       "--to", "2024-06-15", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(tools_count_lines(r.out), 3, "%s", r.out);
	cr_expect_not_null(strstr(r.out, "RATE"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "2024-06-15     7         110  nvr              5           1           3   0.600"),
	                   "%s", r.out);
	cr_expect_not_null(strstr(r.out, "2024-06-15     8         110  nvr              2           0           0       -"),
	                   "%s", r.out);
	tools_run_free(&r);
}

Test(stats_cameras, plain_stats_are_unchanged_by_camera_counts)
{
	struct tools_run r;
	cJSON *doc, *total;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--from", "2024-06-15", "--to", "2024-06-15", "--json",
	                       NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	total = cJSON_GetObjectItemCaseSensitive(doc, "total");
	cr_expect_eq(num(total, "accepted"), 7);
	cr_expect_eq(num(total, "denied"), 1);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(total, "rate"));
	cJSON_Delete(doc);
	tools_run_free(&r);
}

Test(stats_cameras, counts_show_the_signed_counts_only)
{
	struct tools_run r;
	cJSON *doc, *total;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--counts", "--by", "stop", "--from", "2024-06-15", "--to",
	                       "2024-06-15", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	total = cJSON_GetObjectItemCaseSensitive(doc, "total");
	cr_expect_eq(num(total, "boardings"), 20, "10 + 6 + 4 signed, without the 11 of NVR cameras");
	cr_expect_eq(num(total, "alightings"), 5);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "rows")), 3, "stops 110, 111, 120");
	cJSON_Delete(doc);
	tools_run_free(&r);
}

static void expect_usage(const char *a1, const char *a2, const char *a3)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--with-cameras", a1, a2, a3, NULL), 0);
	cr_expect_eq(r.status, 2, "%s %s: exit %d, %s", a1, a2, r.status, r.err);
	cr_expect_eq(strncmp(r.err, "komposter: stats: ", 18), 0, "%s", r.err);
	cr_expect_eq(r.out_len, 0, "%s", r.out);
	tools_run_free(&r);
}

Test(stats_cameras, wrong_options_are_usage_errors)
{
	expect_usage("--by", "hour", NULL);
	expect_usage("--by", "route,stop", NULL);
	expect_usage("--by", "fare", NULL);
	expect_usage("--counts", NULL, NULL);
	expect_usage("--from", "2024-06-16", "--to=2024-06-15");
}

/* The 08:00 stop hour is incomplete (the NVR was offline 08:30 to 08:40):
 * --partial shows its running rate 0/2 beside the null rate, marked, and
 * leaves complete rows as they were. */
Test(stats_cameras, partial_shows_the_running_rate_of_incomplete_hours_marked)
{
	struct tools_run r;
	cJSON *doc;
	const cJSON *rows;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--with-cameras", "--partial", "--by", "stop", "--from",
	                       "2024-06-15", "--to", "2024-06-15", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");
	expect_row(rows, 0, 7, "stop_id", 110, "nvr", 5, 1, 3, 1, 0.6);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "partial_rate"));
	expect_row(rows, 1, 8, "stop_id", 110, "nvr", 2, 0, 0, 0, -1);
	cr_expect_eq(num(cJSON_GetArrayItem(rows, 1), "partial_rate"), 0.0);
	cJSON_Delete(doc);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--with-cameras", "--partial", "--by", "stop", "--from",
	                       "2024-06-15", "--to", "2024-06-15", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, "2024-06-15     8         110  nvr              2           0           0  0.000*"),
	                   "%s", r.out);
	cr_expect_not_null(strstr(r.out, "* partial: "), "%s", r.out);
	tools_run_free(&r);
}

Test(stats_cameras, partial_without_cameras_is_a_usage_error)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "stats", "-c", conf, "--partial", NULL), 0);
	cr_expect_eq(r.status, 2, "exit %d, %s", r.status, r.err);
	cr_expect_eq(strncmp(r.err, "komposter: stats: --partial", 27), 0, "%s", r.err);
	tools_run_free(&r);
}
