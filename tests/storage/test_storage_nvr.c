/*
 * Description: what komposter keeps of NVR (Frigate) events: an object is
 * counted at most once per direction, across groups and within one, each
 * direction on its own, into door cells of source NVR; the counted set is
 * bounded and forgets its oldest object first (which may then count again);
 * rows are upserted per object and listed by start range per camera;
 * outages open, close, ignore repeats and list by overlap; a group that
 * does not fit grows the map, one that cannot is ST_EFULL and stores
 * nothing, and so does a group with an invalid event; st_check passes with
 * NVR cells beside signed ones and still sees a broken NVR table.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/cameras.h"
#include "storage/check.h"
#include "storage/count_agg.h"
#include "storage/nvr.h"

TestSuite(nvr, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv. */
static const int64_t noon = 1715763600000;
static const struct st_nvr_limits roomy = {1000};

static struct st_nvr_event ev(const char *camera, const char *id, int64_t start, unsigned want)
{
	struct st_nvr_event e = {.type = ST_NVR_NEW, .start = start, .received_at = start + 1, .want = want,
	                         .cell = {.service_date = 20240515, .hour = 12, .route_id = 7, .stop_id = 100,
	                                  .door = 1, .source = ST_COUNT_SOURCE_SIGNED /* overridden */}};

	strcpy(e.camera, camera);
	strcpy(e.id, id);
	strcpy(e.label, "person");
	return e;
}

static int commit(struct st_nvr_event *e, size_t n, const struct st_nvr_limits *lim, struct st_nvr_stats *st)
{
	return st_nvr_commit(tdb.db, e, n, lim, st);
}

/* Commits one event alone and returns the directions it counted. */
static unsigned commit1(struct st_nvr_event e, const struct st_nvr_limits *lim)
{
	cr_assert_eq(commit(&e, 1, lim, NULL), ST_OK);
	return e.counted;
}

static unsigned counted(const char *camera, const char *id)
{
	struct st_read r;
	unsigned dirs;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	dirs = st_nvr_counted_get(&r, camera, id);
	st_read_end(&r);
	return dirs;
}

static uint64_t counted_size(void)
{
	struct st_read r;
	uint64_t n;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_counted_size(&r, &n), ST_OK);
	st_read_end(&r);
	return n;
}

struct cells {
	struct st_door_agg_key k[8];
	struct st_door_agg_val v[8];
	int n;
};

static int collect_door(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct cells *c = ctx;

	cr_assert_lt(c->n, 8);
	c->k[c->n] = *k;
	c->v[c->n++] = *v;
	return 0;
}

static struct cells door_cells(void)
{
	struct cells c = {0};
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_door_agg_foreach(&r, 20240101, 20241231, collect_door, &c), ST_OK);
	st_read_end(&r);
	return c;
}

/* The single door cell there must be, of source NVR, is b/a/cycles. */
static void expect_one_nvr_cell(uint64_t b, uint64_t a, uint64_t cycles)
{
	struct cells c = door_cells();

	cr_assert_eq(c.n, 1, "one door cell, got %d", c.n);
	cr_expect_eq(c.k[0].source, ST_COUNT_SOURCE_NVR);
	cr_expect_eq(c.k[0].service_date, 20240515);
	cr_expect_eq(c.k[0].hour, 12);
	cr_expect_eq(c.k[0].route_id, 7);
	cr_expect_eq(c.k[0].stop_id, 100);
	cr_expect_eq(c.k[0].door, 1);
	cr_expect_eq(c.v[0].boardings, b, "boardings %lu", (unsigned long)c.v[0].boardings);
	cr_expect_eq(c.v[0].alightings, a, "alightings %lu", (unsigned long)c.v[0].alightings);
	cr_expect_eq(c.v[0].cycles, cycles, "cycles %lu", (unsigned long)c.v[0].cycles);
}

/* ---- counting ---- */

