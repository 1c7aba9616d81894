/*
 * Description: a database's time zone must be a zone of the tz database,
 * by name. A region ("Europe"), a zone that does not exist ("Europe/Kyiv2",
 * which glibc would take as a POSIX rule and read as UTC), a path
 * ("/etc/localtime", "../zoneinfo/UTC"), the machine's "localtime" and an
 * empty name are refused with ST_EZONE before anything is created or
 * recorded; st_zone_valid says what is wrong in one line. Zones, links
 * ("Europe/Kiev") and the Etc zones are accepted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
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
