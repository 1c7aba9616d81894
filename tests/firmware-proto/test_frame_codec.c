/*
 * Description: behaviour of the frame codec that the vector file does not
 * pin down — signing with fresh keys, ACK/NACK replies, what the encoder
 * refuses, lengths and single-field changes the decoder must refuse, batch
 * 0 refused on TAPS and COUNTS but allowed on replies, one validity rule for
 * a tap's fields shared by the decoder and devices, and that any change
 * to a signed frame breaks its signature.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "firmware-proto/frame.h"

#define DEVICE 0x00000000000a1b2cULL

struct keypair {
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
};

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(frame_codec, .init = setup);

static struct keypair fresh_keys(void)
{
	struct keypair k;

	cr_assert_eq(crypto_sign_keypair(k.pk, k.sk), 0);
	return k;
}

static struct kp_tap sample_tap(uint16_t i)
{
	struct kp_tap t = {
		.tapped_at = 1700000000000 + i,
		.route_id = 27,
		.stop_id = 1031 + i,
		.vehicle_id = 412,
		.fare_product = 1,
		.direction = (uint8_t)(i % 2),
		.result = (uint8_t)(i % (KP_TAP_RESULT_MAX + 1)),
		.amount = 800,
		.flags = (uint16_t)(i & KP_TAP_FLAGS_KNOWN),
	};

	for (size_t b = 0; b < KP_CARD_TOKEN_SIZE; b++)
		t.card_token[b] = (uint8_t)(0xa0 + b + i);
	return t;
}

static struct kp_count sample_count(uint16_t i)
{
	struct kp_count c = {
		.observed_at = 1700000020000 + i,
		.route_id = 27,
		.stop_id = 1031,
		.vehicle_id = 412,
		.door = (uint8_t)(i % 3),
		.kind = (uint8_t)(i % 2 ? KP_COUNT_KIND_OCCUPANCY : KP_COUNT_KIND_DOOR_CYCLE),
		.boardings = (uint16_t)(3 + i),
		.alightings = 1,
		.occupancy = (uint16_t)(i % 2 ? 42 : KP_OCCUPANCY_UNKNOWN),
		.confidence = (uint8_t)(i % 2 ? 97 : KP_CONFIDENCE_UNKNOWN),
	};
	return c;
}

static struct kp_header records_header(uint8_t type, uint16_t count)
{
	struct kp_header h = {
		.type = type,
		.key_id = 1,
		.count = count,
		.device_id = DEVICE,
		.batch_seq = 7,
		.sent_at = 1700000030000,
		.aux = 0,
	};
	return h;
}

/* Writes a valid, signed frame of `count` records; returns its length. */
static size_t build_frame(uint8_t *buf, size_t cap, uint8_t type, uint16_t count,
                          const struct keypair *k)
{
	struct kp_header h = records_header(type, count);
	size_t len = kp_frame_size(type, count);

	cr_assert_eq(kp_frame_put_header(buf, cap, &h), KP_OK);
	for (uint16_t i = 0; i < count; i++) {
		if (type == KP_TYPE_TAPS) {
			struct kp_tap t = sample_tap(i);
			kp_frame_put_tap(buf, i, &t);
		} else {
			struct kp_count c = sample_count(i);
			kp_frame_put_count(buf, i, &c);
		}
	}
	cr_assert_eq(kp_frame_sign(buf, len, k->sk), KP_OK);
	return len;
}

static bool header_eq(const struct kp_header *a, const struct kp_header *b)
{
	return a->type == b->type && a->key_id == b->key_id && a->count == b->count &&
	       a->device_id == b->device_id && a->batch_seq == b->batch_seq &&
	       a->sent_at == b->sent_at && a->aux == b->aux;
}

static bool tap_eq(const struct kp_tap *a, const struct kp_tap *b)
{
	return a->tapped_at == b->tapped_at &&
	       memcmp(a->card_token, b->card_token, KP_CARD_TOKEN_SIZE) == 0 &&
	       a->route_id == b->route_id && a->stop_id == b->stop_id &&
	       a->vehicle_id == b->vehicle_id && a->fare_product == b->fare_product &&
	       a->direction == b->direction && a->result == b->result &&
	       a->amount == b->amount && a->flags == b->flags;
}

