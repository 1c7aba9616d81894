/*
 * Description: the validation rate. Door cells of signed APC counts and of
 * NVR cameras, stored through st_commit_group and st_nvr_commit, are set
 * against the accepted taps of the same service date and hour: per route
 * (cells with a route, taps of every stop and fare) or per stop (street
 * cameras, taps of every route), one row per source, never added together.
 * At the route level only the taps of the vehicles counted by that source
 * in that hour are set against their boardings (vehicle_hours.h); the stop
 * level takes every tap at the stop. Rows come in service-day order.
 * A row is complete once its hour ended at least ST_RECONCILE_GRACE_MS ago
 * in service-day order and, for NVR rows, no NVR outage touches it; the
 * rate exists only then.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "storage/nvr.h"
#include "storage/reconcile.h"

TestSuite(reconcile, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST). */
static const int64_t noon = 1715763600000;
static const int64_t minute_ms = 60000;
static const int64_t hour_ms = 3600000;

#define ROWS_MAX 16

struct got {
	struct st_reconcile_row row[ROWS_MAX];
	int n;
};

static int collect(void *ctx, const struct st_reconcile_row *row)
{
	struct got *g = ctx;

	cr_assert_lt(g->n, ROWS_MAX);
	g->row[g->n++] = *row;
	return 0;
}

static void reconcile(enum st_reconcile_level level, int64_t now_ms, struct got *g)
{
	struct st_read r;

	*g = (struct got){0};
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_reconcile_foreach(&r, 20240101, 20241231, level, now_ms, collect, g), ST_OK);
	st_read_end(&r);
}

static void expect_row(const struct got *g, int i, uint32_t date, uint8_t hour, uint32_t place, uint8_t source,
                       uint64_t boardings, uint64_t alightings, uint64_t accepted, bool complete)
{
	const struct st_reconcile_row *row = &g->row[i];

	cr_assert_lt(i, g->n, "row %d of %d", i, g->n);
	cr_expect_eq(row->service_date, date, "row %d date", i);
	cr_expect_eq(row->hour, hour, "row %d hour", i);
	cr_expect_eq(row->place_id, place, "row %d place", i);
	cr_expect_eq(row->source, source, "row %d source", i);
	cr_expect_eq(row->boardings, boardings, "row %d boardings", i);
	cr_expect_eq(row->alightings, alightings, "row %d alightings", i);
	cr_expect_eq(row->accepted, accepted, "row %d accepted", i);
	cr_expect_eq(row->complete, complete, "row %d complete", i);
}

static void commit_taps(const struct tdev *d, uint64_t batch_seq, const struct kp_tap *taps, uint16_t n)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	size_t len = t_frame(frame, d, batch_seq, taps, n);

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, ST_STORED);
}

static void commit_counts(const struct tdev *d, uint64_t batch_seq, const struct kp_count *recs, uint16_t n)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	size_t len = t_count_frame(frame, d, batch_seq, recs, n);

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, ST_STORED);
}

/* n NVR objects of camera at `at`, each boarding (and alighting when
 * `alighting`), counted in the cell (date, hour, route, stop, door) and,
 * onboard (vehicle != 0), in that vehicle's hour. */
