/*
 * Description: the ridership answer cache wired into /v1/ridership
 * (ingest/api.c), through kp_http_respond over a scratch LMDB: the same
 * question twice is a miss then a hit with the same bytes; a late tap
 * committed for that date makes the next answer a miss with the new tap
 * and a new ETag, while a question about another date stays a hit; an
 * answer with cameras is never kept. With the derived trees behind the log
 * (storage/derive.h), an authorised question derives every frame held
 * first, and an unauthorised one derives nothing.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../storage/helpers.h"
#include "ingest/answer_cache.h"
#include "ingest/http.h"
#include "storage/derive.h"
#include "storage/tokens.h"

TestSuite(api_cache, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* Wednesday 2024-05-15, 12:00 in Kyiv */
#define DAY_MS (24 * 3600 * 1000LL)
#define NOW 1715800000000LL
#define MAY15 "/v1/ridership?from=2024-05-15&to=2024-05-15&by=route,stop,hour"
#define MAY14 "/v1/ridership?from=2024-05-14&to=2024-05-14&by=route,stop,hour"
#define CAMERAS "/v1/ridership?from=2024-05-15&to=2024-05-15&by=route&with_cameras=1"

static struct kp_metrics m;
static struct kp_http_ctx ctx;
static char token[ST_TOKEN_TEXT_LEN + 1];
static struct tdev dev;

/* 5 taps on 2024-05-15 and 3 on 2024-05-14, a read token, and a cache. */
static void setup(void)
{
	uint8_t frame[KP_FRAME_MAX];
	size_t len;

	tdb_open();
	tdev_make(&dev, 0xa1);
	len = t_frame_simple(frame, &dev, 1, 5, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &dev, 2, 3, noon - DAY_MS, 100);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "dashboard", NOW, token, NULL), ST_OK);
	kp_metrics_init(&m);
	ctx = (struct kp_http_ctx){ .m = &m, .db = tdb.db, .cache = kp_answer_cache_new() };
	cr_assert_not_null(ctx.cache);
}

/* The same, committed by a writer that derives an hour later. */
static void setup_deferred(void)
{
	tdb.opts.derive_defer_ms = 3600 * 1000;
	setup();
}

static void teardown(void)
{
	kp_answer_cache_free(ctx.cache);
	tdb_teardown();
}

/* The whole answer to GET target with bearer, malloc'd. */
static char *ask_as(const char *target, const char *bearer)
{
	struct kp_http_request req;
	struct kp_http_response out;
	char text[1024];
	char *answer;

	snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", target, bearer);
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, text, strlen(text)), 1);
	cr_assert_eq(kp_http_respond(&ctx, &req, &out), 0);
	cr_assert_null(out.body);
	answer = strndup(out.head, out.len);
	cr_assert_not_null(answer);
	kp_http_response_free(&out);
	return answer;
}

/* The whole answer to GET target, malloc'd; its status must be 200. */
static char *ask(const char *target)
{
	char *answer = ask_as(target, token);

	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 ", 13), 0, "%s", answer);
	return answer;
}

/* The answer's total of accepted taps. */
static double accepted(const char *answer)
{
	cJSON *doc = cJSON_Parse(strstr(answer, "\r\n\r\n") + 4);
	cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "total"), "accepted");
	double v;

	cr_assert(cJSON_IsNumber(n), "%s", answer);
	v = n->valuedouble;
	cJSON_Delete(doc);
	return v;
}

static char *etag(const char *answer)
{
	const char *at = strstr(answer, "ETag: ");

	cr_assert_not_null(at);
	return strndup(at + 6, strcspn(at + 6, "\r"));
}

#define HITS() atomic_load(&m.api_cache_hits)
#define MISSES() atomic_load(&m.api_cache_misses)

Test(api_cache, a_late_tap_is_a_miss_for_its_date_only, .init = setup, .fini = teardown)
{
	uint8_t frame[KP_FRAME_MAX];
	char *first = ask(MAY15), *second, *other, *late, *tag1, *tag2;

	cr_expect_eq(MISSES(), 1);
	second = ask(MAY15);
	cr_expect_eq(HITS(), 1, "the same question again is a hit");
	cr_expect_str_eq(second, first, "a hit gives the same bytes");
	other = ask(MAY14);
	cr_expect_eq(accepted(other), 3);
	cr_expect_eq(MISSES(), 2);

	size_t len = t_frame_simple(frame, &dev, 3, 2, noon + 60000, 200);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	late = ask(MAY15);
	cr_expect_eq(MISSES(), 3, "the date's revision moved: built again");
	cr_expect_eq(accepted(first), 5);
	cr_expect_eq(accepted(late), 7, "the late taps are in the answer");
	tag1 = etag(first);
	tag2 = etag(late);
	cr_expect_str_neq(tag1, tag2);
	free(other);
	other = ask(MAY14);
	cr_expect_eq(HITS(), 2, "another date's answer is still kept");
	cr_expect_eq(accepted(other), 3);
	free(ask(MAY15));
	cr_expect_eq(HITS(), 3);
	free(first), free(second), free(other), free(late), free(tag1), free(tag2);
}

Test(api_cache, an_answer_with_cameras_is_never_kept, .init = setup, .fini = teardown)
{
	free(ask(CAMERAS));
	free(ask(CAMERAS));
	cr_expect_eq(HITS(), 0);
	cr_expect_eq(MISSES(), 0);
	cr_expect_eq(kp_answer_cache_entries(ctx.cache), 0);
}

/* How far the derived trees hold the log. */
static uint64_t derived_through(uint64_t *last)
{
	struct st_read r;
	uint64_t through;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_derive_behind(&r, &through, last), ST_OK);
	st_read_end(&r);
	return through;
}

Test(api_cache, an_authorised_question_derives_the_held_frames_first, .init = setup_deferred, .fini = teardown)
{
	uint8_t frame[KP_FRAME_MAX];
	uint64_t last;
	char *refused, *answer, *late;

	cr_assert_eq(derived_through(&last), 0, "the setup's frames are held");
	cr_assert_eq(last, 2);
	refused = ask_as(MAY15, "kpt_not-a-token");
	cr_expect_eq(strncmp(refused, "HTTP/1.1 401 ", 13), 0, "%s", refused);
	cr_expect_eq(derived_through(&last), 0, "a refused request made the daemon write");
	answer = ask(MAY15);
	cr_expect_eq(accepted(answer), 5, "the held frame's taps are in the answer");
	cr_expect_eq(derived_through(&last), 2);

	size_t len = t_frame_simple(frame, &dev, 3, 2, noon + 60000, 200);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_expect_eq(derived_through(&last), 2);
	late = ask(MAY15);
	cr_expect_eq(accepted(late), 7, "the late taps are derived and in the answer, not a cached 5");
	free(refused), free(answer), free(late);
}
