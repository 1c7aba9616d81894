/*
 * http.c — request parsing callbacks and the routes.
 *
 * http-parser calls back with pieces of the URL as they arrive; we copy them
 * into a fixed buffer and count header bytes ourselves to bound memory, then
 * route on method and path once on_message_complete fires.
 */
#include "ingest/http.h"

#include <inttypes.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/api.h"
#include "ingest/export_api.h"
#include "ingest/open_http.h"
#include "ingest/ui_http.h"
#include "ingest/http_body.h"

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct kp_http_request *req = p->data;
	if (req->url_len + len >= KP_HTTP_URL_MAX) {
		req->status = 414;
		return 1;
	}
	memcpy(req->url + req->url_len, at, len);
	req->url_len += len;
	req->url[req->url_len] = '\0';
	return 0;
}

/* Header names may arrive in pieces: gather the name (only as long as the
 * ones we look for), then decide which header the value pieces belong to. */
static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct kp_http_request *req = p->data;

	if (req->in_value) {
		req->in_value = 0;
		req->field_len = 0;
		req->current = KP_HDR_NONE;
	}
	if (req->field_len + len > KP_HTTP_FIELD_MAX) {
		req->field_len = KP_HTTP_FIELD_MAX + 1; /* too long to be one of ours */
		return 0;
	}
	memcpy(req->field + req->field_len, at, len);
	req->field_len += len;
	req->field[req->field_len] = '\0';
	return 0;
}

static struct kp_http_value *header_slot(struct kp_http_request *req)
{
	switch (req->current) {
	case KP_HDR_AUTHORIZATION: return &req->authorization;
	case KP_HDR_IF_NONE_MATCH: return &req->if_none_match;
	default: return NULL;
	}
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct kp_http_request *req = p->data;
	struct kp_http_value *v;

	if (!req->in_value) {
		req->in_value = 1;
		req->current = KP_HDR_OTHER;
		if (req->field_len <= KP_HTTP_FIELD_MAX && strcasecmp(req->field, "Authorization") == 0)
			req->current = KP_HDR_AUTHORIZATION;
		else if (req->field_len <= KP_HTTP_FIELD_MAX && strcasecmp(req->field, "If-None-Match") == 0)
			req->current = KP_HDR_IF_NONE_MATCH;
		v = header_slot(req);
		if (v != NULL && v->present)
			v->overflow = 1; /* given twice: unusable */
		if (v != NULL)
			v->present = 1;
	}
	v = header_slot(req);
	if (v == NULL || v->overflow)
		return 0;
	if (v->len + len > KP_HTTP_VALUE_MAX) {
		v->overflow = 1;
		return 0;
	}
	memcpy(v->v + v->len, at, len);
	v->len += len;
	v->v[v->len] = '\0';
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct kp_http_request *req = p->data;
	req->body_bytes += len;
	if (req->body_bytes > KP_HTTP_BODY_MAX) {
		req->status = 413;
		return 1;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct kp_http_request *req = p->data;
	req->head_done = 1;
	return 0;
}

static int on_complete(http_parser *p)
{
	struct kp_http_request *req = p->data;
	req->complete = 1;
	http_parser_pause(p, 1); /* a pipelined next request waits for this answer */
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

void kp_http_request_init(struct kp_http_request *req)
{
	memset(req, 0, sizeof(*req));
	http_parser_init(&req->parser, HTTP_REQUEST);
	req->parser.data = req;
}

/* Parses len bytes; how many were this request's. */
static size_t parse(struct kp_http_request *req, const char *data, size_t len)
{
	return http_parser_execute(&req->parser, &settings, data, len);
}

/* While the head is unfinished the parser is given no more bytes than the
 * head may still have: a head that has not ended within them is over the
 * limit, however the reads split it (one read can hold a whole request with
 * a huge header, which the parser would otherwise take in one go). */
int kp_http_feed(struct kp_http_request *req, const char *data, size_t len)
{
	size_t first = len, used;

	if (!req->head_done && len > KP_HTTP_HEAD_MAX - req->head_bytes)
		first = KP_HTTP_HEAD_MAX - req->head_bytes;
	used = parse(req, data, first);
	if (!req->head_done)
		req->head_bytes += used;
	else if (used == first && first < len && !req->complete && !req->status)
		used += parse(req, data + first, len - first); /* the body after the head */
	req->used = used;
	if (req->complete || req->status)
		return 1;
	if (HTTP_PARSER_ERRNO(&req->parser) != HPE_OK) {
		req->status = 400;
		return 1;
	}
	if (!req->head_done && req->head_bytes >= KP_HTTP_HEAD_MAX) {
		req->status = 431;
		return 1;
	}
	if (used != len) {
		req->status = 400;
		return 1;
	}
	return 0;
}

const char *kp_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* The longest Connection line set_connection adds: a whole answer is
 * allocated with room for it, so that adding it moves no memory block. */
#define CONNECTION_ROOM (sizeof "Connection: keep-alive\r\n" - 1)

/* One exact allocation, the head printed into it and the body copied once:
 * a stream (open_memstream) grows by doubling, zeroing and faulting in
 * pages as it goes, which was half of a cached answer's cost under perf. */
char *kp_http_build(int status, const char *type, const char *cache_control, const char *extra_headers,
                    const char *body, size_t body_len, int head_only, size_t *len)
{
	static const char fmt[] = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: %s\r\n%s\r\n";
	const char *cc = cache_control ? cache_control : "no-store", *extra = extra_headers ? extra_headers : "";
	char first[512]; /* every head we write fits: printed once */
	int head = snprintf(first, sizeof first, fmt, status, kp_http_reason(status), type, body_len, cc, extra);
	size_t sent = head_only ? 0 : body_len;
	char *out;

	if (head < 0 || (out = malloc((size_t)head + sent + CONNECTION_ROOM + 1)) == NULL)
		return NULL;
	if ((size_t)head < sizeof first)
		memcpy(out, first, (size_t)head);
	else
		snprintf(out, (size_t)head + 1, fmt, status, kp_http_reason(status), type, body_len, cc, extra);
	if (sent > 0)
		memcpy(out + head, body, sent);
	out[(size_t)head + sent] = '\0';
	*len = (size_t)head + sent;
	return out;
}

char *kp_http_head(int status, const char *type, const char *cache_control, const char *extra_headers,
                   int64_t length, size_t *len)
{
	char *out = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&out, &cap);
	if (!f)
		return NULL;
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status, kp_http_reason(status), type);
	if (length >= 0)
		fprintf(f, "Content-Length: %" PRId64 "\r\n", length);
	else
		fputs("Transfer-Encoding: chunked\r\n", f);
	fprintf(f, "Cache-Control: %s\r\n%s\r\n", cache_control ? cache_control : "no-store",
	        extra_headers ? extra_headers : "");
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	*len = cap;
	return out;
}