Test(nvr, an_object_is_counted_once_across_groups)
{
	struct st_nvr_event e = ev("bus310_front", "obj1", noon, ST_NVR_BOARDED);
	struct st_nvr_stats st;

	tdb_open();
	cr_assert_eq(commit(&e, 1, &roomy, &st), ST_OK);
	cr_expect_eq(e.counted, ST_NVR_BOARDED);
	cr_expect_eq(st.boardings, 1);
	cr_expect_eq(st.alightings, 0);
	e.type = ST_NVR_UPDATE;
	cr_assert_eq(commit(&e, 1, &roomy, &st), ST_OK);
	cr_expect_eq(e.counted, 0, "the second message counts nothing");
	cr_expect_eq(st.boardings, 0);
	tdb_reopen(); /* the mark is durable */
	e.type = ST_NVR_END;
	cr_expect_eq(commit1(e, &roomy), 0);
	cr_expect_eq(counted("bus310_front", "obj1"), ST_NVR_BOARDED);
	cr_expect_eq(counted_size(), 1);
	expect_one_nvr_cell(1, 0, 1);
}

Test(nvr, an_object_is_counted_once_within_a_group)
{
	struct st_nvr_event e[3] = {ev("cam", "obj1", noon, ST_NVR_BOARDED), ev("cam", "obj1", noon, ST_NVR_BOARDED),
	                            ev("cam", "obj2", noon, ST_NVR_BOARDED)};
	struct st_nvr_stats st;

	e[1].type = ST_NVR_UPDATE;
	tdb_open();
	cr_assert_eq(commit(e, 3, &roomy, &st), ST_OK);
	cr_expect_eq(e[0].counted, ST_NVR_BOARDED);
	cr_expect_eq(e[1].counted, 0);
	cr_expect_eq(e[2].counted, ST_NVR_BOARDED, "another object counts");
	cr_expect_eq(st.boardings, 2);
	expect_one_nvr_cell(2, 0, 2);
}

Test(nvr, the_two_directions_are_counted_independently)
{
	tdb_open();
	cr_expect_eq(commit1(ev("cam", "obj1", noon, ST_NVR_BOARDED), &roomy), ST_NVR_BOARDED);
	cr_expect_eq(commit1(ev("cam", "obj1", noon, ST_NVR_BOARDED | ST_NVR_ALIGHTED), &roomy), ST_NVR_ALIGHTED,
	             "only the direction not counted before");
	cr_expect_eq(commit1(ev("cam", "obj1", noon, ST_NVR_ALIGHTED), &roomy), 0);
	cr_expect_eq(commit1(ev("cam", "obj2", noon, ST_NVR_ALIGHTED), &roomy), ST_NVR_ALIGHTED);
	cr_expect_eq(commit1(ev("cam", "obj2", noon, ST_NVR_BOARDED), &roomy), ST_NVR_BOARDED);
	cr_expect_eq(counted("cam", "obj1"), ST_NVR_BOARDED | ST_NVR_ALIGHTED);
	cr_expect_eq(counted("cam", "obj2"), ST_NVR_BOARDED | ST_NVR_ALIGHTED);
	cr_expect_eq(counted_size(), 2);
	expect_one_nvr_cell(2, 2, 4);
}

Test(nvr, the_same_id_on_another_camera_is_another_object)
{
	tdb_open();
	cr_expect_eq(commit1(ev("cam_a", "obj1", noon, ST_NVR_BOARDED), &roomy), ST_NVR_BOARDED);
	cr_expect_eq(commit1(ev("cam_b", "obj1", noon, ST_NVR_BOARDED), &roomy), ST_NVR_BOARDED);
	cr_expect_eq(counted("cam_a", "obj1"), ST_NVR_BOARDED);
	cr_expect_eq(counted("cam_c", "obj1"), 0);
	cr_expect_eq(counted("cam_a", "obj2"), 0);
}

Test(nvr, a_message_that_wants_nothing_counts_nothing_and_marks_nothing)
{
	tdb_open();
	cr_expect_eq(commit1(ev("cam", "obj1", noon, 0), &roomy), 0);
	cr_expect_eq(counted_size(), 0);
	cr_expect_eq(door_cells().n, 0);
}

/* The bound forgets the oldest-recorded object first. Forgotten, an object
 * that sends another qualifying message counts again: the bound must stay
 * far above the objects alive at once (nvr.h), as Frigate sends nothing
 * more for an object once it has ended. */
