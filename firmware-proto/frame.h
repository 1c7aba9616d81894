/*
 * frame.h — wire protocol v1 (KMP1) frames: encode, decode, sign, verify.
 *
 * The contract is docs/PROTOCOL.md (a copy of the firmware team's PROTOCOL.md). This module promises:
 *  - kp_frame_decode() accepts exactly the frames PROTOCOL.md calls well formed
 *    (magic, type, count range, exact length, nonzero device id, aux rules,
 *    reserved bytes and unknown flag bits zero, enumerations in range) and
 *    rejects everything else with KP_EMALFORMED, never reading past `len`;
 *  - encoding a decoded frame's fields reproduces its bytes exactly;
 *  - no allocation, no I/O, no global state: usable inside validator firmware.
 * Signatures are Ed25519 (libsodium crypto_sign_detached) over every byte before
 * the last 64. The caller must have called sodium_init().
 *
 * Buffers are borrowed: nothing here keeps a pointer after it returns.
 */
#ifndef KP_FRAME_H
#define KP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_MAGIC "KMP1"
#define KP_HEADER_SIZE 40
#define KP_SIGNATURE_SIZE 64
#define KP_TAP_RECORD_SIZE 48
#define KP_COUNT_RECORD_SIZE 32
#define KP_CARD_TOKEN_SIZE 16
#define KP_RECORDS_MAX 512
#define KP_FRAME_MAX (KP_HEADER_SIZE + KP_RECORDS_MAX * KP_TAP_RECORD_SIZE + KP_SIGNATURE_SIZE)
#define KP_ACK_FRAME_SIZE (KP_HEADER_SIZE + KP_SIGNATURE_SIZE)
#define KP_PUBLIC_KEY_SIZE 32
#define KP_SECRET_KEY_SIZE 64

enum kp_frame_type {
	KP_TYPE_TAPS = 1,
	KP_TYPE_COUNTS = 2,
	KP_TYPE_ACK = 3,
	KP_TYPE_NACK = 4,
};

/* NACK reasons, carried in a NACK's aux field. */
enum kp_nack_reason {
	KP_NACK_BAD_SIGNATURE = 1,
	KP_NACK_UNKNOWN_DEVICE = 2, /* unknown device or key_id */
	KP_NACK_REVOKED = 3,
	KP_NACK_MALFORMED = 4,
	KP_NACK_TOPIC_MISMATCH = 5,
	KP_NACK_TIME_WINDOW = 6,
	KP_NACK_STORAGE_FULL = 7,
};
#define KP_NACK_REASON_MAX 7

enum kp_tap_result {
	KP_TAP_ACCEPTED = 0,
	KP_TAP_DENIED_BALANCE = 1,
	KP_TAP_DENIED_INVALID = 2,
	KP_TAP_DENIED_BLOCKLISTED = 3,
	KP_TAP_DENIED_PASSBACK = 4,
	KP_TAP_DENIED_EXPIRED = 5,
};
#define KP_TAP_RESULT_MAX 5

#define KP_TAP_FLAG_OFFLINE 0x0001
#define KP_TAP_FLAG_TRANSFER 0x0002
#define KP_TAP_FLAGS_KNOWN (KP_TAP_FLAG_OFFLINE | KP_TAP_FLAG_TRANSFER)

#define KP_DIRECTION_UNKNOWN 255
#define KP_COUNT_KIND_DOOR_CYCLE 1
#define KP_COUNT_KIND_OCCUPANCY 2
#define KP_OCCUPANCY_UNKNOWN 65535
#define KP_CONFIDENCE_UNKNOWN 255

/* Return codes. 0 is success; errors are negative. */
enum kp_status {
	KP_OK = 0,
	KP_EMALFORMED = -1, /* not a well-formed v1 frame */
	KP_EBADSIG = -2,    /* signature does not verify with the given key */
	KP_ESPACE = -3,     /* output buffer too small */
	KP_EINVAL = -4,     /* caller passed fields no frame may hold */
};

struct kp_header {
	uint8_t type;
	uint8_t key_id;
	uint16_t count;
	uint64_t device_id;
	uint64_t batch_seq;
	int64_t sent_at;
	uint64_t aux;
};

