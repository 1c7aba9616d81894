/*
 * Description: GET /v1/export/{fare_transactions,passenger_events}.csv
 * (ingest/export_api.h) called directly: the refusals (no, unknown or
 * revoked token 401; a read-only token 403; a token in the query, an
 * unknown parameter, a bad range 400; another file 404), and a 200 whose
 * chunked body, drained by calling read until 0, parses as CSV with the
 * TIDES header and the stored taps.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/csv_rows.h"
#include "../storage/helpers.h"
#include "ingest/export_api.h"
#include "storage/tokens.h"

TestSuite(export_api, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* Wednesday 2024-05-15, 12:00 in Kyiv */
#define NOW 1715800000000LL
#define FARE_PATH "/v1/export/fare_transactions.csv"
#define RANGE "?from=2024-05-15&to=2024-05-15"

struct tokens {
	char export_[ST_TOKEN_TEXT_LEN + 1], read[ST_TOKEN_TEXT_LEN + 1], revoked[ST_TOKEN_TEXT_LEN + 1];
};

/* A database with 5 taps on 2024-05-15 and a token of each kind. */
static void setup_db(struct tokens *tk)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_token rec;
	struct tdev d;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xa1);
	len = t_frame_simple(frame, &d, 1, 5, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_EXPORT, "analysts", NOW, tk->export_, NULL), ST_OK);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "dashboard", NOW, tk->read, NULL), ST_OK);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_EXPORT, "gone", NOW, tk->revoked, &rec), ST_OK);
	cr_assert_eq(st_token_revoke(tdb.db, rec.id, NOW + 1), ST_OK);
}

/* Answers GET target with token (NULL: no Authorization) into *out. */
static int ask(const char *target, const char *token, int head_only, struct kp_http_response *out)
{
	const struct kp_http_ctx ctx = { .db = tdb.db };
	struct kp_http_request req;
	char text[1024];
	int status = 0;

	if (token != NULL)
		snprintf(text, sizeof text, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
		         head_only ? "HEAD" : "GET", target, token);
	else
		snprintf(text, sizeof text, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", head_only ? "HEAD" : "GET", target);
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, text, strlen(text)), 1);
	cr_assert_eq(req.status, 0);
	cr_assert_eq(kp_export_respond(&ctx, &req, head_only, out), 0);
	cr_assert_not_null(out->head);
	cr_assert_eq(sscanf(out->head, "HTTP/1.1 %d", &status), 1);
	return status;
}

static int status_of(const char *target, const char *token)
{
	struct kp_http_response out;
	int status = ask(target, token, 0, &out);

	if (status != 200)
		cr_expect_null(out.body, "a refusal has no streamed body");
	kp_http_response_free(&out);
	return status;
}

/* Reads the body until 0, 100 bytes at a time; malloc'd. */
static char *drain(struct kp_http_body *b, size_t *len)
{
	char buf[100], *out = NULL;
	size_t n = 0;
	ssize_t got;

	while ((got = b->read(b, buf, sizeof buf)) > 0) {
		out = realloc(out, n + (size_t)got + 1);
		cr_assert_not_null(out);
		memcpy(out + n, buf, (size_t)got);
		n += (size_t)got;
	}
	cr_assert_eq(got, 0);
	cr_assert_not_null(out);
	out[n] = '\0';
	*len = n;
	return out;
}

Test(export_api, no_unknown_or_revoked_token_is_401)
{
	struct kp_http_response out;
	struct tokens tk;

	setup_db(&tk);
	cr_expect_eq(ask(FARE_PATH RANGE, NULL, 0, &out), 401);
	cr_expect_neq(strstr(out.head, "WWW-Authenticate: Bearer"), NULL);
	kp_http_response_free(&out);
	cr_expect_eq(status_of(FARE_PATH RANGE, "kpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401);
	cr_expect_eq(status_of(FARE_PATH RANGE, tk.revoked), 401);
}

Test(export_api, a_read_only_token_is_403)
{
	struct tokens tk;

	setup_db(&tk);
	cr_expect_eq(status_of(FARE_PATH RANGE, tk.read), 403);
	cr_expect_eq(status_of("/v1/export/passenger_events.csv" RANGE, tk.read), 403);
}

Test(export_api, bad_requests_are_400_and_other_files_404)
{
	struct kp_http_response out;
	struct tokens tk;
	char target[256];

	setup_db(&tk);
	snprintf(target, sizeof target, FARE_PATH "?from=2024-05-15&access_token=%s", tk.export_);
	cr_expect_eq(status_of(target, tk.export_), 400);
	snprintf(target, sizeof target, FARE_PATH "?t=%s", tk.export_);
	cr_expect_eq(status_of(target, tk.export_), 400, "a token's text anywhere in the query");
	snprintf(target, sizeof target, FARE_PATH "?from=kpt%%5F%s", tk.export_ + 4);
	cr_expect_eq(ask(target, tk.export_, 0, &out), 400, "a token spelled with an escape");
	cr_expect_not_null(strstr(out.head, "tokens go in the Authorization header"), "%s", out.head);
	kp_http_response_free(&out);
	cr_expect_eq(status_of(FARE_PATH RANGE "&by=route", tk.export_), 400);
	cr_expect_eq(status_of(FARE_PATH "?from=2024-05-16&to=2024-05-15", tk.export_), 400);
	cr_expect_eq(status_of(FARE_PATH "?from=2023-01-01&to=2024-05-15", tk.export_), 400);
	cr_expect_eq(status_of(FARE_PATH "?from=yesterday", tk.export_), 400);
	cr_expect_eq(status_of("/v1/export/stop_visits.csv" RANGE, tk.export_), 404);
	cr_expect_eq(status_of("/v1/export/" RANGE, tk.export_), 404);
}

Test(export_api, an_export_token_gets_the_rows_as_tides_csv)
{
	struct kp_http_response out;
	struct csv_rows rows;
	struct tokens tk;
	size_t len;
	char *csv;

	setup_db(&tk);
	cr_assert_eq(ask(FARE_PATH RANGE, tk.export_, 0, &out), 200);
	cr_expect_neq(strstr(out.head, "Transfer-Encoding: chunked\r\n"), NULL, "%s", out.head);
	cr_expect_neq(strstr(out.head, "Content-Type: text/csv"), NULL, "%s", out.head);
	cr_expect_neq(strstr(out.head, "Cache-Control: no-store\r\n"), NULL, "%s", out.head);
	cr_assert_not_null(out.body);
	csv = drain(out.body, &len);
	kp_http_response_free(&out);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 5);
	cr_expect_eq(rows.nfields[0], 24);
	cr_expect_str_eq(rows.fields[0][0], "transaction_id");
	cr_expect_str_eq(rows.fields[0][22], "token_id");
	cr_expect_str_eq(rows.fields[1][0], "00000000000000a1-1-0");
	csv_rows_free(&rows);
	free(csv);

	cr_assert_eq(ask("/v1/export/passenger_events.csv" RANGE, tk.export_, 0, &out), 200);
	csv = drain(out.body, &len);
	kp_http_response_free(&out);
	cr_expect_eq(strncmp(csv, "passenger_event_id,service_date,", 32), 0, "%s", csv);
	free(csv);
}

Test(export_api, head_has_the_head_and_no_body)
{
	struct kp_http_response out;
	struct tokens tk;

	setup_db(&tk);
	cr_assert_eq(ask(FARE_PATH RANGE, tk.export_, 1, &out), 200);
	cr_expect_null(out.body);
	cr_expect_neq(strstr(out.head, "filename=\"fare_transactions.csv\""), NULL, "%s", out.head);
	kp_http_response_free(&out);
}