Test(nvr, over_the_bound_the_oldest_object_is_forgotten_and_then_counts_again)
{
	const struct st_nvr_limits three = {3};
	struct st_nvr_event e = ev("cam", "o4", noon, ST_NVR_BOARDED);
	struct st_nvr_stats st;

	tdb_open();
	cr_assert_eq(commit1(ev("cam", "o1", noon, ST_NVR_BOARDED), &three), ST_NVR_BOARDED);
	cr_assert_eq(commit1(ev("cam", "o2", noon, ST_NVR_BOARDED), &three), ST_NVR_BOARDED);
	cr_assert_eq(commit1(ev("cam", "o3", noon, ST_NVR_BOARDED), &three), ST_NVR_BOARDED);
	cr_assert_eq(commit1(ev("cam", "o1", noon, ST_NVR_ALIGHTED), &three), ST_NVR_ALIGHTED,
	             "a second direction does not make o1 newer");
	cr_assert_eq(commit(&e, 1, &three, &st), ST_OK);
	cr_expect_eq(st.forgotten, 1);
	cr_expect_eq(counted_size(), 3);
	cr_expect_eq(counted("cam", "o1"), 0, "the first recorded is forgotten");
	cr_expect_eq(counted("cam", "o2"), ST_NVR_BOARDED);
	cr_expect_eq(counted("cam", "o4"), ST_NVR_BOARDED);

	e = ev("cam", "o1", noon, ST_NVR_BOARDED);
	cr_assert_eq(commit(&e, 1, &three, &st), ST_OK);
	cr_expect_eq(e.counted, ST_NVR_BOARDED, "o1 counts again once forgotten");
	cr_expect_eq(st.forgotten, 1);
	cr_expect_eq(counted("cam", "o2"), 0, "o2 is now the oldest, and goes");
	cr_expect_eq(counted("cam", "o3"), ST_NVR_BOARDED);
	cr_expect_eq(counted_size(), 3);
	expect_one_nvr_cell(5, 1, 6);
}

Test(nvr, within_one_group_the_bound_behaves_as_in_several)
{
	const struct st_nvr_limits two = {2};
	struct st_nvr_event e[4] = {ev("cam", "o1", noon, ST_NVR_BOARDED), ev("cam", "o2", noon, ST_NVR_BOARDED),
	                            ev("cam", "o3", noon, ST_NVR_BOARDED), ev("cam", "o1", noon, ST_NVR_BOARDED)};
	struct st_nvr_stats st;

	tdb_open();
	cr_assert_eq(commit(e, 4, &two, &st), ST_OK);
	cr_expect_eq(e[3].counted, ST_NVR_BOARDED, "o1 was forgotten by o3 before its second message");
	cr_expect_eq(st.forgotten, 2);
	cr_expect_eq(st.boardings, 4);
	cr_expect_eq(counted_size(), 2);
	cr_expect_eq(counted("cam", "o2"), 0);
}

/* ---- rows ---- */

struct rows {
	struct st_nvr_event e[8];
	int n;
	int stop_after;
};

static int collect_row(void *ctx, const struct st_nvr_event *e)
{
	struct rows *r = ctx;

	cr_assert_lt(r->n, 8);
	r->e[r->n++] = *e;
	return r->n == r->stop_after;
}

static struct rows rows_of(const char *camera, int64_t from, int64_t to)
{
	struct rows rows = {0};
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_event_foreach(&r, camera, from, to, collect_row, &rows), ST_OK);
	st_read_end(&r);
	return rows;
}

