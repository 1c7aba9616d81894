/*
 * topic.h — the MQTT topics of protocol v1 (PROTOCOL.md, "Transport"):
 *
 *   komposter/v1/dev/{dev}/{stream}
 *
 * {dev} is the device id as exactly 16 lowercase hex digits, {stream} one of
 * taps, counts (device → daemon) and ack (daemon → device). This module is
 * the only place that builds or reads these names: the daemon, the validator
 * client and the tests all go through it.
 *
 * Promises:
 *  - kp_topic_build() writes exactly the topics kp_topic_parse() accepts, and
 *    parse accepts nothing else: the prefix byte for byte, 16 lowercase hex
 *    digits (upper case, fewer or more digits are refused), one known stream,
 *    no further level, no trailing byte;
 *  - device id 0 names no device (PROTOCOL.md: ids are nonzero): it is
 *    refused in both directions, so a topic with it is a bad topic, dropped
 *    and counted by the daemon like any other, never answered;
 *  - no allocation, no I/O, no global state: the caller owns every buffer
 *    (KP_TOPIC_MAX bytes always suffice), nothing is kept after a call.
 * Functions return a kp_status (frame.h): KP_OK or a negative error.
 */
#ifndef KP_TOPIC_H
#define KP_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "hex.h"

#define KP_TOPIC_PREFIX "komposter/v1/dev/"
/* Bytes that hold any topic or filter of this module and its NUL; "counts"
 * is the longest stream name. */
#define KP_TOPIC_MAX (sizeof(KP_TOPIC_PREFIX) - 1 + KP_DEVICE_ID_DIGITS + sizeof("/counts"))

/* The streams of PROTOCOL.md; values are stable (they are stored in queues). */
enum kp_stream {
	KP_STREAM_TAPS = 1,   /* device → daemon: TAPS frames */
	KP_STREAM_COUNTS = 2, /* device → daemon: COUNTS frames */
	KP_STREAM_ACK = 3,    /* daemon → device: ACK and NACK frames */
};

/* Writes komposter/v1/dev/{device_id}/{stream} and a NUL into buf. Returns
 * the topic's length (without the NUL), KP_ESPACE when cap is too small
 * (buf is then left as it was), or KP_EINVAL for an unknown stream or
 * device id 0. */
int kp_topic_build(char *buf, size_t cap, uint64_t device_id, enum kp_stream stream);

/* Reads topic[0..len) (no terminator needed). On KP_OK fills *device_id and
 * *stream; KP_EMALFORMED for anything kp_topic_build would not write. */
int kp_topic_parse(const char *topic, size_t len, uint64_t *device_id, enum kp_stream *stream);

/* The subscription filter for one stream of every device,
 * komposter/v1/dev/+/{stream}: a constant string, or NULL for an unknown
 * stream. */
const char *kp_topic_filter(enum kp_stream stream);

#endif
