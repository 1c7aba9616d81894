/*
 * inbound.h — one frame on its way through komposterd: its bytes as they
 * came from MQTT, the device its topic named, and when it arrived.
 *
 * Items are copied by value through the rings (ring.h). Whoever holds an item
 * owns its bytes and calls kp_inbound_free exactly once when done with it
 * (verify on a rejection or a duplicate, the writer after the commit).
 * The bytes belong to the producer, which says how to give them back:
 *  - the intake lends Paho's own message buffer, no copy on the hot path, and
 *    its release hands the message back to Paho (intake_mqtt.c);
 *  - kp_inbound_copy makes an item that owns a malloc'd copy, for a producer
 *    that cannot lend its buffer (the stage tests build their frames so).
 */
#ifndef KP_INBOUND_H
#define KP_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/topic.h" /* enum kp_stream */

struct kp_inbound {
	const uint8_t *frame;   /* len bytes, valid until kp_inbound_free */
	size_t len;
	uint64_t topic_device;  /* the device id the MQTT topic named */
	int64_t received_at;    /* ms, server clock */
	uint8_t stream;         /* enum kp_stream */
	/* 0 for a frame to store; else a reject note from verify to the writer
	 * (no bytes): topic_device's frame was refused with this NACK reason,
	 * for the device's rejects (storage/device_stats.h). */
	uint8_t reject;
	int64_t sent_at; /* a reject note: the refused frame's sent_at, 0 when its header did not read */
	/* The producer's: gives frame back to whoever lent it. */
	void (*release)(struct kp_inbound *in);
	void *owner;            /* the producer's handle for release (Paho's message) */
};

/* Fills *in with a malloc'd copy of frame[0..len). 0, or -1 when out of
 * memory (then *in owns nothing). */
int kp_inbound_copy(struct kp_inbound *in, const uint8_t *frame, size_t len, uint64_t topic_device,
                    int64_t received_at);
/* Releases the bytes and clears the item; a cleared item may be freed again. */
void kp_inbound_free(struct kp_inbound *in);

#endif