static void commit_nvr_on(uint32_t vehicle, const char *camera, const char *id_prefix, int n, int64_t at,
                          uint32_t date, uint8_t hour, uint32_t route, uint32_t stop, unsigned want)
{
	struct st_nvr_event ev[8];
	struct st_nvr_limits limits = {.counted_max = 1000};
	struct st_nvr_stats stats = {0};

	cr_assert_leq(n, 8);
	memset(ev, 0, sizeof(ev));
	for (int i = 0; i < n; i++) {
		snprintf(ev[i].camera, sizeof(ev[i].camera), "%s", camera);
		snprintf(ev[i].id, sizeof(ev[i].id), "%s-%d", id_prefix, i);
		snprintf(ev[i].label, sizeof(ev[i].label), "person");
		ev[i].type = ST_NVR_END;
		ev[i].start = at;
		ev[i].end = at + 5000;
		ev[i].received_at = at + 6000;
		ev[i].want = want;
		ev[i].cell = (struct st_door_agg_key){.service_date = date, .hour = hour, .route_id = route,
		                                      .stop_id = stop, .door = route ? 1 : 0,
		                                      .source = ST_COUNT_SOURCE_NVR};
		ev[i].vehicle_id = vehicle;
	}
	cr_assert_eq(st_nvr_commit(tdb.db, ev, (size_t)n, &limits, &stats), ST_OK);
	cr_assert_eq(stats.boardings, (want & ST_NVR_BOARDED) ? (uint64_t)n : 0);
}

/* A street camera's objects (vehicle 0). */
static void commit_nvr(const char *camera, const char *id_prefix, int n, int64_t at, uint32_t date, uint8_t hour,
                       uint32_t route, uint32_t stop, unsigned want)
{
	commit_nvr_on(0, camera, id_prefix, n, at, date, hour, route, stop, want);
}

static struct kp_tap tap_on(uint32_t vehicle, int64_t at, uint32_t route, uint32_t stop, uint16_t fare,
                            uint32_t card)
{
	struct kp_tap t = t_tap(at, route, stop, fare, 800, card);

	t.vehicle_id = vehicle;
	return t;
}

static struct kp_count door_cycle_on(uint32_t vehicle, int64_t at, uint32_t route, uint32_t stop, uint8_t door,
                                     uint16_t boardings, uint16_t alightings)
{
	struct kp_count c = t_door_cycle(at, route, stop, door, boardings, alightings);

	c.vehicle_id = vehicle;
	return c;
}

/* The shared fleet of the level tests, all at 12:xx and 13:xx on 2024-05-15:
 * route 7, bus 71: 5 accepted taps at 12 (3 at stop 100 fare 1, 2 at stop
 *   101 fare 2) and one denied, 1 accepted at 13; signed counts at 12 of 10
 *   boardings and 3 alightings over two stops and two doors, 4 boardings at
 *   13; an onboard NVR camera counting 2 boardings at 12;
 * route 8, bus 81: 4 accepted taps at 12 at stop 100, no count of its own;
 * a street camera at stop 100 counting 6 boardings at 12 (route 0). */
static void fill_fleet(void)
{
	struct kp_tap taps[11];
	const struct kp_count recs[] = {
		door_cycle_on(71, noon + 1 * minute_ms, 7, 100, 1, 3, 1),
		door_cycle_on(71, noon + 2 * minute_ms, 7, 100, 2, 2, 0),
		door_cycle_on(71, noon + 3 * minute_ms, 7, 101, 1, 5, 2),
		door_cycle_on(71, noon + hour_ms + minute_ms, 7, 100, 1, 4, 0),
	};
	struct tdev validator, apc;
	int n = 0;

	tdev_make(&validator, 0xB1);
	tdev_make(&apc, 0xA1);
	for (int i = 0; i < 3; i++)
		taps[n++] = tap_on(71, noon + i * minute_ms, 7, 100, 1, 1 + (uint32_t)i);
	for (int i = 0; i < 2; i++)
		taps[n++] = tap_on(71, noon + 10 * minute_ms + i, 7, 101, 2, 10 + (uint32_t)i);
	taps[n] = tap_on(71, noon + 11 * minute_ms, 7, 101, 2, 20);
	taps[n++].result = KP_TAP_DENIED_BALANCE;
	taps[n++] = tap_on(71, noon + hour_ms + 5 * minute_ms, 7, 100, 1, 30);
	for (int i = 0; i < 4; i++)
		taps[n++] = tap_on(81, noon + 20 * minute_ms + i, 8, 100, 1, 40 + (uint32_t)i);
	commit_taps(&validator, 1, taps, (uint16_t)n);
	commit_counts(&apc, 1, recs, 4);
	commit_nvr_on(71, "bus7-front", "a", 2, noon + 30 * minute_ms, 20240515, 12, 7, 100, ST_NVR_BOARDED);
	commit_nvr("stop100", "s", 6, noon + 40 * minute_ms, 20240515, 12, 0, 100, ST_NVR_BOARDED);
}