Test(nvr, a_later_message_replaces_the_row_of_its_object)
{
	struct st_nvr_event e = ev("cam", "obj1", noon, ST_NVR_BOARDED);
	struct rows rows;

	tdb_open();
	commit1(e, &roomy);
	e.type = ST_NVR_END;
	e.end = noon + 5000;
	e.has_clip = 1;
	e.false_positive = 1;
	e.received_at = noon + 6000;
	strcpy(e.zones, "door_in,aisle");
	strcpy(e.label, "person");
	commit1(e, &roomy);
	rows = rows_of("cam", noon - 1, noon + 1);
	cr_assert_eq(rows.n, 1, "one row per object");
	cr_expect_str_eq(rows.e[0].camera, "cam");
	cr_expect_str_eq(rows.e[0].id, "obj1");
	cr_expect_str_eq(rows.e[0].label, "person");
	cr_expect_str_eq(rows.e[0].zones, "door_in,aisle");
	cr_expect_eq(rows.e[0].type, ST_NVR_END);
	cr_expect_eq(rows.e[0].start, noon);
	cr_expect_eq(rows.e[0].end, noon + 5000);
	cr_expect_eq(rows.e[0].has_clip, 1);
	cr_expect_eq(rows.e[0].false_positive, 1);
	cr_expect_eq(rows.e[0].received_at, noon + 6000);
	cr_expect_eq(rows.e[0].want, 0);
	cr_expect_eq(rows.e[0].counted, 0);
	cr_expect_eq(rows.e[0].cell.service_date, 0);
}

Test(nvr, foreach_lists_one_cameras_rows_with_start_in_from_to_in_start_order)
{
	struct st_nvr_event e[] = {ev("cam", "late", noon + 3000, 0), ev("cam", "a", noon + 1000, 0),
	                           ev("cam", "b", noon + 2000, 0),    ev("cam", "early", noon - 5000, 0),
	                           ev("cam2", "x", noon + 1500, 0),   ev("ca", "y", noon + 1500, 0),
	                           ev("cam", "neg", -5000, 0)};
	struct rows rows;
	struct st_read r;

	tdb_open();
	cr_assert_eq(commit(e, sizeof e / sizeof e[0], &roomy, NULL), ST_OK);
	rows = rows_of("cam", noon + 1000, noon + 3000);
	cr_assert_eq(rows.n, 2, "from included, to excluded, other cameras not");
	cr_expect_str_eq(rows.e[0].id, "a");
	cr_expect_str_eq(rows.e[1].id, "b");
	rows = rows_of("cam", INT64_MIN, INT64_MAX);
	cr_assert_eq(rows.n, 5);
	cr_expect_str_eq(rows.e[0].id, "neg", "a start before 1970 sorts first");
	cr_expect_str_eq(rows.e[4].id, "late");
	cr_expect_eq(rows_of("cam", noon + 3001, INT64_MAX).n, 0);
	cr_expect_eq(rows_of("cam", noon, noon).n, 0, "an empty range");
	cr_expect_eq(rows_of("nobody", INT64_MIN, INT64_MAX).n, 0);

	rows = (struct rows){.stop_after = 2};
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_nvr_event_foreach(&r, "cam", INT64_MIN, INT64_MAX, collect_row, &rows), ST_ESTOP);
	cr_expect_eq(st_nvr_event_foreach(&r, "", 0, 1, collect_row, &rows), ST_EINVAL);
	st_read_end(&r);
	cr_expect_eq(rows.n, 2);
}

Test(nvr, last_is_the_row_with_the_greatest_start_of_that_camera_only)
{
	struct st_nvr_event e[] = {ev("cam", "a", noon + 1000, 0), ev("cam", "late", noon + 3000, 0),
	                           ev("cam", "b", noon + 2000, 0), ev("cam2", "x", noon + 9000, 0),
	                           ev("ca", "y", noon + 9000, 0),  ev("only-neg", "n", -5000, 0)};
	struct st_nvr_event last;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_nvr_event_last(&r, "cam", &last), ST_ENOTFOUND, "an empty table");
	st_read_end(&r);
	cr_assert_eq(commit(e, sizeof e / sizeof e[0], &roomy, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_event_last(&r, "cam", &last), ST_OK);
	cr_expect_str_eq(last.id, "late", "not cam2's nor ca's later rows");
	cr_expect_eq(last.start, noon + 3000);
	cr_assert_eq(st_nvr_event_last(&r, "cam2", &last), ST_OK, "the table's last row");
	cr_expect_str_eq(last.id, "x");
	cr_assert_eq(st_nvr_event_last(&r, "only-neg", &last), ST_OK);
	cr_expect_eq(last.start, -5000);
	cr_expect_eq(st_nvr_event_last(&r, "c", &last), ST_ENOTFOUND, "a prefix of other names");
	cr_expect_eq(st_nvr_event_last(&r, "zzz", &last), ST_ENOTFOUND, "after every row");
	cr_expect_eq(st_nvr_event_last(&r, "", &last), ST_EINVAL);
	st_read_end(&r);
}

