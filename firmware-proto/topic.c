/*
 * topic.c — MQTT topic names of protocol v1 (see topic.h).
 *
 * One table names the streams; building, parsing and the subscription
 * filters all read it, so a stream added to PROTOCOL.md is one row here.
 * The device id's digits are hex.h's canonical form, the same digits
 * kp_device_id_format writes, read back strictly in lowercase.
 */
#include "topic.h"

#include <string.h>

#define PREFIX_LEN (sizeof(KP_TOPIC_PREFIX) - 1)
#define LEVEL_SEP '/'

/* A stream's name and its filter "komposter/v1/dev/+/{name}", both constant. */
#define STREAM(name) { name, sizeof(name) - 1, KP_TOPIC_PREFIX "+/" name }

struct stream_def {
	const char *name; /* NULL: no stream has this number */
	size_t name_len;
	const char *filter;
};

static const struct stream_def streams[] = {
	[KP_STREAM_TAPS] = STREAM("taps"),
	[KP_STREAM_COUNTS] = STREAM("counts"),
	[KP_STREAM_ACK] = STREAM("ack"),
};
#define N_STREAMS (sizeof(streams) / sizeof(streams[0]))

static const struct stream_def *stream_def(enum kp_stream stream)
{
	if ((size_t)stream >= N_STREAMS || streams[stream].name == NULL)
		return NULL;
	return &streams[stream];
}

int kp_topic_build(char *buf, size_t cap, uint64_t device_id, enum kp_stream stream)
{
	const struct stream_def *s = stream_def(stream);
	char dev[KP_DEVICE_ID_TEXT_SIZE];
	char *p = buf;
	size_t len;

	if (s == NULL || device_id == 0)
		return KP_EINVAL;
	len = PREFIX_LEN + KP_DEVICE_ID_DIGITS + 1 + s->name_len;
	if (cap <= len)
		return KP_ESPACE;
	kp_device_id_format(device_id, dev);
	memcpy(p, KP_TOPIC_PREFIX, PREFIX_LEN);
	p += PREFIX_LEN;
	memcpy(p, dev, KP_DEVICE_ID_DIGITS);
	p += KP_DEVICE_ID_DIGITS;
	*p++ = LEVEL_SEP;
	memcpy(p, s->name, s->name_len + 1);
	return (int)len;
}

int kp_topic_parse(const char *topic, size_t len, uint64_t *device_id, enum kp_stream *stream)
{
	const char *name;
	size_t name_len;
	uint64_t id;

	if (len < PREFIX_LEN + KP_DEVICE_ID_DIGITS + 1 ||
	    memcmp(topic, KP_TOPIC_PREFIX, PREFIX_LEN) != 0 ||
	    kp_device_id_parse_canonical(topic + PREFIX_LEN, &id) != 0 || id == 0 ||
	    topic[PREFIX_LEN + KP_DEVICE_ID_DIGITS] != LEVEL_SEP)
		return KP_EMALFORMED;
	name = topic + PREFIX_LEN + KP_DEVICE_ID_DIGITS + 1;
	name_len = len - (PREFIX_LEN + KP_DEVICE_ID_DIGITS + 1);
	for (size_t i = 0; i < N_STREAMS; i++) {
		const struct stream_def *s = &streams[i];

		if (s->name != NULL && s->name_len == name_len && memcmp(name, s->name, name_len) == 0) {
			*device_id = id;
			*stream = (enum kp_stream)i;
			return KP_OK;
		}
	}
	return KP_EMALFORMED;
}

const char *kp_topic_filter(enum kp_stream stream)
{
	const struct stream_def *s = stream_def(stream);

	return s != NULL ? s->filter : NULL;
}
