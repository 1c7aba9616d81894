/*
 * inbound.c — see inbound.h. The release function travels with the item, so
 * the stages that free items never need to know which producer made them.
 */
#include "ingest/inbound.h"

#include <stdlib.h>
#include <string.h>

static void release_copy(struct kp_inbound *in)
{
	free(in->owner);
}

int kp_inbound_copy(struct kp_inbound *in, const uint8_t *frame, size_t len, uint64_t topic_device,
                    int64_t received_at)
{
	/* malloc(0) may return NULL: keep one byte so an empty frame is an item too. */
	uint8_t *copy = malloc(len > 0 ? len : 1);

	memset(in, 0, sizeof(*in));
	if (!copy)
		return -1;
	if (len > 0)
		memcpy(copy, frame, len);
	in->frame = copy;
	in->len = len;
	in->topic_device = topic_device;
	in->received_at = received_at;
	in->stream = KP_STREAM_TAPS;
	in->release = release_copy;
	in->owner = copy;
	return 0;
}

void kp_inbound_free(struct kp_inbound *in)
{
	if (in->release)
		in->release(in);
	in->frame = NULL;
	in->len = 0;
	in->release = NULL;
	in->owner = NULL;
}
