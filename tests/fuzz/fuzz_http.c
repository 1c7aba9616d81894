/* libFuzzer target: HTTP request parsing (http-parser + our limits) and the
 * response built for whatever it parsed, with the input split in two at a
 * point chosen by the first byte, as TCP may split it; and the API's query
 * string parser (and the whole-text decoder) on the whole input. (Without a database a /v1/ request is
 * answered 503 after its URL and query were parsed.) The bytes a complete
 * request did not take are parsed as the next, pipelined request. And the
 * /open/ answer (open_http.h) for each request, from a folder that does
 * not exist: always a 404, whatever the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/http.h"
#include "ingest/open_http.h"
#include "ingest/query.h"

/* Parses one request from the pieces (as TCP may split it), answers it,
 * and returns how many bytes it took; 0 when it is incomplete or an error
 * of the request ends the connection. */
static size_t one_request(const struct kp_http_ctx *ctx, const char *data, size_t split, size_t size)
{
	struct kp_http_request req;
	struct kp_http_response r;
	size_t base = 0;

	kp_http_request_init(&req);
	int done = kp_http_feed(&req, data, split);
	if (!done && size > split) {
		base = split;
		done = kp_http_feed(&req, data + split, size - split);
	}
	if (!done)
		return 0;
	if (kp_http_respond(ctx, &req, &r) != 0 || r.len < 12 || memcmp(r.head, "HTTP/1.1 ", 9) != 0)
		abort();
	kp_http_response_free(&r);
	if (req.status == 0) {
		static const struct kp_http_ctx open_ctx = { .open_dir = "/nonexistent/kp-fuzz-open" };

		if (kp_open_respond(&open_ctx, &req, 0, &r) != 0 || r.body != NULL ||
		    memcmp(r.head, "HTTP/1.1 404 ", 13) != 0)
			abort();
		kp_http_response_free(&r);
	}
	if (req.used > size - base || (req.status != 0 && req.keep_alive))
		abort(); /* took bytes it was not given, or kept a connection an error ends */
	return req.keep_alive ? base + req.used : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kp_metrics metrics;
	static struct kp_health health;
	static const struct kp_http_ctx ctx = { .m = &metrics, .health = &health };
	size_t split, used;

	struct kp_query q;
	char err[KP_QUERY_ERR_MAX];
	static char decoded[KP_HTTP_URL_MAX];

	if (size < 1)
		return 0;
	if (kp_query_parse((const char *)data, size, &q, err) != 0 && err[0] == '\0')
		abort();
	if (size <= sizeof decoded && kp_query_decode((const char *)data, size, decoded) > size)
		abort();
	kp_metrics_init(&metrics);
	split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	used = one_request(&ctx, (const char *)data, split, size);
	if (used > 0 && used < size)
		one_request(&ctx, (const char *)data + used, size - used, size - used);
	return 0;
}
