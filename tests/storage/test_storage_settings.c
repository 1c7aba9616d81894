/*
 * Description: the service-day settings (time zone, start hour, epoch
 * period) are recorded when a database is made and belong to it: they
 * survive a reopen; a read-write open with other settings is refused with
 * ST_EMISMATCH and changes nothing; adopt_settings and read-only opens take
 * the recorded ones (st_db_options says so; the process's TZ stays as it
 * was, whatever the zone), so a reader with
 * other options still computes the writer's dates; a database made before
 * they were recorded gets them on its first read-write open that does not
 * adopt.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/tap_agg.h"

/* The process's own zone, which no open may change. */
#define PROCESS_TZ "America/Sao_Paulo"

static void settings_setup(void)
{
	tdb_setup();
	cr_assert_eq(setenv("TZ", PROCESS_TZ, 1), 0);
	tzset();
}

TestSuite(settings, .init = settings_setup, .fini = tdb_teardown);

#define SETTINGS_KEY "service_day"

static void set_settings(struct st_options *o, const char *tz, int start_hour, int epoch)
{
	o->timezone = tz;
	o->service_day_start_hour = start_hour;
	o->epoch_period = epoch;
}

static void expect_settings(const struct st_db *db, const char *tz, int start_hour, int epoch)
{
	const struct st_options *o = st_db_options(db);
	const char *env = getenv("TZ");

	cr_expect_str_eq(o->timezone, tz);
	cr_expect_eq(o->service_day_start_hour, start_hour);
	cr_expect_eq(o->epoch_period, epoch);
	cr_assert_not_null(env);
	cr_expect_str_eq(env, PROCESS_TZ, "an open set TZ to %s", env);
}

/* Opens with o, expecting rc; closes again. */
static void open_expect(const struct st_options *o, int want)
{
	struct st_db *db = NULL;
	int rc = st_db_open(&db, o);

	cr_expect_eq(rc, want, "st_db_open: %s, want %s", st_strerror(rc), st_strerror(want));
	if (want != ST_OK)
		cr_expect_null(db);
	st_db_close(db);
}

Test(settings, the_recorded_settings_survive_a_reopen)
{
	struct st_options ro;

	set_settings(&tdb.opts, "UTC", 0, ST_EPOCH_WEEK);
	tdb_open();
	expect_settings(tdb.db, "UTC", 0, ST_EPOCH_WEEK);
	tdb_reopen();
	expect_settings(tdb.db, "UTC", 0, ST_EPOCH_WEEK);
	tdb_close();
	ro = tdb.opts;
	st_options_default(&tdb.opts);
	tdb.opts.path = ro.path;
	tdb.opts.read_only = 1;
	tdb_open();
	expect_settings(tdb.db, "UTC", 0, ST_EPOCH_WEEK);
}

Test(settings, a_writer_with_other_settings_is_refused_and_changes_nothing)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_options o;
	struct tdev d;
	uint8_t *before, *after;
	size_t before_len, after_len;
	char data[128];

	tdb_open(); /* Europe/Kyiv, 03:00, day */
	tdev_make(&d, 0x51);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 2, 1715763600000, 1), NULL), ST_OK);
	tdb_close();
	snprintf(data, sizeof data, "%s/data.mdb", tdb.dir);
	before = t_slurp(data, &before_len);

	o = tdb.opts;
	set_settings(&o, "UTC", 3, ST_EPOCH_DAY);
	open_expect(&o, ST_EMISMATCH);
	set_settings(&o, "Europe/Kyiv", 4, ST_EPOCH_DAY);
	open_expect(&o, ST_EMISMATCH);
	set_settings(&o, "Europe/Kyiv", 3, ST_EPOCH_MONTH);
	open_expect(&o, ST_EMISMATCH);
	set_settings(&o, "Europe/Kiev", 3, ST_EPOCH_DAY); /* the same zone, written otherwise */
	open_expect(&o, ST_EMISMATCH);

	after = t_slurp(data, &after_len);
	cr_expect_eq(before_len, after_len);
	cr_expect_eq(memcmp(before, after, before_len < after_len ? before_len : after_len), 0,
	             "a refused open changed data.mdb");
	free(before);
	free(after);
	tdb_open();
	expect_settings(tdb.db, "Europe/Kyiv", 3, ST_EPOCH_DAY);
}

Test(settings, the_mismatch_has_its_own_message)
{
	cr_expect_str_eq(st_strerror(ST_EMISMATCH), "database was made with other service-day settings");
}

struct one_cell {
	struct st_tap_agg_key k;
	int n;
};

static int collect(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct one_cell *c = ctx;

	(void)v;
	c->k = *k;
	c->n++;
	return 0;
}

static struct one_cell the_cell(void)
{
	struct one_cell c = {0};
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 0, UINT32_MAX, collect, &c), ST_OK);
	st_read_end(&r);
	return c;
}

static void expect_no_problems(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.taps, 1);
	cr_expect_eq(rep.problems, 0);
}

/* 2024-01-10 00:30 UTC is 02:30 in Kyiv (EET): the 9th, hour 2, when the
 * service day starts at 03:00; in UTC from 00:00 it would be the 10th. */
static const int64_t kyiv_0230 = 1704846600000;

static void commit_kyiv_0230(void)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdev_make(&d, 0x52);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 1, kyiv_0230, 1), NULL), ST_OK);
}

