/* Description: intake takes a message only from the topic of a stream the
 * daemon subscribes to — komposter/v1/dev/{16 lowercase hex}/taps or
 * /counts — and reads the device id and the stream from it exactly; other
 * device topics (ack) and
 * malformed ones are refused. The topic grammar itself is tested in
 * tests/firmware-proto/test_topic.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/intake_mqtt.h"

static int parse(const char *t, uint64_t *id, uint8_t *stream)
{
	return kp_intake_parse_topic(t, strlen(t), id, stream);
}

Test(intake_topic, a_taps_or_counts_topic_gives_its_device_id_and_stream)
{
	const struct {
		const char *topic;
		uint64_t id;
		uint8_t stream;
	} good[] = {
		{ "komposter/v1/dev/00000000000a1b2c/taps", 0xa1b2cULL, KP_STREAM_TAPS },
		{ "komposter/v1/dev/00000000000a1b2d/counts", 0xa1b2dULL, KP_STREAM_COUNTS },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t id;
		uint8_t stream;
		cr_assert_eq(parse(good[i].topic, &id, &stream), 0, "refused %s", good[i].topic);
		cr_expect_eq(id, good[i].id, "%s", good[i].topic);
		cr_expect_eq(stream, good[i].stream, "%s", good[i].topic);
	}
}

Test(intake_topic, topics_of_other_streams_and_malformed_ones_are_refused)
{
	uint64_t id;
	uint8_t stream;
	const char *bad[] = {
		"komposter/v1/dev/00000000000a1b2c/ack",    /* the daemon's own replies */
		"komposter/v1/dev/00000000000A1B2C/taps",   /* upper case */
		"komposter/v1/dev/a1b2c/taps",              /* short id */
		"komposter/v1/dev/00000000000a1b2c/tapsx",
		"komposter/v2/dev/00000000000a1b2c/taps",
		"komposter/v1/dev/00000000000a1b2c",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], &id, &stream), -1, "accepted %s", bad[i]);
}
