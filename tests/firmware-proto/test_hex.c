/*
 * Description: hex text of bytes and device ids — encoders write lowercase,
 * people's text is read in either case, the fixed 16-digit form of topics in
 * lowercase only, and nothing but the exact number of digits is accepted.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "firmware-proto/hex.h"

Test(hex, bytes_round_trip_through_lowercase_text)
{
	const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t out[sizeof in];
	char text[2 * sizeof in + 1];

	kp_hex_encode(in, sizeof in, text);
	cr_expect_str_eq(text, "00017f80abff");
	cr_assert_eq(kp_hex_decode(text, out, sizeof out), 0);
	cr_expect_arr_eq(out, in, sizeof in);
	cr_assert_eq(kp_hex_decode("00017F80ABFF", out, sizeof out), 0, "upper case is read too");
	cr_expect_arr_eq(out, in, sizeof in);
}

Test(hex, decode_takes_exactly_two_digits_a_byte)
{
	uint8_t out[2] = { 0x55, 0x55 };

	cr_expect_eq(kp_hex_decode("abc", out, 2), -1);
	cr_expect_eq(kp_hex_decode("abcdef", out, 2), -1);
	cr_expect_eq(kp_hex_decode("abxd", out, 2), -1);
	cr_expect_eq(kp_hex_decode("ab d", out, 2), -1);
	cr_expect_eq(kp_hex_decode(NULL, out, 2), -1);
	cr_expect_eq(kp_hex_decode("", out, 0), 0);
}

Test(hex, a_typed_device_id_is_1_to_16_digits_of_either_case_and_nonzero)
{
	uint64_t id = 0;

	cr_assert_eq(kp_device_id_parse("a1B2c", &id), 0);
	cr_expect_eq(id, 0xa1b2cULL);
	cr_assert_eq(kp_device_id_parse("FFFFFFFFFFFFFFFF", &id), 0);
	cr_expect_eq(id, UINT64_MAX);
	cr_assert_eq(kp_device_id_parse("0000000000000001", &id), 0);
	cr_expect_eq(id, 1);
	id = 7;
	cr_expect_eq(kp_device_id_parse("0", &id), -1, "device 0");
	cr_expect_eq(kp_device_id_parse("", &id), -1);
	cr_expect_eq(kp_device_id_parse("10000000000000000", &id), -1, "17 digits");
	cr_expect_eq(kp_device_id_parse("0x12", &id), -1);
	cr_expect_eq(kp_device_id_parse("-1", &id), -1);
	cr_expect_eq(kp_device_id_parse(NULL, &id), -1);
	cr_expect_eq(id, 7, "a refused id leaves *id alone");
}

Test(hex, a_device_id_is_formatted_as_16_lowercase_digits)
{
	char text[KP_DEVICE_ID_TEXT_SIZE];

	kp_device_id_format(0xa1b2cULL, text);
	cr_expect_str_eq(text, "00000000000a1b2c");
	kp_device_id_format(UINT64_MAX, text);
	cr_expect_str_eq(text, "ffffffffffffffff");
	kp_device_id_format(0, text);
	cr_expect_str_eq(text, "0000000000000000");
}

Test(hex, the_canonical_form_is_exactly_16_lowercase_digits)
{
	const uint64_t ids[] = { 0, 1, 0xa1b2cULL, 0x0123456789abcdefULL, UINT64_MAX };
	char text[KP_DEVICE_ID_TEXT_SIZE];
	uint64_t id;

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		kp_device_id_format(ids[i], text);
		cr_assert_eq(kp_device_id_parse_canonical(text, &id), 0, "%s", text);
		cr_expect_eq(id, ids[i]);
	}
	/* Only the first 16 characters are read: what follows is the caller's. */
	cr_assert_eq(kp_device_id_parse_canonical("00000000000a1b2c/taps", &id), 0);
	cr_expect_eq(id, 0xa1b2cULL);
	cr_expect_eq(kp_device_id_parse_canonical("00000000000A1B2C", &id), -1, "upper case");
	cr_expect_eq(kp_device_id_parse_canonical("a1b2c", &id), -1, "short");
	cr_expect_eq(kp_device_id_parse_canonical("000000000000+b2c", &id), -1);
}
