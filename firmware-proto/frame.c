/*
 * frame.c — KMP1 frame codec (see frame.h and PROTOCOL.md).
 *
 * The wire format is read and written one byte at a time through the
 * little-endian helpers of bytes.h: no struct overlays, no alignment or
 * host-endianness assumptions, so the same code runs on a validator's MCU
 * and on the server. Decoding is a single pass that checks
 * the length before touching anything past the header, then validates every
 * record, so the record getters that follow need no checks of their own.
 * Header rules live in one predicate shared by the decoder and the encoder:
 * kp_frame_put_header() refuses exactly the headers kp_frame_decode() would.
 * Signing and verification are plain libsodium Ed25519 detached signatures
 * over every byte before the last 64.
 */
#include "frame.h"

#include "bytes.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#define MAGIC_SIZE 4

/* Header field offsets. */
#define OFF_MAGIC 0
#define OFF_TYPE 4
#define OFF_KEY_ID 5
#define OFF_COUNT 6
#define OFF_DEVICE_ID 8
#define OFF_BATCH_SEQ 16
#define OFF_SENT_AT 24
#define OFF_AUX 32

/* TAPS record field offsets. */
#define TAP_TAPPED_AT 0
#define TAP_CARD_TOKEN KP_TAP_TOKEN_OFFSET
#define TAP_ROUTE_ID 24
#define TAP_STOP_ID 28
#define TAP_VEHICLE_ID 32
#define TAP_FARE_PRODUCT 36
#define TAP_DIRECTION 38
#define TAP_RESULT 39
#define TAP_AMOUNT 40
#define TAP_FLAGS 44
#define TAP_RESERVED 46
#define TAP_RESERVED_SIZE 2

/* COUNTS record field offsets. */
#define CNT_OBSERVED_AT 0
#define CNT_ROUTE_ID 8
#define CNT_STOP_ID 12
#define CNT_VEHICLE_ID 16
#define CNT_DOOR 20
#define CNT_KIND 21
#define CNT_BOARDINGS 22
#define CNT_ALIGHTINGS 24
#define CNT_OCCUPANCY 26
#define CNT_CONFIDENCE 28
#define CNT_RESERVED 29
#define CNT_RESERVED_SIZE 3

#define CONFIDENCE_MAX 100

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static bool has_records(uint8_t type)
{
	return type == KP_TYPE_TAPS || type == KP_TYPE_COUNTS;
}

size_t kp_record_size(uint8_t type)
{
	switch (type) {
	case KP_TYPE_TAPS:
		return KP_TAP_RECORD_SIZE;
	case KP_TYPE_COUNTS:
		return KP_COUNT_RECORD_SIZE;
	default:
		return 0;
	}
}

size_t kp_frame_size(uint8_t type, uint16_t count)
{
	if (has_records(type)) {
		if (count < 1 || count > KP_RECORDS_MAX)
			return 0;
	} else if (type != KP_TYPE_ACK && type != KP_TYPE_NACK) {
		return 0;
	} else if (count != 0) {
		return 0;
	}
	return KP_HEADER_SIZE + (size_t)count * kp_record_size(type) + KP_SIGNATURE_SIZE;
}

static bool aux_is_valid(uint8_t type, uint64_t aux)
{
	if (has_records(type))
		return aux == 0;
	if (type == KP_TYPE_NACK)
		return aux >= 1 && aux <= KP_NACK_REASON_MAX;
	return true; /* ACK: any watermark */
}

/* The header rules of PROTOCOL.md that do not depend on the buffer. */
static bool header_is_valid(const struct kp_header *h)
{
	/* Devices number frames from 1; a reply may name batch 0 when it answers
	 * a frame too broken to read. */
	bool seq_ok = h->batch_seq != 0 || !has_records(h->type);
	return kp_frame_size(h->type, h->count) != 0 && h->device_id != 0 && seq_ok &&
	       aux_is_valid(h->type, h->aux);
}

static void read_header(const uint8_t *buf, struct kp_header *h)
{
	h->type = buf[OFF_TYPE];
	h->key_id = buf[OFF_KEY_ID];
	h->count = kp_load_u16le(buf + OFF_COUNT);
	h->device_id = kp_load_u64le(buf + OFF_DEVICE_ID);
	h->batch_seq = kp_load_u64le(buf + OFF_BATCH_SEQ);
	h->sent_at = kp_load_i64le(buf + OFF_SENT_AT);
	h->aux = kp_load_u64le(buf + OFF_AUX);
}

bool kp_tap_is_valid(const struct kp_tap *t)
{
	return (t->flags & ~KP_TAP_FLAGS_KNOWN) == 0 &&
	       (t->direction == 0 || t->direction == 1 || t->direction == KP_DIRECTION_UNKNOWN) &&
	       t->result <= KP_TAP_RESULT_MAX;
}

