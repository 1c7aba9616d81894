/*
 * Description: where each vehicle was last seen: the newest record (by its
 * own time) of the stored TAPS and COUNTS frames places its vehicle,
 * whatever the order of records, frames and groups; an older record moves
 * nothing; vehicle 0 places nothing; a stored position that does not
 * decode is overwritten, never a failed commit; a group of more vehicles than the
 * writer's table holds still places every one of them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/vehicle_pos.h"

TestSuite(vehicle_pos, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC. */
static const int64_t t0 = 1715763600000;
static const int64_t minute = 60000;

static struct kp_tap tap_on(uint32_t vehicle, int64_t at, uint32_t stop)
{
	struct kp_tap t = t_tap(at, 7, stop, 1, 800, (uint32_t)(at / minute));

	t.vehicle_id = vehicle;
	return t;
}

static void commit_taps(const struct tdev *d, uint64_t batch_seq, const struct kp_tap *taps, uint16_t n)
{
	uint8_t buf[KP_FRAME_MAX];
	size_t len = t_frame(buf, d, batch_seq, taps, n);
	struct st_commit_item it;

	cr_assert_eq(t_commit1(buf, len, &it), ST_OK, "commit of batch %llu", (unsigned long long)batch_seq);
	cr_assert_eq(it.outcome, ST_STORED);
}

/* The stored position of vehicle, or fails the test; rc when wanted. */
static int pos_of(uint32_t vehicle, struct st_vehicle_pos *p)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_vehicle_pos_get(&r, vehicle, p);
	st_read_end(&r);
	return rc;
}

static void expect_pos(uint32_t vehicle, uint32_t route, uint32_t stop, int64_t at)
{
	struct st_vehicle_pos p;

	cr_assert_eq(pos_of(vehicle, &p), ST_OK, "vehicle %u has a position", vehicle);
	cr_expect_eq(p.vehicle_id, vehicle);
	cr_expect_eq(p.route_id, route, "vehicle %u route %u", vehicle, p.route_id);
	cr_expect_eq(p.stop_id, stop, "vehicle %u stop %u, want %u", vehicle, p.stop_id, stop);
	cr_expect_eq(p.at, at);
}

Test(vehicle_pos, a_vehicle_never_seen_is_enotfound)
{
	struct st_vehicle_pos p;

	tdb_open();
	cr_expect_eq(pos_of(310, &p), ST_ENOTFOUND);
}

Test(vehicle_pos, the_newest_record_of_a_frame_wins_whatever_its_place)
{
	struct tdev d;
	struct kp_tap taps[] = {tap_on(310, t0, 100), tap_on(310, t0 + 2 * minute, 102),
	                        tap_on(310, t0 + minute, 101)};

	tdev_make(&d, 1);
	tdb_open();
	commit_taps(&d, 1, taps, 3);
	expect_pos(310, 7, 102, t0 + 2 * minute);
}

Test(vehicle_pos, an_older_record_in_a_later_group_does_not_move_the_vehicle)
{
	struct tdev d;
	struct kp_tap now = tap_on(310, t0 + 10 * minute, 110);
	struct kp_tap last_week = tap_on(310, t0 - 7 * 24 * 60 * minute, 90);
	struct kp_tap later = tap_on(310, t0 + 11 * minute, 111);

	tdev_make(&d, 1);
	tdb_open();
	commit_taps(&d, 1, &now, 1);
	commit_taps(&d, 2, &last_week, 1);
	expect_pos(310, 7, 110, t0 + 10 * minute);
	commit_taps(&d, 3, &later, 1);
	expect_pos(310, 7, 111, t0 + 11 * minute);
}

Test(vehicle_pos, counts_place_their_vehicle_too_and_each_vehicle_keeps_its_own)
{
	struct tdev val, apc;
	struct kp_tap tap = tap_on(310, t0, 100);
	struct kp_count rec = t_door_cycle(t0 + minute, 8, 200, 1, 3, 1); /* vehicle 31 */
	uint8_t buf[KP_FRAME_MAX];
	size_t len;

	tdev_make(&val, 1);
	tdev_make(&apc, 2);
	tdb_open();
	commit_taps(&val, 1, &tap, 1);
	len = t_count_frame(buf, &apc, 1, &rec, 1);
	cr_assert_eq(t_commit1(buf, len, NULL), ST_OK);
	expect_pos(310, 7, 100, t0);
	expect_pos(31, 8, 200, t0 + minute);
}

