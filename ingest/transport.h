/*
 * transport.h — how the publisher hands a signed reply to the network, so
 * that it knows nothing of MQTT: komposterd plugs in the intake's Paho client
 * (kp_intake_transport), a test a function that keeps what would be sent.
 *
 * send(ctx, topic, bytes, len, done) asks for one QoS 1 publish of
 * bytes[0..len) on topic; both are the caller's and may be reused once send
 * returns. It returns:
 *   KP_SEND_OK      taken: done->fn(done, ok) will be called exactly once, from
 *                   any thread, perhaps before send returns; ok is 1 when the
 *                   broker confirmed the publish, 0 when it was lost;
 *   KP_SEND_BUSY    not taken, the transport's own queue is full for now: try
 *                   again shortly;
 *   KP_SEND_FAILED  not taken and will not be (not connected).
 * done is not called for BUSY or FAILED. A transport makes no done call after
 * it is torn down, so done's owner may be freed then.
 */
#ifndef KP_TRANSPORT_H
#define KP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

enum kp_send_status {
	KP_SEND_OK = 0,
	KP_SEND_BUSY = 1,
	KP_SEND_FAILED = -1,
};

/* Embedded in the sender's state; one pointer carries the callback and its
 * object (container_of style), which is all Paho's context can hold. */
struct kp_send_done {
	void (*fn)(struct kp_send_done *done, int ok);
};

struct kp_transport {
	void *ctx;
	int (*send)(void *ctx, const char *topic, const uint8_t *bytes, size_t len,
	            struct kp_send_done *done);
};

#endif