static bool count_eq(const struct kp_count *a, const struct kp_count *b)
{
	return a->observed_at == b->observed_at && a->route_id == b->route_id &&
	       a->stop_id == b->stop_id && a->vehicle_id == b->vehicle_id &&
	       a->door == b->door && a->kind == b->kind && a->boardings == b->boardings &&
	       a->alightings == b->alightings && a->occupancy == b->occupancy &&
	       a->confidence == b->confidence;
}

/* Decodes buf[0..len) from a heap block of exactly len bytes, so ASan
 * reports any read past the end. */
static int decode_exact(const uint8_t *buf, size_t len, struct kp_header *h)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	rc = kp_frame_decode(copy, len, h);
	free(copy);
	return rc;
}

Test(frame_codec, signed_taps_frame_verifies_with_a_fresh_key_and_decodes_back)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct keypair k = fresh_keys(), other = fresh_keys();
	struct kp_header want = records_header(KP_TYPE_TAPS, 5), got;
	size_t len = build_frame(buf, sizeof(buf), KP_TYPE_TAPS, 5, &k);

	cr_assert_eq(len, KP_HEADER_SIZE + 5 * KP_TAP_RECORD_SIZE + KP_SIGNATURE_SIZE);
	cr_assert_eq(kp_frame_decode(buf, len, &got), KP_OK);
	cr_assert(header_eq(&got, &want));
	cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_OK);
	cr_assert_eq(kp_frame_verify(buf, len, other.pk), KP_EBADSIG);
	for (uint16_t i = 0; i < 5; i++) {
		struct kp_tap t, w = sample_tap(i);

		kp_frame_get_tap(buf, i, &t);
		cr_assert(tap_eq(&t, &w), "tap %u differs", i);
		cr_assert(memcmp(kp_frame_record(buf, KP_TYPE_TAPS, i) + KP_TAP_TOKEN_OFFSET,
		                 w.card_token, KP_CARD_TOKEN_SIZE) == 0);
	}
}

Test(frame_codec, signed_counts_frame_verifies_with_a_fresh_key_and_decodes_back)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct keypair k = fresh_keys(), other = fresh_keys();
	struct kp_header want = records_header(KP_TYPE_COUNTS, KP_RECORDS_MAX), got;
	size_t len = build_frame(buf, sizeof(buf), KP_TYPE_COUNTS, KP_RECORDS_MAX, &k);

	cr_assert_eq(len, KP_HEADER_SIZE + KP_RECORDS_MAX * KP_COUNT_RECORD_SIZE +
	                      KP_SIGNATURE_SIZE);
	cr_assert_eq(kp_frame_decode(buf, len, &got), KP_OK);
	cr_assert(header_eq(&got, &want));
	cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_OK);
	cr_assert_eq(kp_frame_verify(buf, len, other.pk), KP_EBADSIG);
	for (uint16_t i = 0; i < KP_RECORDS_MAX; i++) {
		struct kp_count c, w = sample_count(i);

		kp_frame_get_count(buf, i, &c);
		cr_assert(count_eq(&c, &w), "count %u differs", i);
	}
}

Test(frame_codec, negative_and_extreme_timestamps_survive_a_round_trip)
{
	static const int64_t times[] = { INT64_MIN, -1, 0, 1, INT64_MAX };
	uint8_t buf[KP_HEADER_SIZE + KP_TAP_RECORD_SIZE + KP_SIGNATURE_SIZE];
	struct keypair k = fresh_keys();

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct kp_header h = records_header(KP_TYPE_TAPS, 1), got;
		struct kp_tap t = sample_tap(0), back;

		h.sent_at = times[i];
		t.tapped_at = times[i];
		cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_OK);
		kp_frame_put_tap(buf, 0, &t);
		cr_assert_eq(kp_frame_sign(buf, sizeof(buf), k.sk), KP_OK);
		cr_assert_eq(kp_frame_decode(buf, sizeof(buf), &got), KP_OK);
		kp_frame_get_tap(buf, 0, &back);
		cr_assert_eq(got.sent_at, times[i]);
		cr_assert_eq(back.tapped_at, times[i]);
	}
}

