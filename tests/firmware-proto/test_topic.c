/*
 * Description: MQTT topics komposter/v1/dev/{dev}/{stream} are built and
 * parsed by one grammar — every stream of PROTOCOL.md round-trips, the
 * filters are the same names with '+' for the device, and parsing refuses
 * everything the builder would not write (prefix, case, id length, levels,
 * stream names), while a buffer too small is refused without a write.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "firmware-proto/topic.h"

static const enum kp_stream all_streams[] = { KP_STREAM_TAPS, KP_STREAM_COUNTS, KP_STREAM_ACK };
#define N_ALL (sizeof(all_streams) / sizeof(all_streams[0]))

static int parse(const char *t, uint64_t *id, enum kp_stream *stream)
{
	return kp_topic_parse(t, strlen(t), id, stream);
}

Test(topic, each_stream_has_the_name_protocol_md_gives_it)
{
	static const char *const want[] = {
		"komposter/v1/dev/00000000000a1b2c/taps",
		"komposter/v1/dev/00000000000a1b2c/counts",
		"komposter/v1/dev/00000000000a1b2c/ack",
	};
	char buf[KP_TOPIC_MAX];

	for (size_t i = 0; i < N_ALL; i++) {
		int len = kp_topic_build(buf, sizeof buf, 0xa1b2cULL, all_streams[i]);

		cr_assert_eq(len, (int)strlen(want[i]), "%s", want[i]);
		cr_expect_str_eq(buf, want[i]);
	}
}

Test(topic, every_stream_round_trips_for_any_device_id)
{
	const uint64_t ids[] = { 1, 0xa1b2cULL, 0x0123456789abcdefULL, UINT64_MAX };
	char buf[KP_TOPIC_MAX];

	for (size_t i = 0; i < N_ALL; i++) {
		for (size_t j = 0; j < sizeof ids / sizeof ids[0]; j++) {
			uint64_t id = 0;
			enum kp_stream stream = 0;
			int len = kp_topic_build(buf, sizeof buf, ids[j], all_streams[i]);

			cr_assert_gt(len, 0);
			cr_assert_eq(kp_topic_parse(buf, (size_t)len, &id, &stream), KP_OK, "%s", buf);
			cr_expect_eq(id, ids[j], "%s", buf);
			cr_expect_eq(stream, all_streams[i], "%s", buf);
		}
	}
}

Test(topic, filters_name_every_device_of_one_stream)
{
	cr_expect_str_eq(kp_topic_filter(KP_STREAM_TAPS), "komposter/v1/dev/+/taps");
	cr_expect_str_eq(kp_topic_filter(KP_STREAM_COUNTS), "komposter/v1/dev/+/counts");
	cr_expect_str_eq(kp_topic_filter(KP_STREAM_ACK), "komposter/v1/dev/+/ack");
	cr_expect_null(kp_topic_filter((enum kp_stream)0));
	cr_expect_null(kp_topic_filter((enum kp_stream)99));
	for (size_t i = 0; i < N_ALL; i++)
		cr_expect_lt(strlen(kp_topic_filter(all_streams[i])), KP_TOPIC_MAX);
}

Test(topic, anything_the_builder_would_not_write_is_refused)
{
	const char *bad[] = {
		/* wrong prefix */
		"komposter/v2/dev/00000000000a1b2c/taps",
		"Komposter/v1/dev/00000000000a1b2c/taps",
		"komposter/v1/devs/00000000000a1b2c/taps",
		"/komposter/v1/dev/00000000000a1b2c/taps",
		"komposter/v1/00000000000a1b2c/taps",
		/* bad hex */
		"komposter/v1/dev/00000000000A1B2C/taps",
		"komposter/v1/dev/00000000000a1b2g/taps",
		"komposter/v1/dev/000000000000+b2c/taps",
		"komposter/v1/dev/ 0000000000a1b2c/taps",
		"komposter/v1/dev/+/taps",
		/* too long and too short ids */
		"komposter/v1/dev/000000000000a1b2c/taps",
		"komposter/v1/dev/a1b2c/taps",
		"komposter/v1/dev//taps",
		/* extra or missing levels */
		"komposter/v1/dev/00000000000a1b2c/taps/x",
		"komposter/v1/dev/00000000000a1b2c/taps/",
		"komposter/v1/dev/00000000000a1b2c//taps",
		"komposter/v1/dev/00000000000a1b2c/",
		"komposter/v1/dev/00000000000a1b2c",
		/* unknown streams */
		"komposter/v1/dev/00000000000a1b2c/tapsx",
		"komposter/v1/dev/00000000000a1b2c/tap",
		"komposter/v1/dev/00000000000a1b2c/TAPS",
		"komposter/v1/dev/00000000000a1b2c/events",
		"komposter/v1/dev/00000000000a1b2cXtaps",
		"",
	};
	uint64_t id;
	enum kp_stream stream;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i], &id, &stream), KP_EMALFORMED, "accepted '%s'", bad[i]);
}

