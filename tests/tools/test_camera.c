/*
 * Description: `komposter camera add|list|remove|events` on a scratch
 * database: an onboard and a street camera added, listed as a table and as
 * JSON parsed back with cJSON, removed; a taken name, an unknown camera
 * and a vehicle without cameras fail with exit 1 and one line; every bad
 * command line exits 2; `camera events` lists the NVR events stored with
 * st_nvr_commit of the cameras of a vehicle or stop, in start order, within
 * the time range, with their times in the database's zone.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/nvr.h"

static char dir[64], db[128], conf[128];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(camera, .init = setup, .fini = teardown);

static void expect_ok(struct tools_run *r, const char *what)
{
	cr_assert_eq(r->status, 0, "%s: exit %d, stderr: %s", what, r->status, r->err);
	tools_run_free(r);
}

/* Exit 1 and exactly one line "komposter: camera ...: ..." on stderr, nothing on stdout. */
static void expect_fail(struct tools_run *r, const char *what, const char *needle)
{
	cr_expect_eq(r->status, 1, "%s: exit %d, stderr: %s", what, r->status, r->err);
	cr_expect_eq(tools_count_lines(r->err), 1, "%s: stderr: %s", what, r->err);
	cr_expect_eq(strncmp(r->err, "komposter: camera ", 18), 0, "%s: stderr: %s", what, r->err);
	cr_expect_not_null(strstr(r->err, needle), "%s: stderr: %s", what, r->err);
	cr_expect_eq(r->out_len, 0, "%s: stdout: %s", what, r->out);
	tools_run_free(r);
}

/* Exit 2: the error line and the "--help" hint, nothing on stdout. */
static void expect_usage(struct tools_run *r, const char *what)
{
	cr_expect_eq(r->status, 2, "%s: exit %d, stderr: %s", what, r->status, r->err);
	cr_expect_eq(strncmp(r->err, "komposter: camera", 17), 0, "%s: stderr: %s", what, r->err);
	cr_expect_eq(tools_count_lines(r->err), 2, "%s: stderr: %s", what, r->err);
	cr_expect_eq(r->out_len, 0, "%s: stdout: %s", what, r->out);
	tools_run_free(r);
}

static void add_two(void)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "camera", "add", "-c", conf, "bus5-front", "--vehicle", "5", "--door", "1",
	                       "--boarding-zone", "entry", "--alighting-zone", "exit", NULL), 0);
	cr_assert_str_eq(r.out, "added camera bus5-front\n");
	expect_ok(&r, "add bus5-front");
	cr_assert_eq(tools_run(&r, "camera", "add", "-c", conf, "stop110", "--stop", "110", "--boarding-zone",
	                       "kerb", NULL), 0);
	expect_ok(&r, "add stop110");
}

static cJSON *list_json(void)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "camera", "list", "-c", conf, "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(f), "%s is not a string", name);
	return f->valuestring;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "%s is not a number", name);
	return f->valuedouble;
}

Test(camera, add_list_remove_round_trip)
{
	struct tools_run r;
	cJSON *doc, *c;

	add_two();
	doc = list_json();
	cr_assert_eq(cJSON_GetArraySize(doc), 2);
	c = cJSON_GetArrayItem(doc, 0);
	cr_expect_str_eq(str(c, "name"), "bus5-front");
	cr_expect_str_eq(str(c, "place"), "onboard");
	cr_expect_eq(num(c, "vehicle_id"), 5);
	cr_expect_eq(num(c, "door"), 1);
	cr_expect_eq(num(c, "stop_id"), 0);
	cr_expect_str_eq(str(c, "boarding_zone"), "entry");
	cr_expect_str_eq(str(c, "alighting_zone"), "exit");
	c = cJSON_GetArrayItem(doc, 1);
	cr_expect_str_eq(str(c, "name"), "stop110");
	cr_expect_str_eq(str(c, "place"), "street");
	cr_expect_eq(num(c, "vehicle_id"), 0);
	cr_expect_eq(num(c, "stop_id"), 110);
	cr_expect_str_eq(str(c, "boarding_zone"), "kerb");
	cr_expect_str_eq(str(c, "alighting_zone"), "");
	cJSON_Delete(doc);

	cr_assert_eq(tools_run(&r, "camera", "list", "-c", conf, NULL), 0);
	cr_expect_eq(tools_count_lines(r.out), 3, "%s", r.out);
	cr_expect_not_null(strstr(r.out, "stop110"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "street"), "%s", r.out);
	expect_ok(&r, "list");

	cr_assert_eq(tools_run(&r, "camera", "remove", "-c", conf, "bus5-front", NULL), 0);
	cr_expect_str_eq(r.out, "removed camera bus5-front\n");
	expect_ok(&r, "remove");
	doc = list_json();
	cr_assert_eq(cJSON_GetArraySize(doc), 1);
	cr_expect_str_eq(str(cJSON_GetArrayItem(doc, 0), "name"), "stop110");
	cJSON_Delete(doc);
}

