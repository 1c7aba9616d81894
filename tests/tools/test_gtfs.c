/*
 * Description: `komposter gtfs import|list` on a scratch database with
 * feeds the test writes: a feed with a byte order mark, CRLF lines, quoted
 * names holding commas, quotes and a line break, Ukrainian names, extra
 * columns and shuffled column order imports and lists exactly (text and
 * JSON); a second import replaces the first; every broken feed (a missing
 * file or required column, an id that is not a number, an over-long field,
 * an unterminated quote, a number used twice) exits 1 with one line
 * "FILE:LINE: what" and leaves the previous import as it was; every bad
 * command line exits 2; every subcommand has --help.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"

static char dir[64], db[128], conf[128], feed[128];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(feed, sizeof(feed), "%s/feed", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	cr_assert_eq(mkdir(feed, 0700), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(gtfs, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", feed, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
}

/* The first feed: BOM, CRLF, shuffled columns, an extra column whose quoted
 * field spans two lines, a non-numeric route_id with a komposter_id. */
static const char routes1[] =
	"\xef\xbb\xbfroute_long_name,agency_id,route_type,route_desc,route_id,komposter_id,route_short_name\r\n"
	"\"Вокзал, \"\"Центр\"\" — Східний\",TTU,3,\"two\r\nlines\",12,,12\r\n"
	"Тролейбус №3,TTU,11,,T3,33,3\r\n"
	"\r\n"
	"\"\",TTU,3,,7,,\"7А\"\r\n";
static const char stops1[] =
	"stop_code,stop_lon,stop_name,location_type,stop_id,stop_lat,wheelchair_boarding\n"
	"A1,25.594839,\"Майдан Волі, \"\"центр\"\"\",0,110,49.5535161,1\n"
	"A2,,Збараж,,7,,0\n"
	"N1,,,3,900,,\n"
	"A3,-0.1,Південний,1,111,-33.5,\n";

static const char routes1_listed[] =
	"id\troute_id\troute_short_name\troute_long_name\troute_type\n"
	"7\t7\t7А\t\t3\n"
	"12\t12\t12\tВокзал, \"Центр\" — Східний\t3\n"
	"33\tT3\t3\tТролейбус №3\t11\n";
static const char stops1_listed[] =
	"id\tstop_id\tstop_name\tstop_lat\tstop_lon\tlocation_type\n"
	"7\t7\tЗбараж\t\t\t0\n"
	"110\t110\tМайдан Волі, \"центр\"\t49.5535161\t25.594839\t0\n"
	"111\t111\tПівденний\t-33.5\t-0.1\t1\n"
	"900\t900\t\t\t\t3\n";

static void import_ok(const char *routes, const char *stops, const char *said)
{
	struct tools_run r;

	write_file("routes.txt", routes);
	write_file("stops.txt", stops);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, feed, NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
	cr_expect_eq(r.err_len, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, said), "stdout: %s", r.out);
	tools_run_free(&r);
}

static void expect_list(const char *what, const char *want)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "gtfs", "list", what, "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, want);
	tools_run_free(&r);
}

static cJSON *list_json(const char *what)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "gtfs", "list", what, "--json", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	cr_assert(cJSON_IsArray(doc));
	tools_run_free(&r);
	return doc;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(v), "%s is not a string", name);
	return v->valuestring;
}

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(v), "%s is not a number", name);
	return v->valuedouble;
}

