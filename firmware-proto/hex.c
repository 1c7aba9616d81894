/*
 * hex.c — hex text of bytes and device ids (see hex.h).
 *
 * One digit table and one digit reader serve every function; the only
 * difference between the decoders is whether upper-case digits count, so
 * that is a parameter of the reader, not a second copy of it. A device id's
 * text is its big-endian bytes in hex, so formatting one is the byte encoder
 * applied to those bytes.
 */
#include "hex.h"

#include <stdbool.h>
#include <string.h>

#include "bytes.h"

static const char digits[] = "0123456789abcdef";

/* The value of one hex digit, or -1; upper case only when upper_ok. */
static int nibble(char c, bool upper_ok)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (upper_ok && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* text[0..n) (n <= 16) as one number; -1 on anything but a digit. */
static int number(const char *text, size_t n, bool upper_ok, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		int d = nibble(text[i], upper_ok);

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int kp_hex_decode(const char *hex, uint8_t *out, size_t len)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(hex[2 * i], true);
		int lo = nibble(hex[2 * i + 1], true);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void kp_hex_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int kp_device_id_parse(const char *text, uint64_t *id)
{
	uint64_t v;
	size_t n;

	if (text == NULL)
		return -1;
	n = strlen(text);
	if (n == 0 || n > KP_DEVICE_ID_DIGITS || number(text, n, true, &v) != 0 || v == 0)
		return -1;
	*id = v;
	return 0;
}

int kp_device_id_parse_canonical(const char *text, uint64_t *id)
{
	return number(text, KP_DEVICE_ID_DIGITS, false, id);
}

void kp_device_id_format(uint64_t id, char out[KP_DEVICE_ID_TEXT_SIZE])
{
	uint8_t be[KP_DEVICE_ID_DIGITS / 2];

	kp_store_u64be(be, id);
	kp_hex_encode(be, sizeof be, out);
}