static void read_tap(const uint8_t *r, struct kp_tap *t)
{
	t->tapped_at = kp_load_i64le(r + TAP_TAPPED_AT);
	memcpy(t->card_token, r + TAP_CARD_TOKEN, KP_CARD_TOKEN_SIZE);
	t->route_id = kp_load_u32le(r + TAP_ROUTE_ID);
	t->stop_id = kp_load_u32le(r + TAP_STOP_ID);
	t->vehicle_id = kp_load_u32le(r + TAP_VEHICLE_ID);
	t->fare_product = kp_load_u16le(r + TAP_FARE_PRODUCT);
	t->direction = r[TAP_DIRECTION];
	t->result = r[TAP_RESULT];
	t->amount = kp_load_u32le(r + TAP_AMOUNT);
	t->flags = kp_load_u16le(r + TAP_FLAGS);
}

/* The record's fields by the same rule an encoder's caller applies, and its
 * reserved bytes, which struct kp_tap does not carry. */
static bool tap_record_is_valid(const uint8_t *r)
{
	struct kp_tap t;

	read_tap(r, &t);
	return all_zero(r + TAP_RESERVED, TAP_RESERVED_SIZE) && kp_tap_is_valid(&t);
}

bool kp_count_is_valid(const struct kp_count *c)
{
	return (c->kind == KP_COUNT_KIND_DOOR_CYCLE || c->kind == KP_COUNT_KIND_OCCUPANCY) &&
	       (c->confidence <= CONFIDENCE_MAX || c->confidence == KP_CONFIDENCE_UNKNOWN);
}

static void read_count(const uint8_t *r, struct kp_count *c)
{
	c->observed_at = kp_load_i64le(r + CNT_OBSERVED_AT);
	c->route_id = kp_load_u32le(r + CNT_ROUTE_ID);
	c->stop_id = kp_load_u32le(r + CNT_STOP_ID);
	c->vehicle_id = kp_load_u32le(r + CNT_VEHICLE_ID);
	c->door = r[CNT_DOOR];
	c->kind = r[CNT_KIND];
	c->boardings = kp_load_u16le(r + CNT_BOARDINGS);
	c->alightings = kp_load_u16le(r + CNT_ALIGHTINGS);
	c->occupancy = kp_load_u16le(r + CNT_OCCUPANCY);
	c->confidence = r[CNT_CONFIDENCE];
}

/* As tap_record_is_valid: the encoder's rule, and the reserved bytes. */
static bool count_record_is_valid(const uint8_t *r)
{
	struct kp_count c;

	read_count(r, &c);
	return all_zero(r + CNT_RESERVED, CNT_RESERVED_SIZE) && kp_count_is_valid(&c);
}

static bool records_are_valid(const uint8_t *buf, const struct kp_header *h)
{
	bool (*valid)(const uint8_t *) = h->type == KP_TYPE_TAPS ? tap_record_is_valid : count_record_is_valid;
	size_t rsize = kp_record_size(h->type);

	for (uint16_t i = 0; i < h->count; i++) {
		if (!valid(buf + KP_HEADER_SIZE + (size_t)i * rsize))
			return false;
	}
	return true;
}

int kp_frame_peek_header(const uint8_t *buf, size_t len, struct kp_header *h)
{
	if (len < KP_HEADER_SIZE)
		return KP_EMALFORMED;
	read_header(buf, h);
	return KP_OK;
}

int kp_frame_decode(const uint8_t *buf, size_t len, struct kp_header *h)
{
	struct kp_header tmp;

	if (len < KP_HEADER_SIZE || memcmp(buf + OFF_MAGIC, KP_MAGIC, MAGIC_SIZE) != 0)
		return KP_EMALFORMED;
	read_header(buf, &tmp);
	if (!header_is_valid(&tmp) || len != kp_frame_size(tmp.type, tmp.count))
		return KP_EMALFORMED;
	if (has_records(tmp.type) && !records_are_valid(buf, &tmp))
		return KP_EMALFORMED;
	*h = tmp;
	return KP_OK;
}

uint8_t *kp_frame_record(uint8_t *frame, uint8_t type, uint16_t i)
{
	return frame + KP_HEADER_SIZE + (size_t)i * kp_record_size(type);
}

static const uint8_t *record_at(const uint8_t *frame, uint8_t type, uint16_t i)
{
	return frame + KP_HEADER_SIZE + (size_t)i * kp_record_size(type);
}

void kp_frame_get_tap(const uint8_t *frame, uint16_t i, struct kp_tap *t)
{
	read_tap(record_at(frame, KP_TYPE_TAPS, i), t);
}

void kp_frame_get_count(const uint8_t *frame, uint16_t i, struct kp_count *c)
{
	read_count(record_at(frame, KP_TYPE_COUNTS, i), c);
}

int kp_frame_put_header(uint8_t *buf, size_t cap, const struct kp_header *h)
{
	if (!header_is_valid(h))
		return KP_EINVAL;
	if (cap < kp_frame_size(h->type, h->count))
		return KP_ESPACE;
	memcpy(buf + OFF_MAGIC, KP_MAGIC, MAGIC_SIZE);
	buf[OFF_TYPE] = h->type;
	buf[OFF_KEY_ID] = h->key_id;
	kp_store_u16le(buf + OFF_COUNT, h->count);
	kp_store_u64le(buf + OFF_DEVICE_ID, h->device_id);
	kp_store_u64le(buf + OFF_BATCH_SEQ, h->batch_seq);
	kp_store_i64le(buf + OFF_SENT_AT, h->sent_at);
	kp_store_u64le(buf + OFF_AUX, h->aux);
	return KP_OK;
}

