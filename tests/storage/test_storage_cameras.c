/*
 * Description: the camera registry: a camera is added once (ST_EEXIST
 * after, nothing changed), reads back field by field, is listed in name
 * order and removed (ST_ENOTFOUND after); every invalid camera is refused
 * with ST_EINVAL and stores nothing; the place names round-trip.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/cameras.h"

TestSuite(cameras, .init = tdb_setup, .fini = tdb_teardown);

static struct st_camera onboard(const char *name, uint32_t vehicle, uint8_t door)
{
	struct st_camera c = {.place = ST_CAMERA_ONBOARD, .vehicle_id = vehicle, .door = door,
	                      .created_at = 1700000000000};

	strncpy(c.name, name, sizeof c.name - 1);
	strcpy(c.boarding_zone, "door_in");
	strcpy(c.alighting_zone, "door_out");
	return c;
}

static struct st_camera street(const char *name, uint32_t stop)
{
	struct st_camera c = {.place = ST_CAMERA_STREET, .stop_id = stop, .created_at = 1700000000001};

	strncpy(c.name, name, sizeof c.name - 1);
	strcpy(c.boarding_zone, "kerb");
	return c;
}

static int count_one(void *ctx, const struct st_camera *c)
{
	(void)c;
	++*(int *)ctx;
	return 0;
}

/* How many cameras are stored, whatever their names. */
static int camera_count(void)
{
	struct st_read r;
	int n = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_camera_foreach(&r, count_one, &n), ST_OK);
	st_read_end(&r);
	return n;
}

Test(cameras, an_added_camera_reads_back_field_by_field)
{
	struct st_camera in = onboard("bus310_front", 310, 1), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &in), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_camera_get(&r, "bus310_front", &out), ST_OK);
	cr_expect_eq(st_camera_get(&r, "bus310_fron", &out), ST_ENOTFOUND, "a prefix is another name");
	st_read_end(&r);
	cr_expect_str_eq(out.name, "bus310_front");
	cr_expect_eq(out.place, ST_CAMERA_ONBOARD);
	cr_expect_eq(out.vehicle_id, 310);
	cr_expect_eq(out.door, 1);
	cr_expect_eq(out.stop_id, 0);
	cr_expect_str_eq(out.boarding_zone, "door_in");
	cr_expect_str_eq(out.alighting_zone, "door_out");
	cr_expect_eq(out.created_at, 1700000000000);
}

Test(cameras, a_street_camera_with_one_zone_reads_back)
{
	struct st_camera in = street("stop_100", 100), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &in), ST_OK);
	tdb_reopen(); /* durable, not only in this process */
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_camera_get(&r, "stop_100", &out), ST_OK);
	st_read_end(&r);
	cr_expect_eq(out.place, ST_CAMERA_STREET);
	cr_expect_eq(out.stop_id, 100);
	cr_expect_eq(out.vehicle_id, 0);
	cr_expect_str_eq(out.boarding_zone, "kerb");
	cr_expect_str_eq(out.alighting_zone, "");
}

Test(cameras, adding_a_name_twice_is_eexist_and_changes_nothing)
{
	struct st_camera a = onboard("bus310_front", 310, 1), b = street("bus310_front", 7), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &a), ST_OK);
	cr_expect_eq(st_camera_add(tdb.db, &b), ST_EEXIST);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_camera_get(&r, "bus310_front", &out), ST_OK);
	st_read_end(&r);
	cr_expect_eq(out.place, ST_CAMERA_ONBOARD);
	cr_expect_eq(out.vehicle_id, 310);
}

struct listing {
	char names[8][ST_CAMERA_NAME_MAX + 1];
	int n;
	int stop_after;
};

static int collect(void *ctx, const struct st_camera *c)
{
	struct listing *l = ctx;

	strcpy(l->names[l->n++], c->name);
	return l->n == l->stop_after;
}

Test(cameras, foreach_lists_every_camera_in_name_order_and_stops_when_asked)
{
	struct st_camera cams[] = {street("stop_100", 100), onboard("bus310_rear", 310, 2),
	                           onboard("bus310_front", 310, 1)};
	struct listing l = {0};
	struct st_read r;

	tdb_open();
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(st_camera_add(tdb.db, &cams[i]), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_camera_foreach(&r, collect, &l), ST_OK);
	cr_assert_eq(l.n, 3);
	cr_expect_str_eq(l.names[0], "bus310_front");
	cr_expect_str_eq(l.names[1], "bus310_rear");
	cr_expect_str_eq(l.names[2], "stop_100");
	l = (struct listing){.stop_after = 2};
	cr_expect_eq(st_camera_foreach(&r, collect, &l), ST_ESTOP);
	cr_expect_eq(l.n, 2);
	st_read_end(&r);
}

