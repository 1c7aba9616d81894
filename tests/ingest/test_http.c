/* Description: HTTP requests are parsed with http-parser and routed:
 * health, readiness and metrics answer; unknown paths, other methods,
 * garbage and oversized heads get the right status; pipelined requests are
 * taken one at a time; each answer's Connection header says whether the
 * connection is kept; streamed pieces are framed as chunks; a head of any
 * length is built whole. No sockets needed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/http.h"

static struct kp_metrics metrics;
static struct kp_health health;
static const struct kp_http_ctx ctx = { .m = &metrics, .health = &health };

static int status_of(const char *request, char **response)
{
	struct kp_http_request req;
	struct kp_http_response r;
	kp_http_request_init(&req);
	kp_metrics_init(&metrics);
	int done = kp_http_feed(&req, request, strlen(request));
	cr_assert_eq(done, 1, "request not complete");
	cr_assert_eq(kp_http_respond(&ctx, &req, &r), 0);
	cr_assert_null(r.body);
	*response = r.head;
	int status = 0;
	sscanf(*response, "HTTP/1.1 %d", &status);
	return status;
}

Test(http, healthz_answers_ok)
{
	char *r;
	cr_expect_eq(status_of("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
	cr_expect(strstr(r, "\r\n\r\nok\n") != NULL);
	free(r);
}

Test(http, readyz_is_503_while_mqtt_is_not_connected)
{
	char *r;
	cr_expect_eq(status_of("GET /readyz HTTP/1.1\r\n\r\n", &r), 503);
	cr_expect(strstr(r, "MQTT") != NULL);
	free(r);
}

Test(http, readyz_is_200_while_subscribed_and_the_last_commit_succeeded)
{
	char *r;
	atomic_store(&health.subscribed, 1);
	atomic_store(&health.storage_ok, 1);
	cr_expect_eq(status_of("GET /readyz HTTP/1.1\r\n\r\n", &r), 200);
	free(r);
	atomic_store(&health.storage_ok, 0);
	cr_expect_eq(status_of("GET /readyz HTTP/1.1\r\n\r\n", &r), 503);
	cr_expect(strstr(r, "commit") != NULL);
	free(r);
}

Test(http, metrics_are_prometheus_text)
{
	char *r;
	cr_expect_eq(status_of("GET /metrics HTTP/1.1\r\n\r\n", &r), 200);
	cr_expect(strstr(r, "# TYPE komposter_frames_stored_total counter") != NULL);
	cr_expect(strstr(r, "komposter_commit_seconds_bucket{le=\"+Inf\"} 0") != NULL);
	cr_expect(strstr(r, "komposter_frames_rejected_total{reason=\"bad_signature\"} 0") != NULL);
	free(r);
}

Test(http, unknown_path_is_404_and_post_is_405)
{
	char *r;
	cr_expect_eq(status_of("GET /nope HTTP/1.1\r\n\r\n", &r), 404);
	free(r);
	cr_expect_eq(status_of("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 405);
	cr_expect(strstr(r, "\r\nAllow: GET, HEAD\r\n") != NULL, "%s", r);
	free(r);
}

Test(http, garbage_is_400)
{
	char *r;
	cr_expect_eq(status_of("\x01\x02 not http\r\n\r\n", &r), 400);
	free(r);
}

Test(http, a_request_arriving_in_pieces_is_complete_only_at_the_end)
{
	struct kp_http_request req;
	const char *parts[] = { "GET /hea", "lthz HTTP/1.1\r\nHo", "st: x\r\n", "\r\n" };
	kp_http_request_init(&req);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(kp_http_feed(&req, parts[i], strlen(parts[i])), 0);
	cr_assert_eq(kp_http_feed(&req, parts[3], strlen(parts[3])), 1);
	cr_expect_str_eq(req.url, "/healthz");
}

Test(http, an_endless_header_is_431)
{
	struct kp_http_request req;
	char line[1024];
	memset(line, 'a', sizeof(line) - 3);
	memcpy(line, "X-A: ", 5);
	line[sizeof(line) - 3] = '\r';
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, "GET / HTTP/1.1\r\n", 16), 0);
	int done = 0;
	for (int i = 0; i < 20 && !done; i++)
		done = kp_http_feed(&req, line, strlen(line));
	cr_assert_eq(done, 1);
	cr_expect_eq(req.status, 431);
}

/* Feeds text as the loop does after a complete request: returns the
 * answer (its head, a string) and how many bytes the request took. */
