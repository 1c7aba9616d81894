/*
 * Description: the Frigate stage alone, on its real queue and a real LMDB:
 * a street camera counts at its stop and an onboard camera at its vehicle's
 * position, each object once; an unmapped camera's events are counted in
 * the metrics and not stored; an onboard camera without a vehicle position
 * stores its row without counts; refusals are counted by reason; the
 * availability topic opens and closes outages and raises the offline alarm;
 * a full map raises the storage alarm and the group is retried, not dropped.
 * An onboard camera counts only at a position within position_max_age_s of
 * the event and on a route; only "person" events are stored as rows; a
 * storage error that never clears drops the event with an ALARM instead of
 * stalling the ring; a clean stop removes the run marker, and a run that
 * finds one (its predecessor crashed) stores an outage over the gap.
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingest/clock.h"
#include "ingest/frigate_stage.h"
#include "stages.h"
#include "storage/cameras.h"
#include "storage/count_agg.h"
#include "storage/nvr.h"
#include "storage/nvr_session.h"
#include "storage/vehicle_hours.h"

#define RING 64
#define STREET_STOP 501
#define DEADLINE_MS 10000

static struct kp_ring fr;
static struct kp_frigate_stage *running;
static int64_t a_minute_ago; /* every object's start_time, as Frigate keeps it for an object's life */

static void setup(void)
{
	ts_setup();
	a_minute_ago = ts_now_ms() - 60000;
	cr_assert_eq(kp_ring_init(&fr, RING, sizeof(struct kp_frigate_msg)), 0);
}

/* Closes the input and waits until the stage stored what it held. */
static void finish(void)
{
	kp_ring_close(&fr);
	kp_frigate_stage_join(running);
	running = NULL;
}

static void teardown(void)
{
	struct kp_frigate_msg msg;

	if (running)
		finish();
	while (kp_ring_try_pop(&fr, &msg) == 0)
		kp_frigate_msg_free(&msg);
	kp_ring_destroy(&fr);
	ts_teardown();
}

TestSuite(frigate_stage, .init = setup, .fini = teardown);

static int with_session;

static void start(int group_max_events, size_t counted_max)
{
	struct kp_frigate_stage_ctx ctx = {
		.cfg = { .group_max_events = group_max_events, .group_max_wait_ms = 1, .counted_max = counted_max,
			 .offline_alarm_s = 1, .accept_past_days = 30, .accept_future_s = 600,
			 .position_max_age_s = 600, .session = with_session },
		.db = tdb.db,
		.in = &fr,
		.m = &ts.m,
		.health = &ts.health,
	};

	atomic_store(&ts.health.storage_ok, 1);
	cr_assert_eq(kp_frigate_stage_start(&ctx, &running), 0);
}

static void add_camera(const char *name, uint8_t place, uint32_t vehicle, uint8_t door, uint32_t stop)
{
	struct st_camera c = { .place = place, .vehicle_id = vehicle, .door = door, .stop_id = stop };

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.boarding_zone, sizeof(c.boarding_zone), "in");
	snprintf(c.alighting_zone, sizeof(c.alighting_zone), "out");
	cr_assert_eq(st_camera_add(tdb.db, &c), ST_OK, "camera %s", name);
}

static void feed(uint8_t topic, const char *payload)
{
	struct kp_frigate_msg msg;

	cr_assert_eq(kp_frigate_msg_copy(&msg, topic, payload, strlen(payload), ts_now_ms()), 0);
	cr_assert_eq(kp_ring_push(&fr, &msg), 0);
}

/* An event of object `object` on `camera`, started a minute before the test
 * (or at start_ms when not 0), that entered `zones` (a JSON list's inside). */