Test(camera, runtime_failures_exit_1_with_one_line)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "camera", "list", "--db", "/nonexistent/komposter-db", NULL), 0);
	expect_fail(&r, "list of no database", "camera list");
	add_two();
	cr_assert_eq(tools_run(&r, "camera", "add", "-c", conf, "stop110", "--stop", "111", "--boarding-zone",
	                       "z", NULL), 0);
	expect_fail(&r, "add taken", "exists already");
	cr_assert_eq(tools_run(&r, "camera", "remove", "-c", conf, "nosuch", NULL), 0);
	expect_fail(&r, "remove unknown", "not found");
	cr_assert_eq(tools_run(&r, "camera", "events", "-c", conf, "--camera", "nosuch", "--from", "2024-06-15",
	                       "--to", "2024-06-15", NULL), 0);
	expect_fail(&r, "events of unknown camera", "not found");
	cr_assert_eq(tools_run(&r, "camera", "events", "-c", conf, "--vehicle", "6", "--from", "2024-06-15",
	                       "--to", "2024-06-15", NULL), 0);
	expect_fail(&r, "events of a vehicle without camera", "no camera in vehicle 6");
}

#define ADD(...) tools_run(&r, "camera", "add", "-c", conf, __VA_ARGS__, NULL)
#define EVENTS(...) tools_run(&r, "camera", "events", "-c", conf, __VA_ARGS__, NULL)