Test(gtfs, a_quirky_feed_imports_and_lists_exactly)
{
	cJSON *routes, *stops;
	const cJSON *o;

	import_ok(routes1, stops1, "imported 3 routes and 4 stops");
	expect_list("routes", routes1_listed);
	expect_list("stops", stops1_listed);

	routes = list_json("routes");
	cr_assert_eq(cJSON_GetArraySize(routes), 3);
	o = cJSON_GetArrayItem(routes, 1);
	cr_expect_eq(num_of(o, "id"), 12);
	cr_expect_str_eq(str_of(o, "route_id"), "12");
	cr_expect_str_eq(str_of(o, "route_short_name"), "12");
	cr_expect_str_eq(str_of(o, "route_long_name"), "Вокзал, \"Центр\" — Східний");
	cr_expect_eq(num_of(o, "route_type"), 3);
	o = cJSON_GetArrayItem(routes, 2);
	cr_expect_eq(num_of(o, "id"), 33);
	cr_expect_str_eq(str_of(o, "route_id"), "T3");
	cJSON_Delete(routes);

	stops = list_json("stops");
	cr_assert_eq(cJSON_GetArraySize(stops), 4);
	o = cJSON_GetArrayItem(stops, 1);
	cr_expect_str_eq(str_of(o, "stop_name"), "Майдан Волі, \"центр\"");
	cr_expect_eq(num_of(o, "stop_lat"), 49.5535161);
	cr_expect_eq(num_of(o, "stop_lon"), 25.594839);
	o = cJSON_GetArrayItem(stops, 0);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "stop_lat")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "stop_lon")));
	o = cJSON_GetArrayItem(stops, 3);
	cr_expect_eq(num_of(o, "location_type"), 3);
	cr_expect_str_eq(str_of(o, "stop_name"), "");
	cJSON_Delete(stops);
}

Test(gtfs, a_second_import_replaces_the_first)
{
	import_ok(routes1, stops1, "imported 3 routes and 4 stops");
	import_ok("route_id,route_short_name,route_type\n5,5,0\n", "stop_id,stop_name\n1,Нова\n",
	          "imported 1 routes and 1 stops");
	expect_list("routes", "id\troute_id\troute_short_name\troute_long_name\troute_type\n5\t5\t5\t\t0\n");
	expect_list("stops", "id\tstop_id\tstop_name\tstop_lat\tstop_lon\tlocation_type\n1\t1\tНова\t\t\t0\n");
}

/* Exit 1, exactly one stderr line holding want, nothing on stdout; and the
 * first feed still listed as it was. */
static void expect_broken(const char *routes, const char *stops, const char *want)
{
	struct tools_run r;

	write_file("routes.txt", routes);
	write_file("stops.txt", stops);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, feed, NULL), 0);
	cr_expect_eq(r.status, 1, "%s: exit %d, stderr: %s", want, r.status, r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "%s: stderr: %s", want, r.err);
	cr_expect_eq(strncmp(r.err, "komposter: gtfs import: ", 24), 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, want), "want %s; stderr: %s", want, r.err);
	cr_expect_eq(r.out_len, 0, "stdout: %s", r.out);
	tools_run_free(&r);
	expect_list("routes", routes1_listed);
	expect_list("stops", stops1_listed);
}

