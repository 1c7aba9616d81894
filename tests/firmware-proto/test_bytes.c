/*
 * Description: the byte helpers put every integer in the byte order their
 * name says, whatever the host's, and read back what they wrote: little-endian
 * as the wire format and stored values need, big-endian so that stored keys
 * sort in numeric order, signed values as two's complement.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <string.h>

#include "firmware-proto/bytes.h"

static const uint8_t ascending[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

/* What `ascending` reads as, in each width and byte order. */
static const struct {
	unsigned width;
	bool big_endian;
	uint64_t value;
} orders[] = {
	{ 2, false, 0x0201 },
	{ 4, false, 0x04030201u },
	{ 8, false, 0x0807060504030201ull },
	{ 2, true, 0x0102 },
	{ 4, true, 0x01020304u },
	{ 8, true, 0x0102030405060708ull },
};

static uint64_t load(unsigned width, bool be, const uint8_t *p)
{
	switch (width) {
	case 2: return be ? kp_load_u16be(p) : kp_load_u16le(p);
	case 4: return be ? kp_load_u32be(p) : kp_load_u32le(p);
	default: return be ? kp_load_u64be(p) : kp_load_u64le(p);
	}
}

static void store(unsigned width, bool be, uint8_t *p, uint64_t v)
{
	switch (width) {
	case 2: be ? kp_store_u16be(p, (uint16_t)v) : kp_store_u16le(p, (uint16_t)v); break;
	case 4: be ? kp_store_u32be(p, (uint32_t)v) : kp_store_u32le(p, (uint32_t)v); break;
	default: be ? kp_store_u64be(p, v) : kp_store_u64le(p, v); break;
	}
}

Test(bytes, each_width_is_read_and_written_in_the_order_its_name_says)
{
	for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
		unsigned w = orders[i].width;
		bool be = orders[i].big_endian;
		uint8_t b[9];

		cr_expect_eq(load(w, be, ascending), orders[i].value, "u%u%s", 8 * w, be ? "be" : "le");
		memset(b, 0xee, sizeof b);
		store(w, be, b, orders[i].value);
		cr_expect_arr_eq(b, ascending, w, "u%u%s", 8 * w, be ? "be" : "le");
		cr_expect_eq(b[w], 0xee, "u%u%s wrote past its width", 8 * w, be ? "be" : "le");
	}
}

Test(bytes, big_endian_keys_sort_bytewise_in_numeric_order)
{
	const uint64_t v[] = { 0, 1, 0xff, 0x100, 0xffffffffull, 0x100000000ull, UINT64_MAX };
	uint8_t a[8], b[8];

	for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
		kp_store_u64be(a, v[i]);
		kp_store_u64be(b, v[i + 1]);
		cr_expect_lt(memcmp(a, b, 8), 0, "%llu does not sort before %llu",
		             (unsigned long long)v[i], (unsigned long long)v[i + 1]);
	}
}

Test(bytes, signed_values_are_twos_complement)
{
	const int64_t v[] = { 0, 1, -1, INT64_MIN, INT64_MAX, -1700000000000 };
	uint8_t b[8];

	kp_store_i64le(b, -2);
	cr_expect_eq(b[0], 0xfe);
	for (size_t i = 1; i < 8; i++)
		cr_expect_eq(b[i], 0xff);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		kp_store_i64le(b, v[i]);
		cr_expect_eq(kp_load_i64le(b), v[i]);
		cr_expect_eq(kp_load_u64le(b), (uint64_t)v[i]);
	}
}
