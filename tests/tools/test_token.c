/*
 * Description: `komposter token add|list|revoke` on a scratch database:
 * add prints the token and nothing else, and the database finds that token
 * (st_token_lookup) with the scope and name given; list, as a table and as
 * JSON, shows ids, names, scopes and times and never the token; revoke by
 * id marks it revoked (JSON revoked_at set, st_token_allows false); an
 * unknown id fails with exit 1 and one line; bad command lines exit 2;
 * every subcommand has --help.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/tokens.h"

static char dir[64], db[128];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(token, .init = setup, .fini = teardown);

/* Runs `token add` and returns the token it printed (one line, no more). */
static void add_token(const char *scope, const char *name, char text[ST_TOKEN_TEXT_LEN + 1])
{
	struct tools_run r;

	if (name != NULL)
		cr_assert_eq(tools_run(&r, "--db", db, "token", "add", "--scope", scope, "--name", name, NULL), 0);
	else
		cr_assert_eq(tools_run(&r, "--db", db, "token", "add", "--scope", scope, NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert_eq(r.err_len, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out_len, ST_TOKEN_TEXT_LEN + 1, "stdout: %s", r.out);
	cr_assert_eq(r.out[ST_TOKEN_TEXT_LEN], '\n');
	memcpy(text, r.out, ST_TOKEN_TEXT_LEN);
	text[ST_TOKEN_TEXT_LEN] = '\0';
	tools_run_free(&r);
}

static int lookup(const char *text, struct st_token *t)
{
	struct st_options o;
	struct st_db *d;
	struct st_read r;
	int rc;

	st_options_default(&o);
	o.path = db;
	o.read_only = 1;
	cr_assert_eq(st_db_open(&d, &o), ST_OK);
	cr_assert_eq(st_read_begin(d, &r), ST_OK);
	rc = st_token_lookup(&r, text, strlen(text), t);
	st_read_end(&r);
	st_db_close(d);
	return rc;
}

static cJSON *list_json(void)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "--db", db, "token", "list", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	doc = cJSON_Parse(r.out);
	cr_assert(cJSON_IsArray(doc), "not an array: %s", r.out);
	tools_run_free(&r);
	return doc;
}

Test(token, add_prints_only_the_token_and_the_database_knows_it)
{
	char text[ST_TOKEN_TEXT_LEN + 1];
	struct st_token t;

	add_token("export", "nightly export", text);
	cr_assert_eq(strncmp(text, "kpt_", 4), 0, "%s", text);
	cr_assert_eq(lookup(text, &t), ST_OK);
	cr_assert_eq(t.scope, ST_TOKEN_EXPORT);
	cr_assert_str_eq(t.name, "nightly export");
	cr_assert(st_token_allows(&t, ST_TOKEN_READ));
}

Test(token, list_shows_ids_names_and_scopes_never_the_token)
{
	char a[ST_TOKEN_TEXT_LEN + 1], b[ST_TOKEN_TEXT_LEN + 1];
	struct tools_run r;
	struct st_token ta;
	cJSON *doc, *o;

	add_token("read", "analyst", a);
	add_token("export", NULL, b);
	cr_assert_eq(lookup(a, &ta), ST_OK);
	cr_assert_eq(tools_run(&r, "--db", db, "token", "list", NULL), 0);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(tools_count_lines(r.out), 3, "%s", r.out);
	cr_assert_not_null(strstr(r.out, ta.id));
	cr_assert_not_null(strstr(r.out, "analyst"));
	cr_assert_null(strstr(r.out, a + 4));
	cr_assert_null(strstr(r.out, b + 4));
	tools_run_free(&r);
	doc = list_json();
	cr_assert_eq(cJSON_GetArraySize(doc), 2);
	cJSON_ArrayForEach(o, doc) {
		char *s = cJSON_PrintUnformatted(o);

		cr_assert_null(strstr(s, a + 4));
		cr_assert_null(strstr(s, b + 4));
		cJSON_free(s);
		cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "id")));
		cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "scope")));
		cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "created_at")));
		cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "revoked_at")));
	}
	cJSON_Delete(doc);
}

Test(token, revoke_by_id_marks_the_token_revoked)
{
	char a[ST_TOKEN_TEXT_LEN + 1];
	struct tools_run r;
	struct st_token t;
	cJSON *doc;

	add_token("read", "gone", a);
	cr_assert_eq(lookup(a, &t), ST_OK);
	cr_assert_eq(tools_run(&r, "--db", db, "token", "revoke", t.id, NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	tools_run_free(&r);
	cr_assert_eq(lookup(a, &t), ST_OK);
	cr_assert_neq(t.revoked_at, 0);
	cr_assert_not(st_token_allows(&t, ST_TOKEN_READ));
	doc = list_json();
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(doc, 0), "revoked_at")));
	cJSON_Delete(doc);
}

Test(token, unknown_id_fails_with_one_line)
{
	char a[ST_TOKEN_TEXT_LEN + 1];
	struct tools_run r;
	struct st_token t;

	add_token("read", NULL, a);
	cr_assert_eq(lookup(a, &t), ST_OK);
	t.id[0] = t.id[0] == '0' ? '1' : '0';
	cr_assert_eq(tools_run(&r, "--db", db, "token", "revoke", t.id, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_eq(tools_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "not found"), "%s", r.err);
	cr_expect_eq(r.out_len, 0);
	tools_run_free(&r);
}

Test(token, bad_command_lines_exit_2)
{
	static const char *const cases[][6] = {
		{ "token", "add", NULL },
		{ "token", "add", "--scope", "admin", NULL },
		{ "token", "add", "--scope", "read", "extra", NULL },
		{ "token", "revoke", NULL },
		{ "token", "revoke", "XYZ", NULL },
		{ "token", "frobnicate", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tools_run r;

		cr_assert_eq(tools_run(&r, "--db", db, cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4],
		                       NULL),
		             0);
		cr_expect_eq(r.status, 2, "case %zu: exit %d, %s", i, r.status, r.err);
		cr_expect_eq(r.out_len, 0, "case %zu: %s", i, r.out);
		tools_run_free(&r);
	}
}

Test(token, every_subcommand_has_help)
{
	static const char *const subs[] = { "add", "list", "revoke" };

	for (size_t i = 0; i < 3; i++) {
		struct tools_run r;

		cr_assert_eq(tools_run(&r, "token", subs[i], "--help", NULL), 0);
		cr_expect_eq(r.status, 0);
		cr_expect_not_null(strstr(r.out, "Usage: komposter token"), "%s", r.out);
		tools_run_free(&r);
	}
}