/* ---- outages ---- */

struct outages {
	struct st_nvr_outage o[8];
	int n;
};

static int collect_outage(void *ctx, const struct st_nvr_outage *o)
{
	struct outages *os = ctx;

	cr_assert_lt(os->n, 8);
	os->o[os->n++] = *o;
	return 0;
}

static struct outages outages(int64_t from, int64_t to)
{
	struct outages os = {0};
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, from, to, collect_outage, &os), ST_OK);
	st_read_end(&r);
	return os;
}

Test(nvr, offline_opens_an_outage_online_closes_it_and_repeats_change_nothing)
{
	struct outages os;

	tdb_open();
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, 50), ST_OK, "online with nothing open");
	cr_expect_eq(outages(INT64_MIN, INT64_MAX).n, 0);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 100), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 150), ST_OK, "a repeat");
	os = outages(INT64_MIN, INT64_MAX);
	cr_assert_eq(os.n, 1);
	cr_expect_eq(os.o[0].start, 100);
	cr_expect_eq(os.o[0].end, 0, "open");
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, 200), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, 250), ST_OK, "a repeat");
	os = outages(INT64_MIN, INT64_MAX);
	cr_assert_eq(os.n, 1);
	cr_expect_eq(os.o[0].start, 100);
	cr_expect_eq(os.o[0].end, 200);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 300), ST_OK);
	os = outages(INT64_MIN, INT64_MAX);
	cr_assert_eq(os.n, 2);
	cr_expect_eq(os.o[1].start, 300);
	cr_expect_eq(os.o[1].end, 0);
	cr_expect_eq(st_nvr_set_available(tdb.db, 0, 0), ST_EINVAL, "end 0 means open, so no time 0");
}

Test(nvr, outages_are_listed_when_they_overlap_the_range_an_open_one_everything_after_its_start)
{
	tdb_open();
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 100), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, 200), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 300), ST_OK);
	cr_expect_eq(outages(0, 100).n, 0, "ends where the outage starts");
	cr_expect_eq(outages(0, 101).n, 1);
	cr_expect_eq(outages(150, 160).n, 1, "inside");
	cr_expect_eq(outages(199, 300).n, 1, "the closed one's last ms; the open one starts at to");
	cr_expect_eq(outages(200, 300).n, 0, "[100, 200) is over at 200");
	cr_expect_eq(outages(250, 301).n, 1);
	cr_expect_eq(outages(250, 301).o[0].start, 300);
	cr_expect_eq(outages(1000000, 1000001).n, 1, "the open one overlaps everything after its start");
	cr_expect_eq(outages(0, INT64_MAX).n, 2);
	cr_expect_eq(outages(300, 300).n, 0, "an empty range");
}

Test(nvr, an_outage_opened_before_the_last_one_ended_starts_at_that_end)
{
	struct outages os;

	tdb_open();
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 100), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, 200), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, 150), ST_OK); /* the clock stepped back */
	os = outages(INT64_MIN, INT64_MAX);
	cr_assert_eq(os.n, 2);
	cr_expect_eq(os.o[0].end, 200, "the closed one is untouched");
	cr_expect_eq(os.o[1].start, 200);
	cr_expect_eq(os.o[1].end, 0);
}

/* ---- map growth, full map, invalid groups ---- */

static struct st_nvr_event *many_events(size_t n)
{
	struct st_nvr_event *e = calloc(n, sizeof *e);
	char id[ST_NVR_ID_MAX + 1];

	cr_assert_not_null(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof id, "1715763600.%06zu-abcdef", i);
		e[i] = ev("bus310_front", id, noon + (int64_t)i, ST_NVR_BOARDED);
		memset(e[i].zones, 'z', 200);
	}
	return e;
}

static int count_row(void *ctx, const struct st_nvr_event *e)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

static size_t row_count(void)
{
	struct st_read r;
	size_t n = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_event_foreach(&r, "bus310_front", INT64_MIN, INT64_MAX, count_row, &n), ST_OK);
	st_read_end(&r);
	return n;
}

