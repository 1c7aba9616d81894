/*
 * Description: the GTFS tables: an import stores routes and stops that read
 * back field by field (UTF-8 names, positions, empty names where GTFS
 * allows them) and are listed in number order; a second import replaces
 * the first whole; an import whose fill fails, or that loads a number
 * twice, changes nothing; invalid records are refused with ST_EINVAL;
 * st_check passes an import and reports a stored record that does not decode.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/gtfs.h"

TestSuite(gtfs, .init = tdb_setup, .fini = tdb_teardown);

static struct st_gtfs_route route(uint32_t id, const char *gtfs_id, const char *short_name, const char *long_name)
{
	struct st_gtfs_route r = {.id = id, .type = 3};

	strcpy(r.gtfs_id, gtfs_id);
	strcpy(r.short_name, short_name);
	strcpy(r.long_name, long_name);
	return r;
}

static struct st_gtfs_stop stop(uint32_t id, const char *gtfs_id, const char *name)
{
	struct st_gtfs_stop s = {.id = id, .has_position = true, .lat_e7 = 495535160, .lon_e7 = 255948390};

	strcpy(s.gtfs_id, gtfs_id);
	strcpy(s.name, name);
	return s;
}

/* What a fill loads: n routes and m stops, then `then` (ST_OK commits). */
struct feed {
	const struct st_gtfs_route *routes;
	size_t n;
	const struct st_gtfs_stop *stops;
	size_t m;
	int then;
};

static int fill(void *ctx, struct st_gtfs_load *load)
{
	const struct feed *f = ctx;
	int rc = ST_OK;

	for (size_t i = 0; rc == ST_OK && i < f->n; i++)
		rc = st_gtfs_load_route(load, &f->routes[i]);
	for (size_t i = 0; rc == ST_OK && i < f->m; i++)
		rc = st_gtfs_load_stop(load, &f->stops[i]);
	return rc == ST_OK ? f->then : rc;
}

static int count_route(void *ctx, const struct st_gtfs_route *r)
{
	uint32_t *ids = ctx;

	ids[++ids[0]] = r->id;
	return 0;
}

static int count_stop(void *ctx, const struct st_gtfs_stop *s)
{
	uint32_t *ids = ctx;

	ids[++ids[0]] = s->id;
	return 0;
}

/* ids[0] is the count, then the numbers in listing order. */
static void list_ids(uint32_t routes[8], uint32_t stops[8])
{
	struct st_read r;

	routes[0] = stops[0] = 0;
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_gtfs_route_foreach(&r, count_route, routes), ST_OK);
	cr_assert_eq(st_gtfs_stop_foreach(&r, count_stop, stops), ST_OK);
	st_read_end(&r);
}

static void import_first(void)
{
	struct st_gtfs_route routes[] = {route(12, "12", "12", "Вокзал — Східний"), route(3, "T3", "", "Тролейбус 3")};
	struct st_gtfs_stop stops[] = {stop(110, "110", "Майдан Волі, \"центр\""), stop(7, "7", "Збараж")};
	struct feed f = {routes, 2, stops, 2, ST_OK};

	stops[1].has_position = false;
	stops[1].lat_e7 = stops[1].lon_e7 = 0;
	cr_assert_eq(st_gtfs_import(tdb.db, fill, &f), ST_OK);
}

Test(gtfs, imported_records_read_back_field_by_field_in_number_order)
{
	struct st_gtfs_route r;
	struct st_gtfs_stop s;
	struct st_read rd;
	uint32_t routes[8], stops[8];

	tdb_open();
	import_first();
	cr_assert_eq(st_read_begin(tdb.db, &rd), ST_OK);
	cr_assert_eq(st_gtfs_route_get(&rd, 12, &r), ST_OK);
	cr_expect_eq(r.id, 12);
	cr_expect_eq(r.type, 3);
	cr_expect_str_eq(r.gtfs_id, "12");
	cr_expect_str_eq(r.short_name, "12");
	cr_expect_str_eq(r.long_name, "Вокзал — Східний");
	cr_assert_eq(st_gtfs_route_get(&rd, 3, &r), ST_OK);
	cr_expect_str_eq(r.gtfs_id, "T3");
	cr_expect_str_eq(r.short_name, "");
	cr_assert_eq(st_gtfs_stop_get(&rd, 110, &s), ST_OK);
	cr_expect_str_eq(s.name, "Майдан Волі, \"центр\"");
	cr_expect(s.has_position);
	cr_expect_eq(s.lat_e7, 495535160);
	cr_expect_eq(s.lon_e7, 255948390);
	cr_assert_eq(st_gtfs_stop_get(&rd, 7, &s), ST_OK);
	cr_expect_not(s.has_position);
	cr_expect_eq(st_gtfs_route_get(&rd, 4, &r), ST_ENOTFOUND);
	cr_expect_eq(st_gtfs_stop_get(&rd, 12, &s), ST_ENOTFOUND);
	st_read_end(&rd);
	list_ids(routes, stops);
	cr_assert_eq(routes[0], 2);
	cr_expect(routes[1] == 3 && routes[2] == 12);
	cr_assert_eq(stops[0], 2);
	cr_expect(stops[1] == 7 && stops[2] == 110);
}

