/*
 * Description: a tap's service date and hour are decided on the local wall
 * clock of the given zone (Europe/Kyiv here, while the process's own TZ is
 * UTC): taps before the start hour (03:00) belong to the previous date,
 * through summer time and its transitions; epochs start on the date, the
 * Monday or the first of the month.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

#include "helpers.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"

static struct st_zone *zone;

/* The zone under test is not the process's: TZ says UTC throughout. */
static void open_zone(const char *name)
{
	setenv("TZ", "UTC", 1);
	tzset();
	st_zone_close(zone);
	zone = NULL;
	cr_assert_eq(st_zone_open(&zone, name), ST_OK, "%s", name);
}

static void kyiv(void)
{
	open_zone("Europe/Kyiv");
}

static void close_zone(void)
{
	st_zone_close(zone);
	zone = NULL;
}

static void expect_when(int64_t ms, int start_hour, uint32_t date, uint8_t hour)
{
	struct st_when w;

	cr_assert_eq(st_service_day(zone, ms, start_hour, &w), 0);
	cr_expect_eq(w.service_date, date, "%lld ms: date %u, want %u", (long long)ms, w.service_date, date);
	cr_expect_eq(w.hour, hour, "%lld ms: hour %u, want %u", (long long)ms, w.hour, hour);
}

TestSuite(service_day, .init = kyiv, .fini = close_zone);

Test(service_day, tap_before_the_start_hour_belongs_to_the_previous_date)
{
	/* Winter, EET = UTC+2. */
	expect_when(t_utc_ms(2024, 1, 10, 0, 59, 59), 3, 20240109, 2);
	expect_when(t_utc_ms(2024, 1, 10, 1, 0, 0), 3, 20240110, 3);
	expect_when(t_utc_ms(2024, 1, 9, 22, 0, 0), 3, 20240109, 0); /* local midnight */
	expect_when(t_utc_ms(2024, 1, 9, 22, 0, 0), 0, 20240110, 0);
	/* Summer, EEST = UTC+3. */
	expect_when(t_utc_ms(2024, 6, 30, 23, 59, 59), 3, 20240630, 2);
	expect_when(t_utc_ms(2024, 7, 1, 0, 0, 0), 3, 20240701, 3);
	/* Across a month and a year. */
	expect_when(t_utc_ms(2024, 1, 1, 0, 30, 0), 3, 20231231, 2);
	expect_when(t_utc_ms(2024, 3, 1, 0, 30, 0), 3, 20240229, 2);
}

Test(service_day, the_wall_clock_decides_on_daylight_saving_days)
{
	/* 2024-03-31: 03:00 EET becomes 04:00 EEST at 01:00 UTC. */
	expect_when(t_utc_ms(2024, 3, 31, 0, 59, 59), 3, 20240330, 2);
	expect_when(t_utc_ms(2024, 3, 31, 1, 0, 0), 3, 20240331, 4);
	/* 2024-10-27: 04:00 EEST becomes 03:00 EET at 01:00 UTC; 03:xx happens twice. */
	expect_when(t_utc_ms(2024, 10, 26, 23, 30, 0), 3, 20241026, 2);
	expect_when(t_utc_ms(2024, 10, 27, 0, 30, 0), 3, 20241027, 3);
	expect_when(t_utc_ms(2024, 10, 27, 1, 30, 0), 3, 20241027, 3);
	/* With the day starting at 04:00, the second 03:30 is still the day before. */
	expect_when(t_utc_ms(2024, 10, 27, 1, 30, 0), 4, 20241026, 3);
}

Test(service_day, milliseconds_before_1970_round_down)
{
	open_zone("UTC");
	expect_when(-1, 0, 19691231, 23);
	expect_when(0, 0, 19700101, 0);
	expect_when(999, 0, 19700101, 0);
}

Test(service_day, times_out_of_range_are_refused)
{
	struct st_when w;

	cr_expect_eq(st_service_day(zone, INT64_MAX, 3, &w), -1);
	cr_expect_eq(st_service_day(zone, INT64_MIN, 3, &w), -1);
	cr_expect_eq(st_service_day(zone, 0, 24, &w), -1);
	cr_expect_eq(st_service_day(NULL, 0, 3, &w), -1);
}

