/* Description: only komposter/v1/dev/{16 lowercase hex}/taps is taken as a
 * device topic, and the device id is read from it exactly. */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/intake_mqtt.h"

static int parse(const char *t, uint64_t *id, uint8_t *stream)
{
	return kp_topic_parse(t, strlen(t), id, stream);
}

Test(topic, a_taps_topic_gives_its_device_id)
{
	uint64_t id;
	uint8_t stream;
	cr_assert_eq(parse("komposter/v1/dev/00000000000a1b2c/taps", &id, &stream), 0);
	cr_expect_eq(id, 0xa1b2cULL);
	cr_expect_eq(stream, KP_STREAM_TAPS);
}

Test(topic, malformed_topics_are_refused)
{
	uint64_t id;
	uint8_t stream;
	const char *bad[] = {
		"komposter/v1/dev/00000000000A1B2C/taps", /* upper case */
		"komposter/v1/dev/a1b2c/taps",            /* short id */
		"komposter/v1/dev/00000000000a1b2c/tapsx",
		"komposter/v1/dev/00000000000a1b2c/ack",
		"komposter/v2/dev/00000000000a1b2c/taps",
		"komposter/v1/dev/00000000000a1b2c",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], &id, &stream), -1, "accepted %s", bad[i]);
}