static char *answer(struct kp_http_request *req, const char *text, size_t len, size_t *used)
{
	struct kp_http_response r;

	kp_http_request_init(req);
	cr_assert_eq(kp_http_feed(req, text, len), 1, "request not complete: %.*s", (int)len, text);
	*used = req->used;
	cr_assert_eq(kp_http_respond(&ctx, req, &r), 0);
	cr_assert_null(r.body);
	return r.head;
}

Test(http, pipelined_requests_are_parsed_one_after_the_other)
{
	static const char text[] = "GET /healthz HTTP/1.1\r\n\r\n"
	                           "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	                           "GET /nope?a=1 HTTP/1.1\r\n\r\n";
	static const char *const urls[] = { "/healthz", "/x", "/nope" };
	static const int statuses[] = { 200, 405, 404 };
	struct kp_http_request req;
	size_t off = 0, used;

	kp_metrics_init(&metrics);
	for (int i = 0; i < 3; i++) {
		char *r = answer(&req, text + off, sizeof text - 1 - off, &used);
		int status = 0;
		sscanf(r, "HTTP/1.1 %d", &status);
		cr_expect_eq(status, statuses[i], "%s", r);
		cr_expect_str_eq(req.url, urls[i]);
		cr_expect(req.keep_alive);
		cr_expect(strstr(r, "\r\nConnection: keep-alive\r\n") != NULL, "%s", r);
		free(r);
		off += used;
	}
	cr_expect_eq(off, sizeof text - 1, "every byte belongs to one request");
}

static int keeps_alive(const char *request, int close_after)
{
	struct kp_http_request req;
	struct kp_http_response r;
	int keep;

	kp_metrics_init(&metrics);
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, request, strlen(request)), 1);
	req.close_after = close_after;
	cr_assert_eq(kp_http_respond(&ctx, &req, &r), 0);
	keep = req.keep_alive;
	cr_expect(strstr(r.head, keep ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n") != NULL,
	          "the header says otherwise: %s", r.head);
	cr_expect(strstr(r.head, keep ? "Connection: close" : "Connection: keep-alive") == NULL, "%s", r.head);
	kp_http_response_free(&r);
	return keep;
}