Test(frame_codec, ack_reply_decodes_and_verifies_only_with_the_server_key)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];
	struct keypair server = fresh_keys(), device = fresh_keys();
	struct kp_header want = {
		.type = KP_TYPE_ACK, .key_id = 2, .count = 0, .device_id = DEVICE,
		.batch_seq = 12, .sent_at = 1700000023000, .aux = 11,
	};
	struct kp_header got;
	int n = kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_ACK, 2, DEVICE, 12,
	                            1700000023000, 11, server.sk);

	cr_assert_eq(n, KP_ACK_FRAME_SIZE);
	cr_assert_eq(kp_frame_decode(buf, (size_t)n, &got), KP_OK);
	cr_assert(header_eq(&got, &want));
	cr_assert_eq(kp_frame_verify(buf, (size_t)n, server.pk), KP_OK);
	cr_assert_eq(kp_frame_verify(buf, (size_t)n, device.pk), KP_EBADSIG);
}

Test(frame_codec, nack_reply_carries_its_reason_and_verifies_with_the_server_key)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];
	struct keypair server = fresh_keys(), device = fresh_keys();

	for (uint64_t reason = 1; reason <= KP_NACK_REASON_MAX; reason++) {
		struct kp_header got;
		int n = kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_NACK, 0, DEVICE, 9,
		                            -5, reason, server.sk);

		cr_assert_eq(n, KP_ACK_FRAME_SIZE);
		cr_assert_eq(kp_frame_decode(buf, (size_t)n, &got), KP_OK);
		cr_assert_eq(got.type, KP_TYPE_NACK);
		cr_assert_eq(got.count, 0);
		cr_assert_eq(got.device_id, DEVICE);
		cr_assert_eq(got.batch_seq, 9);
		cr_assert_eq(got.sent_at, -5);
		cr_assert_eq(got.aux, reason);
		cr_assert_eq(kp_frame_verify(buf, (size_t)n, server.pk), KP_OK);
		cr_assert_eq(kp_frame_verify(buf, (size_t)n, device.pk), KP_EBADSIG);
		cr_assert_str_neq(kp_nack_reason_name(reason), kp_nack_reason_name(0));
	}
}

Test(frame_codec, make_reply_refuses_what_no_reply_may_hold)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];
	struct keypair server = fresh_keys();

	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_TAPS, 0, DEVICE, 1, 0, 0,
	                                 server.sk), KP_EINVAL);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_ACK, 0, 0, 1, 0, 0,
	                                 server.sk), KP_EINVAL);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_NACK, 0, DEVICE, 1, 0, 0,
	                                 server.sk), KP_EINVAL);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_NACK, 0, DEVICE, 1, 0,
	                                 KP_NACK_REASON_MAX + 1, server.sk), KP_EINVAL);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf) - 1, KP_TYPE_ACK, 0, DEVICE, 1, 0, 0,
	                                 server.sk), KP_ESPACE);
}

Test(frame_codec, put_header_refuses_counts_types_and_devices_no_frame_holds)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct kp_header h;
	static const uint16_t bad_counts[] = { 0, KP_RECORDS_MAX + 1, UINT16_MAX };

	for (uint8_t type = KP_TYPE_TAPS; type <= KP_TYPE_COUNTS; type++) {
		for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
			h = records_header(type, bad_counts[i]);
			cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL,
			             "type %u count %u", type, bad_counts[i]);
		}
		h = records_header(type, 1);
		h.device_id = 0;
		cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL);
		h = records_header(type, 1);
		h.aux = 1;
		cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL);
	}
	h = records_header(KP_TYPE_ACK, 1);
	cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL);
	h = records_header(0, 1);
	cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL);
	h = records_header(KP_TYPE_NACK + 1, 0);
	cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL);
}

