/*
 * Description: a database's time zone must be a zone of the tz database,
 * by name. A region ("Europe"), a zone that does not exist ("Europe/Kyiv2",
 * which glibc would take as a POSIX rule and read as UTC), a path
 * ("/etc/localtime", "../zoneinfo/UTC"), the machine's "localtime" and an
 * empty name are refused with ST_EZONE before anything is created or
 * recorded; st_zone_valid says what is wrong in one line. Zones, links
 * ("Europe/Kiev") and the Etc zones are accepted. The zone is read once
 * into a table whose offsets are glibc's to the second, from year 1 to
 * 9999, and opening a database leaves the process's TZ and local time as
 * they were while its taps count in the database's zone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"
#include "storage/zone.h"

TestSuite(time_zone, .init = tdb_setup, .fini = tdb_teardown);

static const char *const refused[] = {
	"Europe", "Europe/Kyiv2", "/etc/localtime", "../zoneinfo/UTC", "", "localtime",
	"Europe/", "Europe//Kyiv", "Europe/../Europe/Kyiv", "EET-2EEST,M3.5.0/3,M10.5.0/4",
	"right/UTC", "zone.tab", "posixrules",
};

static const char *const accepted[] = {
	"Europe/Kyiv", "UTC", "Europe/Kiev", "Etc/GMT+3", "America/Argentina/Buenos_Aires",
	"America/Port-au-Prince", "EST5EDT",
};

static int exists_in_tdb(const char *name)
{
	char path[128];
	struct stat st;

	cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s", tdb.dir, name), sizeof path);
	return stat(path, &st) == 0;
}

Test(time_zone, names_the_tz_database_does_not_know_are_refused_and_nothing_is_created)
{
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct st_db *db = NULL;
		int rc;

		tdb.opts.timezone = refused[i];
		rc = st_db_open(&db, &tdb.opts);
		cr_expect_eq(rc, ST_EZONE, "\"%s\": %s", refused[i], st_strerror(rc));
		cr_expect_null(db);
		st_db_close(db);
		cr_expect(!exists_in_tdb("data.mdb"), "\"%s\" made a database", refused[i]);
	}
}

Test(time_zone, a_refused_zone_is_never_recorded_even_by_a_tool_making_the_database)
{
	struct st_db *db = NULL;

	/* A tool adopts the recorded settings, so its zone is only checked when
	 * there are none and its own would be recorded. */
	tdb.opts.adopt_settings = 1;
	tdb.opts.timezone = "Europe";
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_EZONE);
	cr_expect_null(db);
	cr_expect(!exists_in_tdb("data.mdb"), "a database was made");
	tdb.opts.timezone = "Europe/Kyiv";
	tdb_open();
	cr_expect_str_eq(st_db_options(tdb.db)->timezone, "Europe/Kyiv");
}

Test(time_zone, a_refused_zone_leaves_a_database_as_it_was)
{
	struct st_db *db = NULL;

	tdb.opts.timezone = "UTC";
	tdb_open();
	tdb_close();
	tdb.opts.timezone = "Europe/Kyiv2";
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_EZONE);
	tdb.opts.timezone = "UTC";
	tdb_open();
	cr_expect_str_eq(st_db_options(tdb.db)->timezone, "UTC");
}

Test(time_zone, tz_database_names_are_accepted_and_recorded)
{
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		char err[256] = "";

		cr_expect_eq(st_zone_valid(accepted[i], err, sizeof err), ST_OK, "\"%s\": %s", accepted[i], err);
	}
	tdb.opts.timezone = "Europe/Kyiv";
	tdb_open();
	tdb_close();
	tdb.opts.read_only = 1;
	tdb.opts.timezone = "UTC";
	tdb_open();
	cr_expect_str_eq(st_db_options(tdb.db)->timezone, "Europe/Kyiv");
}

Test(time_zone, the_refusal_is_one_line_that_names_the_zone)
{
	char err[256];

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		err[0] = '\0';
		cr_expect_eq(st_zone_valid(refused[i], err, sizeof err), ST_EZONE, "\"%s\"", refused[i]);
		cr_expect_neq(err[0], '\0', "\"%s\": no message", refused[i]);
		cr_expect_null(strchr(err, '\n'), "\"%s\": %s", refused[i], err);
		if (refused[i][0])
			cr_expect_not_null(strstr(err, refused[i]), "\"%s\": %s", refused[i], err);
	}
	cr_expect_eq(st_zone_valid(NULL, NULL, 0), ST_EZONE);
	cr_expect_str_eq(st_strerror(ST_EZONE),
	                 "unknown time zone (timezone must name a zone of the tz database, such as Europe/Kyiv)");
}

