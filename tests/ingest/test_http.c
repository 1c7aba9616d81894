/* Description: HTTP requests are parsed with http-parser and routed:
 * health, readiness and metrics answer; unknown paths, other methods,
 * garbage and oversized heads get the right status. No sockets needed. */
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
	size_t len;
	kp_http_request_init(&req);
	kp_metrics_init(&metrics);
	int done = kp_http_feed(&req, request, strlen(request));
	cr_assert_eq(done, 1, "request not complete");
	*response = kp_http_respond(&ctx, &req, &len);
	cr_assert_not_null(*response);
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
