/*
 * http_body.h — an answer whose body is made piece by piece on the loop's
 * thread, so that a large answer (a record-level export, a file of a
 * published package) is never built in memory.
 *
 * A route that streams fills a kp_http_response: `head` holds the status
 * line and headers (kp_http_head), `body` the producer of what follows.
 * The loop (loop.c) sends the head, then asks the body for up to `cap`
 * bytes at a time while the socket takes them, and frames each piece as a
 * chunk when the head said Transfer-Encoding: chunked (length < 0). It
 * calls close() exactly once, when the answer is sent or the connection
 * ends, whichever comes first.
 *
 * A body's read() runs on the loop's thread between other connections'
 * completions: it must be short (one LMDB read transaction of a bounded
 * number of records, or one pread of a local file), never wait on a
 * stage, and keep its place itself (a key to resume from), not a read
 * transaction held across calls.
 */
#ifndef KP_HTTP_BODY_H
#define KP_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kp_http_body {
	/* Writes up to cap (> 0) bytes of the body into buf. Returns how many
	 * (> 0), 0 at the end, or -1 on an error: the connection is then cut,
	 * and a chunked answer ends without its last chunk, which a client
	 * sees as a truncated answer rather than a short one. */
	ssize_t (*read)(struct kp_http_body *b, char *buf, size_t cap);
	/* Frees b and what it holds. */
	void (*close)(struct kp_http_body *b);
};

struct kp_http_response {
	char *head;   /* malloc'd: the whole answer, or the head of a streamed one */
	size_t len;
	struct kp_http_body *body; /* NULL, or the body that follows head */
	int chunked; /* set by kp_http_respond: the head said Transfer-Encoding: chunked */
};

/* The status line and headers of a streamed answer, malloc'd (NULL when
 * out of memory): Content-Type, Content-Length when length >= 0, else
 * Transfer-Encoding: chunked, Cache-Control (NULL: no-store), then
 * extra_headers (each ending in CRLF, or NULL). No Connection header: the
 * answer's is added by kp_http_respond. */
char *kp_http_head(int status, const char *type, const char *cache_control, const char *extra_headers,
                   int64_t length, size_t *len);

/* Frees what r holds (the body through its close) and clears r. */
void kp_http_response_free(struct kp_http_response *r);

/* Chunk framing (RFC 9112 7.1) for the loop. A piece of n bytes lies at
 * piece, with KP_HTTP_CHUNK_BEFORE writable bytes before it and
 * KP_HTTP_CHUNK_AFTER after: writes the size line before and the CRLF after,
 * and returns where the framed chunk starts (its length: *framed). n > 0:
 * a chunk of size 0 is the last one, KP_HTTP_CHUNK_LAST. */
#define KP_HTTP_CHUNK_BEFORE 18 /* 16 hex digits, CRLF */
#define KP_HTTP_CHUNK_AFTER 2
#define KP_HTTP_CHUNK_LAST "0\r\n\r\n"
char *kp_http_chunk_frame(char *piece, size_t n, size_t *framed);

#endif
