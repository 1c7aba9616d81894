/*
 * bytes.h — fixed-width integers to and from byte buffers, the one set every
 * module uses (the wire codec, the stored keys and values, the device outbox).
 *
 * Promises: each value is read or written one byte at a time in the byte
 * order its name says, so nothing depends on the host's endianness or on the
 * pointer's alignment, and no struct is ever dumped. Little-endian (`le`) is
 * the byte order of protocol v1 frames (PROTOCOL.md) and of stored values;
 * big-endian (`be`) is for stored keys, where LMDB's bytewise key order must
 * be the numeric order. Signed values are two's complement on both sides,
 * without implementation-defined conversions. Header only, no state, no
 * allocation, no I/O: usable inside validator firmware.
 *
 * The caller guarantees that p has room for the value's width.
 */
#ifndef KP_BYTES_H
#define KP_BYTES_H

#include <stdint.h>

/* ---- little-endian ---- */

static inline uint16_t kp_load_u16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t kp_load_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t kp_load_u64le(const uint8_t *p)
{
	return (uint64_t)kp_load_u32le(p) | (uint64_t)kp_load_u32le(p + 4) << 32;
}

/* Two's complement reinterpretation without implementation-defined casts. */
static inline int64_t kp_load_i64le(const uint8_t *p)
{
	uint64_t u = kp_load_u64le(p);

	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static inline void kp_store_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void kp_store_u32le(uint8_t *p, uint32_t v)
{
	kp_store_u16le(p, (uint16_t)v);
	kp_store_u16le(p + 2, (uint16_t)(v >> 16));
}

static inline void kp_store_u64le(uint8_t *p, uint64_t v)
{
	kp_store_u32le(p, (uint32_t)v);
	kp_store_u32le(p + 4, (uint32_t)(v >> 32));
}

static inline void kp_store_i64le(uint8_t *p, int64_t v)
{
	kp_store_u64le(p, (uint64_t)v); /* conversion to unsigned is modulo 2^64 */
}

/* ---- big-endian ---- */

static inline uint16_t kp_load_u16be(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t kp_load_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	       (uint32_t)p[3];
}

static inline uint64_t kp_load_u64be(const uint8_t *p)
{
	return (uint64_t)kp_load_u32be(p) << 32 | (uint64_t)kp_load_u32be(p + 4);
}

static inline void kp_store_u16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void kp_store_u32be(uint8_t *p, uint32_t v)
{
	kp_store_u16be(p, (uint16_t)(v >> 16));
	kp_store_u16be(p + 2, (uint16_t)v);
}

static inline void kp_store_u64be(uint8_t *p, uint64_t v)
{
	kp_store_u32be(p, (uint32_t)(v >> 32));
	kp_store_u32be(p + 4, (uint32_t)v);
}

#endif