static void feed_labelled(const char *label, const char *type, const char *camera, int object, const char *zones,
                          int64_t start_ms)
{
	char payload[512];
	double start = (double)(start_ms ? start_ms : a_minute_ago) / 1000.0;

	snprintf(payload, sizeof(payload),
	         "{\"type\": \"%s\", \"before\": {}, \"after\": {\"id\": \"o-%d\", \"camera\": \"%s\", "
	         "\"label\": \"%s\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.3f, "
	         "\"end_time\": null, \"entered_zones\": [%s], \"current_zones\": []}}",
	         type, object, camera, label, start, zones);
	feed(KP_FRIGATE_TOPIC_EVENTS, payload);
}

static void feed_event(const char *type, const char *camera, int object, const char *zones, int64_t start_ms)
{
	feed_labelled("person", type, camera, object, zones, start_ms);
}

static uint64_t outcome(int direction, int what)
{
	return atomic_load(&ts.m.frigate_outcomes[direction][what]);
}

struct sums {
	uint64_t boardings, alightings;
	int street_cells, other_cells;
};

static int sum_cell(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct sums *s = ctx;

	cr_expect_eq(k->source, ST_COUNT_SOURCE_NVR);
	s->boardings += v->boardings;
	s->alightings += v->alightings;
	if (k->route_id == 0 && k->stop_id == STREET_STOP && k->door == 0)
		s->street_cells++;
	else
		s->other_cells++;
	return 0;
}

static int count_row(void *ctx, const struct st_nvr_event *ev)
{
	(*(int *)ctx)++;
	return 0;
}

static struct sums stored(const char *camera, int *rows)
{
	struct sums s = { 0 };
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_door_agg_foreach(&r, 20000101, 29991231, sum_cell, &s), ST_OK);
	*rows = 0;
	cr_assert_eq(st_nvr_event_foreach(&r, camera, 0, INT64_MAX, count_row, rows), ST_OK);
	st_read_end(&r);
	return s;
}

Test(frigate_stage, a_street_camera_counts_each_object_once_at_its_stop)
{
	int rows;

	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	start(4, 1000);
	feed_event("new", "stop_cam", 1, "", 0);
	feed_event("update", "stop_cam", 1, "\"in\"", 0);
	feed_event("update", "stop_cam", 1, "\"in\", \"out\"", 0);
	feed_event("end", "stop_cam", 1, "\"in\", \"out\"", 0);
	feed_event("end", "stop_cam", 1, "\"in\", \"out\"", 0);
	feed_event("update", "stop_cam", 2, "\"out\"", 0);
	finish();

	struct sums s = stored("stop_cam", &rows);
	cr_expect_eq(s.boardings, 1);
	cr_expect_eq(s.alightings, 2);
	cr_expect_eq(s.other_cells, 0);
	cr_expect_eq(rows, 2, "one row per object: %d", rows);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_ALREADY_COUNTED), 3);
	cr_expect_eq(outcome(0, KP_FRIGATE_ZONE_NOT_ENTERED), 2);
	cr_expect_eq(outcome(1, KP_FRIGATE_COUNTED), 2);
	cr_expect_eq(outcome(1, KP_FRIGATE_ALREADY_COUNTED), 2);
	cr_expect_eq(outcome(1, KP_FRIGATE_ZONE_NOT_ENTERED), 2);
	cr_expect_eq(atomic_load(&ts.m.frigate_boardings), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_alightings), 2);
}

Test(frigate_stage, marks_survive_a_reopen_so_a_repeat_after_a_restart_is_already_counted)
{
	int rows;

	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	start(1, 1000);
	feed_event("update", "stop_cam", 1, "\"in\"", 0);
	finish();
	tdb_reopen();
	kp_ring_destroy(&fr);
	cr_assert_eq(kp_ring_init(&fr, RING, sizeof(struct kp_frigate_msg)), 0);
	start(1, 1000);
	feed_event("update", "stop_cam", 1, "\"in\"", 0);
	finish();
	cr_expect_eq(stored("stop_cam", &rows).boardings, 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_ALREADY_COUNTED), 1);
}