/* Bus 71 has a signed counter and an onboard NVR camera: a row each, both
 * against bus 71's own taps. */
Test(reconcile, route_rows_sum_stops_doors_and_fares_one_row_per_source)
{
	struct got g;
	double rate = 0;

	tdb_open();
	fill_fleet();
	reconcile(ST_RECONCILE_ROUTE, noon + 90 * minute_ms, &g);
	cr_assert_eq(g.n, 3, "route 8 has taps but no count: no row; got %d rows", g.n);
	expect_row(&g, 0, 20240515, 12, 7, ST_COUNT_SOURCE_SIGNED, 10, 3, 5, true);
	expect_row(&g, 1, 20240515, 12, 7, ST_COUNT_SOURCE_NVR, 2, 0, 5, true);
	expect_row(&g, 2, 20240515, 13, 7, ST_COUNT_SOURCE_SIGNED, 4, 0, 1, false);
	cr_assert_eq(st_reconcile_rate(&g.row[0], &rate), 1);
	cr_expect_float_eq(rate, 0.5, 1e-12);
	cr_assert_eq(st_reconcile_rate(&g.row[1], &rate), 1);
	cr_expect_float_eq(rate, 2.5, 1e-12);
	cr_expect_eq(st_reconcile_rate(&g.row[2], &rate), 0, "the current hour has no rate");
}

Test(reconcile, stop_rows_take_street_cameras_only_against_taps_of_every_route)
{
	struct got g;
	double rate = 0;

	tdb_open();
	fill_fleet();
	reconcile(ST_RECONCILE_STOP, noon + 90 * minute_ms, &g);
	cr_assert_eq(g.n, 1, "onboard cells and signed cells with a route are not stop rows; got %d", g.n);
	expect_row(&g, 0, 20240515, 12, 100, ST_COUNT_SOURCE_NVR, 6, 0, 7, true);
	cr_assert_eq(st_reconcile_rate(&g.row[0], &rate), 1);
	cr_expect_float_eq(rate, 7.0 / 6.0, 1e-12);
}

Test(reconcile, an_outage_makes_the_nvr_hour_incomplete_not_the_signed_one)
{
	struct got g;
	double rate;

	tdb_open();
	fill_fleet();
	/* Offline 12:50..12:55 local (09:50..09:55 UTC). */
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon + 50 * minute_ms), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, noon + 55 * minute_ms), ST_OK);
	reconcile(ST_RECONCILE_ROUTE, noon + 3 * hour_ms, &g);
	cr_assert_eq(g.n, 3);
	expect_row(&g, 0, 20240515, 12, 7, ST_COUNT_SOURCE_SIGNED, 10, 3, 5, true);
	expect_row(&g, 1, 20240515, 12, 7, ST_COUNT_SOURCE_NVR, 2, 0, 5, false);
	expect_row(&g, 2, 20240515, 13, 7, ST_COUNT_SOURCE_SIGNED, 4, 0, 1, true);
	cr_expect_eq(st_reconcile_rate(&g.row[1], &rate), 0);
	reconcile(ST_RECONCILE_STOP, noon + 3 * hour_ms, &g);
	cr_assert_eq(g.n, 1);
	expect_row(&g, 0, 20240515, 12, 100, ST_COUNT_SOURCE_NVR, 6, 0, 7, false);
}