Test(http, http_1_1_is_kept_alive_unless_the_client_says_close)
{
	cr_expect(keeps_alive("GET /healthz HTTP/1.1\r\n\r\n", 0));
	cr_expect(keeps_alive("GET /nope HTTP/1.1\r\n\r\n", 0), "a 404 keeps the connection");
	cr_expect(!keeps_alive("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 0));
	cr_expect(!keeps_alive("GET /healthz HTTP/1.1\r\n\r\n", 1), "the connection's last request");
}

Test(http, http_1_0_is_kept_alive_only_when_asked)
{
	cr_expect(!keeps_alive("GET /healthz HTTP/1.0\r\n\r\n", 0));
	cr_expect(keeps_alive("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0));
}

Test(http, a_bad_request_or_a_long_url_closes_the_connection)
{
	char url[KP_HTTP_URL_MAX + 32] = "GET /";
	memset(url + 5, 'a', KP_HTTP_URL_MAX);
	strcpy(url + 5 + KP_HTTP_URL_MAX, " HTTP/1.1\r\n\r\n");

	cr_expect(!keeps_alive("\x01\x02 not http\r\n\r\n", 0), "400");
	cr_expect(!keeps_alive(url, 0), "414");
}

Test(http, a_head_over_the_limit_is_431_and_closes)
{
	static char head[KP_HTTP_HEAD_MAX + 64] = "GET / HTTP/1.1\r\nX-A: ";
	size_t at = strlen(head);

	memset(head + at, 'a', sizeof head - at - 1);
	cr_expect(!keeps_alive(head, 0));
}

Test(http, a_body_over_the_limit_is_413_and_closes)
{
	static char body[KP_HTTP_BODY_MAX + 2];
	struct kp_http_request req;
	struct kp_http_response r;
	const char *head = "POST /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n";

	memset(body, 'b', sizeof body - 1);
	kp_metrics_init(&metrics);
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, head, strlen(head)), 0);
	cr_assert_eq(kp_http_feed(&req, body, sizeof body - 1), 1);
	cr_assert_eq(req.status, 413);
	cr_assert_eq(kp_http_respond(&ctx, &req, &r), 0);
	cr_expect(!req.keep_alive);
	cr_expect(strstr(r.head, "\r\nConnection: close\r\n") != NULL, "%s", r.head);
	kp_http_response_free(&r);
}

Test(http, a_piece_is_framed_as_a_chunk)
{
	char buf[KP_HTTP_CHUNK_BEFORE + 0x10000 + KP_HTTP_CHUNK_AFTER];
	char *piece = buf + KP_HTTP_CHUNK_BEFORE, *start;
	size_t framed;

	memcpy(piece, "hello", 5);
	start = kp_http_chunk_frame(piece, 5, &framed);
	cr_expect_eq(framed, 10);
	cr_expect_eq(memcmp(start, "5\r\nhello\r\n", 10), 0, "%.*s", (int)framed, start);

	memset(piece, 'x', 0x10000);
	start = kp_http_chunk_frame(piece, 0x10000, &framed);
	cr_expect_eq(framed, 7 + 0x10000 + 2);
	cr_expect_eq(memcmp(start, "10000\r\nxxx", 10), 0);
	cr_expect_eq(memcmp(start + framed - 3, "x\r\n", 3), 0);
	cr_expect_str_eq(KP_HTTP_CHUNK_LAST, "0\r\n\r\n");
}

/* A head longer than kp_http_build's first buffer is printed whole. */
Test(http, a_long_head_is_built_whole)
{
	char extra[700], *out;
	size_t len;

	memset(extra, 'e', sizeof extra);
	memcpy(extra, "X-Long: ", 8);
	memcpy(extra + sizeof extra - 3, "\r\n", 3);
	out = kp_http_build(200, "application/json", NULL, extra, "{}", 2, 0, &len);
	cr_assert_not_null(out);
	cr_expect_eq(len, strlen(out));
	cr_expect(strstr(out, "\r\nCache-Control: no-store\r\nX-Long: eee") != NULL, "%s", out);
	cr_expect_eq(memcmp(out + len - 9, "eee\r\n\r\n{}", 9), 0, "%s", out);
	free(out);
}

/* Every status the daemon answers has its own reason phrase: one the switch
 * forgets reads "Internal Server Error" on a status line that is not 500. */
Test(http, every_status_answered_has_its_own_reason_phrase)
{
	static const int statuses[] = { 200, 304, 400, 401, 403, 404, 405, 413, 414, 429, 431, 503 };
	char *out;
	size_t len;

	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		cr_expect_str_neq(kp_http_reason(statuses[i]), "Internal Server Error", "%d", statuses[i]);
	cr_expect_str_eq(kp_http_reason(429), "Too Many Requests");
	out = kp_http_build(429, "application/json", NULL, "Retry-After: 6\r\n", "{}", 2, 0, &len);
	cr_assert_not_null(out);
	cr_expect_eq(strncmp(out, "HTTP/1.1 429 Too Many Requests\r\n", 32), 0, "%s", out);
	free(out);
}

/* A head of n bytes: a GET with one header X-Big padded to fit. */
static char *head_of(size_t n)
{
	static const char start[] = "GET /healthz HTTP/1.1\r\nX-Big: ", end[] = "\r\n\r\n";
	char *h = malloc(n + 1);

	cr_assert_not_null(h);
	cr_assert_gt(n, sizeof start + sizeof end);
	memcpy(h, start, sizeof start - 1);
	memset(h + sizeof start - 1, 'a', n - (sizeof start - 1) - (sizeof end - 1));
	memcpy(h + n - (sizeof end - 1), end, sizeof end);
	return h;
}

static int feed_status(const char *text, size_t len)
{
	struct kp_http_request req;

	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, text, len), 1, "not complete");
	return req.status;
}