Test(vehicle_pos, a_record_of_vehicle_0_places_nothing)
{
	struct tdev d;
	struct kp_tap taps[] = {tap_on(0, t0, 100), tap_on(0, t0 + minute, 101)};
	struct st_vehicle_pos p;

	tdev_make(&d, 1);
	tdb_open();
	commit_taps(&d, 1, taps, 2);
	cr_expect_eq(pos_of(0, &p), ST_ENOTFOUND);
}

Test(vehicle_pos, in_one_group_the_newest_of_several_frames_wins_and_a_repeat_adds_nothing)
{
	struct tdev a, b, c;
	struct kp_tap ta = tap_on(310, t0, 100), tb = tap_on(310, t0 + 5 * minute, 105),
	              tc = tap_on(310, t0 + 3 * minute, 103), late = tap_on(310, t0 + 9 * minute, 109);
	uint8_t buf[4][KP_FRAME_MAX];
	struct st_commit_item items[4] = {0};

	tdev_make(&a, 1);
	tdev_make(&b, 2);
	tdev_make(&c, 3);
	items[0].len = t_frame(buf[0], &a, 1, &ta, 1);
	items[1].len = t_frame(buf[1], &b, 1, &tb, 1);
	items[2].len = t_frame(buf[2], &c, 1, &tc, 1);
	for (int i = 0; i < 3; i++)
		items[i].frame = buf[i];
	tdb_open();
	cr_assert_eq(st_commit_group(tdb.db, items, 3, NULL), ST_OK);
	expect_pos(310, 7, 105, t0 + 5 * minute);

	/* A frame already stored is not stored again, so it places nothing,
	 * even beside a newer one of another vehicle... and of its own. */
	items[3].len = t_frame(buf[3], &a, 1, &late, 1); /* a's batch 1 again, other content */
	items[3].frame = buf[3];
	cr_assert_eq(st_commit_group(tdb.db, &items[3], 1, NULL), ST_OK);
	cr_expect_eq(items[3].outcome, ST_DUPLICATE);
	expect_pos(310, 7, 105, t0 + 5 * minute);
}

Test(vehicle_pos, a_group_of_more_vehicles_than_the_table_holds_places_every_one)
{
	enum { VEHICLES = 500 };
	struct tdev d;
	static struct kp_tap taps[VEHICLES];

	tdev_make(&d, 1);
	for (int i = 0; i < VEHICLES; i++)
		taps[i] = tap_on((uint32_t)i + 1, t0 + i, 1000 + (uint32_t)i);
	taps[VEHICLES - 1] = tap_on(1, t0 + VEHICLES, 4242); /* after the table had to flush */
	tdb_open();
	commit_taps(&d, 1, taps, VEHICLES);
	for (int i = 1; i < VEHICLES - 1; i++)
		expect_pos((uint32_t)i + 1, 7, 1000 + (uint32_t)i, t0 + i);
	expect_pos(1, 7, 4242, t0 + VEHICLES);
}

/* Replaces vehicle 7's stored position by a 3-byte value, with plain LMDB. */
static void break_position_of_vehicle_7(void)
{
	struct t_raw raw;
	uint8_t kb[4] = {0, 0, 0, 7}, bad[3] = {1, 2, 3};
	MDB_val k = {sizeof kb, kb}, v = {sizeof bad, bad};

	tdb_close();
	t_raw_begin(&raw, "vehicle_pos", 0);
	cr_assert_eq(mdb_put(raw.txn, raw.dbi, &k, &v, 0), 0);
	t_raw_commit(&raw);
	tdb_open();
}

Test(vehicle_pos, a_stored_position_that_does_not_decode_is_overwritten_not_a_failed_commit)
{
	struct tdev d;
	struct st_vehicle_pos p;
	struct kp_tap t = tap_on(7, t0, 100);

	tdb_open();
	tdev_make(&d, 1);
	commit_taps(&d, 1, &t, 1);
	break_position_of_vehicle_7();
	cr_expect_eq(pos_of(7, &p), ST_ECORRUPT, "the reader sees the broken record");
	t = tap_on(7, t0 - minute, 101); /* even an older record replaces what cannot be read */
	commit_taps(&d, 2, &t, 1);       /* asserts ST_OK and ST_STORED */
	expect_pos(7, 7, 101, t0 - minute);
}
