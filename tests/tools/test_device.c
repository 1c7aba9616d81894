/*
 * Description: `komposter device add|list|show|revoke` round trip on a
 * scratch database: enrolment from a keygen .pub file, idempotent re-add,
 * a different key under a taken key_id refused, the JSON of list and show
 * parsed back with cJSON, and key and device revocation visible in both.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"

#define DEV_ID "a1"
#define DEV_HEX "00000000000000a1"
#define OTHER_PK "1111111111111111111111111111111111111111111111111111111111111111"

static char dir[64], db[128], key[128], pub[128], pk_hex[65];

static void setup(void)
{
	struct tools_run r;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(key, sizeof(key), "%s/dev.key", dir);
	snprintf(pub, sizeof(pub), "%s/dev.key.pub", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "keygen: %s", r.err);
	cr_assert_eq(r.out_len, 65);
	memcpy(pk_hex, r.out, 64);
	pk_hex[64] = '\0';
	tools_run_free(&r);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(device, .init = setup, .fini = teardown);

static void add_first_key(void)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", DEV_ID, "--key-id", "1",
	                       "--public-key-file", pub, "--kind", "validator", "--operator",
	                       "ternopil-el", "--vehicle", "42", NULL), 0);
	cr_assert_eq(r.status, 0, "device add: %s", r.err);
	tools_run_free(&r);
}

/* Runs komposter with the arguments and parses its stdout as JSON. */
static cJSON *run_json(const char *a1, const char *a2, const char *a3)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, a1, a2, "--db", db, "--json", a3, NULL), 0);
	cr_assert_eq(r.status, 0, "%s %s: %s", a1, a2, r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(f), "field %s is not a string", name);
	return f->valuestring;
}

static double num_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "field %s is not a number", name);
	return f->valuedouble;
}

static const cJSON *key_with_id(const cJSON *dev, int key_id)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(dev, "keys"), *k;

	cr_assert(cJSON_IsArray(keys));
	cJSON_ArrayForEach(k, keys)
		if ((int)num_field(k, "key_id") == key_id)
			return k;
	cr_assert_fail("no key %d", key_id);
	return NULL;
}

Test(device, add_then_list_and_show_in_json)
{
	cJSON *list, *show;
	const cJSON *dev, *k;

	add_first_key();
	list = run_json("device", "list", NULL);
	cr_assert(cJSON_IsArray(list));
	cr_assert_eq(cJSON_GetArraySize(list), 1);
	dev = cJSON_GetArrayItem(list, 0);
	cr_assert_str_eq(str_field(dev, "id"), DEV_HEX);
	cr_assert_str_eq(str_field(dev, "kind"), "validator");
	cr_assert_str_eq(str_field(dev, "state"), "active");
	cr_assert_str_eq(str_field(dev, "operator"), "ternopil-el");
	cr_assert_eq(num_field(dev, "vehicle_id"), 42);
	cJSON_Delete(list);

	show = run_json("device", "show", DEV_ID);
	cr_assert_str_eq(str_field(show, "id"), DEV_HEX);
	k = key_with_id(show, 1);
	cr_assert_str_eq(str_field(k, "public_key"), pk_hex);
	cr_assert_str_eq(str_field(k, "state"), "active");
	cJSON_Delete(show);
}

Test(device, re_adding_the_same_key_is_success_and_says_so)
{
	struct tools_run r;

	add_first_key();
	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", DEV_HEX, "--key-id", "1",
	                       "--public-key", pk_hex, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, "already enrolled"), "stderr: %s", r.err);
	tools_run_free(&r);
}

Test(device, a_different_key_under_a_taken_key_id_is_refused)
{
	struct tools_run r;
	cJSON *show;

	add_first_key();
	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", DEV_ID, "--key-id", "1",
	                       "--public-key", OTHER_PK, NULL), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(strncmp(r.err, "komposter: device add: ", 23), 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.err), 1);
	tools_run_free(&r);

	show = run_json("device", "show", DEV_ID);
	cr_assert_str_eq(str_field(key_with_id(show, 1), "public_key"), pk_hex);
	cJSON_Delete(show);
}

Test(device, revoking_a_key_then_the_device_shows_in_list_and_show)
{
	struct tools_run r;
	cJSON *doc;

	add_first_key();
	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", DEV_ID, "--key-id", "2",
	                       "--public-key", OTHER_PK, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "device", "revoke", DEV_ID, "--key-id", "1", "--db", db, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tools_run_free(&r);
	doc = run_json("device", "show", DEV_ID);
	cr_assert_str_eq(str_field(doc, "state"), "active");
	cr_assert_str_eq(str_field(key_with_id(doc, 1), "state"), "revoked");
	cr_assert_str_eq(str_field(key_with_id(doc, 2), "state"), "active");
	cr_assert_str_eq(str_field(key_with_id(doc, 2), "public_key"), OTHER_PK);
	cJSON_Delete(doc);

	cr_assert_eq(tools_run(&r, "device", "revoke", DEV_ID, "--db", db, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tools_run_free(&r);
	doc = run_json("device", "list", NULL);
	cr_assert_str_eq(str_field(cJSON_GetArrayItem(doc, 0), "state"), "revoked");
	cJSON_Delete(doc);

	cr_assert_eq(tools_run(&r, "device", "revoke", DEV_ID, "--db", db, NULL), 0);
	cr_assert_eq(r.status, 0, "revoking twice: %s", r.err);
	cr_assert_not_null(strstr(r.err, "already"), "stderr: %s", r.err);
	tools_run_free(&r);
}

Test(device, text_list_names_the_device_and_unknown_ids_fail)
{
	struct tools_run r;

	add_first_key();
	cr_assert_eq(tools_run(&r, "--db", db, "device", "list", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, DEV_HEX), "stdout: %s", r.out);
	cr_assert_eq(tools_count_lines(r.out), 2, "header and one device: %s", r.out);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "device", "show", "b2", "--db", db, NULL), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "device", "revoke", "b2", "--db", db, NULL), 0);
	cr_assert_eq(r.status, 1);
	tools_run_free(&r);
}

Test(device, a_database_path_that_is_a_file_is_refused_in_one_line_that_says_why)
{
	struct tools_run r;
	FILE *f = fopen(db, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", db, "--id", DEV_ID, "--key-id", "1",
	                       "--public-key-file", pub, NULL), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, ": not a directory"), "stderr: %s", r.err);
	tools_run_free(&r);
}

Test(device, a_config_with_a_time_zone_the_tz_database_does_not_know_is_refused_in_one_line)
{
	char conf[128];
	struct tools_run r;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/bad-zone.ini", dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "[storage]\npath = %s\ntimezone = Europe\n", db), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "-c", conf, "device", "add", "--id", DEV_ID, "--key-id", "1",
	                       "--public-key-file", pub, NULL), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, "[storage] timezone: time zone \"Europe\""), "stderr: %s", r.err);
	tools_run_free(&r);
}
