/*
 * Description: what goes into a vehicle's hour (vehicle_hours.h): accepted
 * taps naming a vehicle, at the route and service hour of tapped_at;
 * door-cycle records of signed COUNTS frames naming a vehicle; an onboard
 * NVR camera's counted directions. Denied taps, records of vehicle 0,
 * occupancy snapshots, repeated frames, street cameras and NVR messages
 * already counted add nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "storage/count_agg.h"
#include "storage/nvr.h"
#include "storage/vehicle_hours.h"

TestSuite(vehicle_hours, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST). */
static const int64_t noon = 1715763600000;
static const int64_t minute_ms = 60000;

#define CELLS_MAX 8

struct cells {
	struct st_vehicle_hour_key k[CELLS_MAX];
	struct st_vehicle_hour_val v[CELLS_MAX];
	int n;
};

static int collect(void *ctx, const struct st_vehicle_hour_key *k, const struct st_vehicle_hour_val *v)
{
	struct cells *c = ctx;

	cr_assert_lt(c->n, CELLS_MAX);
	c->k[c->n] = *k;
	c->v[c->n++] = *v;
	return 0;
}

static void read_cells(struct cells *c)
{
	struct st_read r;

	*c = (struct cells){0};
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_vehicle_hours_foreach(&r, 20240101, 20241231, collect, c), ST_OK);
	st_read_end(&r);
}

static void commit(const uint8_t *frame, size_t len, enum st_outcome want)
{
	struct st_commit_item it;

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, want);
}

static void nvr(uint32_t vehicle, const char *camera, const char *id, unsigned want, uint32_t route)
{
	struct st_nvr_event ev = {.type = ST_NVR_END, .start = noon, .end = noon + 5000, .received_at = noon + 6000,
	                          .want = want, .vehicle_id = vehicle,
	                          .cell = {.service_date = 20240515, .hour = 12, .route_id = route, .stop_id = 100,
	                                   .door = route ? 1 : 0, .source = ST_COUNT_SOURCE_NVR}};
	struct st_nvr_limits limits = {.counted_max = 10};
	struct st_nvr_stats stats = {0};

	snprintf(ev.camera, sizeof ev.camera, "%s", camera);
	snprintf(ev.id, sizeof ev.id, "%s", id);
	snprintf(ev.label, sizeof ev.label, "person");
	cr_assert_eq(st_nvr_commit(tdb.db, &ev, 1, &limits, &stats), ST_OK);
}

Test(vehicle_hours, taps_counts_and_onboard_cameras_add_to_their_vehicles_hour)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[5];
	const struct kp_count recs[] = {t_door_cycle(noon + minute_ms, 7, 100, 1, 3, 1),
	                                t_door_cycle(noon + 2 * minute_ms, 7, 101, 2, 2, 0),
	                                t_occupancy(noon + 3 * minute_ms, 7, 40)};
	struct tdev v, apc;
	struct cells c;
	size_t len;

	tdb_open();
	tdev_make(&v, 0xB1);
	tdev_make(&apc, 0xA1);
	for (int i = 0; i < 5; i++) {
		taps[i] = t_tap(noon + i * 1000, 7, 100 + (uint32_t)i, 1, 800, 1 + (uint32_t)i);
		taps[i].vehicle_id = 31;
	}
	taps[3].result = KP_TAP_DENIED_BALANCE; /* not accepted: nothing */
	taps[4].vehicle_id = 0;                 /* names no vehicle: nothing */
	len = t_frame(frame, &v, 1, taps, 5);
	commit(frame, len, ST_STORED);
	commit(frame, len, ST_DUPLICATE); /* a repeat adds nothing */
	len = t_count_frame(frame, &apc, 1, recs, 3); /* t_door_cycle names bus 31 */
	commit(frame, len, ST_STORED);
	nvr(31, "bus31-front", "a", ST_NVR_BOARDED | ST_NVR_ALIGHTED, 7);
	nvr(31, "bus31-front", "a", ST_NVR_BOARDED | ST_NVR_ALIGHTED, 7); /* counted already */
	nvr(0, "stop100", "s", ST_NVR_BOARDED, 0);                         /* a street camera */
	read_cells(&c);
	cr_assert_eq(c.n, 1, "cells: %d", c.n);
	cr_expect_eq(c.k[0].service_date, 20240515);
	cr_expect_eq(c.k[0].hour, 12);
	cr_expect_eq(c.k[0].route_id, 7);
	cr_expect_eq(c.k[0].vehicle_id, 31);
	cr_expect_eq(c.v[0].accepted, 3);
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_SIGNED - 1].boardings, 5);
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_SIGNED - 1].alightings, 1);
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_SIGNED - 1].records, 2, "the occupancy snapshot is no door cycle");
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_NVR - 1].boardings, 1);
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_NVR - 1].alightings, 1);
	cr_expect_eq(c.v[0].source[ST_COUNT_SOURCE_NVR - 1].records, 1);
}