Test(frigate_stage, an_unmapped_camera_is_counted_in_metrics_and_not_stored)
{
	int rows;

	tdb_open();
	start(4, 1000);
	feed_event("update", "nobody_mapped_me", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("nobody_mapped_me", &rows);
	cr_expect_eq(s.boardings + s.alightings, 0);
	cr_expect_eq(rows, 0);
	cr_expect_eq(atomic_load(&ts.m.frigate_unmapped_events), 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_UNMAPPED_CAMERA), 1);
	cr_expect_eq(outcome(1, KP_FRIGATE_UNMAPPED_CAMERA), 1);
}

Test(frigate_stage, an_onboard_camera_without_a_vehicle_position_stores_its_row_without_counts)
{
	int rows;

	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4217, 1, 0);
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("bus_cam", &rows);
	cr_expect_eq(s.boardings + s.alightings, 0);
	cr_expect_eq(rows, 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION), 1);
	cr_expect_eq(outcome(1, KP_FRIGATE_ZONE_NOT_ENTERED), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_boardings), 0);
}

Test(frigate_stage, refusals_are_counted_by_reason)
{
	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	start(4, 1000);
	feed(KP_FRIGATE_TOPIC_EVENTS, "{not json");
	feed(KP_FRIGATE_TOPIC_EVENTS, "{\"type\": \"update\"}");
	feed_event("update", "stop_cam", 1, "\"in\"", ts_now_ms() - 40LL * 86400000); /* 40 days ago */
	feed_event("update", "stop_cam", 2, "\"in\"", ts_now_ms() + 3600000);          /* an hour ahead */
	feed(KP_FRIGATE_TOPIC_AVAILABLE, "maybe");
	finish();
	cr_expect_eq(atomic_load(&ts.m.frigate_rejected[KP_FRIGATE_EMALFORMED]), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_rejected[KP_FRIGATE_EMISSING]), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_rejected[KP_FRIGATE_REJECT_OUT_OF_WINDOW]), 2);
	cr_expect_eq(atomic_load(&ts.m.frigate_rejected[KP_FRIGATE_REJECT_BAD_AVAILABLE]), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_available), -1);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 0);
}

static int count_outage(void *ctx, const struct st_nvr_outage *o)
{
	int *n = ctx;
	n[0]++;
	n[1] += o->end != 0;
	return 0;
}

static void wait_alarm(int want)
{
	for (int waited = 0; waited < DEADLINE_MS; waited += 10) {
		if (atomic_load(&ts.m.frigate_offline_alarm) == want)
			return;
		kp_sleep_ms(10);
	}
	cr_assert_fail("the offline alarm never became %d", want);
}

Test(frigate_stage, offline_raises_the_alarm_after_offline_alarm_s_and_online_clears_it)
{
	struct st_read r;
	int outages[2] = { 0, 0 };

	tdb_open();
	start(4, 1000);
	feed(KP_FRIGATE_TOPIC_AVAILABLE, "offline");
	wait_alarm(1);
	cr_expect_eq(atomic_load(&ts.m.frigate_available), 0);
	feed(KP_FRIGATE_TOPIC_AVAILABLE, "online");
	wait_alarm(0);
	cr_expect_eq(atomic_load(&ts.m.frigate_available), 1);
	feed(KP_FRIGATE_TOPIC_AVAILABLE, "stopped"); /* Frigate 0.18's clean shutdown */
	finish();
	cr_expect_eq(atomic_load(&ts.m.frigate_available), 0);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, 0, INT64_MAX, count_outage, outages), ST_OK);
	st_read_end(&r);
	cr_expect_eq(outages[0], 2, "%d outages", outages[0]);
	cr_expect_eq(outages[1], 1, "the first closed, the second open: %d closed", outages[1]);
}

