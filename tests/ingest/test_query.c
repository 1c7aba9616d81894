/*
 * Description: the API's strict query-string parser: pairs split on '&'
 * and '=', %XX decoded in values, an empty value kept; a pair without '=',
 * an empty or non-[A-Za-z0-9_] name, a key given twice, a bad or %00
 * escape, too many pairs and an over-long value are each refused with a
 * message that names the fault; the whole text is decoded as the values
 * are; and, through kp_http_respond without a database, a /v1/ request
 * with a token in its query (plain or %-escaped) is 400 before anything
 * is read.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/http.h"
#include "ingest/query.h"

static int parse(const char *text, struct kp_query *q, char err[KP_QUERY_ERR_MAX])
{
	return kp_query_parse(text, strlen(text), q, err);
}

Test(query, pairs_are_split_and_values_decoded)
{
	struct kp_query q;
	char err[KP_QUERY_ERR_MAX];

	cr_assert_eq(parse("from=2024-06-01&by=route%2Cstop&empty=", &q, err), 0, "%s", err);
	cr_assert_eq(q.n, 3);
	cr_expect_str_eq(kp_query_get(&q, "from"), "2024-06-01");
	cr_expect_str_eq(kp_query_get(&q, "by"), "route,stop");
	cr_expect_str_eq(kp_query_get(&q, "empty"), "");
	cr_expect_null(kp_query_get(&q, "to"));
	cr_assert_eq(kp_query_parse(NULL, 0, &q, err), 0);
	cr_expect_eq(q.n, 0);
}

Test(query, malformed_strings_are_refused_naming_the_fault)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{ "by", "no '='" },
		{ "a=1&&b=2", "no '='" },
		{ "a=1&", "no '='" },
		{ "=1", "empty" },
		{ "a-b=1", "a-b" },
		{ "by=route&by=stop", "twice" },
		{ "by=%2", "escape" },
		{ "by=%zz", "escape" },
		{ "by=%00", "escape" },
	};
	struct kp_query q;
	char err[KP_QUERY_ERR_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_expect_eq(parse(cases[i].text, &q, err), -1, "accepted: %s", cases[i].text);
		cr_expect_not_null(strstr(err, cases[i].needle), "%s: %s", cases[i].text, err);
	}
}

Test(query, bounds_are_enforced)
{
	struct kp_query q;
	char err[KP_QUERY_ERR_MAX], text[1024], *p = text;

	for (int i = 0; i <= KP_QUERY_MAX; i++)
		p += sprintf(p, "%sk%d=1", i ? "&" : "", i);
	cr_expect_eq(parse(text, &q, err), -1);
	cr_expect_not_null(strstr(err, "more than"), "%s", err);
	memset(text, 'v', sizeof text);
	memcpy(text, "k=", 2);
	text[2 + KP_QUERY_VALUE_MAX + 1] = '\0';
	cr_expect_eq(parse(text, &q, err), -1);
	cr_expect_not_null(strstr(err, "longer than"), "%s", err);
	text[2 + KP_QUERY_VALUE_MAX] = '\0';
	cr_expect_eq(parse(text, &q, err), 0, "%s", err);
}

Test(query, decoding_the_whole_text_decodes_escapes_and_keeps_the_rest)
{
	static const char text[] = "a=kpt%5Fx&b=%2&c=%00&d=%zz%41";
	char out[sizeof text];
	size_t n = kp_query_decode(text, sizeof text - 1, out);

	out[n] = '\0';
	cr_expect_str_eq(out, "a=kpt_x&b=%2&c=%00&d=%zzA");
	cr_expect_eq(kp_query_unescape("%5f", 3), '_');
	cr_expect_eq(kp_query_unescape("%5f", 2), -1, "an escape cut short");
}

Test(query, a_token_in_the_query_is_400_before_any_read)
{
	static struct kp_metrics metrics;
	static struct kp_health health;
	const struct kp_http_ctx ctx = { .m = &metrics, .health = &health, .db = NULL };
	static const char *const reqs[] = {
		"GET /v1/ridership?token=kpt_x HTTP/1.1\r\n\r\n",
		"GET /v1/devices?by=route&access_token=kpt_x HTTP/1.1\r\n\r\n",
		/* Spelled with escapes: the value decodes to a token all the same. */
		"GET /v1/ridership?from=kpt%5Fx HTTP/1.1\r\n\r\n",
		"GET /v1/ridership?from=%6bpt%5fx HTTP/1.1\r\n\r\n",
		"GET /v1/live?to=kp%74_x HTTP/1.1\r\n\r\n",
		/* A query the parser refuses, whose message would quote the token. */
		"GET /v1/devices?kpt%5Fx HTTP/1.1\r\n\r\n",
	};

	kp_metrics_init(&metrics);
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		struct kp_http_request req;
		struct kp_http_response r;
		char *out;

		kp_http_request_init(&req);
		cr_assert_eq(kp_http_feed(&req, reqs[i], strlen(reqs[i])), 1);
		cr_assert_eq(kp_http_respond(&ctx, &req, &r), 0);
		out = r.head;
		cr_assert_null(r.body);
		cr_expect_eq(strncmp(out, "HTTP/1.1 400 ", 13), 0, "%s: %s", reqs[i], out);
		cr_expect_not_null(strstr(out, "application/json"));
		cr_expect_not_null(strstr(out, "{\"error\":\"tokens go in the Authorization header\"}"), "%s", out);
		free(out);
	}
}
