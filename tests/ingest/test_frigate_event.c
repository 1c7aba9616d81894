/* Description: a frigate/events payload as Frigate 0.12 to 0.17 publishes it
 * parses into the fields the count and the operator's listing need; unknown
 * keys are ignored; each way a payload can be wrong (malformed, too large,
 * a required field missing or of another type, an unknown type, values out
 * of bounds) is refused with its own error. Payloads come from
 * tests/data/frigate-events.jsonl. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frigate_fixtures.h"
#include "ingest/frigate_event.h"

/* pad_to bytes: the fixture with an unknown key "x_pad" of spaces inserted
 * after its opening brace, so the payload stays valid JSON. */
static char *padded_fixture(const char *name, size_t pad_to)
{
	static const char key[] = "\"x_pad\": \"\", ";
	size_t len, fill;
	char *p = frigate_fixture(name, &len);
	char *out;

	cr_assert_gt(pad_to, len + sizeof(key));
	fill = pad_to - len - (sizeof(key) - 1);
	out = malloc(pad_to);
	cr_assert_not_null(out);
	out[0] = '{';
	memcpy(out + 1, key, 10); /* "x_pad": " */
	memset(out + 11, ' ', fill);
	memcpy(out + 11 + fill, key + 10, sizeof(key) - 1 - 10);
	memcpy(out + 1 + sizeof(key) - 1 + fill, p + 1, len - 1);
	free(p);
	return out;
}

Test(frigate_event, a_new_event_gives_the_fields_of_after)
{
	struct kp_frigate_event ev;

	cr_assert_eq(frigate_fixture_parse("a_new", &ev), KP_FRIGATE_OK);
	cr_expect_eq(ev.type, KP_FRIGATE_NEW);
	cr_expect_str_eq(ev.id, "1717400000.123456-k3x9qa");
	cr_expect_str_eq(ev.camera, "bus_4217_front");
	cr_expect_str_eq(ev.label, "person");
	cr_expect(!ev.false_positive, "after.false_positive is false (before's is true)");
	cr_expect(!ev.has_clip);
	cr_expect_float_eq(ev.start_time, 1717400000.123456, 1e-6);
	cr_expect(!ev.has_end_time);
	cr_expect_eq(ev.entered_zones.n, 0);
	cr_expect_eq(ev.current_zones.n, 0);
}

Test(frigate_event, zones_are_read_in_order_and_current_apart_from_entered)
{
	struct kp_frigate_event ev;

	cr_assert_eq(frigate_fixture_parse("a_update_aisle", &ev), KP_FRIGATE_OK);
	cr_expect_eq(ev.type, KP_FRIGATE_UPDATE);
	cr_assert_eq(ev.entered_zones.n, 2);
	cr_expect_str_eq(ev.entered_zones.name[0], "door_in");
	cr_expect_str_eq(ev.entered_zones.name[1], "aisle");
	cr_assert_eq(ev.current_zones.n, 1);
	cr_expect_str_eq(ev.current_zones.name[0], "aisle");
	cr_expect(kp_frigate_zones_contain(&ev.entered_zones, "door_in"));
	cr_expect(!kp_frigate_zones_contain(&ev.entered_zones, "door_out"));
	cr_expect(!kp_frigate_zones_contain(&ev.entered_zones, "door"), "a prefix is not the zone");
}

Test(frigate_event, an_end_event_carries_end_time_and_has_clip)
{
	struct kp_frigate_event ev;

	cr_assert_eq(frigate_fixture_parse("a_end", &ev), KP_FRIGATE_OK);
	cr_expect_eq(ev.type, KP_FRIGATE_END);
	cr_expect(ev.has_end_time);
	cr_expect_float_eq(ev.end_time, 1717400014.123456, 1e-6);
	cr_expect(ev.has_clip);
	cr_expect_eq(ev.current_zones.n, 0);
	cr_expect_eq(ev.entered_zones.n, 2);
}

Test(frigate_event, the_shapes_of_releases_0_12_to_0_17_all_parse)
{
	const char *ok[] = {
		"a_new", "a_update_door_in", "a_update_aisle", "a_update_clip", "a_end",
		"b_update_without_new", "b_end", "c_update_both_zones", "fp_update", "car_new",
		"extra_keys_update", "unmapped_update",
	};
	struct kp_frigate_event ev;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		enum kp_frigate_err err = frigate_fixture_parse(ok[i], &ev);
		cr_expect_eq(err, KP_FRIGATE_OK, "%s: %s", ok[i], kp_frigate_err_name(err));
	}
}

Test(frigate_event, unknown_keys_of_later_releases_are_ignored)
{
	struct kp_frigate_event ev;

	cr_assert_eq(frigate_fixture_parse("extra_keys_update", &ev), KP_FRIGATE_OK);
	cr_expect_str_eq(ev.camera, "stop_teatralna_east");
	cr_expect_str_eq(ev.label, "person");
	cr_assert_eq(ev.entered_zones.n, 1);
	cr_expect_str_eq(ev.entered_zones.name[0], "boarding_area");
}