Test(frigate_stage, a_full_map_raises_the_alarm_and_the_group_is_retried_not_dropped, .timeout = 60)
{
	struct kp_frigate_msg msg;
	char zones[300];

	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 1 * T_MIB;
	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	/* Rows of 255-byte zone lists: 4000 of them cannot fit in 1 MiB. */
	snprintf(zones, sizeof(zones), "\"in\"");
	for (size_t n = strlen(zones); n + 16 < 255; n = strlen(zones))
		snprintf(zones + n, sizeof(zones) - n, ", \"z%03zu\"", n);
	start(64, 100000); /* groups small enough that the map fills before the producer ends */
	int fed = 0;
	for (uint64_t t0 = kp_now_mono_ns(); fed < 4000; fed++) {
		char payload[768];
		snprintf(payload, sizeof(payload),
		         "{\"type\": \"update\", \"before\": {}, \"after\": {\"id\": \"o-%d\", \"camera\": \"stop_cam\", "
		         "\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.3f, "
		         "\"end_time\": null, \"entered_zones\": [%s], \"current_zones\": []}}",
		         fed, (double)(ts_now_ms() - 60000) / 1000.0, zones);
		cr_assert_eq(kp_frigate_msg_copy(&msg, KP_FRIGATE_TOPIC_EVENTS, payload, strlen(payload), ts_now_ms()), 0);
		int rc;
		while ((rc = kp_ring_try_push(&fr, &msg)) == 1 && atomic_load(&ts.m.storage_full) < 2) {
			cr_assert_lt(kp_now_mono_ns() - t0, (uint64_t)DEADLINE_MS * 1000000u);
			kp_sleep_ms(1);
		}
		if (rc == 1) {
			kp_frigate_msg_free(&msg);
			break; /* full while the stage retries: the push-back */
		}
		cr_assert_eq(rc, 0);
	}
	for (uint64_t t0 = kp_now_mono_ns(); atomic_load(&ts.m.storage_full) < 2;) {
		cr_assert_lt(kp_now_mono_ns() - t0, (uint64_t)DEADLINE_MS * 1000000u, "no retry of the full group");
		kp_sleep_ms(10);
	}
	cr_expect_eq(atomic_load(&ts.health.storage_ok), 0);
	/* Groups stored before the map filled stay counted; the failing one is
	 * held: nothing more is counted, and the ring stays full behind it. */
	uint64_t counted = atomic_load(&ts.m.frigate_boardings);
	cr_expect_lt(counted, (uint64_t)fed);
	for (uint64_t t0 = kp_now_mono_ns(); atomic_load(&ts.m.storage_full) < 3;) {
		cr_assert_lt(kp_now_mono_ns() - t0, (uint64_t)DEADLINE_MS * 1000000u, "no second retry");
		kp_sleep_ms(10);
	}
	cr_expect_eq(atomic_load(&ts.m.frigate_boardings), counted);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), counted);
	cr_expect_eq(kp_ring_depth(&fr), RING, "the ring is full behind the held group");
}

/* Places vehicle at (route, stop) as of `at`, by storing a tap made there. */
static void place_vehicle(uint32_t vehicle, uint32_t route, uint32_t stop, int64_t at)
{
	static uint64_t batch = 1;
	struct tdev d;
	uint8_t buf[KP_FRAME_MAX];
	struct kp_tap t = t_tap(at, route, stop, 1, 800, (uint32_t)batch);
	struct st_commit_item it;

	t.vehicle_id = vehicle;
	tdev_make(&d, 77);
	size_t len = t_frame(buf, &d, batch++, &t, 1);
	cr_assert_eq(t_commit1(buf, len, &it), ST_OK);
	cr_assert_eq(it.outcome, ST_STORED);
}

struct vehicle_sums {
	uint32_t vehicle_id, route_id;
	uint64_t nvr_boardings, cells;
};

static int sum_vehicle_hour(void *ctx, const struct st_vehicle_hour_key *k, const struct st_vehicle_hour_val *v)
{
	struct vehicle_sums *s = ctx;
	uint64_t nvr = v->source[ST_COUNT_SOURCE_NVR - 1].boardings;

	if (nvr == 0)
		return 0;
	s->vehicle_id = k->vehicle_id;
	s->route_id = k->route_id;
	s->nvr_boardings += nvr;
	s->cells++;
	return 0;
}