Test(reconcile, an_outage_ending_on_the_hour_leaves_the_next_hour_complete)
{
	struct got g;

	tdb_open();
	commit_nvr("stop100", "s", 3, noon + 70 * minute_ms, 20240515, 13, 0, 100, ST_NVR_BOARDED);
	commit_nvr("stop100", "t", 2, noon + 10 * minute_ms, 20240515, 12, 0, 100, ST_NVR_BOARDED);
	/* Offline 11:00..12:00 local: [start, end) ends where hour 12 begins. */
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon - hour_ms), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, noon), ST_OK);
	reconcile(ST_RECONCILE_STOP, noon + 3 * hour_ms, &g);
	cr_assert_eq(g.n, 2);
	expect_row(&g, 0, 20240515, 12, 100, ST_COUNT_SOURCE_NVR, 2, 0, 0, true);
	expect_row(&g, 1, 20240515, 13, 100, ST_COUNT_SOURCE_NVR, 3, 0, 0, true);
}

Test(reconcile, an_open_outage_lasts_until_now)
{
	struct got g;

	tdb_open();
	commit_nvr("stop100", "s", 1, noon + 10 * minute_ms, 20240515, 12, 0, 100, ST_NVR_BOARDED);
	commit_nvr("stop100", "t", 1, noon + 70 * minute_ms, 20240515, 13, 0, 100, ST_NVR_BOARDED);
	commit_nvr("stop100", "u", 1, noon + 190 * minute_ms, 20240515, 15, 0, 100, ST_NVR_BOARDED);
	/* Offline since 13:30 local, still; now is 16:10. */
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon + 90 * minute_ms), ST_OK);
	reconcile(ST_RECONCILE_STOP, noon + 250 * minute_ms, &g);
	cr_assert_eq(g.n, 3);
	expect_row(&g, 0, 20240515, 12, 100, ST_COUNT_SOURCE_NVR, 1, 0, 0, true);
	expect_row(&g, 1, 20240515, 13, 100, ST_COUNT_SOURCE_NVR, 1, 0, 0, false);
	expect_row(&g, 2, 20240515, 15, 100, ST_COUNT_SOURCE_NVR, 1, 0, 0, false);
}

Test(reconcile, hours_before_the_service_day_start_end_after_the_evening_ones)
{
	/* 20:30 UTC = 23:30 Kyiv on the 15th; 22:30 UTC = 01:30 on the 16th,
	 * which belongs to service date 15 (the day starts at 03:00). */
	const int64_t evening = t_utc_ms(2024, 5, 15, 20, 30, 0), night = t_utc_ms(2024, 5, 15, 22, 30, 0);
	const struct kp_count recs[] = {
		t_door_cycle(evening, 7, 100, 1, 2, 0),
		t_door_cycle(night, 7, 100, 1, 3, 0),
	};
	const struct kp_tap taps[] = {tap_on(31, night + minute_ms, 7, 100, 1, 1)};
	struct tdev apc, validator;
	struct got g;

	tdb_open();
	tdev_make(&apc, 0xA1);
	tdev_make(&validator, 0xB1);
	commit_counts(&apc, 1, recs, 2);
	commit_taps(&validator, 1, taps, 1);
	reconcile(ST_RECONCILE_ROUTE, night + 15 * minute_ms, &g);
	cr_assert_eq(g.n, 2);
	/* In service-day order: 23:xx of the 15th, then 01:xx of the 16th. */
	expect_row(&g, 0, 20240515, 23, 7, ST_COUNT_SOURCE_SIGNED, 2, 0, 0, true);
	expect_row(&g, 1, 20240515, 1, 7, ST_COUNT_SOURCE_SIGNED, 3, 0, 1, false);
	reconcile(ST_RECONCILE_ROUTE, night + hour_ms, &g);
	cr_assert_eq(g.n, 2);
	cr_expect_eq(g.row[1].hour, 1);
	cr_expect(g.row[1].complete, "01:xx has ended at 02:30");
}

