/* Description: Frigate events count a boarding (alighting) once per tracked
 * object when a person, not a false positive, has entered the camera's
 * boarding (alighting) zone: new, updates, repeats and a repeated end count
 * once; an update without a new counts once; other labels, false positives
 * and unmapped cameras never count. The set of counted objects is bounded.
 * Payloads come from tests/data/frigate-events.jsonl. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "frigate_fixtures.h"
#include "ingest/frigate_count.h"

static const struct kp_frigate_camera_zones bus = { .boarding_zone = "door_in", .alighting_zone = "door_out" };
static const struct kp_frigate_camera_zones stop = { .boarding_zone = "boarding_area",
						     .alighting_zone = "alighting_area" };

/* The mapping the daemon will read from the registry. */
static const struct kp_frigate_camera_zones *camera_zones(const char *camera)
{
	if (strcmp(camera, "bus_4217_front") == 0)
		return &bus;
	if (strcmp(camera, "stop_teatralna_east") == 0)
		return &stop;
	return NULL;
}

static struct kp_frigate_counted_record records[64];
static struct kp_frigate_counted set;

static void fresh_set(void)
{
	cr_assert_eq(kp_frigate_counted_init(&set, records, sizeof(records) / sizeof(records[0])), 0);
}

TestSuite(frigate_count, .init = fresh_set);

/* Parses the fixture and applies it to the set. */
static struct kp_frigate_decision apply(const char *name)
{
	struct kp_frigate_event ev;
	struct kp_frigate_decision d;

	cr_assert_eq(frigate_fixture_parse(name, &ev), KP_FRIGATE_OK, "%s does not parse", name);
	cr_assert_eq(kp_frigate_count_apply(&set, camera_zones(ev.camera), &ev, &d), 0, "%s", name);
	return d;
}

static void expect_outcome(const char *name, enum kp_frigate_outcome boarding, enum kp_frigate_outcome alighting)
{
	struct kp_frigate_decision d = apply(name);

	cr_expect_eq(d.boarding, boarding, "%s boarding: got %s, want %s", name, kp_frigate_outcome_name(d.boarding),
		     kp_frigate_outcome_name(boarding));
	cr_expect_eq(d.alighting, alighting, "%s alighting: got %s, want %s", name,
		     kp_frigate_outcome_name(d.alighting), kp_frigate_outcome_name(alighting));
}