Test(cameras, a_removed_camera_is_gone_and_removing_it_again_is_enotfound)
{
	struct st_camera a = onboard("bus310_front", 310, 1), b = onboard("bus310_rear", 310, 2), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &a), ST_OK);
	cr_assert_eq(st_camera_add(tdb.db, &b), ST_OK);
	cr_expect_eq(st_camera_remove(tdb.db, "bus310_front"), ST_OK);
	cr_expect_eq(st_camera_remove(tdb.db, "bus310_front"), ST_ENOTFOUND);
	cr_expect_eq(st_camera_remove(tdb.db, "nobody"), ST_ENOTFOUND);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_camera_get(&r, "bus310_front", &out), ST_ENOTFOUND);
	cr_expect_eq(st_camera_get(&r, "bus310_rear", &out), ST_OK, "the other stays");
	st_read_end(&r);
	cr_expect_eq(st_camera_add(tdb.db, &a), ST_OK, "the name is free again");
}

/* Each way a camera can be wrong, applied to a valid one. */
static void no_name(struct st_camera *c) { c->name[0] = 0; }
static void slash(struct st_camera *c) { strcpy(c->name, "bus/310"); }
static void plus(struct st_camera *c) { strcpy(c->name, "bus+310"); }
static void hash(struct st_camera *c) { strcpy(c->name, "bus#310"); }
static void space(struct st_camera *c) { strcpy(c->name, "bus 310"); }
static void control(struct st_camera *c) { strcpy(c->name, "bus\t310"); }
static void unterminated_name(struct st_camera *c) { memset(c->name, 'a', sizeof c->name); }
static void bad_place(struct st_camera *c) { c->place = 3; }
static void no_place(struct st_camera *c) { c->place = 0; }
static void onboard_without_vehicle(struct st_camera *c) { c->vehicle_id = 0; }
static void onboard_with_stop(struct st_camera *c) { c->stop_id = 100; }
static void to_street_with_vehicle(struct st_camera *c) { c->place = ST_CAMERA_STREET; c->stop_id = 100; }
static void to_street_with_door(struct st_camera *c)
{
	c->place = ST_CAMERA_STREET;
	c->vehicle_id = 0;
	c->stop_id = 100;
	c->door = 1;
}
static void to_street_without_stop(struct st_camera *c) { c->place = ST_CAMERA_STREET; c->vehicle_id = 0; }
static void no_zones(struct st_camera *c) { c->boarding_zone[0] = c->alighting_zone[0] = 0; }
static void comma_zone(struct st_camera *c) { strcpy(c->boarding_zone, "a,b"); }
static void control_zone(struct st_camera *c) { strcpy(c->alighting_zone, "out\n"); }
static void unterminated_zone(struct st_camera *c) { memset(c->alighting_zone, 'z', sizeof c->alighting_zone); }

Test(cameras, every_invalid_camera_is_einval_and_stores_nothing)
{
	void (*breaks[])(struct st_camera *) = {
		no_name, slash, plus, hash, space, control, unterminated_name, bad_place, no_place,
		onboard_without_vehicle, onboard_with_stop, to_street_with_vehicle, to_street_with_door,
		to_street_without_stop, no_zones, comma_zone, control_zone, unterminated_zone,
	};
	struct st_camera ok = onboard("x", 310, 1);

	tdb_open();
	cr_assert(st_camera_valid(&ok), "the camera the cases start from is valid");
	for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
		struct st_camera c = ok;

		breaks[i](&c);
		cr_expect_not(st_camera_valid(&c), "case %zu", i);
		cr_expect_eq(st_camera_add(tdb.db, &c), ST_EINVAL, "case %zu", i);
	}
	cr_expect_eq(camera_count(), 0);
	cr_expect_eq(st_camera_add(tdb.db, NULL), ST_EINVAL);
}

Test(cameras, a_name_over_the_bound_is_einval_on_get_and_remove)
{
	char longname[ST_CAMERA_NAME_MAX + 2];
	struct st_camera out;
	struct st_read r;

	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	tdb_open();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_camera_get(&r, longname, &out), ST_EINVAL);
	cr_expect_eq(st_camera_get(&r, "", &out), ST_EINVAL);
	st_read_end(&r);
	cr_expect_eq(st_camera_remove(tdb.db, longname), ST_EINVAL);
	cr_expect_eq(st_camera_remove(tdb.db, NULL), ST_EINVAL);
}

Test(cameras, a_name_of_the_full_length_is_stored)
{
	struct st_camera c = onboard("", 310, 0), out;
	struct st_read r;

	memset(c.name, 'n', ST_CAMERA_NAME_MAX);
	c.name[ST_CAMERA_NAME_MAX] = 0;
	tdb_open();
	cr_assert_eq(st_camera_add(tdb.db, &c), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_camera_get(&r, c.name, &out), ST_OK);
	st_read_end(&r);
	cr_expect_str_eq(out.name, c.name);
}

Test(cameras, place_names_round_trip)
{
	cr_expect_str_eq(st_camera_place_name(ST_CAMERA_ONBOARD), "onboard");
	cr_expect_str_eq(st_camera_place_name(ST_CAMERA_STREET), "street");
	cr_expect_str_eq(st_camera_place_name(0), "unknown");
	cr_expect_eq(st_camera_place_parse("onboard"), ST_CAMERA_ONBOARD);
	cr_expect_eq(st_camera_place_parse("street"), ST_CAMERA_STREET);
	cr_expect_eq(st_camera_place_parse("unknown"), -1);
	cr_expect_eq(st_camera_place_parse(NULL), -1);
}