Test(frame_codec, records_need_a_batch_seq_but_a_reply_may_name_batch_0)
{
	static uint8_t buf[KP_FRAME_MAX];
	uint8_t reply[KP_ACK_FRAME_SIZE];
	struct keypair k = fresh_keys();
	struct kp_header h;

	/* TAPS and COUNTS: devices number frames from 1 */
	for (uint8_t type = KP_TYPE_TAPS; type <= KP_TYPE_COUNTS; type++) {
		size_t len = build_frame(buf, sizeof(buf), type, 2, &k);

		cr_assert_eq(decode_exact(buf, len, &h), KP_OK);
		memset(buf + 16, 0, 8); /* batch_seq, little-endian u64 at offset 16 */
		cr_assert_eq(kp_frame_sign(buf, len, k.sk), KP_OK);
		cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_OK);
		cr_assert_eq(decode_exact(buf, len, &h), KP_EMALFORMED, "type %u batch_seq 0", type);
		h = records_header(type, 2);
		h.batch_seq = 0;
		cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_EINVAL,
		             "type %u batch_seq 0", type);
	}
	/* ACK and NACK: a reply may answer a frame too broken to read */
	cr_assert_eq(kp_frame_make_reply(reply, sizeof(reply), KP_TYPE_ACK, 1, DEVICE, 0,
	                                 1700000023000, 0, k.sk), KP_ACK_FRAME_SIZE);
	cr_assert_eq(decode_exact(reply, sizeof(reply), &h), KP_OK);
	cr_assert_eq(h.type, KP_TYPE_ACK);
	cr_assert_eq(h.batch_seq, 0);
	cr_assert_eq(kp_frame_make_reply(reply, sizeof(reply), KP_TYPE_NACK, 1, DEVICE, 0,
	                                 1700000023000, KP_NACK_MALFORMED, k.sk),
	             KP_ACK_FRAME_SIZE);
	cr_assert_eq(decode_exact(reply, sizeof(reply), &h), KP_OK);
	cr_assert_eq(h.type, KP_TYPE_NACK);
	cr_assert_eq(h.batch_seq, 0);
	cr_assert_eq(h.aux, KP_NACK_MALFORMED);
}

Test(frame_codec, put_header_needs_room_for_the_whole_frame)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct kp_header h = records_header(KP_TYPE_COUNTS, 3);
	size_t size = kp_frame_size(KP_TYPE_COUNTS, 3);

	cr_assert_eq(kp_frame_put_header(buf, size - 1, &h), KP_ESPACE);
	cr_assert_eq(kp_frame_put_header(buf, KP_HEADER_SIZE, &h), KP_ESPACE);
	cr_assert_eq(kp_frame_put_header(buf, size, &h), KP_OK);
	cr_assert(memcmp(buf, KP_MAGIC, 4) == 0);
}

Test(frame_codec, sizes_follow_type_and_count)
{
	cr_assert_eq(kp_record_size(KP_TYPE_TAPS), KP_TAP_RECORD_SIZE);
	cr_assert_eq(kp_record_size(KP_TYPE_COUNTS), KP_COUNT_RECORD_SIZE);
	cr_assert_eq(kp_record_size(KP_TYPE_ACK), 0);
	cr_assert_eq(kp_record_size(0), 0);
	cr_assert_eq(kp_frame_size(KP_TYPE_TAPS, KP_RECORDS_MAX), KP_FRAME_MAX);
	cr_assert_eq(kp_frame_size(KP_TYPE_ACK, 0), KP_ACK_FRAME_SIZE);
	cr_assert_eq(kp_frame_size(KP_TYPE_NACK, 0), KP_ACK_FRAME_SIZE);
	cr_assert_eq(kp_frame_size(KP_TYPE_ACK, 1), 0);
	cr_assert_eq(kp_frame_size(KP_TYPE_TAPS, 0), 0);
	cr_assert_eq(kp_frame_size(KP_TYPE_COUNTS, KP_RECORDS_MAX + 1), 0);
	cr_assert_eq(kp_frame_size(5, 1), 0);
}

Test(frame_codec, decode_refuses_every_length_but_the_exact_one)
{
	static uint8_t buf[KP_FRAME_MAX + 1];
	struct keypair k = fresh_keys();
	struct kp_header h;

	for (uint8_t type = KP_TYPE_TAPS; type <= KP_TYPE_COUNTS; type++) {
		size_t len = build_frame(buf, sizeof(buf), type, 2, &k);

		for (size_t n = 0; n < len; n++)
			cr_assert_eq(decode_exact(buf, n, &h), KP_EMALFORMED, "type %u len %zu",
			             type, n);
		cr_assert_eq(decode_exact(buf, len + 1, &h), KP_EMALFORMED);
		cr_assert_eq(decode_exact(buf, len, &h), KP_OK);
	}
}

/* One field changed in an otherwise valid frame, and whether decode accepts. */
struct poke {
	const char *what;
	uint8_t type;
	size_t offset; /* from the frame start */
	uint8_t value;
	bool accepted;
};