Test(reconcile, no_rate_without_boardings)
{
	struct st_reconcile_row row = {.complete = true, .boardings = 0, .alightings = 4, .accepted = 3};
	double rate = -1;

	cr_expect_eq(st_reconcile_rate(&row, &rate), 0);
	cr_expect_float_eq(rate, -1.0, 0);
}

static int stop_at_first(void *ctx, const struct st_reconcile_row *row)
{
	(void)row;
	++*(int *)ctx;
	return 1;
}

Test(reconcile, bad_level_is_einval_and_a_stopping_callback_is_estop)
{
	struct st_read r;
	int calls = 0;

	tdb_open();
	fill_fleet();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_reconcile_foreach(&r, 0, 99991231, 3, noon, stop_at_first, &calls), ST_EINVAL);
	cr_expect_eq(st_reconcile_foreach(&r, 0, 99991231, ST_RECONCILE_ROUTE, noon, stop_at_first, &calls),
	             ST_ESTOP);
	cr_expect_eq(calls, 1);
	st_read_end(&r);
}

Test(reconcile, the_date_range_bounds_the_rows)
{
	struct st_read r;
	struct got g = {0};

	tdb_open();
	fill_fleet();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_reconcile_foreach(&r, 20240516, 20240531, ST_RECONCILE_ROUTE, noon, collect, &g), ST_OK);
	cr_expect_eq(g.n, 0);
	cr_assert_eq(st_reconcile_foreach(&r, 20240515, 20240515, ST_RECONCILE_ROUTE, noon, collect, &g), ST_OK);
	cr_expect_eq(g.n, 3);
	st_read_end(&r);
}

Test(reconcile, the_route_rate_takes_only_the_taps_of_the_vehicles_with_a_counter)
{
	struct kp_tap taps[4];
	struct tdev validator;
	struct got g;
	double rate = 0;

	tdb_open();
	fill_fleet();
	/* Bus 72 on route 7, no counter, no camera: 4 accepted taps at 12 at
	 * stop 100. They are not bus 71's riders and must not be set against
	 * bus 71's boardings. */
	tdev_make(&validator, 0xB2);
	for (int i = 0; i < 4; i++)
		taps[i] = tap_on(72, noon + 15 * minute_ms + i, 7, 100, 1, 60 + (uint32_t)i);
	commit_taps(&validator, 1, taps, 4);
	reconcile(ST_RECONCILE_ROUTE, noon + 90 * minute_ms, &g);
	cr_assert_eq(g.n, 3, "got %d rows", g.n);
	expect_row(&g, 0, 20240515, 12, 7, ST_COUNT_SOURCE_SIGNED, 10, 3, 5, true);
	expect_row(&g, 1, 20240515, 12, 7, ST_COUNT_SOURCE_NVR, 2, 0, 5, true);
	cr_assert_eq(st_reconcile_rate(&g.row[0], &rate), 1);
	cr_expect_float_eq(rate, 0.5, 1e-12, "5 taps of bus 71 / 10 boardings, not 9 / 10");
	/* The stop level is unchanged: the street camera at stop 100 sees every
	 * rider boarding there, whatever the bus, so bus 72's taps count. */
	reconcile(ST_RECONCILE_STOP, noon + 90 * minute_ms, &g);
	cr_assert_eq(g.n, 1);
	expect_row(&g, 0, 20240515, 12, 100, ST_COUNT_SOURCE_NVR, 6, 0, 3 + 4 + 4, true);
}

