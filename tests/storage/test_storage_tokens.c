/*
 * Description: operator tokens: a created token has the documented form
 * (kpt_ and 43 base64url characters), is found by its text with its id,
 * name and scope, and is stored only as its hash (the secret's text is in
 * no byte of the database file); an unknown, altered or malformed text is
 * not found; revoking by id keeps the record with its revoked_at and makes
 * it allow nothing; export covers read, read does not cover export; bad
 * scopes and names are refused and store nothing.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/tokens.h"

TestSuite(tokens, .init = tdb_setup, .fini = tdb_teardown);

#define NOW 1700000000000

static int lookup(const char *text, struct st_token *t)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_token_lookup(&r, text, strlen(text), t);
	st_read_end(&r);
	return rc;
}

static int count_one(void *ctx, const struct st_token *t)
{
	(void)t;
	++*(int *)ctx;
	return 0;
}

static int token_count(void)
{
	struct st_read r;
	int n = 0;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_token_foreach(&r, count_one, &n), ST_OK);
	st_read_end(&r);
	return n;
}

Test(tokens, created_token_has_the_documented_form_and_is_found_by_its_text)
{
	char text[ST_TOKEN_TEXT_LEN + 1];
	struct st_token made, got;

	tdb_open();
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "analyst", NOW, text, &made), ST_OK);
	cr_assert_eq(strlen(text), 47);
	cr_assert_eq(strncmp(text, "kpt_", 4), 0);
	for (size_t i = 4; i < strlen(text); i++)
		cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", text[i]) != NULL,
		          "not base64url: %c", text[i]);
	cr_assert_eq(strlen(made.id), ST_TOKEN_ID_LEN);
	cr_assert_eq(lookup(text, &got), ST_OK);
	cr_assert_str_eq(got.id, made.id);
	cr_assert_str_eq(got.name, "analyst");
	cr_assert_eq(got.scope, ST_TOKEN_READ);
	cr_assert_eq(got.created_at, NOW);
	cr_assert_eq(got.revoked_at, 0);
	cr_assert(st_token_allows(&got, ST_TOKEN_READ));
	cr_assert_not(st_token_allows(&got, ST_TOKEN_EXPORT));
}

Test(tokens, the_secret_is_stored_nowhere_in_the_database_file)
{
	char text[ST_TOKEN_TEXT_LEN + 1], path[128];
	struct st_token made;
	FILE *f;
	char *buf;
	long size;

	tdb_open();
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_EXPORT, NULL, NOW, text, &made), ST_OK);
	tdb_close();
	snprintf(path, sizeof path, "%s/data.mdb", tdb.dir);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	cr_assert_gt(size, 0);
	rewind(f);
	buf = malloc((size_t)size);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	/* Neither the text nor its 43 secret characters. */
	cr_assert_null(memmem(buf, (size_t)size, text, strlen(text)));
	cr_assert_null(memmem(buf, (size_t)size, text + 4, strlen(text) - 4));
	free(buf);
}

Test(tokens, unknown_altered_and_malformed_texts_are_not_found)
{
	char text[ST_TOKEN_TEXT_LEN + 1];
	struct st_token got;

	tdb_open();
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "x", NOW, text, NULL), ST_OK);
	text[10] = text[10] == 'A' ? 'B' : 'A';
	cr_assert_eq(lookup(text, &got), ST_ENOTFOUND);
	cr_assert_eq(lookup("", &got), ST_ENOTFOUND);
	cr_assert_eq(lookup("kpt_short", &got), ST_ENOTFOUND);
	cr_assert_eq(lookup("xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &got), ST_ENOTFOUND);
}

Test(tokens, revoked_token_is_kept_with_its_time_and_allows_nothing)
{
	char text[ST_TOKEN_TEXT_LEN + 1];
	struct st_token made, got;

	tdb_open();
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_EXPORT, "ops", NOW, text, &made), ST_OK);
	cr_assert_eq(st_token_revoke(tdb.db, made.id, NOW + 5), ST_OK);
	cr_assert_eq(lookup(text, &got), ST_OK);
	cr_assert_eq(got.revoked_at, NOW + 5);
	cr_assert_not(st_token_allows(&got, ST_TOKEN_READ));
	/* Again: still revoked at the first time. */
	cr_assert_eq(st_token_revoke(tdb.db, made.id, NOW + 9), ST_OK);
	cr_assert_eq(lookup(text, &got), ST_OK);
	cr_assert_eq(got.revoked_at, NOW + 5);
	made.id[0] = made.id[0] == '0' ? '1' : '0'; /* an id nobody has */
	cr_assert_eq(st_token_revoke(tdb.db, made.id, NOW), ST_ENOTFOUND);
	cr_assert_eq(token_count(), 1);
}

Test(tokens, export_covers_read_and_tokens_are_distinct)
{
	char a[ST_TOKEN_TEXT_LEN + 1], b[ST_TOKEN_TEXT_LEN + 1];
	struct st_token ta, tb;

	tdb_open();
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_EXPORT, "a", NOW, a, &ta), ST_OK);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "b", NOW, b, &tb), ST_OK);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(ta.id, tb.id);
	cr_assert(st_token_allows(&ta, ST_TOKEN_READ));
	cr_assert(st_token_allows(&ta, ST_TOKEN_EXPORT));
	cr_assert_eq(token_count(), 2);
}

Test(tokens, bad_scope_and_name_are_refused_and_store_nothing)
{
	char text[ST_TOKEN_TEXT_LEN + 1], longname[ST_TOKEN_NAME_MAX + 2];

	tdb_open();
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert_eq(st_token_create(tdb.db, 0, "x", NOW, text, NULL), ST_EINVAL);
	cr_assert_eq(st_token_create(tdb.db, 3, "x", NOW, text, NULL), ST_EINVAL);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, longname, NOW, text, NULL), ST_EINVAL);
	cr_assert_eq(st_token_create(tdb.db, ST_TOKEN_READ, "tab\there", NOW, text, NULL), ST_EINVAL);
	cr_assert_eq(token_count(), 0);
	cr_assert_eq(st_token_scope_parse("read"), ST_TOKEN_READ);
	cr_assert_eq(st_token_scope_parse("export"), ST_TOKEN_EXPORT);
	cr_assert_eq(st_token_scope_parse("admin"), -1);
	cr_assert_str_eq(st_token_scope_name(ST_TOKEN_EXPORT), "export");
}