struct kp_tap {
	int64_t tapped_at;
	uint8_t card_token[KP_CARD_TOKEN_SIZE];
	uint32_t route_id;
	uint32_t stop_id;
	uint32_t vehicle_id;
	uint16_t fare_product;
	uint8_t direction;
	uint8_t result;
	uint32_t amount;
	uint16_t flags;
};

struct kp_count {
	int64_t observed_at;
	uint32_t route_id;
	uint32_t stop_id;
	uint32_t vehicle_id;
	uint8_t door;
	uint8_t kind;
	uint16_t boardings;
	uint16_t alightings;
	uint16_t occupancy;
	uint8_t confidence;
};

/* Size in bytes of a frame of `type` with `count` records, or 0 when no
 * well-formed frame has that type and count. */
size_t kp_frame_size(uint8_t type, uint16_t count);

/* Size of one record of `type` (48 TAPS, 32 COUNTS, 0 ACK/NACK/unknown). */
size_t kp_record_size(uint8_t type);

/* Decodes and fully validates the frame in buf[0..len): header and every
 * record. On KP_OK fills *h. Returns KP_OK or KP_EMALFORMED. Does not check
 * the signature. */
int kp_frame_decode(const uint8_t *buf, size_t len, struct kp_header *h);

/* Reads the header fields without validating anything but len >= 40.
 * For NACKs of frames too broken to decode. Returns KP_OK or KP_EMALFORMED. */
int kp_frame_peek_header(const uint8_t *buf, size_t len, struct kp_header *h);

/* Record i of a frame that kp_frame_decode() accepted (i < h->count). */
void kp_frame_get_tap(const uint8_t *frame, uint16_t i, struct kp_tap *t);
void kp_frame_get_count(const uint8_t *frame, uint16_t i, struct kp_count *c);

/* True when every field of t is one a TAPS record may hold: result in range,
 * no unknown flag bit, direction 0, 1 or unknown. kp_frame_decode() refuses
 * a record that fails it; kp_frame_put_tap() does not check, so a device
 * checks a tap with it before taking it into a batch. */
bool kp_tap_is_valid(const struct kp_tap *t);

/* The same for a COUNTS record: kind a door cycle or an occupancy snapshot,
 * confidence 0..100 or unknown. kp_frame_decode() refuses a record that
 * fails it; kp_frame_put_count() does not check, so a counter checks a
 * record with it before taking it into a batch. */
bool kp_count_is_valid(const struct kp_count *c);

/* Pointer to record i's bytes and to the card token inside a TAPS record. */
uint8_t *kp_frame_record(uint8_t *frame, uint8_t type, uint16_t i);
#define KP_TAP_TOKEN_OFFSET 8

/* Encoding: write the header, then every record, then sign. The header's
 * count fixes the frame size (kp_frame_size). kp_frame_put_header returns
 * KP_ESPACE when cap is too small and KP_EINVAL for fields no well-formed
 * frame holds. */
int kp_frame_put_header(uint8_t *buf, size_t cap, const struct kp_header *h);
void kp_frame_put_tap(uint8_t *frame, uint16_t i, const struct kp_tap *t);
void kp_frame_put_count(uint8_t *frame, uint16_t i, const struct kp_count *c);

/* Signs buf[0..len-64) with the Ed25519 secret key and writes the signature
 * into the last 64 bytes. len must be a full frame's size. */
int kp_frame_sign(uint8_t *buf, size_t len, const uint8_t sk[KP_SECRET_KEY_SIZE]);

/* KP_OK when the last 64 bytes are a valid signature of the rest under pk,
 * KP_EBADSIG otherwise (KP_EMALFORMED when len < 40 + 64). */
int kp_frame_verify(const uint8_t *buf, size_t len, const uint8_t pk[KP_PUBLIC_KEY_SIZE]);

/* Builds and signs an ACK (aux = watermark) or NACK (aux = reason) for
 * (device_id, batch_seq) into buf, which must hold KP_ACK_FRAME_SIZE bytes.
 * Returns the frame size, or a negative kp_status. */
int kp_frame_make_reply(uint8_t *buf, size_t cap, uint8_t type, uint8_t key_id,
                        uint64_t device_id, uint64_t batch_seq, int64_t sent_at,
                        uint64_t aux, const uint8_t sk[KP_SECRET_KEY_SIZE]);

/* A short English name for a NACK reason ("bad signature", ...). */
const char *kp_nack_reason_name(uint64_t reason);

#endif