void kp_http_response_free(struct kp_http_response *r)
{
	free(r->head);
	if (r->body)
		r->body->close(r->body);
	memset(r, 0, sizeof(*r));
}

char *kp_http_chunk_frame(char *piece, size_t n, size_t *framed)
{
	char line[KP_HTTP_CHUNK_BEFORE + 1];
	int w = snprintf(line, sizeof line, "%zx\r\n", n);

	memcpy(piece - w, line, (size_t)w);
	memcpy(piece + n, "\r\n", KP_HTTP_CHUNK_AFTER);
	*framed = (size_t)w + n + KP_HTTP_CHUNK_AFTER;
	return piece - w;
}

/* The one place an answer's Connection header is written: right after the
 * status line, so that the builders need not know the connection. */
static int set_connection(struct kp_http_response *r, int keep_alive)
{
	const char *line = keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
	size_t add = strlen(line), at;
	char *eol = memchr(r->head, '\n', r->len), *grown;

	if (eol == NULL)
		return -1;
	at = (size_t)(eol - r->head) + 1;
	grown = realloc(r->head, r->len + add + 1);
	if (grown == NULL)
		return -1;
	memmove(grown + at + add, grown + at, r->len - at);
	memcpy(grown + at, line, add);
	r->head = grown;
	r->len += add;
	r->head[r->len] = '\0'; /* still a string, as the builders left it */
	return 0;
}

static char *text_with(int status, const char *extra_headers, const char *msg, int head_only,
                       size_t *len)
{
	return kp_http_build(status, "text/plain; charset=utf-8", NULL, extra_headers, msg, strlen(msg), head_only,
	                     len);
}

static char *text(int status, const char *msg, int head_only, size_t *len)
{
	return text_with(status, NULL, msg, head_only, len);
}

char *kp_http_error(int status, const char *msg, size_t *len)
{
	struct kp_http_response r = { 0 };

	r.head = text_with(status, status == 503 ? "Retry-After: 1\r\n" : NULL, msg, 0, &r.len);
	if (r.head == NULL || set_connection(&r, 0) != 0) {
		kp_http_response_free(&r);
		return NULL;
	}
	*len = r.len;
	return r.head;
}

static char *readyz(const struct kp_http_ctx *ctx, int head_only, size_t *len)
{
	if (!atomic_load(&ctx->health->subscribed))
		return text(503, "not ready: not subscribed to the MQTT broker\n", head_only, len);
	if (!atomic_load(&ctx->health->storage_ok))
		return text(503, "not ready: the last commit failed (storage full or failing)\n", head_only, len);
	return text(200, "ready\n", head_only, len);
}

