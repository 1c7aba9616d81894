/*
 * hex.h — hexadecimal text of bytes and of device ids, the one place the
 * project turns bytes into hex digits and back: key files and command lines
 * (keys, card tokens, device ids), MQTT topics (topic.h), test vectors.
 *
 * Promises: encoders write lowercase digits and a NUL; decoders read exactly
 * the digits they are given, never past them. The device-id decoders set *id
 * only on success; kp_hex_decode may have filled part of out when it fails.
 * Which case a decoder accepts is part of its contract below: text typed by
 * people takes either case, the fixed form in topics lowercase only.
 * No allocation, no I/O, no global state: usable inside validator firmware.
 * Decoders return 0 or -1.
 */
#ifndef KP_HEX_H
#define KP_HEX_H

#include <stddef.h>
#include <stdint.h>

/* A device id as text: 16 hex digits (PROTOCOL.md's {dev}), and a NUL. */
#define KP_DEVICE_ID_DIGITS 16
#define KP_DEVICE_ID_TEXT_SIZE (KP_DEVICE_ID_DIGITS + 1)

/* Exactly 2*len hex digits (either case), NUL-terminated, into out[0..len). */
int kp_hex_decode(const char *hex, uint8_t *out, size_t len);
/* 2*len lowercase digits and a NUL into out (2*len+1 bytes). */
void kp_hex_encode(const uint8_t *in, size_t len, char *out);

/* A device id as a person types it: 1..16 hex digits (either case),
 * NUL-terminated, nonzero. */
int kp_device_id_parse(const char *text, uint64_t *id);
/* The form kp_device_id_format writes: exactly the 16 lowercase digits at
 * text[0..16), no terminator needed. Any value, 0 included: whether 0 is
 * refused is the caller's rule (a frame never names device 0). */
int kp_device_id_parse_canonical(const char *text, uint64_t *id);
/* 16 lowercase hex digits, zero-padded, and a NUL. */
void kp_device_id_format(uint64_t id, char out[KP_DEVICE_ID_TEXT_SIZE]);

#endif