Test(camera, bad_command_lines_exit_2)
{
	static const char long_name[] = "a123456789012345678901234567890123456789012345678901234567890123";
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "camera", NULL), 0);
	expect_usage(&r, "no subcommand");
	cr_assert_eq(tools_run(&r, "camera", "frob", NULL), 0);
	expect_usage(&r, "unknown subcommand");
	cr_assert_eq(ADD("--vehicle", "5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "no name");
	cr_assert_eq(ADD("c1", "c2", "--vehicle", "5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "two names");
	cr_assert_eq(ADD("c1", "--boarding-zone", "z"), 0);
	expect_usage(&r, "no place");
	cr_assert_eq(ADD("c1", "--vehicle", "5", "--stop", "7", "--boarding-zone", "z"), 0);
	expect_usage(&r, "vehicle and stop");
	cr_assert_eq(ADD("c1", "--stop", "7", "--door", "1", "--boarding-zone", "z"), 0);
	expect_usage(&r, "door without vehicle");
	cr_assert_eq(ADD("c1", "--vehicle", "5"), 0);
	expect_usage(&r, "no zone");
	cr_assert_eq(ADD("c1", "--vehicle", "5", "--boarding-zone", ""), 0);
	expect_usage(&r, "empty zone");
	cr_assert_eq(ADD("c1", "--vehicle", "0", "--boarding-zone", "z"), 0);
	expect_usage(&r, "vehicle 0");
	cr_assert_eq(ADD("c1", "--vehicle", "x5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "vehicle not a number");
	cr_assert_eq(ADD("c1", "--stop", "4294967296", "--boarding-zone", "z"), 0);
	expect_usage(&r, "stop too big");
	cr_assert_eq(ADD("c1", "--vehicle", "5", "--door", "256", "--boarding-zone", "z"), 0);
	expect_usage(&r, "door 256");
	cr_assert_eq(ADD("bus/5", "--vehicle", "5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "name with /");
	cr_assert_eq(ADD("bus 5", "--vehicle", "5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "name with a space");
	cr_assert_eq(ADD(long_name, "--vehicle", "5", "--boarding-zone", "z"), 0);
	expect_usage(&r, "name of 64 bytes");
	cr_assert_eq(ADD("c1", "--vehicle", "5", "--boarding-zone", "a,b"), 0);
	expect_usage(&r, "zone with a comma");
	cr_assert_eq(ADD("c1", "--vehicle", "5", "--boarding-zone", "z", "--planet", "x"), 0);
	expect_usage(&r, "unknown option");
	cr_assert_eq(tools_run(&r, "camera", "remove", "-c", conf, NULL), 0);
	expect_usage(&r, "remove without a name");
	cr_assert_eq(tools_run(&r, "camera", "list", "-c", conf, "extra", NULL), 0);
	expect_usage(&r, "list with an operand");
	cr_assert_eq(EVENTS("--from", "2024-06-15", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events without a selector");
	cr_assert_eq(EVENTS("--vehicle", "5", "--stop", "1", "--from", "2024-06-15", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events with two selectors");
	cr_assert_eq(EVENTS("--vehicle", "5", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events without --from");
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-06-15"), 0);
	expect_usage(&r, "events without --to");
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-02-30", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events --from 30 February");
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-06-15T25:00", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events --from hour 25");
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-6-15", "--to", "2024-06-16"), 0);
	expect_usage(&r, "events --from without zero padding");
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-06-15", "--to", "+024-06-16"), 0);
	expect_usage(&r, "events --to with a sign");
	/* The order of --from and --to is checked against the database's zone. */
	add_two();
	cr_assert_eq(EVENTS("--vehicle", "5", "--from", "2024-06-16T10:00", "--to", "2024-06-16T09:00"), 0);
	expect_usage(&r, "events --from after --to");
}

/* An event of camera at 2024-06-15 hh:mm UTC (the fill database's zone). */
static struct st_nvr_event event(const char *camera, const char *id, int hour, int minute, int64_t end_after_s,
                                 const char *zones, int has_clip, int false_positive)
{
	struct st_nvr_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.camera, sizeof(ev.camera), "%s", camera);
	snprintf(ev.id, sizeof(ev.id), "%s", id);
	snprintf(ev.label, sizeof(ev.label), "person");
	snprintf(ev.zones, sizeof(ev.zones), "%s", zones);
	ev.start = fill_utc_ms(2024, 6, 15, hour, minute);
	ev.end = end_after_s ? ev.start + end_after_s * 1000 : 0;
	ev.type = end_after_s ? ST_NVR_END : ST_NVR_UPDATE;
	ev.has_clip = (uint8_t)has_clip;
	ev.false_positive = (uint8_t)false_positive;
	ev.received_at = ev.start + 1000;
	return ev;
}

static void fill_events(void)
{
	struct st_nvr_event evs[] = {
		event("bus5-front", "1718435400.1-aaa", 7, 10, 12, "entry", 1, 0),
		event("bus5-rear", "1718434800.2-bbb", 7, 0, 0, "", 0, 1),
		event("bus5-front", "1718438400.3-ccc", 8, 0, 5, "entry,exit", 0, 0),
		event("stop110", "1718435000.4-ddd", 7, 3, 9, "kerb", 1, 0),
		event("bus5-front", "1718460000.5-eee", 14, 0, 3, "exit", 1, 0), /* outside the range */
	};
	struct tools_run r;

	add_two();
	cr_assert_eq(tools_run(&r, "camera", "add", "-c", conf, "bus5-rear", "--vehicle", "5", "--door", "2",
	                       "--alighting-zone", "exit", NULL), 0);
	expect_ok(&r, "add bus5-rear");
	cr_assert_eq(fill_nvr_events(db, evs, sizeof(evs) / sizeof(evs[0])), 0);
}

static void expect_event(const cJSON *arr, int i, const char *id, const char *camera, const char *start,
                         const char *end, const char *zones_csv, int has_clip, int false_positive)
{
	const cJSON *o = cJSON_GetArrayItem(arr, i), *zones, *z, *e;
	char joined[256] = "";

	cr_assert_not_null(o, "no event %d", i);
	cr_expect_str_eq(str(o, "id"), id, "event %d", i);
	cr_expect_str_eq(str(o, "camera"), camera, "event %d", i);
	cr_expect_str_eq(str(o, "label"), "person", "event %d", i);
	cr_expect_str_eq(str(o, "start"), start, "event %d", i);
	e = cJSON_GetObjectItemCaseSensitive(o, "end");
	if (end == NULL)
		cr_expect(cJSON_IsNull(e), "event %d end is not null", i);
	else
		cr_expect_str_eq(str(o, "end"), end, "event %d", i);
	zones = cJSON_GetObjectItemCaseSensitive(o, "zones");
	cr_assert(cJSON_IsArray(zones), "event %d zones", i);
	cJSON_ArrayForEach(z, zones) {
		cr_assert(cJSON_IsString(z));
		if (joined[0])
			strcat(joined, ",");
		strcat(joined, z->valuestring);
	}
	cr_expect_str_eq(joined, zones_csv, "event %d zones", i);
	cr_expect_eq(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_clip")), has_clip, "event %d", i);
	cr_expect_eq(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "false_positive")), false_positive, "event %d",
	             i);
}

static cJSON *events_json(const char *sel, const char *value, const char *from, const char *to)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "camera", "events", "-c", conf, sel, value, "--from", from, "--to", to, "--json",
	                       NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

Test(camera, events_of_a_vehicle_in_start_order_within_the_range)
{
	cJSON *doc;

	fill_events();
	doc = events_json("--vehicle", "5", "2024-06-15", "2024-06-15T12:00");
	cr_assert_eq(cJSON_GetArraySize(doc), 3, "%d events", cJSON_GetArraySize(doc));
	expect_event(doc, 0, "1718434800.2-bbb", "bus5-rear", "2024-06-15T07:00:00+00:00", NULL, "", 0, 1);
	expect_event(doc, 1, "1718435400.1-aaa", "bus5-front", "2024-06-15T07:10:00+00:00",
	             "2024-06-15T07:10:12+00:00", "entry", 1, 0);
	expect_event(doc, 2, "1718438400.3-ccc", "bus5-front", "2024-06-15T08:00:00+00:00",
	             "2024-06-15T08:00:05+00:00", "entry,exit", 0, 0);
	cJSON_Delete(doc);
	/* A --to date alone takes the whole date. */
	doc = events_json("--camera", "bus5-front", "2024-06-15", "2024-06-15");
	cr_expect_eq(cJSON_GetArraySize(doc), 3);
	cJSON_Delete(doc);
	doc = events_json("--stop", "110", "2024-06-15T07:03", "2024-06-15T07:04");
	cr_assert_eq(cJSON_GetArraySize(doc), 1);
	expect_event(doc, 0, "1718435000.4-ddd", "stop110", "2024-06-15T07:03:00+00:00",
	             "2024-06-15T07:03:09+00:00", "kerb", 1, 0);
	cJSON_Delete(doc);
}

Test(camera, events_table_has_a_header_and_a_line_per_event)
{
	struct tools_run r;

	fill_events();
	cr_assert_eq(tools_run(&r, "camera", "events", "-c", conf, "--vehicle", "5", "--from", "2024-06-15T07:05",
	                       "--to", "2024-06-15T09:00", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(tools_count_lines(r.out), 3, "%s", r.out);
	cr_expect_not_null(strstr(r.out, "2024-06-15T07:10:00+00:00  2024-06-15T07:10:12+00:00  bus5-front"), "%s",
	                   r.out);
	cr_expect_not_null(strstr(r.out, "entry,exit"), "%s", r.out);
	cr_expect_null(strstr(r.out, "bbb"), "07:00 is before --from: %s", r.out);
	tools_run_free(&r);
}

Test(camera, events_read_and_show_times_in_the_database_zone)
{
	char kyiv[128];
	struct st_nvr_event evs[] = {
		event("bus5-front", "summer", 7, 10, 12, "entry", 1, 0), /* 10:10 EEST */
		event("bus5-front", "winter", 7, 10, 0, "entry", 0, 0),
	};
	struct tools_run r;
	cJSON *doc;

	evs[1].start = fill_utc_ms(2024, 1, 15, 7, 10); /* 09:10 EET */
	snprintf(kyiv, sizeof(kyiv), "%s/kyiv", dir);
	/* Without a config the database is made in the built-in zone, Europe/Kyiv. */
	cr_assert_eq(tools_run(&r, "camera", "add", "--db", kyiv, "bus5-front", "--vehicle", "5",
	                       "--boarding-zone", "entry", NULL), 0);
	expect_ok(&r, "add in Kyiv");
	cr_assert_eq(fill_nvr_events(kyiv, evs, 2), 0);
	cr_assert_eq(tools_run(&r, "camera", "events", "--db", kyiv, "--vehicle", "5", "--from", "2024-06-15T10:10",
	                       "--to", "2024-06-15T10:11", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_assert_eq(cJSON_GetArraySize(doc), 1, "%s", r.out);
	expect_event(doc, 0, "summer", "bus5-front", "2024-06-15T10:10:00+03:00", "2024-06-15T10:10:12+03:00",
	             "entry", 1, 0);
	cJSON_Delete(doc);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "camera", "events", "--db", kyiv, "--vehicle", "5", "--from", "2024-01-15",
	                       "--to", "2024-01-15", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_assert_eq(cJSON_GetArraySize(doc), 1, "%s", r.out);
	expect_event(doc, 0, "winter", "bus5-front", "2024-01-15T09:10:00+02:00", NULL, "entry", 0, 0);
	cJSON_Delete(doc);
	tools_run_free(&r);
}