void kp_frame_put_tap(uint8_t *frame, uint16_t i, const struct kp_tap *t)
{
	uint8_t *r = kp_frame_record(frame, KP_TYPE_TAPS, i);

	kp_store_i64le(r + TAP_TAPPED_AT, t->tapped_at);
	memcpy(r + TAP_CARD_TOKEN, t->card_token, KP_CARD_TOKEN_SIZE);
	kp_store_u32le(r + TAP_ROUTE_ID, t->route_id);
	kp_store_u32le(r + TAP_STOP_ID, t->stop_id);
	kp_store_u32le(r + TAP_VEHICLE_ID, t->vehicle_id);
	kp_store_u16le(r + TAP_FARE_PRODUCT, t->fare_product);
	r[TAP_DIRECTION] = t->direction;
	r[TAP_RESULT] = t->result;
	kp_store_u32le(r + TAP_AMOUNT, t->amount);
	kp_store_u16le(r + TAP_FLAGS, t->flags);
	memset(r + TAP_RESERVED, 0, TAP_RESERVED_SIZE);
}

void kp_frame_put_count(uint8_t *frame, uint16_t i, const struct kp_count *c)
{
	uint8_t *r = kp_frame_record(frame, KP_TYPE_COUNTS, i);

	kp_store_i64le(r + CNT_OBSERVED_AT, c->observed_at);
	kp_store_u32le(r + CNT_ROUTE_ID, c->route_id);
	kp_store_u32le(r + CNT_STOP_ID, c->stop_id);
	kp_store_u32le(r + CNT_VEHICLE_ID, c->vehicle_id);
	r[CNT_DOOR] = c->door;
	r[CNT_KIND] = c->kind;
	kp_store_u16le(r + CNT_BOARDINGS, c->boardings);
	kp_store_u16le(r + CNT_ALIGHTINGS, c->alightings);
	kp_store_u16le(r + CNT_OCCUPANCY, c->occupancy);
	r[CNT_CONFIDENCE] = c->confidence;
	memset(r + CNT_RESERVED, 0, CNT_RESERVED_SIZE);
}

int kp_frame_sign(uint8_t *buf, size_t len, const uint8_t sk[KP_SECRET_KEY_SIZE])
{
	size_t body;

	if (len < KP_ACK_FRAME_SIZE)
		return KP_EINVAL;
	body = len - KP_SIGNATURE_SIZE;
	if (crypto_sign_detached(buf + body, NULL, buf, body, sk) != 0)
		return KP_EINVAL;
	return KP_OK;
}

int kp_frame_verify(const uint8_t *buf, size_t len, const uint8_t pk[KP_PUBLIC_KEY_SIZE])
{
	size_t body;

	if (len < KP_ACK_FRAME_SIZE)
		return KP_EMALFORMED;
	body = len - KP_SIGNATURE_SIZE;
	if (crypto_sign_verify_detached(buf + body, buf, body, pk) != 0)
		return KP_EBADSIG;
	return KP_OK;
}

int kp_frame_make_reply(uint8_t *buf, size_t cap, uint8_t type, uint8_t key_id,
                        uint64_t device_id, uint64_t batch_seq, int64_t sent_at,
                        uint64_t aux, const uint8_t sk[KP_SECRET_KEY_SIZE])
{
	struct kp_header h = {
		.type = type,
		.key_id = key_id,
		.count = 0,
		.device_id = device_id,
		.batch_seq = batch_seq,
		.sent_at = sent_at,
		.aux = aux,
	};
	int rc;

	if (type != KP_TYPE_ACK && type != KP_TYPE_NACK)
		return KP_EINVAL;
	rc = kp_frame_put_header(buf, cap, &h);
	if (rc != KP_OK)
		return rc;
	rc = kp_frame_sign(buf, KP_ACK_FRAME_SIZE, sk);
	if (rc != KP_OK)
		return rc;
	return KP_ACK_FRAME_SIZE;
}

const char *kp_nack_reason_name(uint64_t reason)
{
	static const char *const names[KP_NACK_REASON_MAX + 1] = {
		[KP_NACK_BAD_SIGNATURE] = "bad signature",
		[KP_NACK_UNKNOWN_DEVICE] = "unknown device or key",
		[KP_NACK_REVOKED] = "device revoked",
		[KP_NACK_MALFORMED] = "malformed frame",
		[KP_NACK_TOPIC_MISMATCH] = "topic and device mismatch",
		[KP_NACK_TIME_WINDOW] = "timestamps out of the accepted window",
		[KP_NACK_STORAGE_FULL] = "storage full, retry later",
	};

	if (reason < 1 || reason > KP_NACK_REASON_MAX)
		return "unknown reason";
	return names[reason];
}