static void expect_the_9th_hour_2(void)
{
	struct one_cell c = the_cell();

	cr_assert_eq(c.n, 1);
	cr_expect_eq(c.k.service_date, 20240109);
	cr_expect_eq(c.k.hour, 2);
}

Test(settings, adopt_settings_opens_with_the_recorded_ones)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdb_open(); /* Europe/Kyiv, 03:00, day */
	tdb_close();
	set_settings(&tdb.opts, "UTC", 0, ST_EPOCH_MONTH);
	tdb.opts.adopt_settings = 1;
	tdb_open();
	expect_settings(tdb.db, "Europe/Kyiv", 3, ST_EPOCH_DAY);
	tdev_make(&d, 0x53);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 1, kyiv_0230, 1), NULL), ST_OK);
	expect_the_9th_hour_2();
	expect_no_problems();
}

Test(settings, adopt_settings_on_a_new_database_records_its_options)
{
	set_settings(&tdb.opts, "UTC", 5, ST_EPOCH_WEEK);
	tdb.opts.adopt_settings = 1;
	tdb_open();
	expect_settings(tdb.db, "UTC", 5, ST_EPOCH_WEEK);
	tdb_close();
	tdb.opts.adopt_settings = 0;
	open_expect(&tdb.opts, ST_OK);
	set_settings(&tdb.opts, "UTC", 3, ST_EPOCH_WEEK);
	open_expect(&tdb.opts, ST_EMISMATCH);
}

Test(settings, a_reader_with_other_options_computes_the_recorded_settings)
{
	tdb_open(); /* Europe/Kyiv, 03:00, day */
	commit_kyiv_0230();
	expect_the_9th_hour_2();
	tdb_close();
	set_settings(&tdb.opts, "UTC", 0, ST_EPOCH_MONTH);
	tdb.opts.read_only = 1;
	tdb_open();
	expect_settings(tdb.db, "Europe/Kyiv", 3, ST_EPOCH_DAY);
	expect_no_problems();
}

Test(settings, a_reader_ignores_a_bad_time_zone_in_its_options)
{
	tdb_open();
	tdb_close();
	tdb.opts.timezone = "Europe/Atlantis";
	tdb.opts.read_only = 1;
	tdb_open();
	expect_settings(tdb.db, "Europe/Kyiv", 3, ST_EPOCH_DAY);
	tdb_close();
	tdb.opts.read_only = 0;
	open_expect(&tdb.opts, ST_EZONE);
}

/* ---- databases without recorded settings, and damaged records ---- */

static void raw_meta(const MDB_val *v)
{
	struct t_raw raw;
	MDB_val k = {sizeof SETTINGS_KEY - 1, SETTINGS_KEY};

	t_raw_begin(&raw, "meta", 0);
	if (v)
		cr_assert_eq(mdb_put(raw.txn, raw.dbi, &k, (MDB_val *)v, 0), 0);
	else
		cr_assert_eq(mdb_del(raw.txn, raw.dbi, &k, NULL), 0);
	t_raw_commit(&raw);
}

Test(settings, an_older_database_gets_its_first_writers_settings)
{
	struct st_options o;

	tdb_open();
	tdb_close();
	raw_meta(NULL); /* as made before the settings were recorded */
	o = tdb.opts;
	set_settings(&o, "UTC", 0, ST_EPOCH_WEEK);
	o.read_only = 1;
	cr_assert_eq(st_db_open(&tdb.db, &o), ST_OK);
	expect_settings(tdb.db, "UTC", 0, ST_EPOCH_WEEK); /* a reader uses its options */
	tdb_close();
	set_settings(&tdb.opts, "Asia/Tokyo", 9, ST_EPOCH_WEEK);
	tdb.opts.adopt_settings = 1;
	tdb_open(); /* a tool uses its options but records nothing */
	expect_settings(tdb.db, "Asia/Tokyo", 9, ST_EPOCH_WEEK);
	tdb_close();
	tdb.opts.adopt_settings = 0;
	set_settings(&tdb.opts, "America/New_York", 4, ST_EPOCH_MONTH);
	tdb_open(); /* the first writer records its settings */
	tdb_close();
	cr_assert_eq(st_db_open(&tdb.db, &o), ST_OK);
	expect_settings(tdb.db, "America/New_York", 4, ST_EPOCH_MONTH);
	tdb_close();
	set_settings(&tdb.opts, "Europe/Kyiv", 3, ST_EPOCH_DAY);
	open_expect(&tdb.opts, ST_EMISMATCH);
}

Test(settings, a_damaged_record_is_corrupt)
{
	uint8_t bad_hour[] = {24, 0, 'U', 'T', 'C'};
	uint8_t no_zone[] = {3, 0};
	MDB_val v = {sizeof bad_hour, bad_hour};

	tdb_open();
	tdb_close();
	raw_meta(&v);
	open_expect(&tdb.opts, ST_ECORRUPT);
	v = (MDB_val){sizeof no_zone, no_zone};
	raw_meta(&v);
	tdb.opts.read_only = 1;
	open_expect(&tdb.opts, ST_ECORRUPT);
}

Test(settings, a_time_zone_is_required)
{
	tdb.opts.timezone = NULL;
	open_expect(&tdb.opts, ST_EINVAL);
}

Test(settings, a_negative_riders_deferral_is_refused)
{
	tdb.opts.riders_defer_ms = -1;
	open_expect(&tdb.opts, ST_EINVAL);
}