#define REC(i) (KP_HEADER_SIZE + (i))
static const struct poke pokes[] = {
	{ "magic", KP_TYPE_TAPS, 3, '2', false },
	{ "type 0", KP_TYPE_TAPS, 4, 0, false },
	{ "any key_id", KP_TYPE_TAPS, 5, 255, true },
	{ "aux on COUNTS", KP_TYPE_COUNTS, 39, 1, false },
	{ "direction 1", KP_TYPE_TAPS, REC(38), 1, true },
	{ "direction 2", KP_TYPE_TAPS, REC(38), 2, false },
	{ "direction 254", KP_TYPE_TAPS, REC(38), 254, false },
	{ "direction unknown", KP_TYPE_TAPS, REC(38), KP_DIRECTION_UNKNOWN, true },
	{ "result 5", KP_TYPE_TAPS, REC(39), KP_TAP_RESULT_MAX, true },
	{ "result 6", KP_TYPE_TAPS, REC(39), KP_TAP_RESULT_MAX + 1, false },
	{ "both known flags", KP_TYPE_TAPS, REC(44), KP_TAP_FLAGS_KNOWN, true },
	{ "flag bit 2", KP_TYPE_TAPS, REC(44), 0x04, false },
	{ "flag bit 15", KP_TYPE_TAPS, REC(45), 0x80, false },
	{ "tap reserved 46", KP_TYPE_TAPS, REC(46), 1, false },
	{ "tap reserved 47", KP_TYPE_TAPS, REC(47), 0x80, false },
	{ "second tap reserved", KP_TYPE_TAPS, REC(KP_TAP_RECORD_SIZE + 47), 1, false },
	{ "kind 0", KP_TYPE_COUNTS, REC(21), 0, false },
	{ "kind 2", KP_TYPE_COUNTS, REC(21), KP_COUNT_KIND_OCCUPANCY, true },
	{ "kind 3", KP_TYPE_COUNTS, REC(21), 3, false },
	{ "confidence 100", KP_TYPE_COUNTS, REC(28), 100, true },
	{ "confidence 101", KP_TYPE_COUNTS, REC(28), 101, false },
	{ "confidence 254", KP_TYPE_COUNTS, REC(28), 254, false },
	{ "confidence unknown", KP_TYPE_COUNTS, REC(28), KP_CONFIDENCE_UNKNOWN, true },
	{ "count reserved 29", KP_TYPE_COUNTS, REC(29), 1, false },
	{ "count reserved 31", KP_TYPE_COUNTS, REC(31), 1, false },
	{ "second count kind", KP_TYPE_COUNTS, REC(KP_COUNT_RECORD_SIZE + 21), 9, false },
};

Test(frame_codec, decode_judges_each_field_value_on_its_own)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct keypair k = fresh_keys();
	struct kp_header h;

	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		const struct poke *p = &pokes[i];
		size_t len = build_frame(buf, sizeof(buf), p->type, 2, &k);

		buf[p->offset] = p->value;
		cr_assert_eq(decode_exact(buf, len, &h), p->accepted ? KP_OK : KP_EMALFORMED,
		             "%s", p->what);
	}
}

/* One rule for a tap's fields: what a device checks before taking a tap
 * (kp_tap_is_valid) is exactly what the decoder accepts in a record. */
Test(frame_codec, tap_validity_is_the_rule_the_decoder_applies)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct keypair k = fresh_keys();
	struct kp_header h = records_header(KP_TYPE_TAPS, 1), got;
	size_t len = kp_frame_size(KP_TYPE_TAPS, 1);
	struct kp_tap taps[8];

	for (size_t i = 0; i < 8; i++)
		taps[i] = sample_tap(0);
	taps[1].direction = 1;
	taps[2].direction = KP_DIRECTION_UNKNOWN;
	taps[3].direction = 2;
	taps[4].result = KP_TAP_RESULT_MAX;
	taps[5].result = KP_TAP_RESULT_MAX + 1;
	taps[6].flags = KP_TAP_FLAGS_KNOWN;
	taps[7].flags = 0x8000;
	for (size_t i = 0; i < 8; i++) {
		bool valid = kp_tap_is_valid(&taps[i]);

		cr_expect_eq(valid, i != 3 && i != 5 && i != 7, "tap %zu", i);
		cr_assert_eq(kp_frame_put_header(buf, sizeof(buf), &h), KP_OK);
		kp_frame_put_tap(buf, 0, &taps[i]);
		cr_assert_eq(kp_frame_sign(buf, len, k.sk), KP_OK);
		cr_expect_eq(decode_exact(buf, len, &got) == KP_OK, valid, "tap %zu", i);
	}
}