Test(nvr, a_group_that_does_not_fit_grows_the_map_and_is_stored_whole)
{
	enum { N = 4000 }; /* about 2 MB of rows and marks */
	struct st_nvr_event *e = many_events(N);
	struct st_nvr_stats st;
	size_t before;

	tdb.opts.map_size_initial = 256 * 1024;
	tdb.opts.map_size_max = 64 * T_MIB;
	tdb_open();
	before = st_db_map_size(tdb.db);
	cr_assert_eq(commit(e, N, &roomy, &st), ST_OK);
	cr_expect_gt(st_db_map_size(tdb.db), before, "the map grew");
	cr_expect_eq(st.boardings, N, "stats of the run that committed, not of the aborted ones");
	cr_expect_eq(st.forgotten, N - roomy.counted_max);
	cr_expect_eq(e[N - 1].counted, ST_NVR_BOARDED);
	cr_expect_eq(row_count(), N);
	cr_expect_eq(counted_size(), roomy.counted_max);
	expect_one_nvr_cell(N, 0, N);
	free(e);
}

Test(nvr, a_group_that_cannot_fit_is_efull_and_stores_nothing)
{
	enum { N = 4000 };
	struct st_nvr_event *e = many_events(N);
	struct st_nvr_stats st = {1, 1, 1};

	tdb.opts.map_size_initial = 256 * 1024;
	tdb.opts.map_size_max = 512 * 1024;
	tdb_open();
	cr_assert_eq(commit1(ev("bus310_front", "before", noon - 1, ST_NVR_BOARDED), &roomy), ST_NVR_BOARDED);
	cr_expect_eq(commit(e, N, &roomy, &st), ST_EFULL);
	cr_expect_eq(st.boardings, 0);
	cr_expect_eq(st.forgotten, 0);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(e[i].counted, 0);
	cr_expect_eq(row_count(), 1, "only what was committed before");
	cr_expect_eq(counted_size(), 1);
	expect_one_nvr_cell(1, 0, 1);
	free(e);
}

static void empty_camera(struct st_nvr_event *e) { e->camera[0] = 0; }
static void empty_id(struct st_nvr_event *e) { e->id[0] = 0; }
static void unterminated_camera(struct st_nvr_event *e) { memset(e->camera, 'c', sizeof e->camera); }
static void unterminated_id(struct st_nvr_event *e) { memset(e->id, 'i', sizeof e->id); }
static void unterminated_label(struct st_nvr_event *e) { memset(e->label, 'l', sizeof e->label); }
static void unterminated_zones(struct st_nvr_event *e) { memset(e->zones, 'z', sizeof e->zones); }
static void no_service_date(struct st_nvr_event *e) { e->cell.service_date = 0; }
static void hour_24(struct st_nvr_event *e) { e->cell.hour = 24; }
static void unknown_direction(struct st_nvr_event *e) { e->want = 4; }
static void unknown_type(struct st_nvr_event *e) { e->type = 3; }
static void clip_2(struct st_nvr_event *e) { e->has_clip = 2; }

Test(nvr, a_group_with_an_invalid_event_is_einval_and_stores_nothing)
{
	void (*breaks[])(struct st_nvr_event *) = {empty_camera,       empty_id,       unterminated_camera,
	                                           unterminated_id,    unterminated_label, unterminated_zones,
	                                           no_service_date,    hour_24,        unknown_direction,
	                                           unknown_type,       clip_2};
	const struct st_nvr_limits zero = {0};
	struct st_nvr_event good = ev("cam", "ok", noon, ST_NVR_BOARDED);

	tdb_open();
	for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
		struct st_nvr_event e[2] = {good, ev("cam", "bad", noon, ST_NVR_BOARDED)};

		breaks[i](&e[1]);
		cr_expect_eq(commit(e, 2, &roomy, NULL), ST_EINVAL, "case %zu", i);
		cr_expect_eq(e[0].counted, 0, "case %zu", i);
	}
	cr_expect_eq(commit(&good, 1, NULL, NULL), ST_EINVAL, "no limits");
	cr_expect_eq(commit(&good, 1, &zero, NULL), ST_EINVAL, "a bound of 0");
	cr_expect_eq(rows_of("cam", INT64_MIN, INT64_MAX).n, 0);
	cr_expect_eq(counted_size(), 0);
	cr_expect_eq(door_cells().n, 0);
	good.want = 0;
	good.cell.service_date = 0;
	cr_expect_eq(commit(&good, 1, &roomy, NULL), ST_OK, "no cell is needed when nothing is wanted");
}