Test(gtfs, a_broken_feed_exits_1_naming_file_and_line_and_changes_nothing)
{
	char long_name[300 + 64];

	import_ok(routes1, stops1, "imported 3 routes and 4 stops");
	expect_broken("route_id,route_short_name\n1,1\n", stops1, "routes.txt:1: the header has no route_type column");
	expect_broken(routes1, "stop_name,stop_lat\nA,1\n", "stops.txt:1: the header has no stop_id column");
	expect_broken(routes1, "stop_id,stop_name\n1,A\n\"2\",B\nS3,C\n",
	              "stops.txt:4: stop_id 'S3' is not a number in 1..4294967295 and the row has no komposter_id");
	expect_broken("route_id,route_short_name,route_type\n1,1,3\n007,7,3\n", stops1,
	              "routes.txt:3: route_id '007' is not a number");
	expect_broken("route_id,route_short_name,route_type,komposter_id\n1,1,3,\nX,7,3,0\n", stops1,
	              "routes.txt:3: komposter_id '0' is not a number");
	snprintf(long_name, sizeof(long_name), "stop_id,stop_desc,stop_name\n1,\"a\nb\",A\n2,x,%0256d\n", 0);
	expect_broken(routes1, long_name, "stops.txt:4: stop_name is longer than 255 bytes");
	expect_broken(routes1, "stop_id,stop_name\n1,A\n2,\"B\n3,C\n", "stops.txt:3: a quoted field is not closed");
	expect_broken("route_id,route_short_name,route_type\r\n1,1,3\r\n2,2\"x\",3\r\n", stops1,
	              "routes.txt:3: malformed quoted field");
	expect_broken("route_id,route_short_name,route_type\n1,1,3\n2,2,3\n1,1b,3\n", stops1,
	              "routes.txt:4: route number 1 is taken by an earlier row");
	expect_broken(routes1, "stop_id,stop_name,stop_lat,stop_lon\n1,A,91,0\n", "stops.txt:2: stop_lat '91'");
	expect_broken(routes1, "stop_id,stop_name,location_type\n1,,0\n", "stops.txt:2: stop_name is empty");
	expect_broken(routes1, "stop_id,stop_name\n1,A,x\n", "stops.txt:2: the row has more fields");
	expect_broken(routes1, "stop_id,stop_name\n1,\"A\nB\"\n", "stops.txt:2: stop_name is not UTF-8 text without control");
}

Test(gtfs, a_missing_file_exits_1_and_changes_nothing)
{
	struct tools_run r;
	char path[192];

	import_ok(routes1, stops1, "imported 3 routes and 4 stops");
	snprintf(path, sizeof(path), "%s/stops.txt", feed);
	cr_assert_eq(remove(path), 0);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, feed, NULL), 0);
	cr_expect_eq(r.status, 1, "exit %d, stderr: %s", r.status, r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "stops.txt: No such file or directory"), "stderr: %s", r.err);
	tools_run_free(&r);
	expect_list("routes", routes1_listed);
	expect_list("stops", stops1_listed);
}

static void expect_usage(const char *what, struct tools_run *r)
{
	cr_expect_eq(r->status, 2, "%s: exit %d, stderr: %s", what, r->status, r->err);
	cr_expect_eq(strncmp(r->err, "komposter: gtfs", 15), 0, "%s: stderr: %s", what, r->err);
	cr_expect_eq(tools_count_lines(r->err), 2, "%s: stderr: %s", what, r->err);
	cr_expect_eq(r->out_len, 0, "%s: stdout: %s", what, r->out);
	tools_run_free(r);
}

Test(gtfs, bad_command_lines_exit_2)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "gtfs", "-c", conf, NULL), 0);
	expect_usage("no subcommand", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "export", "-c", conf, NULL), 0);
	expect_usage("unknown subcommand", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, NULL), 0);
	expect_usage("import without DIR", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, feed, feed, NULL), 0);
	expect_usage("import with two DIRs", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "import", "--json", "-c", conf, feed, NULL), 0);
	expect_usage("import --json", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "list", "-c", conf, NULL), 0);
	expect_usage("list without what", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "list", "trips", "-c", conf, NULL), 0);
	expect_usage("list trips", &r);
	cr_assert_eq(tools_run(&r, "gtfs", "list", "routes", "--csv", "-c", conf, NULL), 0);
	expect_usage("list --csv", &r);
}

Test(gtfs, every_subcommand_has_help)
{
	const char *subs[] = {NULL, "import", "list"};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		struct tools_run r;

		if (subs[i])
			cr_assert_eq(tools_run(&r, "gtfs", subs[i], "--help", NULL), 0);
		else
			cr_assert_eq(tools_run(&r, "gtfs", "--help", NULL), 0);
		cr_expect_eq(r.status, 0);
		cr_expect_not_null(strstr(r.out, "Usage: komposter gtfs"), "%s", r.out);
		cr_expect_not_null(strstr(r.out, "Exit status"), "%s", r.out);
		cr_expect_eq(r.err_len, 0);
		tools_run_free(&r);
	}
}