Test(frigate_event, each_wrong_payload_is_refused_with_its_own_error)
{
	static const struct {
		const char *name;
		enum kp_frigate_err err;
	} cases[] = {
		{ "missing_after_id", KP_FRIGATE_EMISSING },
		{ "missing_after", KP_FRIGATE_EMISSING },
		{ "missing_type", KP_FRIGATE_EMISSING },
		{ "missing_entered_zones", KP_FRIGATE_EMISSING },
		{ "missing_has_clip", KP_FRIGATE_EMISSING },
		{ "wrong_type_id_number", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_zones_string", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_zone_number", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_false_positive_string", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_start_time_string", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_end_time_bool", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_after_array", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_type_number", KP_FRIGATE_EWRONG_TYPE },
		{ "wrong_type_not_object", KP_FRIGATE_EWRONG_TYPE },
		{ "unknown_type_delete", KP_FRIGATE_EUNKNOWN_TYPE },
		{ "unknown_type_upper_case", KP_FRIGATE_EUNKNOWN_TYPE },
		{ "bad_value_empty_camera", KP_FRIGATE_EBAD_VALUE },
		{ "bad_value_negative_start", KP_FRIGATE_EBAD_VALUE },
		{ "bad_value_infinite_end", KP_FRIGATE_EBAD_VALUE },
		{ "too_long_camera", KP_FRIGATE_ETOO_LONG },
		{ "too_many_zones", KP_FRIGATE_ETOO_MANY_ZONES },
		{ "malformed_truncated", KP_FRIGATE_EMALFORMED },
		{ "malformed_trailing_garbage", KP_FRIGATE_EMALFORMED },
		{ "malformed_docs_comment", KP_FRIGATE_EMALFORMED },
		{ "malformed_not_json", KP_FRIGATE_EMALFORMED },
	};
	struct kp_frigate_event ev;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum kp_frigate_err err = frigate_fixture_parse(cases[i].name, &ev);
		cr_expect_eq(err, cases[i].err, "%s: got %s, want %s", cases[i].name, kp_frigate_err_name(err),
			     kp_frigate_err_name(cases[i].err));
	}
}

Test(frigate_event, a_payload_of_a_mebibyte_is_refused_as_too_large)
{
	size_t size = 1024 * 1024 + 1;
	char *p = padded_fixture("a_update_door_in", size);
	struct kp_frigate_event ev;

	cr_expect_eq(kp_frigate_event_parse(p, size, &ev), KP_FRIGATE_ETOO_LARGE);
	free(p);
}

Test(frigate_event, the_size_limit_is_exact)
{
	char *at = padded_fixture("a_update_door_in", KP_FRIGATE_PAYLOAD_MAX);
	char *over = padded_fixture("a_update_door_in", KP_FRIGATE_PAYLOAD_MAX + 1);
	struct kp_frigate_event ev;

	cr_expect_eq(kp_frigate_event_parse(at, KP_FRIGATE_PAYLOAD_MAX, &ev), KP_FRIGATE_OK);
	cr_expect_str_eq(ev.id, "1717400000.123456-k3x9qa");
	cr_expect_eq(kp_frigate_event_parse(over, KP_FRIGATE_PAYLOAD_MAX + 1, &ev), KP_FRIGATE_ETOO_LARGE);
	free(at);
	free(over);
}

Test(frigate_event, empty_payloads_and_bytes_after_the_value_are_malformed)
{
	struct kp_frigate_event ev;
	size_t len;
	char *p = frigate_fixture("a_update_door_in", &len);
	char *q = malloc(len + 2);

	cr_assert_not_null(q);
	cr_expect_eq(kp_frigate_event_parse("", 0, &ev), KP_FRIGATE_EMALFORMED);
	cr_expect_eq(kp_frigate_event_parse("   ", 3, &ev), KP_FRIGATE_EMALFORMED);
	memcpy(q, p, len);
	memcpy(q + len, "\r\n", 2);
	cr_expect_eq(kp_frigate_event_parse(q, len + 2, &ev), KP_FRIGATE_OK, "whitespace may follow");
	memcpy(q + len, "\0x", 2);
	cr_expect_eq(kp_frigate_event_parse(q, len + 2, &ev), KP_FRIGATE_EMALFORMED, "a NUL may not");
	free(p);
	free(q);
}

Test(frigate_event, names_and_zone_lists_are_bounded_inclusively)
{
	char camera[KP_FRIGATE_NAME_MAX + 1];
	char payload[4096];
	char zones[1024] = "";
	struct kp_frigate_event ev;
	int n;

	memset(camera, 'c', KP_FRIGATE_NAME_MAX);
	camera[KP_FRIGATE_NAME_MAX] = '\0';
	for (int i = 0; i < KP_FRIGATE_ZONES_MAX; i++) {
		char z[16];
		snprintf(z, sizeof(z), "%s\"z%d\"", i ? ", " : "", i);
		strcat(zones, z);
	}
	n = snprintf(payload, sizeof(payload),
		     "{\"type\": \"update\", \"after\": {\"id\": \"1717400000.1-abcdef\", \"camera\": \"%s\", "
		     "\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, "
		     "\"start_time\": 1717400000.1, \"end_time\": null, \"entered_zones\": [%s], "
		     "\"current_zones\": []}}",
		     camera, zones);
	cr_assert(n > 0 && (size_t)n < sizeof(payload));
	cr_assert_eq(kp_frigate_event_parse(payload, (size_t)n, &ev), KP_FRIGATE_OK);
	cr_expect_eq(strlen(ev.camera), KP_FRIGATE_NAME_MAX);
	cr_expect_eq(ev.entered_zones.n, KP_FRIGATE_ZONES_MAX);
	cr_expect_str_eq(ev.entered_zones.name[KP_FRIGATE_ZONES_MAX - 1], "z31");
}

Test(frigate_event, every_error_has_a_distinct_prometheus_label)
{
	const char *names[KP_FRIGATE_ERR_COUNT];

	for (int e = 0; e < KP_FRIGATE_ERR_COUNT; e++)
		names[e] = kp_frigate_err_name((enum kp_frigate_err)e);
	frigate_expect_label_names("error", names, KP_FRIGATE_ERR_COUNT);
	cr_expect_str_eq(kp_frigate_err_name((enum kp_frigate_err)KP_FRIGATE_ERR_COUNT), "unknown");
	cr_expect_str_eq(kp_frigate_type_name(KP_FRIGATE_END), "end");
}