/* The read that completes the head is the one that crosses the limit. */
Test(http, a_whole_request_over_the_head_limit_in_one_read_is_431)
{
	char *h = head_of(10000 + 40), *r;

	cr_expect_eq(feed_status(h, strlen(h)), 431);
	cr_expect_eq(status_of(h, &r), 431);
	cr_expect(strstr(r, "\r\nConnection: close\r\n") != NULL, "%s", r);
	free(r);
	free(h);
}

Test(http, a_head_of_exactly_the_limit_is_taken_and_one_byte_more_is_431)
{
	char *h = head_of(KP_HTTP_HEAD_MAX);

	cr_expect_eq(feed_status(h, KP_HTTP_HEAD_MAX), 0, "a head of exactly %d bytes", KP_HTTP_HEAD_MAX);
	free(h);
	h = head_of(KP_HTTP_HEAD_MAX + 1);
	cr_expect_eq(feed_status(h, KP_HTTP_HEAD_MAX + 1), 431);
	free(h);
}

/* README "Answers": the errors are {"error": ...} with application/json,
 * those of the request itself too, under /v1/ and anywhere else. */
static void expect_json_error(const char *request, size_t len, int status)
{
	struct kp_http_request req;
	struct kp_http_response r;
	int got = 0;

	kp_metrics_init(&metrics);
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, request, len), 1);
	cr_assert_eq(kp_http_respond(&ctx, &req, &r), 0);
	sscanf(r.head, "HTTP/1.1 %d", &got);
	cr_expect_eq(got, status, "%.200s", r.head);
	cr_expect(strstr(r.head, "\r\nContent-Type: application/json\r\n") != NULL, "%d: %.300s", status, r.head);
	cr_expect(strstr(r.head, "\r\n\r\n{\"error\":\"") != NULL, "%d: %.300s", status, r.head);
	kp_http_response_free(&r);
}

Test(http, errors_of_the_request_and_of_its_method_are_json)
{
	static const char post[] = "POST /v1/devices HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	                  del[] = "DELETE /healthz HTTP/1.1\r\n\r\n", garbage[] = "\x01\x02 not http\r\n\r\n";
	static char body[KP_HTTP_BODY_MAX + 128];
	char url[KP_HTTP_URL_MAX + 32] = "GET /v1/";
	char *h = head_of(10000);
	int n;

	expect_json_error(post, sizeof post - 1, 405);
	expect_json_error(del, sizeof del - 1, 405);
	expect_json_error(garbage, sizeof garbage - 1, 400);
	memset(url + 8, 'a', KP_HTTP_URL_MAX);
	strcpy(url + 8 + KP_HTTP_URL_MAX, " HTTP/1.1\r\n\r\n");
	expect_json_error(url, strlen(url), 414);
	expect_json_error(h, strlen(h), 431);
	n = snprintf(body, sizeof body, "POST /v1/devices HTTP/1.1\r\nContent-Length: %d\r\n\r\n", KP_HTTP_BODY_MAX + 1);
	memset(body + n, 'b', (size_t)KP_HTTP_BODY_MAX + 1);
	expect_json_error(body, (size_t)n + KP_HTTP_BODY_MAX + 1, 413);
	free(h);
}
