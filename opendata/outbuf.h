/*
 * outbuf.h — a growable byte buffer that a file's text is built in before
 * it is written once: appending a string, a character or a decimal number
 * is a copy, not a trip through stdio (no format parsing, no locking), so
 * a table of hundreds of thousands of cells is printed in milliseconds.
 *
 * Out of memory is sticky: the appends after a failed one do nothing and
 * ob_failed says so, so a writer checks once at the end. The bytes are
 * owned by the buffer until ob_free.
 */
#ifndef OD_OUTBUF_H
#define OD_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

struct outbuf {
	char *p;
	size_t n, cap;
	int failed;
};

/* Appends len bytes of s. */
void ob_put(struct outbuf *b, const char *s, size_t len);
void ob_puts(struct outbuf *b, const char *s);
void ob_putc(struct outbuf *b, char c);
/* v in decimal, at least width (at most 20) digits, zero-padded, as
 * "%0*" PRIu64 would. */
void ob_put_u64(struct outbuf *b, uint64_t v, int width);
int ob_failed(const struct outbuf *b);
void ob_free(struct outbuf *b);

/* v in decimal, zero-padded to width digits, into out (at least 21 bytes),
 * NUL-terminated; returns the length. */
size_t ob_format_u64(uint64_t v, int width, char *out);

#endif
