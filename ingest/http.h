/*
 * http.h — one HTTP/1.1 request on one connection, parsed with Debian's
 * http-parser, and the daemon's answer to it. The io_uring loop (loop.c)
 * owns the sockets; this module only turns bytes in into bytes out.
 *
 * Limits: the request line and headers together at most KP_HTTP_HEAD_MAX
 * bytes (431 beyond, however the reads split them: one read holding a
 * whole request too), a body at most KP_HTTP_BODY_MAX (413).
 * Connections: HTTP/1.1 is kept alive unless the client sends
 * `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`; an error
 * of the request itself (400, 413, 414, 431) always closes, and so does the
 * answer the caller marks as the last (close_after). Every answer's
 * Connection header says which (keep-alive or close), written in one place.
 * Requests may be pipelined: the parser stops at the end of one request and
 * says how many of the bytes fed were its own (used); the rest begin the
 * next request, parsed after this one is answered.
 * Routes: GET|HEAD /healthz, /readyz, /metrics, the record-level exports
 * under /v1/export/ (export_api.h), the rest of the API under /v1/ (api.h),
 * the published open data under /open/ (open_http.h); anything else 404,
 * another method 405, a parse error 400. Every error answer is
 * {"error": "..."} with Content-Type: application/json (api.h's
 * kp_api_error, README "Answers"), whatever the path; only the loop's 503
 * to a connection it has no room for (kp_http_error) is plain text, sent
 * before any request is read.
 * The health and metrics answers read atomics only (the metrics and the
 * health flags); the API reads in short LMDB read transactions, which never
 * wait on the writer, except that an authorised ridership, devices or
 * export request first derives the frames the writer holds not derived
 * yet (storage/derive.h, st_read_current): a write transaction, which waits
 * for the writer's commit and syncs, and the loop with it; /open/ reads
 * files.
 */
#ifndef KP_HTTP_H
#define KP_HTTP_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/health.h"
#include "ingest/http_body.h"
#include "ingest/metrics.h"

#define KP_HTTP_HEAD_MAX 8192
#define KP_HTTP_BODY_MAX 65536
#define KP_HTTP_URL_MAX 1024
#define KP_HTTP_FIELD_MAX 32       /* header names we look at are shorter */
#define KP_HTTP_VALUE_MAX 128      /* Authorization, If-None-Match */

/* The request headers the API reads (api.h). A value longer than
 * KP_HTTP_VALUE_MAX is kept as "too long" (overflow set), never cut. */
enum kp_http_header { KP_HDR_NONE, KP_HDR_AUTHORIZATION, KP_HDR_IF_NONE_MATCH, KP_HDR_OTHER };

struct kp_http_value {
	char v[KP_HTTP_VALUE_MAX + 1];
	size_t len;
	int present, overflow;
};

struct kp_http_request {
	http_parser parser;
	char url[KP_HTTP_URL_MAX];
	size_t url_len;
	size_t head_bytes; /* of the head, counted until it ends */
	size_t body_bytes;
	int head_done;     /* the head has ended (its size was within the limit) */
	int complete;
	int status; /* nonzero: answer with this error status */
	size_t used;     /* of the bytes of the last kp_http_feed, those of this request */
	int close_after; /* set by the caller: this is the connection's last answer */
	int keep_alive;  /* set by kp_http_respond: the connection stays open after it */
	/* The header being read: its name as it arrives, then which one it is. */
	char field[KP_HTTP_FIELD_MAX + 1];
	size_t field_len;
	int in_value;
	enum kp_http_header current;
	struct kp_http_value authorization, if_none_match;
	uint8_t peer[16]; /* the client's address (IPv4 mapped), set by the loop after init */
};

struct st_db;
struct kp_answer_cache;
struct kp_auth_limit;

/* What the answers read; borrowed. */
struct kp_http_ctx {
	struct kp_metrics *m;     /* rendered for /metrics; http_requests counted */
	struct kp_health *health; /* /readyz */
	struct st_db *db;         /* /v1/ (api.h): short read transactions; NULL: 503 */
	const char *open_dir;     /* /open/ (open_http.h): the publish folder; NULL: 404 */
	struct kp_answer_cache *cache; /* ridership answers (api.h, answer_cache.h); NULL: none */
	const char *ui_dir;       /* /ui/ (ui_http.h): the dashboards' folder; NULL: 404 */
	const char *partition;    /* "K/N" ([mqtt] partition): said in ridership answers; NULL: not said */
	struct kp_auth_limit *auth_limit; /* wrong tokens per address (auth_limit.h); NULL: unlimited.
	                                   * The loop sets its own: one thread uses it */
};

void kp_http_request_init(struct kp_http_request *req);
/* Feeds received bytes. Returns 0 when more are needed (all of them were
 * taken), 1 when the request is complete or an error status is set; then
 * req->used says how many of them belong to this request: after a complete
 * request the rest are the start of the next one. */
int kp_http_feed(struct kp_http_request *req, const char *data, size_t len);
/* Fills r with the answer (http_body.h): the whole answer in r->head, or
 * its head and a body to stream (never for HEAD: the body is dropped here).
 * Sets req->keep_alive and the answer's Connection header to match.
 * Returns 0, or -1 when out of memory (r then holds nothing). */
int kp_http_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, struct kp_http_response *r);
/* A complete plain-text error answer (503 carries Retry-After) that closes
 * the connection, malloc'd. */
char *kp_http_error(int status, const char *msg, size_t *len);

/* A complete response, malloc'd (NULL when out of memory): status line,
 * Content-Type, Content-Length, cache_control (NULL: no-store),
 * extra_headers (each ending in CRLF, or NULL), then body unless head_only.
 * No Connection header: kp_http_respond adds it. */
char *kp_http_build(int status, const char *type, const char *cache_control, const char *extra_headers,
                    const char *body, size_t body_len, int head_only, size_t *len);
const char *kp_http_reason(int status);

#endif