/* ---- check ---- */

static uint64_t check_problems(char **text)
{
	struct st_check_report rep;
	size_t len;
	FILE *out = open_memstream(text, &len);

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &rep, out, NULL, NULL), ST_OK);
	fclose(out);
	return rep.problems;
}

Test(nvr, check_passes_with_nvr_cells_beside_signed_ones_in_the_same_place)
{
	struct tdev apc;
	struct kp_count rec = t_door_cycle(noon, 7, 100, 1, 4, 2); /* the NVR events' cell, signed */
	uint8_t buf[KP_FRAME_MAX];
	struct cells c;
	char *text = NULL;

	struct st_camera cam = {.name = "cam", .place = ST_CAMERA_ONBOARD, .vehicle_id = 31, .door = 1,
	                        .boarding_zone = "in"};

	tdev_make(&apc, 2);
	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &cam), ST_OK); /* check walks the registry */
	cr_assert_eq(t_commit1(buf, t_count_frame(buf, &apc, 1, &rec, 1), NULL), ST_OK); /* and places vehicle 31 */
	commit1(ev("cam", "o1", noon, ST_NVR_BOARDED | ST_NVR_ALIGHTED), &roomy);
	commit1(ev("cam", "o2", noon, ST_NVR_BOARDED), &roomy);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, noon + 1), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon + 2), ST_OK);
	c = door_cells();
	cr_assert_eq(c.n, 2);
	cr_expect_eq(c.k[0].source, ST_COUNT_SOURCE_SIGNED);
	cr_expect_eq(c.v[0].boardings, 4, "the signed cell is not touched by NVR counts");
	cr_expect_eq(c.k[1].source, ST_COUNT_SOURCE_NVR);
	cr_expect_eq(c.v[1].boardings, 2);
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

/* Deletes the first record of table with plain LMDB. */
static void raw_delete_first(const char *table)
{
	struct t_raw raw;
	MDB_cursor *cur;
	MDB_val k, v;

	tdb_close();
	t_raw_begin(&raw, table, 0);
	cr_assert_eq(mdb_cursor_open(raw.txn, raw.dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	cr_assert_eq(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
	t_raw_commit(&raw);
	tdb_open();
}

Test(nvr, check_reports_a_counted_object_missing_from_the_order)
{
	char *text = NULL;

	tdb_open();
	commit1(ev("cam", "o1", noon, ST_NVR_BOARDED), &roomy);
	commit1(ev("cam", "o2", noon, ST_NVR_BOARDED), &roomy);
	raw_delete_first("nvr_counted");
	cr_expect_eq(check_problems(&text), 2, "%s", text);
	cr_expect_not_null(strstr(text, "nvr_order: seq 1 names no counted object"), "%s", text);
	cr_expect_not_null(strstr(text, "nvr_order: 2 records for 1 counted objects"), "%s", text);
	free(text);
}

Test(nvr, check_still_reports_a_signed_cell_that_differs_beside_nvr_cells)
{
	struct tdev apc;
	struct kp_count rec = t_door_cycle(noon, 7, 100, 1, 4, 2);
	uint8_t buf[KP_FRAME_MAX];
	char *text = NULL;

	tdev_make(&apc, 2);
	tdb_open();
	commit1(ev("cam", "o1", noon, ST_NVR_BOARDED), &roomy);
	cr_assert_eq(t_commit1(buf, t_count_frame(buf, &apc, 1, &rec, 1), NULL), ST_OK);
	raw_delete_first("door_agg"); /* the signed cell: it sorts first, source 1 < 2 */
	cr_assert_eq(door_cells().n, 1);
	cr_assert_eq(door_cells().k[0].source, ST_COUNT_SOURCE_NVR);
	cr_expect_eq(check_problems(&text), 1, "%s", text);
	cr_expect_not_null(strstr(text, "source 1 missing"), "%s", text);
	free(text);
}
