/*
 * http.h — one HTTP/1.1 request on one connection, parsed with Debian's
 * http-parser, and the daemon's answer to it. The io_uring loop (loop.c)
 * owns the sockets; this module only turns bytes in into bytes out.
 *
 * Limits: the request line and headers together at most KP_HTTP_HEAD_MAX
 * bytes (431 beyond), a body at most KP_HTTP_BODY_MAX (413). Every response
 * closes the connection.
 * Routes: GET|HEAD /healthz, /readyz, /metrics; anything else 404, another
 * method 405, a parse error 400. Answering reads atomics only (the metrics
 * and the health flags), so it never waits on a stage.
 */
#ifndef KP_HTTP_H
#define KP_HTTP_H

#include <http_parser.h>
#include <stddef.h>

#include "ingest/health.h"
#include "ingest/metrics.h"

#define KP_HTTP_HEAD_MAX 8192
#define KP_HTTP_BODY_MAX 65536
#define KP_HTTP_URL_MAX 1024

struct kp_http_request {
	http_parser parser;
	char url[KP_HTTP_URL_MAX];
	size_t url_len;
	size_t head_bytes;
	size_t body_bytes;
	int complete;
	int status; /* nonzero: answer with this error status */
};

/* What the answers read; borrowed. */
struct kp_http_ctx {
	struct kp_metrics *m;     /* rendered for /metrics; http_requests counted */
	struct kp_health *health; /* /readyz */
};

void kp_http_request_init(struct kp_http_request *req);
/* Feeds received bytes. Returns 0 when more are needed, 1 when the request
 * is complete or an error status is set. */
int kp_http_feed(struct kp_http_request *req, const char *data, size_t len);
/* The full response (status line, headers, body) in a malloc'd buffer the
 * caller frees; NULL when out of memory. */
char *kp_http_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, size_t *len);
/* A complete plain-text error answer (503 carries Retry-After), malloc'd. */
char *kp_http_error(int status, const char *msg, size_t *len);

#endif
