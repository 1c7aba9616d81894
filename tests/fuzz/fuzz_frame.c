/*
 * Description: libFuzzer target for the KMP1 frame decoder. Any input must be
 * either refused or decoded into fields that encode back to the very same
 * bytes; records of an accepted frame are read and its signature checked
 * with a fixed key, all without a read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "firmware-proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fixed_pk[KP_PUBLIC_KEY_SIZE];

static void init_once(void)
{
	static int done;
	uint8_t seed[crypto_sign_SEEDBYTES] = { 0 };
	uint8_t sk[KP_SECRET_KEY_SIZE];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(fixed_pk, sk, seed);
	done = 1;
}

static int header_eq(const struct kp_header *a, const struct kp_header *b)
{
	return a->type == b->type && a->key_id == b->key_id && a->count == b->count &&
	       a->device_id == b->device_id && a->batch_seq == b->batch_seq &&
	       a->sent_at == b->sent_at && a->aux == b->aux;
}

/* Decoded fields must encode back to the frame's bytes before the signature. */
static void reencode(const uint8_t *data, size_t size, const struct kp_header *h)
{
	static uint8_t out[KP_FRAME_MAX];
	size_t body = size - KP_SIGNATURE_SIZE;

	if (kp_frame_put_header(out, sizeof(out), h) != KP_OK)
		abort();
	for (uint16_t i = 0; i < h->count; i++) {
		if (h->type == KP_TYPE_TAPS) {
			struct kp_tap t;

			kp_frame_get_tap(data, i, &t);
			kp_frame_put_tap(out, i, &t);
		} else {
			struct kp_count c;

			kp_frame_get_count(data, i, &c);
			kp_frame_put_count(out, i, &c);
		}
	}
	if (memcmp(out, data, body) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_header h, peeked;

	init_once();
	if (kp_frame_decode(data, size, &h) != KP_OK)
		return 0;
	if (size != kp_frame_size(h.type, h.count))
		abort();
	if (kp_frame_peek_header(data, size, &peeked) != KP_OK || !header_eq(&peeked, &h))
		abort();
	reencode(data, size, &h);
	if (kp_frame_verify(data, size, fixed_pk) == KP_EMALFORMED)
		abort();
	return 0;
}