Test(reconcile, each_source_row_takes_the_taps_of_the_vehicles_counted_by_that_source)
{
	/* Route 9 at 12: bus 91 with a signed counter (4 boardings, 2 taps),
	 * bus 92 with an onboard NVR camera only (3 boardings, 3 taps). */
	const struct kp_count recs[] = {door_cycle_on(91, noon + minute_ms, 9, 300, 1, 4, 0)};
	struct kp_tap taps[5];
	struct tdev apc, validator;
	struct got g;

	tdb_open();
	tdev_make(&apc, 0xA9);
	tdev_make(&validator, 0xB9);
	for (int i = 0; i < 2; i++)
		taps[i] = tap_on(91, noon + 2 * minute_ms + i, 9, 300, 1, 1 + (uint32_t)i);
	for (int i = 2; i < 5; i++)
		taps[i] = tap_on(92, noon + 5 * minute_ms + i, 9, 301, 1, 1 + (uint32_t)i);
	commit_taps(&validator, 1, taps, 5);
	commit_counts(&apc, 1, recs, 1);
	commit_nvr_on(92, "bus92", "x", 3, noon + 6 * minute_ms, 20240515, 12, 9, 301, ST_NVR_BOARDED);
	reconcile(ST_RECONCILE_ROUTE, noon + 2 * hour_ms, &g);
	cr_assert_eq(g.n, 2, "got %d rows", g.n);
	expect_row(&g, 0, 20240515, 12, 9, ST_COUNT_SOURCE_SIGNED, 4, 0, 2, true);
	expect_row(&g, 1, 20240515, 12, 9, ST_COUNT_SOURCE_NVR, 3, 0, 3, true);
}

Test(reconcile, an_hour_is_complete_only_a_grace_after_its_end)
{
	struct got g;
	/* 13:00 local: hour 12 ends. */
	const int64_t end_of_12 = noon + hour_ms;

	tdb_open();
	fill_fleet();
	reconcile(ST_RECONCILE_ROUTE, end_of_12 + ST_RECONCILE_GRACE_MS - 1, &g);
	cr_assert_eq(g.n, 3);
	expect_row(&g, 0, 20240515, 12, 7, ST_COUNT_SOURCE_SIGNED, 10, 3, 5, false);
	expect_row(&g, 1, 20240515, 12, 7, ST_COUNT_SOURCE_NVR, 2, 0, 5, false);
	reconcile(ST_RECONCILE_ROUTE, end_of_12 + ST_RECONCILE_GRACE_MS, &g);
	cr_assert_eq(g.n, 3);
	cr_expect(g.row[0].complete, "signed 12:xx complete 15 min after 13:00");
	cr_expect(g.row[1].complete, "nvr 12:xx complete 15 min after 13:00");
	cr_expect_not(g.row[2].complete, "13:xx still going");
	cr_expect_eq(ST_RECONCILE_GRACE_MS, 15 * minute_ms);
}

Test(reconcile, rows_come_in_service_day_order_with_the_day_starting_at_3)
{
	/* Service date 2024-05-15 (Kyiv, start hour 3): hours 3, 12, 23, then 0
	 * and 2 of the 16th's morning; clock order would put 0 and 2 first. */
	const int hours_utc[][3] = {{15, 0, 0}, {15, 9, 0}, {15, 20, 0}, {15, 21, 0}, {15, 23, 0}};
	const uint8_t local[] = {3, 12, 23, 0, 2};
	struct kp_count recs[5];
	struct tdev apc;
	struct got g;

	tdb_open();
	tdev_make(&apc, 0xA1);
	for (int i = 0; i < 5; i++)
		recs[i] = door_cycle_on(71, t_utc_ms(2024, 5, hours_utc[i][0], hours_utc[i][1], 10, 0), 7, 100, 1, 1, 0);
	commit_counts(&apc, 1, recs, 5);
	reconcile(ST_RECONCILE_ROUTE, t_utc_ms(2024, 5, 17, 0, 0, 0), &g);
	cr_assert_eq(g.n, 5);
	for (int i = 0; i < 5; i++) {
		cr_expect_eq(g.row[i].service_date, 20240515, "row %d", i);
		cr_expect_eq(g.row[i].hour, local[i], "row %d hour %u, want %u", i, g.row[i].hour, local[i]);
	}
}