Test(service_day, epochs_start_on_the_day_the_monday_or_the_first)
{
	cr_expect_eq(st_epoch_start(20240313, ST_EPOCH_DAY), 20240313);
	cr_expect_eq(st_epoch_start(20240313, ST_EPOCH_WEEK), 20240311); /* Wednesday */
	cr_expect_eq(st_epoch_start(20240311, ST_EPOCH_WEEK), 20240311); /* Monday itself */
	cr_expect_eq(st_epoch_start(20240317, ST_EPOCH_WEEK), 20240311); /* Sunday */
	cr_expect_eq(st_epoch_start(20240103, ST_EPOCH_WEEK), 20240101);
	cr_expect_eq(st_epoch_start(20230101, ST_EPOCH_WEEK), 20221226); /* across a year */
	cr_expect_eq(st_epoch_start(20240301, ST_EPOCH_WEEK), 20240226); /* across February 29 */
	cr_expect_eq(st_epoch_start(20240229, ST_EPOCH_MONTH), 20240201);
	cr_expect_eq(st_epoch_start(20241231, ST_EPOCH_MONTH), 20241201);
}

Test(service_day, dates_parse_and_format_strictly)
{
	uint32_t d = 0;
	char text[11];

	cr_expect_eq(st_date_parse("2024-02-29", &d), 0);
	cr_expect_eq(d, 20240229);
	cr_expect_eq(st_date_parse("2023-02-29", &d), -1);
	cr_expect_eq(st_date_parse("2024-13-01", &d), -1);
	cr_expect_eq(st_date_parse("2024-04-31", &d), -1);
	cr_expect_eq(st_date_parse("2024-1-01", &d), -1);
	cr_expect_eq(st_date_parse("2024-01-011", &d), -1);
	cr_expect_eq(st_date_parse("2024/01/01", &d), -1);
	cr_expect_eq(st_date_parse("", &d), -1);
	st_date_format(20240105, text);
	cr_expect_str_eq(text, "2024-01-05");
}

/* Through the writer: the database's options decide the zone and the hour. */
TestSuite(service_day_commit, .init = tdb_setup, .fini = tdb_teardown);

struct two_cells {
	struct st_tap_agg_key k[2];
	int n;
};

static int collect(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct two_cells *c = ctx;

	cr_assert_lt(c->n, 2);
	cr_expect_eq(v->accepted, 1);
	c->k[c->n++] = *k;
	return 0;
}

Test(service_day_commit, taps_either_side_of_the_start_hour_land_on_two_dates)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[2];
	struct tdev d;
	struct st_read r;
	struct two_cells c = {0};
	size_t len;

	tdb.opts.timezone = "Europe/Kyiv";
	tdb.opts.service_day_start_hour = 3;
	tdb_open();
	tdev_make(&d, 0x5D);
	taps[0] = t_tap(t_utc_ms(2024, 1, 10, 0, 59, 59), 7, 100, 1, 800, 1); /* 02:59:59 local */
	taps[1] = t_tap(t_utc_ms(2024, 1, 10, 1, 0, 0), 7, 100, 1, 800, 2);   /* 03:00:00 local */
	len = t_frame(frame, &d, 1, taps, 2);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 0, UINT32_MAX, collect, &c), ST_OK);
	st_read_end(&r);
	cr_assert_eq(c.n, 2);
	cr_expect_eq(c.k[0].service_date, 20240109);
	cr_expect_eq(c.k[0].hour, 2);
	cr_expect_eq(c.k[1].service_date, 20240110);
	cr_expect_eq(c.k[1].hour, 3);
}

Test(service_day_commit, an_unknown_time_zone_is_refused)
{
	struct st_db *db = NULL;

	tdb.opts.timezone = "Europe/Atlantis";
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_EZONE);
	cr_expect_null(db);
}
