/*
 * outbuf.c — the growable text buffer of the package writers (outbuf.h).
 */
#include "opendata/outbuf.h"

#include <stdlib.h>
#include <string.h>

#define OUTBUF_INITIAL 4096

/* Room for len more bytes; 0, or -1 (and failed) out of memory. */
static int reserve(struct outbuf *b, size_t len)
{
	size_t cap = b->cap ? b->cap : OUTBUF_INITIAL;
	char *p;

	if (b->failed)
		return -1;
	if (b->n + len <= b->cap)
		return 0;
	while (cap < b->n + len)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void ob_put(struct outbuf *b, const char *s, size_t len)
{
	if (reserve(b, len) != 0)
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

void ob_puts(struct outbuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

void ob_putc(struct outbuf *b, char c)
{
	if (reserve(b, 1) == 0)
		b->p[b->n++] = c;
}

size_t ob_format_u64(uint64_t v, int width, char *out)
{
	char rev[20];
	size_t n = 0, len = 0;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (int pad = width - (int)n; pad > 0; pad--)
		out[len++] = '0';
	while (n > 0)
		out[len++] = rev[--n];
	out[len] = '\0';
	return len;
}

void ob_put_u64(struct outbuf *b, uint64_t v, int width)
{
	char text[21];

	if (width > 20)
		width = 20;
	ob_put(b, text, ob_format_u64(v, width, text));
}

int ob_failed(const struct outbuf *b)
{
	return b->failed;
}

void ob_free(struct outbuf *b)
{
	free(b->p);
	*b = (struct outbuf){ 0 };
}
