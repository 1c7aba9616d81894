/* libFuzzer target: HTTP request parsing (http-parser + our limits) and the
 * response built for whatever it parsed, with the input split in two at a
 * point chosen by the first byte, as TCP may split it; and the API's query
 * string parser on the whole input. (Without a database a /v1/ request is
 * answered 503 after its URL and query were parsed.) And the /open/ answer
 * (open_http.h) for the same request, from a folder that does not exist:
 * always a 404, whatever the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/http.h"
#include "ingest/open_http.h"
#include "ingest/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kp_metrics metrics;
	static struct kp_health health;
	static const struct kp_http_ctx ctx = { .m = &metrics, .health = &health };
	struct kp_http_request req;
	size_t split, len;

	struct kp_query q;
	char err[KP_QUERY_ERR_MAX];

	if (size < 1)
		return 0;
	if (kp_query_parse((const char *)data, size, &q, err) != 0 && err[0] == '\0')
		abort();
	kp_metrics_init(&metrics);
	split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	kp_http_request_init(&req);
	int done = kp_http_feed(&req, (const char *)data, split);
	if (!done && size > split)
		done = kp_http_feed(&req, (const char *)data + split, size - split);
	if (done) {
		char *out = kp_http_respond(&ctx, &req, &len);
		if (!out || len < 12 || memcmp(out, "HTTP/1.1 ", 9) != 0)
			abort();
		free(out);
	}
	if (done && req.status == 0) {
		static const struct kp_http_ctx open_ctx = { .m = &metrics, .open_dir = "/nonexistent/kp-fuzz-open" };
		struct kp_http_response r;

		if (kp_open_respond(&open_ctx, &req, 0, &r) != 0 || r.body != NULL ||
		    memcmp(r.head, "HTTP/1.1 404 ", 13) != 0)
			abort();
		kp_http_response_free(&r);
	}
	return 0;
}
