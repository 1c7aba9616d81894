/*
 * Description: `komposter` works with the service-day settings recorded in
 * the database, whatever its config says: on a database made in UTC with the
 * service day from 00:00, `--db DIR stats --json` (no config, so the
 * defaults Europe/Kyiv and 03:00) and `-c` a config saying Kyiv both count
 * taps under the recorded dates and hours, `check` exits 0, and `device
 * add --db DIR` writes without changing the settings.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/db.h"

#define DB_TIMEZONE "UTC"
#define DB_START_HOUR 0

static char dir[64], db[128], conf[128];

/* Winter, Kyiv = UTC+2. 2024-01-15 00:30 UTC: the 15th, hour 0 here, but
 * 02:30 in Kyiv, the 14th from 03:00. 23:30 UTC: the 15th, hour 23 here,
 * but 01:30 on the 16th in Kyiv, the 15th hour 1 from 03:00. */
static void setup(void)
{
	struct kp_tap taps[2];
	FILE *f;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/kyiv.ini", dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "[storage]\npath = %s\ntimezone = Europe/Kyiv\n"
	                        "service_day_start_hour = 3\n", db), 0);
	cr_assert_eq(fclose(f), 0);
	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < 2; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 1, 15, i == 0 ? 0 : 23, 30);
		taps[i].card_token[0] = (uint8_t)(i + 1);
		taps[i].route_id = 10;
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps_in(db, DB_TIMEZONE, DB_START_HOUR, 0xc3, taps, 2, 2), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(settings, .init = setup, .fini = teardown);

static double field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "no number '%s'", name);
	return f->valuedouble;
}

/* Rows of `stats --by hour` for 2024-01-15: hours 0 and 23, one tap each. */
static void expect_recorded_hours(const char *out)
{
	cJSON *doc = cJSON_Parse(out);
	const cJSON *rows, *r;
	double hours[2];
	int n = 0;

	cr_assert_not_null(doc, "not JSON: %s", out);
	rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");
	cr_assert_eq(cJSON_GetArraySize(rows), 2, "%s", out);
	cJSON_ArrayForEach(r, rows) {
		cr_expect_eq(field(r, "accepted"), 1);
		hours[n++] = field(r, "hour");
	}
	cr_expect_eq(hours[0], 0, "%s", out);
	cr_expect_eq(hours[1], 23, "%s", out);
	cJSON_Delete(doc);
}

Test(settings, stats_with_db_only_uses_the_recorded_settings)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "--db", db, "stats", "--json", "--from", "2024-01-15", "--to",
	                       "2024-01-15", "--by", "hour", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	expect_recorded_hours(r.out);
	tools_run_free(&r);
}

Test(settings, stats_with_a_config_saying_otherwise_uses_the_recorded_settings)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "stats", "--json", "--from", "2024-01-15", "--to",
	                       "2024-01-15", "--by", "hour", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	expect_recorded_hours(r.out);
	tools_run_free(&r);
}

static void expect_check_passes(void)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "--db", db, "check", NULL), 0);
	cr_assert_eq(r.status, 0, "stdout: %s stderr: %s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "problems 0"), "stdout: %s", r.out);
	cr_assert_not_null(strstr(r.out, "taps 2"), "stdout: %s", r.out);
	tools_run_free(&r);
}

Test(settings, check_with_db_only_passes)
{
	expect_check_passes();
}

/* The daemon's open: read-write with its own settings, not adopting. */
static int daemon_open(const char *tz, int start_hour)
{
	struct st_options o;
	struct st_db *d = NULL;
	int rc;

	st_options_default(&o);
	o.path = db;
	o.timezone = tz;
	o.service_day_start_hour = start_hour;
	rc = st_db_open(&d, &o);
	st_db_close(d);
	return rc;
}

Test(settings, device_add_with_db_only_writes_and_keeps_the_settings)
{
	char key[128], pub[128];
	struct tools_run r;

	snprintf(key, sizeof(key), "%s/dev.key", dir);
	snprintf(pub, sizeof(pub), "%s/dev.key.pub", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "keygen: %s", r.err);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", "c4", "--key-id", "1",
	                       "--public-key-file", pub, NULL), 0);
	cr_assert_eq(r.status, 0, "device add: %s", r.err);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "device", "revoke", "c4", "--db", db, NULL), 0);
	cr_assert_eq(r.status, 0, "device revoke: %s", r.err);
	tools_run_free(&r);
	expect_check_passes();
	cr_expect_eq(daemon_open(DB_TIMEZONE, DB_START_HOUR), ST_OK);
	cr_expect_eq(daemon_open("Europe/Kyiv", 3), ST_EMISMATCH);
}