static char *metrics(const struct kp_http_ctx *ctx, int head_only, size_t *len)
{
	size_t body_len;
	char *body = kp_metrics_render(ctx->m, &body_len);
	if (!body)
		return NULL;
	char *out = kp_http_build(200, "text/plain; version=0.0.4; charset=utf-8", NULL, NULL, body, body_len,
	                          head_only, len);
	free(body);
	return out;
}

/* A whole answer (no body to stream) into r. */
static int whole(struct kp_http_response *r, char *answer)
{
	r->head = answer;
	return answer == NULL ? -1 : 0;
}

/* The answer to a request refused while it was parsed: {"error": ...} as
 * every error of the API (README, "Answers"), whatever its path, which may
 * not even have been read. */
static int request_fault(int status, struct kp_http_response *r)
{
	char msg[96];

	switch (status) {
	case 413: snprintf(msg, sizeof msg, "the request's body is over %d bytes", KP_HTTP_BODY_MAX); break;
	case 414: snprintf(msg, sizeof msg, "the URL is over %d bytes", KP_HTTP_URL_MAX - 1); break;
	case 431: snprintf(msg, sizeof msg, "the request's head is over %d bytes", KP_HTTP_HEAD_MAX); break;
	default: snprintf(msg, sizeof msg, "malformed request"); break;
	}
	return whole(r, kp_api_error(status, msg, NULL, 0, &r->len));
}

static int route(const struct kp_http_ctx *ctx, struct kp_http_request *req, struct kp_http_response *r)
{
	unsigned method = req->parser.method;
	int head_only = method == HTTP_HEAD;
	char *query;

	if (req->status)
		return request_fault(req->status, r);
	if (method != HTTP_GET && method != HTTP_HEAD)
		return whole(r, kp_api_error(405, "only GET and HEAD are served here", "Allow: GET, HEAD\r\n", 0, &r->len));
	if (strncmp(req->url, "/open/", 6) == 0 || strcmp(req->url, "/open") == 0)
		return kp_open_respond(ctx, req, head_only, r);
	if (strncmp(req->url, "/ui/", 4) == 0 || strcmp(req->url, "/ui") == 0)
		return kp_ui_respond(ctx, req, head_only, r);
	if (strncmp(req->url, KP_EXPORT_PREFIX, strlen(KP_EXPORT_PREFIX)) == 0)
		return kp_export_respond(ctx, req, head_only, r);
	if (strncmp(req->url, "/v1/", 4) == 0 || strcmp(req->url, "/v1") == 0 || strncmp(req->url, "/v1?", 4) == 0)
		return kp_api_respond(ctx, req, head_only, r);
	query = strchr(req->url, '?');
	if (query)
		*query = '\0';
	if (strcmp(req->url, "/healthz") == 0)
		return whole(r, text(200, "ok\n", head_only, &r->len));
	if (strcmp(req->url, "/readyz") == 0)
		return whole(r, readyz(ctx, head_only, &r->len));
	if (strcmp(req->url, "/metrics") == 0)
		return whole(r, metrics(ctx, head_only, &r->len));
	return whole(r, kp_api_error(404, "no such endpoint; try /healthz, /readyz, /metrics or /v1/", NULL, head_only,
	                             &r->len));
}

/* Whether the head (ours, from kp_http_head) frames its body as chunks. */
static int head_is_chunked(const char *head, size_t len)
{
	static const char te[] = "\r\nTransfer-Encoding: chunked\r\n";
	const char *end = head + len;

	for (const char *p = head; (size_t)(end - p) >= sizeof te - 1; p++) {
		if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r')
			return 0; /* the blank line: the head ended */
		if (strncasecmp(p, te, sizeof te - 1) == 0)
			return 1;
	}
	return 0;
}

int kp_http_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, struct kp_http_response *r)
{
	memset(r, 0, sizeof(*r));
	atomic_fetch_add_explicit(&ctx->m->http_requests, 1, memory_order_relaxed);
	req->keep_alive = !req->status && !req->close_after && http_should_keep_alive(&req->parser);
	if (route(ctx, req, r) != 0) {
		kp_http_response_free(r);
		return -1;
	}
	if (req->parser.method == HTTP_HEAD && r->body != NULL) {
		r->body->close(r->body);
		r->body = NULL;
	}
	r->chunked = r->body != NULL && head_is_chunked(r->head, r->len);
	if (set_connection(r, req->keep_alive) != 0) {
		kp_http_response_free(r);
		return -1;
	}
	return 0;
}