static struct vehicle_sums vehicle_hours(void)
{
	struct vehicle_sums s = { 0 };
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_vehicle_hours_foreach(&r, 20000101, 29991231, sum_vehicle_hour, &s), ST_OK);
	st_read_end(&r);
	return s;
}

Test(frigate_stage, an_onboard_camera_counts_at_a_fresh_position_of_its_vehicle_and_in_its_hour)
{
	int rows;

	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4217, 1, 0);
	place_vehicle(4217, 7, 300, a_minute_ago - 120000);
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("bus_cam", &rows);
	cr_expect_eq(s.boardings, 1);
	cr_expect_eq(rows, 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 1);
	struct vehicle_sums v = vehicle_hours();
	cr_expect_eq(v.cells, 1, "the NVR boarding in one vehicle hour: %llu", (unsigned long long)v.cells);
	cr_expect_eq(v.vehicle_id, 4217);
	cr_expect_eq(v.route_id, 7);
	cr_expect_eq(v.nvr_boardings, 1);
}

/* The vehicle's position is in a frame the writer has not derived yet
 * (storage/derive.h): the stage derives it before it looks. */
Test(frigate_stage, an_onboard_camera_counts_at_a_position_not_yet_derived)
{
	int rows;

	tdb.opts.derive_defer_ms = 3600 * 1000;
	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4218, 1, 0);
	place_vehicle(4218, 7, 300, a_minute_ago - 120000);
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("bus_cam", &rows);
	cr_expect_eq(s.boardings, 1, "counted at the held position");
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 1);
}

Test(frigate_stage, a_street_camera_counts_in_no_vehicle_hour)
{
	int rows;

	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	start(4, 1000);
	feed_event("update", "stop_cam", 1, "\"in\"", 0);
	finish();
	cr_expect_eq(stored("stop_cam", &rows).boardings, 1);
	cr_expect_eq(vehicle_hours().cells, 0);
}

Test(frigate_stage, a_vehicle_position_older_than_position_max_age_counts_nothing)
{
	int rows;

	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4217, 1, 0);
	place_vehicle(4217, 7, 300, a_minute_ago - 601000); /* 10 min 1 s before the event */
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("bus_cam", &rows);
	cr_expect_eq(s.boardings + s.alightings, 0);
	cr_expect_eq(rows, 1, "the row is stored");
	cr_expect_eq(outcome(0, KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION), 1);
	cr_expect_eq(atomic_load(&ts.m.frigate_boardings), 0);
}

Test(frigate_stage, a_vehicle_position_far_after_the_event_counts_nothing)
{
	int rows;

	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4217, 1, 0);
	place_vehicle(4217, 7, 300, a_minute_ago);
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", a_minute_ago - 700000); /* the event, 700 s before */
	finish();
	cr_expect_eq(stored("bus_cam", &rows).boardings, 0);
	cr_expect_eq(outcome(0, KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION), 1);
}

Test(frigate_stage, a_vehicle_position_on_route_0_counts_nothing)
{
	int rows;

	tdb_open();
	add_camera("bus_cam", ST_CAMERA_ONBOARD, 4217, 1, 0);
	place_vehicle(4217, 0, 300, a_minute_ago);
	start(4, 1000);
	feed_event("update", "bus_cam", 1, "\"in\"", 0);
	finish();
	struct sums s = stored("bus_cam", &rows);
	cr_expect_eq(s.boardings + s.alightings, 0);
	cr_expect_eq(rows, 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION), 1);
}