Test(frame_codec, nack_reason_must_be_known_but_ack_watermark_is_free)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];
	struct keypair k = fresh_keys();
	struct kp_header h;

	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_NACK, 0, DEVICE, 1, 0, 1,
	                                 k.sk), KP_ACK_FRAME_SIZE);
	buf[32] = 0;
	cr_assert_eq(decode_exact(buf, sizeof(buf), &h), KP_EMALFORMED);
	buf[32] = KP_NACK_REASON_MAX + 1;
	cr_assert_eq(decode_exact(buf, sizeof(buf), &h), KP_EMALFORMED);
	buf[32] = 1;
	buf[39] = 1; /* reason 2^56 + 1 */
	cr_assert_eq(decode_exact(buf, sizeof(buf), &h), KP_EMALFORMED);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof(buf), KP_TYPE_ACK, 0, DEVICE, 1, 0,
	                                 UINT64_MAX, k.sk), KP_ACK_FRAME_SIZE);
	cr_assert_eq(decode_exact(buf, sizeof(buf), &h), KP_OK);
	cr_assert_eq(h.aux, UINT64_MAX);
}

Test(frame_codec, any_flipped_bit_in_a_signed_frame_fails_verification)
{
	uint8_t buf[KP_HEADER_SIZE + 2 * KP_TAP_RECORD_SIZE + KP_SIGNATURE_SIZE];
	struct keypair k = fresh_keys();
	size_t len = build_frame(buf, sizeof(buf), KP_TYPE_TAPS, 2, &k);

	cr_assert_eq(len, sizeof(buf));
	cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_OK);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_EBADSIG,
			             "byte %zu bit %d", i, bit);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	cr_assert_eq(kp_frame_verify(buf, len, k.pk), KP_OK);
}

Test(frame_codec, sign_and_verify_refuse_buffers_shorter_than_a_reply)
{
	uint8_t buf[KP_ACK_FRAME_SIZE] = { 0 };
	struct keypair k = fresh_keys();

	cr_assert_eq(kp_frame_sign(buf, KP_ACK_FRAME_SIZE - 1, k.sk), KP_EINVAL);
	cr_assert_eq(kp_frame_verify(buf, KP_ACK_FRAME_SIZE - 1, k.pk), KP_EMALFORMED);
	cr_assert_eq(kp_frame_verify(buf, 0, k.pk), KP_EMALFORMED);
}

Test(frame_codec, peek_header_reads_a_frame_too_broken_to_decode)
{
	static uint8_t buf[KP_FRAME_MAX];
	struct keypair k = fresh_keys();
	struct kp_header want = records_header(KP_TYPE_TAPS, 3), got;
	uint8_t *copy;

	build_frame(buf, sizeof(buf), KP_TYPE_TAPS, 3, &k);
	buf[0] = 'X'; /* bad magic, and only the header is kept */
	copy = malloc(KP_HEADER_SIZE);
	cr_assert_not_null(copy);
	memcpy(copy, buf, KP_HEADER_SIZE);
	cr_assert_eq(kp_frame_decode(copy, KP_HEADER_SIZE, &got), KP_EMALFORMED);
	cr_assert_eq(kp_frame_peek_header(copy, KP_HEADER_SIZE, &got), KP_OK);
	cr_assert(header_eq(&got, &want));
	cr_assert_eq(kp_frame_peek_header(copy, KP_HEADER_SIZE - 1, &got), KP_EMALFORMED);
	cr_assert_eq(kp_frame_peek_header(copy, 0, &got), KP_EMALFORMED);
	free(copy);
}

Test(frame_codec, every_nack_reason_has_a_distinct_name)
{
	for (uint64_t a = 1; a <= KP_NACK_REASON_MAX; a++) {
		cr_assert_not_null(kp_nack_reason_name(a));
		for (uint64_t b = a + 1; b <= KP_NACK_REASON_MAX; b++)
			cr_assert_str_neq(kp_nack_reason_name(a), kp_nack_reason_name(b));
	}
	cr_assert_not_null(kp_nack_reason_name(0));
	cr_assert_not_null(kp_nack_reason_name(UINT64_MAX));
}
