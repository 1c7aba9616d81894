/*
 * Description: the byte helpers put every integer in the byte order their
 * name says, whatever the host's, and read back what they wrote: little-endian
 * as the wire format and stored values need, big-endian so that stored keys
 * sort in numeric order, signed values as two's complement.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "firmware-proto/bytes.h"

static const uint8_t ascending[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

Test(bytes, little_endian_puts_the_low_byte_first)
{
	uint8_t b[8];

	cr_expect_eq(kp_load_u16le(ascending), 0x0201);
	cr_expect_eq(kp_load_u32le(ascending), 0x04030201u);
	cr_expect_eq(kp_load_u64le(ascending), 0x0807060504030201ull);
	kp_store_u64le(b, 0x0807060504030201ull);
	cr_expect_arr_eq(b, ascending, 8);
	memset(b, 0, sizeof b);
	kp_store_u32le(b, 0x04030201u);
	cr_expect_arr_eq(b, ascending, 4);
	memset(b, 0, sizeof b);
	kp_store_u16le(b, 0x0201);
	cr_expect_arr_eq(b, ascending, 2);
}

Test(bytes, big_endian_puts_the_high_byte_first)
{
	uint8_t b[8];

	cr_expect_eq(kp_load_u16be(ascending), 0x0102);
	cr_expect_eq(kp_load_u32be(ascending), 0x01020304u);
	cr_expect_eq(kp_load_u64be(ascending), 0x0102030405060708ull);
	kp_store_u64be(b, 0x0102030405060708ull);
	cr_expect_arr_eq(b, ascending, 8);
	memset(b, 0, sizeof b);
	kp_store_u32be(b, 0x01020304u);
	cr_expect_arr_eq(b, ascending, 4);
	memset(b, 0, sizeof b);
	kp_store_u16be(b, 0x0102);
	cr_expect_arr_eq(b, ascending, 2);
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