Test(gtfs, a_second_import_replaces_the_first_whole)
{
	struct st_gtfs_route routes[] = {route(5, "5", "5", "")};
	struct feed f = {routes, 1, NULL, 0, ST_OK};
	uint32_t r[8], s[8];

	tdb_open();
	import_first();
	cr_assert_eq(st_gtfs_import(tdb.db, fill, &f), ST_OK);
	list_ids(r, s);
	cr_expect_eq(r[0], 1);
	cr_expect_eq(r[1], 5);
	cr_expect_eq(s[0], 0);
	tdb_reopen();
	list_ids(r, s);
	cr_expect_eq(r[0], 1);
}

Test(gtfs, a_failed_import_changes_nothing)
{
	struct st_gtfs_route routes[] = {route(5, "5", "5", ""), route(5, "05", "5a", "")};
	struct feed dup = {routes, 2, NULL, 0, ST_OK};
	struct feed refused = {routes, 1, NULL, 0, ST_EINVAL};
	uint32_t r[8], s[8];

	tdb_open();
	import_first();
	cr_expect_eq(st_gtfs_import(tdb.db, fill, &dup), ST_EEXIST);
	cr_expect_eq(st_gtfs_import(tdb.db, fill, &refused), ST_EINVAL);
	list_ids(r, s);
	cr_expect_eq(r[0], 2);
	cr_expect_eq(s[0], 2);
}

Test(gtfs, invalid_records_are_refused)
{
	struct st_gtfs_route r = route(1, "1", "1", "");
	struct st_gtfs_stop s = stop(1, "1", "A");

	cr_expect(st_gtfs_route_valid(&r));
	cr_expect(st_gtfs_stop_valid(&s));
	r.id = 0;
	cr_expect_not(st_gtfs_route_valid(&r));
	r = route(1, "", "1", "");
	cr_expect_not(st_gtfs_route_valid(&r), "empty GTFS id");
	r = route(1, "1", "", "");
	cr_expect_not(st_gtfs_route_valid(&r), "no name at all");
	r = route(1, "1", "a\tb", "");
	cr_expect_not(st_gtfs_route_valid(&r), "control character");
	r = route(1, "1", "\xd0", "");
	cr_expect_not(st_gtfs_route_valid(&r), "truncated UTF-8");
	r = route(1, "1", "\xc0\xaf", "");
	cr_expect_not(st_gtfs_route_valid(&r), "overlong UTF-8");
	r = route(1, "1", "\xed\xa0\x80", "");
	cr_expect_not(st_gtfs_route_valid(&r), "surrogate");
	memset(r.long_name, 'x', sizeof r.long_name);
	cr_expect_not(st_gtfs_route_valid(&r), "unterminated");
	s = stop(1, "1", "");
	cr_expect_not(st_gtfs_stop_valid(&s), "a stop needs a name");
	s.location_type = 3;
	cr_expect(st_gtfs_stop_valid(&s), "a generic node needs none");
	s.location_type = 5;
	cr_expect_not(st_gtfs_stop_valid(&s));
	s = stop(1, "1", "A");
	s.lat_e7 = 900000001;
	cr_expect_not(st_gtfs_stop_valid(&s));
	s = stop(1, "1", "A");
	s.lon_e7 = -1800000001;
	cr_expect_not(st_gtfs_stop_valid(&s));
}

/* st_check's problems, with its report lines in text (cap bytes). */
static uint64_t check_problems(char *text, size_t cap)
{
	struct st_check_report rep;
	FILE *out = fmemopen(text, cap, "w");

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &rep, out, NULL, NULL), ST_OK);
	fclose(out);
	return rep.problems;
}

Test(gtfs, check_passes_an_import_and_reports_a_record_that_does_not_decode)
{
	struct t_raw raw;
	static const uint8_t key[4] = {0, 0, 0, 9};
	static const uint8_t junk[3] = {1, 2, 3};
	char text[512] = "";
	MDB_val k = {sizeof key, (void *)key}, v = {sizeof junk, (void *)junk};

	tdb_open();
	import_first();
	cr_expect_eq(check_problems(text, sizeof text), 0, "%s", text);
	tdb_close();
	t_raw_begin(&raw, "gtfs_stops", 0);
	cr_assert_eq(mdb_put(raw.txn, raw.dbi, &k, &v, 0), 0);
	t_raw_commit(&raw);
	tdb_open();
	memset(text, 0, sizeof text);
	cr_expect_eq(check_problems(text, sizeof text), 1, "%s", text);
	cr_expect_not_null(strstr(text, "gtfs_stops: record"), "%s", text);
}