/* ---- offsets ---- */

static int one_cell(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct st_tap_agg_key *out = ctx;

	cr_assert_eq(out->route_id, 0, "more than one cell");
	*out = *k;
	return 0;
}

static void set_process_tz(const char *tz)
{
	if (tz)
		cr_assert_eq(setenv("TZ", tz, 1), 0);
	else
		cr_assert_eq(unsetenv("TZ"), 0);
	tzset();
}

static long glibc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	cr_assert_not_null(localtime_r(&tt, &tm), "localtime_r(%lld)", (long long)t);
	return tm.tm_gmtoff;
}

/* Zones with summer time, half and quarter hours, a southern hemisphere, a
 * negative summer time (Dublin), two-hour summer time (Troll), forecast
 * transitions (Casablanca) and none at all. */
static const char *const sampled[] = {
	"Europe/Kyiv", "America/New_York", "Australia/Lord_Howe", "Africa/Casablanca", "Asia/Kolkata",
	"Pacific/Chatham", "America/Sao_Paulo", "Europe/Dublin", "Antarctica/Troll", "America/St_Johns",
	"Asia/Kathmandu", "UTC",
};

#define FIRST_S (-62135596800LL)  /* 0001-01-01 00:00 UTC */
#define LAST_S (253402300799LL)   /* 9999-12-31 23:59:59 UTC */
#define HOUR_S 3600
#define RANDOM_SAMPLES 20000

Test(time_zone, offsets_are_glibcs_from_year_1_to_9999)
{
	for (size_t i = 0; i < sizeof sampled / sizeof sampled[0]; i++) {
		struct st_zone *z = NULL;
		uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1);
		const int64_t recent = t_utc_ms(2020, 1, 1, 0, 0, 0) / 1000;

		cr_assert_eq(st_zone_open(&z, sampled[i]), ST_OK, "%s", sampled[i]);
		set_process_tz(sampled[i]); /* glibc's answer, for comparison */
		for (int64_t t = recent; t < recent + 10 * 366 * 24 * HOUR_S; t += HOUR_S)
			cr_assert_eq(st_zone_offset(z, t), glibc_offset(t), "%s at %lld", sampled[i], (long long)t);
		for (int n = 0; n < RANDOM_SAMPLES; n++) {
			int64_t t;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			t = FIRST_S + (int64_t)(x % (uint64_t)(LAST_S - FIRST_S));
			cr_assert_eq(st_zone_offset(z, t), glibc_offset(t), "%s at %lld", sampled[i], (long long)t);
		}
		st_zone_close(z);
	}
}

Test(time_zone, opening_a_database_leaves_the_process_time_zone_alone)
{
	/* 2024-01-10 00:30 UTC: 19:30 on the 9th in New York, 02:30 in Kyiv,
	 * which from 03:00 counts as the 9th, hour 2. */
	const int64_t at = t_utc_ms(2024, 1, 10, 0, 30, 0);
	const time_t at_s = (time_t)(at / 1000);
	uint8_t frame[KP_FRAME_MAX];
	struct tm before, after;
	struct st_read r;
	struct tdev d;
	struct st_tap_agg_key k = {0};

	set_process_tz("America/New_York");
	cr_assert_not_null(localtime_r(&at_s, &before));
	tdb.opts.timezone = "Europe/Kyiv";
	tdb_open();
	cr_expect_str_eq(getenv("TZ"), "America/New_York");
	cr_assert_not_null(localtime_r(&at_s, &after));
	cr_expect_eq(after.tm_hour, before.tm_hour, "the process's local time moved");
	cr_expect_eq(after.tm_gmtoff, before.tm_gmtoff);
	tdev_make(&d, 0x7A);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 1, at, 1), NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 0, UINT32_MAX, one_cell, &k), ST_OK);
	st_read_end(&r);
	cr_assert_eq(k.route_id, 7, "no cell");
	cr_expect_eq(k.service_date, 20240109);
	cr_expect_eq(k.hour, 2);

	tdb_close();
	set_process_tz(NULL);
	tdb.opts.read_only = 1;
	tdb_open();
	cr_expect_null(getenv("TZ"), "an open set TZ where there was none");
}
