/*
 * query.c — strict query-string parsing (query.h).
 */
#include "ingest/query.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int kp_query_unescape(const char *s, size_t len)
{
	int hi = len >= 3 && s[0] == '%' ? hexval(s[1]) : -1, lo = hi >= 0 ? hexval(s[2]) : -1;

	if (hi < 0 || lo < 0 || (hi | lo) == 0)
		return -1;
	return hi * 16 + lo;
}

size_t kp_query_decode(const char *text, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = kp_query_unescape(text + i, len - i);

		if (c < 0) {
			out[n++] = text[i];
			continue;
		}
		out[n++] = (char)c;
		i += 2;
	}
	return n;
}

/* One pair of len bytes at s. */
static int parse_pair(const char *s, size_t len, struct kp_query *q, char err[KP_QUERY_ERR_MAX])
{
	const char *eq = memchr(s, '=', len);
	size_t klen, vlen = 0;
	char *key, *val;

	if (q->n == KP_QUERY_MAX) {
		snprintf(err, KP_QUERY_ERR_MAX, "more than %d query parameters", KP_QUERY_MAX);
		return -1;
	}
	if (eq == NULL) {
		snprintf(err, KP_QUERY_ERR_MAX, "query parameter '%.*s' has no '='", (int)(len > 40 ? 40 : len), s);
		return -1;
	}
	klen = (size_t)(eq - s);
	if (klen == 0 || klen > KP_QUERY_KEY_MAX) {
		snprintf(err, KP_QUERY_ERR_MAX, "a query parameter name is empty or longer than %d bytes",
		         KP_QUERY_KEY_MAX);
		return -1;
	}
	for (size_t i = 0; i < klen; i++)
		if (!key_char(s[i])) {
			snprintf(err, KP_QUERY_ERR_MAX, "query parameter name '%.*s' is not [A-Za-z0-9_]", (int)klen, s);
			return -1;
		}
	key = q->p[q->n].key;
	val = q->p[q->n].value;
	memcpy(key, s, klen);
	key[klen] = '\0';
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0) {
			snprintf(err, KP_QUERY_ERR_MAX, "query parameter '%s' given twice", key);
			return -1;
		}
	for (const char *p = eq + 1; p < s + len; p++) {
		char c = *p;

		if (c == '%') {
			int byte = kp_query_unescape(p, (size_t)(s + len - p));

			if (byte < 0) {
				snprintf(err, KP_QUERY_ERR_MAX, "query parameter '%s': bad %%-escape", key);
				return -1;
			}
			c = (char)byte;
			p += 2;
		}
		if (vlen == KP_QUERY_VALUE_MAX) {
			snprintf(err, KP_QUERY_ERR_MAX, "query parameter '%s' is longer than %d bytes", key,
			         KP_QUERY_VALUE_MAX);
			return -1;
		}
		val[vlen++] = c;
	}
	val[vlen] = '\0';
	q->n++;
	return 0;
}

int kp_query_parse(const char *text, size_t len, struct kp_query *q, char err[KP_QUERY_ERR_MAX])
{
	size_t start = 0;

	q->n = 0;
	err[0] = '\0';
	if (text == NULL || len == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '&')
			continue;
		if (parse_pair(text + start, i - start, q, err) != 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

const char *kp_query_get(const struct kp_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0)
			return q->p[i].value;
	return NULL;
}
