/*
 * query.h — strict parsing of an HTTP query string (the part after '?',
 * as http_parser_parse_url delimits it) into key=value pairs.
 *
 * Strict: pairs are separated by '&'; each has a non-empty key of
 * [A-Za-z0-9_] and an '='; the value may be empty; %XX escapes are decoded
 * in values (two hex digits; %00 is refused), '+' is kept as it is; at most
 * KP_QUERY_MAX pairs, each key once, a key at most KP_QUERY_KEY_MAX bytes, a value at most
 * KP_QUERY_VALUE_MAX decoded bytes. Anything else is refused with a
 * message fit for a 400 answer. No allocation: the pairs are copied into
 * the caller's struct.
 */
#ifndef KP_QUERY_H
#define KP_QUERY_H

#include <stddef.h>

#define KP_QUERY_MAX 16
#define KP_QUERY_KEY_MAX 31
#define KP_QUERY_VALUE_MAX 127
#define KP_QUERY_ERR_MAX 160

struct kp_query {
	size_t n;
	struct {
		char key[KP_QUERY_KEY_MAX + 1];
		char value[KP_QUERY_VALUE_MAX + 1];
	} p[KP_QUERY_MAX];
};

/* Parses len bytes of text (NULL or len 0: no pairs). 0, or -1 with a
 * NUL-terminated reason in err. */
int kp_query_parse(const char *text, size_t len, struct kp_query *q, char err[KP_QUERY_ERR_MAX]);

/* The byte the escape "%XX" at s (len bytes there) stands for, or -1 when
 * s holds no such escape (not '%' and two hex digits, or %00). The one
 * decoder of escapes: kp_query_parse and kp_query_decode both use it. */
int kp_query_unescape(const char *s, size_t len);

/* The whole text as kp_query_parse would decode its values: every %XX
 * escape decoded, anything else (a bad escape too) copied as it is, into
 * out (room for len bytes). Returns the decoded length (at most len). For
 * checks over the whole query that must see what its values will hold
 * (auth.h: a token spelled with escapes). */
size_t kp_query_decode(const char *text, size_t len, char *out);

/* The value of key, or NULL when absent (a key given twice was refused
 * by kp_query_parse). */
const char *kp_query_get(const struct kp_query *q, const char *key);

#endif