Test(topic, parse_reads_only_the_given_length)
{
	static const char t[] = "komposter/v1/dev/00000000000a1b2c/taps";
	uint64_t id;
	enum kp_stream stream;

	cr_assert_eq(kp_topic_parse("komposter/v1/dev/00000000000a1b2c/tapsXYZ", sizeof t - 1, &id,
	                            &stream), KP_OK);
	cr_expect_eq(stream, KP_STREAM_TAPS);
	/* a NUL counted in the length is a byte of the topic, not its end */
	cr_expect_eq(kp_topic_parse(t, sizeof t, &id, &stream), KP_EMALFORMED);
	cr_expect_eq(kp_topic_parse(t, sizeof t - 2, &id, &stream), KP_EMALFORMED, "tap");
}

/* Device 0 is left to the frame check (topic.h): the daemon has always taken
 * such a topic and answered the frame on it as a topic and device mismatch. */
Test(topic, device_zero_names_no_device_either_way)
{
	char buf[KP_TOPIC_MAX];
	uint64_t id = 7;
	enum kp_stream stream;

	cr_expect_eq(kp_topic_build(buf, sizeof buf, 0, KP_STREAM_TAPS), KP_EINVAL);
	cr_expect_eq(parse("komposter/v1/dev/0000000000000000/taps", &id, &stream), KP_EMALFORMED);
	cr_expect_eq(id, 7, "written on a refusal");
}

Test(topic, a_buffer_too_small_is_refused_and_left_alone)
{
	static const char want[] = "komposter/v1/dev/ffffffffffffffff/counts";
	char buf[KP_TOPIC_MAX];

	cr_assert_eq(sizeof want, KP_TOPIC_MAX, "the longest topic fills KP_TOPIC_MAX exactly");
	for (size_t cap = 0; cap < sizeof want; cap++) {
		memset(buf, '#', sizeof buf);
		cr_expect_eq(kp_topic_build(buf, cap, UINT64_MAX, KP_STREAM_COUNTS), KP_ESPACE,
		             "cap %zu", cap);
		for (size_t i = 0; i < sizeof buf; i++)
			cr_assert_eq(buf[i], '#', "cap %zu: byte %zu written", cap, i);
	}
	cr_expect_eq(kp_topic_build(buf, sizeof want, UINT64_MAX, KP_STREAM_COUNTS),
	             (int)sizeof want - 1);
	cr_expect_str_eq(buf, want);
}

Test(topic, an_unknown_stream_is_refused)
{
	char buf[KP_TOPIC_MAX];

	cr_expect_eq(kp_topic_build(buf, sizeof buf, 1, (enum kp_stream)0), KP_EINVAL);
	cr_expect_eq(kp_topic_build(buf, sizeof buf, 1, (enum kp_stream)(KP_STREAM_ACK + 1)),
	             KP_EINVAL);
}