Test(frigate_stage, only_person_events_are_stored_as_rows_other_labels_only_in_metrics)
{
	int rows;

	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	start(4, 1000);
	feed_labelled("car", "update", "stop_cam", 1, "\"in\"", 0);
	feed_labelled("dog", "end", "stop_cam", 2, "\"in\", \"out\"", 0);
	feed_event("update", "stop_cam", 3, "\"in\"", 0);
	finish();
	struct sums s = stored("stop_cam", &rows);
	cr_expect_eq(rows, 1, "only the person's row: %d", rows);
	cr_expect_eq(s.boardings, 1);
	cr_expect_eq(outcome(0, KP_FRIGATE_NOT_PERSON), 2);
	cr_expect_eq(outcome(1, KP_FRIGATE_NOT_PERSON), 2);
	cr_expect_eq(outcome(0, KP_FRIGATE_COUNTED), 1);
}

/* Overwrites a camera's record with a value of the wrong size (raw LMDB). */
static void raw_break_camera(const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(name), (void *)name }, v = { 3, "bad" };

	tdb_close();
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_open(env, tdb.dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "cameras", 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	tdb_open();
}

Test(frigate_stage, an_undecodable_camera_drops_its_event_and_the_stage_goes_on, .timeout = 60)
{
	int rows;

	tdb_open();
	add_camera("stop_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP);
	add_camera("broken_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP + 1);
	raw_break_camera("broken_cam");
	start(4, 1000);
	/* More than the ring holds: a stage retrying the broken lookup forever
	 * would never take the rest. */
	for (int i = 0; i < 2 * RING; i++) {
		struct kp_frigate_msg msg;
		char payload[512];
		snprintf(payload, sizeof(payload),
		         "{\"type\": \"update\", \"before\": {}, \"after\": {\"id\": \"o-%d\", \"camera\": \"%s\", "
		         "\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.3f, "
		         "\"end_time\": null, \"entered_zones\": [\"in\"], \"current_zones\": []}}",
		         i, i == 0 ? "broken_cam" : "stop_cam", (double)a_minute_ago / 1000.0);
		cr_assert_eq(kp_frigate_msg_copy(&msg, KP_FRIGATE_TOPIC_EVENTS, payload, strlen(payload), ts_now_ms()), 0);
		cr_assert_eq(kp_ring_push(&fr, &msg), 0); /* waits while full */
	}
	finish();
	cr_expect_eq(atomic_load(&ts.m.frigate_dropped_storage), 1);
	cr_expect_eq(stored("stop_cam", &rows).boardings, 2 * RING - 1);
	cr_expect_eq(atomic_load(&ts.m.storage_errors), 1, "tried once, not retried");
}

static int session_marker(int64_t *at)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_nvr_session_get(&r, at);
	st_read_end(&r);
	return rc;
}

Test(frigate_stage, a_clean_stop_leaves_no_run_marker_and_no_outage)
{
	int64_t at;
	int outages[2] = { 0, 0 };
	struct st_read r;

	tdb_open();
	with_session = 1;
	start(4, 1000);
	finish();
	start(4, 1000); /* the next run */
	finish();
	with_session = 0;
	cr_expect_eq(session_marker(&at), ST_ENOTFOUND);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, 0, INT64_MAX, count_outage, outages), ST_OK);
	st_read_end(&r);
	cr_expect_eq(outages[0], 0);
}

Test(frigate_stage, a_run_after_one_that_did_not_stop_cleanly_stores_an_outage_over_the_gap)
{
	int64_t crashed_at = ts_now_ms() - 300000, at;
	struct st_read r;
	int outages[2] = { 0, 0 };

	tdb_open();
	cr_assert_eq(st_nvr_session_begin(tdb.db, crashed_at, NULL), ST_OK); /* the run that crashed */
	with_session = 1;
	start(4, 1000);
	for (int waited = 0; session_marker(&at) != ST_OK || at == crashed_at; waited += 10) {
		cr_assert_lt(waited, DEADLINE_MS, "the stage never began its session");
		kp_sleep_ms(10);
	}
	cr_expect_gt(at, crashed_at);
	finish();
	with_session = 0;
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, crashed_at, crashed_at + 1, count_outage, outages), ST_OK);
	st_read_end(&r);
	cr_expect_eq(outages[0], 1, "an outage covers the crash");
	cr_expect_eq(outages[1], 1, "closed");
}