Test(frigate_count, new_updates_and_a_repeated_end_count_one_boarding)
{
	expect_outcome("a_new", KP_FRIGATE_ZONE_NOT_ENTERED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_update_door_in", KP_FRIGATE_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_update_aisle", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_update_clip", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_end", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_end", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	cr_expect_eq(kp_frigate_counted_get(&set, "bus_4217_front", "1717400000.123456-k3x9qa"), KP_FRIGATE_BOARDED);
}

Test(frigate_count, the_same_update_delivered_twice_counts_once)
{
	expect_outcome("a_update_door_in", KP_FRIGATE_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_update_door_in", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
}

Test(frigate_count, an_update_without_its_new_counts_once)
{
	expect_outcome("b_update_without_new", KP_FRIGATE_ZONE_NOT_ENTERED, KP_FRIGATE_COUNTED);
	expect_outcome("b_end", KP_FRIGATE_ZONE_NOT_ENTERED, KP_FRIGATE_ALREADY_COUNTED);
}

Test(frigate_count, an_end_alone_still_counts_once)
{
	/* Frigate may have published new and every update while we were away
	 * (QoS 0, no session): the end still holds entered_zones. */
	expect_outcome("a_end", KP_FRIGATE_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
	expect_outcome("a_end", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
}

Test(frigate_count, one_object_through_both_zones_boards_and_alights_once_each)
{
	expect_outcome("c_update_both_zones", KP_FRIGATE_COUNTED, KP_FRIGATE_COUNTED);
	expect_outcome("c_update_both_zones", KP_FRIGATE_ALREADY_COUNTED, KP_FRIGATE_ALREADY_COUNTED);
}

Test(frigate_count, false_positives_other_labels_and_unmapped_cameras_never_count)
{
	expect_outcome("fp_update", KP_FRIGATE_FALSE_POSITIVE, KP_FRIGATE_FALSE_POSITIVE);
	expect_outcome("car_new", KP_FRIGATE_NOT_PERSON, KP_FRIGATE_NOT_PERSON);
	expect_outcome("unmapped_update", KP_FRIGATE_UNMAPPED_CAMERA, KP_FRIGATE_UNMAPPED_CAMERA);
	cr_expect_eq(set.count, 0, "nothing counted, so nothing recorded");
}

Test(frigate_count, payloads_with_unknown_keys_count_like_any_other)
{
	expect_outcome("extra_keys_update", KP_FRIGATE_COUNTED, KP_FRIGATE_ZONE_NOT_ENTERED);
}

Test(frigate_count, a_camera_without_an_alighting_zone_counts_boardings_only)
{
	static const struct kp_frigate_camera_zones entry_door = { .boarding_zone = "door_in" };
	struct kp_frigate_event ev;
	struct kp_frigate_decision d;

	cr_assert_eq(frigate_fixture_parse("c_update_both_zones", &ev), KP_FRIGATE_OK);
	d = kp_frigate_count_decide(&entry_door, &ev, 0);
	cr_expect_eq(d.boarding, KP_FRIGATE_COUNTED);
	cr_expect_eq(d.alighting, KP_FRIGATE_NO_ZONE_MAPPED);
	cr_expect_eq(d.counted, KP_FRIGATE_BOARDED);
}

Test(frigate_count, the_decision_follows_what_was_counted_before)
{
	struct kp_frigate_event ev;
	struct kp_frigate_decision d;

	cr_assert_eq(frigate_fixture_parse("c_update_both_zones", &ev), KP_FRIGATE_OK);
	d = kp_frigate_count_decide(&bus, &ev, KP_FRIGATE_BOARDED);
	cr_expect_eq(d.boarding, KP_FRIGATE_ALREADY_COUNTED);
	cr_expect_eq(d.alighting, KP_FRIGATE_COUNTED);
	cr_expect_eq(d.counted, KP_FRIGATE_BOARDED | KP_FRIGATE_ALIGHTED);
	d = kp_frigate_count_decide(&bus, &ev, KP_FRIGATE_BOARDED | KP_FRIGATE_ALIGHTED);
	cr_expect_eq(d.boarding, KP_FRIGATE_ALREADY_COUNTED);
	cr_expect_eq(d.alighting, KP_FRIGATE_ALREADY_COUNTED);
}

Test(frigate_count, the_same_id_on_two_cameras_is_two_objects)
{
	cr_assert_eq(kp_frigate_counted_put(&set, "bus_4217_front", "1717400000.1-abcdef", KP_FRIGATE_BOARDED), 0);
	cr_expect_eq(kp_frigate_counted_get(&set, "bus_4217_front", "1717400000.1-abcdef"), KP_FRIGATE_BOARDED);
	cr_expect_eq(kp_frigate_counted_get(&set, "bus_4218_front", "1717400000.1-abcdef"), 0);
	cr_expect_eq(kp_frigate_counted_get(&set, "bus_4217_fron", "t1717400000.1-abcdef"), 0);
}

/* Counts what the whole fixture file adds up to, applied in file order. */
struct totals {
	int boardings, alightings, refused;
};

static void apply_line(const char *name, const char *payload, size_t len, void *arg)
{
	struct totals *t = arg;
	struct kp_frigate_event ev;
	struct kp_frigate_decision d;

	if (kp_frigate_event_parse(payload, len, &ev) != KP_FRIGATE_OK) {
		t->refused++;
		return;
	}
	cr_assert_eq(kp_frigate_count_apply(&set, camera_zones(ev.camera), &ev, &d), 0, "%s", name);
	t->boardings += d.boarding == KP_FRIGATE_COUNTED;
	t->alightings += d.alighting == KP_FRIGATE_COUNTED;
}

Test(frigate_count, the_fixture_file_counts_the_passengers_it_documents_and_replaying_it_adds_none)
{
	struct totals first = { 0 }, again = { 0 };

	/* a: one boarding; b: one alighting; c: one of each; extra_keys: one
	 * boarding. fp, car and unmapped none; the broken payloads are refused. */
	frigate_fixture_each(apply_line, &first);
	cr_expect_eq(first.boardings, 3);
	cr_expect_eq(first.alightings, 2);
	cr_expect_eq(first.refused, 25);
	frigate_fixture_each(apply_line, &again);
	cr_expect_eq(again.boardings, 0);
	cr_expect_eq(again.alightings, 0);
}

Test(frigate_count, a_full_set_forgets_the_oldest_object_first)
{
	struct kp_frigate_counted_record small[4];
	struct kp_frigate_counted s;
	char id[32];

	cr_assert_eq(kp_frigate_counted_init(&s, small, 4), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "1717400000.%d-abcdef", i);
		cr_assert_eq(kp_frigate_counted_put(&s, "bus_4217_front", id, KP_FRIGATE_BOARDED), 0);
		cr_assert_leq(s.count, 4);
	}
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "1717400000.%d-abcdef", i);
		cr_expect_eq(kp_frigate_counted_get(&s, "bus_4217_front", id), i < 2 ? 0 : KP_FRIGATE_BOARDED,
			     "object %d", i);
	}
	/* Updating a remembered object takes no new record. */
	cr_assert_eq(kp_frigate_counted_put(&s, "bus_4217_front", id, KP_FRIGATE_BOARDED | KP_FRIGATE_ALIGHTED), 0);
	cr_expect_eq(s.count, 4);
	cr_expect_eq(kp_frigate_counted_get(&s, "bus_4217_front", id), KP_FRIGATE_BOARDED | KP_FRIGATE_ALIGHTED);
	cr_expect_eq(kp_frigate_counted_get(&s, "bus_4217_front", "1717400000.2-abcdef"), KP_FRIGATE_BOARDED);
}

Test(frigate_count, names_a_record_cannot_hold_and_an_empty_array_are_refused)
{
	char camera[KP_FRIGATE_NAME_MAX + 2];
	struct kp_frigate_counted s;

	memset(camera, 'c', sizeof(camera) - 1);
	camera[sizeof(camera) - 1] = '\0';
	cr_expect_eq(kp_frigate_counted_put(&set, camera, "1717400000.1-abcdef", KP_FRIGATE_BOARDED), -1);
	cr_expect_eq(set.count, 0);
	cr_expect_eq(kp_frigate_counted_init(&s, records, 0), -1);
	cr_expect_eq(kp_frigate_counted_init(&s, NULL, 4), -1);
}

Test(frigate_count, every_outcome_has_a_distinct_prometheus_label)
{
	const char *names[KP_FRIGATE_OUTCOME_COUNT];

	for (int o = 0; o < KP_FRIGATE_OUTCOME_COUNT; o++)
		names[o] = kp_frigate_outcome_name((enum kp_frigate_outcome)o);
	frigate_expect_label_names("outcome", names, KP_FRIGATE_OUTCOME_COUNT);
	cr_expect_str_eq(kp_frigate_outcome_name((enum kp_frigate_outcome)KP_FRIGATE_OUTCOME_COUNT), "unknown");
}
