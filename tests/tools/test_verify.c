/*
 * Description: `komposter verify` holds a package to the whole format, and
 * to what the signature covers. Each test takes the package `komposter
 * export` made, changes it the way a forger or a faulty mirror could, and
 * seals it again where the forger could (SHA256SUMS and minisign.pub are
 * not signed; hashes, manifest and signature are redone with the server
 * key where the test plays a server that wrote a bad package): a missing
 * table or field is named, not skipped with the checks that need it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "fill.h"
#include "firmware-proto/keyfile.h"
#include "harness.h"
#include "opendata/minisign.h"

#define DEVICE_ID 0x5eed5eed12345678ULL
#define DATE "2024-06-15"
#define K 10

static char dir[64], db[128], conf[128], key[128], pkg[128], bad[128], pub_hex[80];

/* A cell of taps: route, stop, UTC day and hour, how many. */
struct cell_spec {
	uint32_t route, stop;
	int mday, hour, n;
};

/* Route 10: A 110/7 30, B 111/8 15, C 112/9 3 (suppressed); route 20:
 * D 120/7 26, F 121 at 01:00 after midnight 11 (hour 1, GTFS 25:00:00). */
static const struct cell_spec day[] = {
	{ 10, 110, 15, 7, 30 }, { 10, 111, 15, 8, 15 }, { 10, 112, 15, 9, 3 },
	{ 20, 120, 15, 7, 26 }, { 20, 121, 16, 1, 11 },
};

static void fill_day(void)
{
	struct kp_tap taps[128];
	size_t n = 0;

	memset(taps, 0, sizeof(taps));
	for (size_t s = 0; s < sizeof(day) / sizeof(day[0]); s++) {
		for (int i = 0; i < day[s].n; i++, n++) {
			cr_assert_lt(n, sizeof(taps) / sizeof(taps[0]));
			taps[n].tapped_at = fill_utc_ms(2024, 6, day[s].mday, day[s].hour, i);
			memset(taps[n].card_token, 0xa7, KP_CARD_TOKEN_SIZE);
			taps[n].card_token[0] = (uint8_t)n;
			taps[n].route_id = day[s].route;
			taps[n].stop_id = day[s].stop;
			taps[n].vehicle_id = 77;
			taps[n].fare_product = 1;
			taps[n].result = KP_TAP_ACCEPTED;
			taps[n].amount = 800;
		}
	}
	cr_assert_eq(fill_taps(db, DEVICE_ID, taps, n, 16), 0);
}

static void setup(void)
{
	struct tools_run r;
	FILE *f;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(pkg, sizeof(pkg), "%s/pkg", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[open_data]\nk = %d\n", K);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
	fill_day();
	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", pkg, "--key", key, NULL), 0);
	cr_assert_eq(r.status, 0, "export failed: %s", r.err);
	tools_run_free(&r);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(verify, .init = setup, .fini = teardown);

/* ------------------------------------------------------------- helpers */

static void remove_file(const char *folder, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", folder, name);
	cr_assert_eq(unlink(path), 0, "%s", path);
}

static void sha256_file(const char *folder, const char *name, char hex[65], size_t *bytes)
{
	size_t len;
	char *text = tools_slurp_file(folder, name, &len);
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const uint8_t *)text, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	free(text);
	if (bytes != NULL)
		*bytes = len;
}

/* Copies the exported package to `to`. */
static void copy_package(const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp -r '%s'/. '%s'", to, pkg, to);
	cr_assert_eq(system(cmd), 0);
}

static cJSON *read_manifest(const char *folder)
{
	char *text = tools_slurp_file(folder, "datapackage.json", NULL);
	cJSON *doc = cJSON_Parse(text);

	cr_assert_not_null(doc);
	free(text);
	return doc;
}

static void write_manifest(const char *folder, const cJSON *doc)
{
	char *text = cJSON_Print(doc);

	cr_assert_not_null(text);
	tools_write_file(folder, "datapackage.json", text, strlen(text));
	cJSON_free(text);
}

/* SHA256SUMS again from its own list of names: each one that is still
 * there with its hash now, the others left out. What anyone can redo:
 * the file is not signed. */
static void resum(const char *folder)
{
	char *sums = tools_slurp_file(folder, "SHA256SUMS", NULL), *save = NULL, out[8192];
	size_t at = 0;

	for (char *line = strtok_r(sums, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char path[256], hex[65];

		snprintf(path, sizeof(path), "%s/%s", folder, line + 66);
		if (access(path, F_OK) != 0)
			continue;
		sha256_file(folder, line + 66, hex, NULL);
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s  %s\n", hex, line + 66);
		cr_assert_lt(at, sizeof(out));
	}
	free(sums);
	tools_write_file(folder, "SHA256SUMS", out, at);
}

/* Seals a package again as the server would: every resource's hash and
 * bytes in the manifest, SHA256SUMS, the signature by the server key. */
static void reseal(const char *folder)
{
	char kerr[KP_KEYFILE_ERR_SIZE], sig[OD_MINISIGN_SIG_TEXT_SIZE], *manifest;
	uint8_t sk[KP_SECRET_KEY_SIZE];
	cJSON *doc = read_manifest(folder), *res;
	size_t len;

	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(doc, "resources")) {
		char hex[65], hash[80];
		size_t bytes;

		sha256_file(folder, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path")), hex, &bytes);
		snprintf(hash, sizeof(hash), "sha256:%s", hex);
		cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(res, "hash", cJSON_CreateString(hash)));
		cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(res, "bytes", cJSON_CreateNumber((double)bytes)));
	}
	write_manifest(folder, doc);
	cJSON_Delete(doc);
	resum(folder);
	manifest = tools_slurp_file(folder, "datapackage.json", &len);
	cr_assert_eq(kp_keyfile_read_secret(key, sk, kerr), 0, "%s", kerr);
	cr_assert_eq(od_minisign_sign(sk, (const uint8_t *)manifest, len,
	                              "timestamp:1718409600\tfile:datapackage.json\tprehashed", sig),
	             0);
	sodium_memzero(sk, sizeof(sk));
	free(manifest);
	tools_write_file(folder, "datapackage.json.minisig", sig, strlen(sig));
}

/* Replaces the first from by to in folder/name. */
static void replace_in(const char *folder, const char *name, const char *from, const char *to)
{
	char *text = tools_slurp_file(folder, name, NULL), *at = strstr(text, from), *out;

	cr_assert_not_null(at, "%s lacks [%s]:\n%s", name, from, text);
	cr_assert_gt(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)), 0);
	tools_write_file(folder, name, out, strlen(out));
	free(out);
	free(text);
}

/* The stem of a resource's path: its table. */
static int resource_of(const cJSON *res, const char *table)
{
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path"));

	return strncmp(path, table, strlen(table)) == 0 && path[strlen(table)] == '.';
}

/* Takes a table out of the package: its files and its resources. */
static void drop_table(const char *folder, const char *table)
{
	cJSON *doc = read_manifest(folder), *resources = cJSON_GetObjectItemCaseSensitive(doc, "resources");

	for (int i = cJSON_GetArraySize(resources) - 1; i >= 0; i--) {
		const cJSON *res = cJSON_GetArrayItem(resources, i);

		if (resource_of(res, table)) {
			remove_file(folder, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path")));
			cJSON_DeleteItemFromArray(resources, i);
		}
	}
	write_manifest(folder, doc);
	cJSON_Delete(doc);
}

/* Index of field in a schema's fields, or -1. */
static int field_index(const cJSON *fields, const char *field)
{
	int i = 0;
	const cJSON *f;

	cJSON_ArrayForEach(f, fields) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name")), field) == 0)
			return i;
		i++;
	}
	return -1;
}

/* The CSV without column col (its cells hold no comma: no GTFS feed). */
static void drop_csv_column(const char *folder, const char *name, int col)
{
	char *text = tools_slurp_file(folder, name, NULL), *save = NULL, *out = calloc(1, strlen(text) + 1);
	size_t at = 0;

	cr_assert_not_null(out);
	for (char *line = strtok_r(text, "\r\n", &save); line != NULL; line = strtok_r(NULL, "\r\n", &save)) {
		int c = 0;

		for (char *cell = line;; c++) {
			size_t n = strcspn(cell, ",");

			if (c != col)
				at += (size_t)sprintf(out + at, "%s%.*s", at == 0 || out[at - 1] == '\n' ? "" : ",", (int)n, cell);
			if (cell[n] == '\0')
				break;
			cell += n + 1;
		}
		at += (size_t)sprintf(out + at, "\r\n");
	}
	tools_write_file(folder, name, out, at);
	free(out);
	free(text);
}

static void drop_json_key(const char *folder, const char *name, const char *field)
{
	char *text = tools_slurp_file(folder, name, NULL), *out;
	cJSON *rows = cJSON_Parse(text), *row;

	cr_assert_not_null(rows);
	cJSON_ArrayForEach(row, rows)
		cJSON_DeleteItemFromObjectCaseSensitive(row, field);
	out = cJSON_Print(rows);
	tools_write_file(folder, name, out, strlen(out));
	cJSON_free(out);
	cJSON_Delete(rows);
	free(text);
}

/* Takes a field out of a table: its column in the CSV, its key in the
 * JSON, its entry in both schemas. */
static void drop_field(const char *folder, const char *table, const char *field)
{
	cJSON *doc = read_manifest(folder), *res;

	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(doc, "resources")) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path"));
		cJSON *fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "schema"), "fields");
		int i = field_index(fields, field);

		if (!resource_of(res, table))
			continue;
		cr_assert_geq(i, 0, "%s has no field %s", path, field);
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "format")), "json") == 0)
			drop_json_key(folder, path, field);
		else
			drop_csv_column(folder, path, i);
		cJSON_DeleteItemFromArray(fields, i);
	}
	write_manifest(folder, doc);
	cJSON_Delete(doc);
}

/* komposter verify's status on folder with the server's hex key and the
 * extra arguments (up to two, NULL-terminated), its stderr in *err
 * (caller frees). */
static int verify_with(const char *folder, char **err, const char *a, const char *b)
{
	struct tools_run r;
	int status;

	cr_assert_eq(tools_run(&r, "verify", folder, "--public-key", pub_hex, a, b, NULL), 0);
	status = r.status;
	*err = r.err;
	r.err = NULL;
	tools_run_free(&r);
	return status;
}

static int verify(const char *folder, char **err)
{
	return verify_with(folder, err, NULL, NULL);
}

static void expect_problem(const char *err, const char *line)
{
	cr_expect(strstr(err, line) != NULL, "no problem [%s] in:\n%s", line, err);
}

/* --------------------------------------------------------------- tests */

Test(verify, the_exported_package_is_valid)
{
	char *err;

	cr_expect_eq(verify(pkg, &err), 0, "%s", err);
	free(err);
}

/* Without the finest table, no total, fare or standard file could be
 * checked against it: that is a problem, not a pass. */
Test(verify, a_package_without_a_table_of_the_format_is_not_valid)
{
	char *err;

	copy_package(bad);
	drop_table(bad, "ridership_route_stop_hour");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "datapackage.json: no resource ridership_route_stop_hour (a table of the format, CSV)");
	expect_problem(err, "datapackage.json: no resource ridership_route_stop_hour-json");
	free(err);
}

/* Without the route totals' accepted column, no total could be checked
 * against the cells. */
Test(verify, a_table_without_a_field_of_the_format_is_not_valid)
{
	char *err;

	copy_package(bad);
	drop_field(bad, "ridership_route_day", "accepted");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "ridership_route_day.csv: no field accepted");
	expect_problem(err, "ridership_route_day.json: no field accepted");
	free(err);
}

/* validation_rate is the format's one optional table (a date without
 * camera data has none), and a table of the format lacks no form. */
Test(verify, a_table_without_its_json_form_is_not_valid)
{
	char *err;
	cJSON *doc, *resources;

	copy_package(bad);
	doc = read_manifest(bad);
	resources = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	for (int i = cJSON_GetArraySize(resources) - 1; i >= 0; i--)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(resources, i), "path")),
		           "ridership_fare_day.json") == 0)
			cJSON_DeleteItemFromArray(resources, i);
	write_manifest(bad, doc);
	cJSON_Delete(doc);
	remove_file(bad, "ridership_fare_day.json");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "datapackage.json: no resource ridership_fare_day-json");
	cr_expect(strstr(err, "validation_rate") == NULL, "%s", err);
	free(err);
}

/* 2^63 + 30 and 2^63 + 15 (19 digits each, a valid count cell) sum to
 * 2^64 + 45, which 64 bits wrap around to 45: route 10's published total,
 * and 82 the day's. Every number derived from the two cells is made to
 * agree with them, so only the sums can tell (and the JSON form, which
 * holds no integer above 2^53: its one other problem). */
Test(verify, sums_that_overflow_64_bits_are_named_not_wrapped)
{
	char *err;

	copy_package(bad);
	replace_in(bad, "ridership_route_stop_hour.csv", ",110,,,7,30\r\n", ",110,,,7,9223372036854775838\r\n");
	replace_in(bad, "ridership_route_stop_hour.csv", ",111,,,8,15\r\n", ",111,,,8,9223372036854775823\r\n");
	replace_in(bad, "ridership.txt", "\r\n30,,20240615,20240615,07:00:00",
	           "\r\n9223372036854775838,,20240615,20240615,07:00:00");
	replace_in(bad, "ridership.txt", "\r\n15,,20240615,20240615,08:00:00",
	           "\r\n9223372036854775823,,20240615,20240615,08:00:00");
	replace_in(bad, "station_activities.csv", "T08:00:00,30,30\r\n",
	           "T08:00:00,9223372036854775838,9223372036854775838\r\n");
	replace_in(bad, "station_activities.csv", "T09:00:00,15,15\r\n",
	           "T09:00:00,9223372036854775823,9223372036854775823\r\n");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "ridership_route_day.csv: route 10: the sum of its published cells overflows 64 bits");
	expect_problem(err, "ridership_day.csv: the sum of the published cells overflows 64 bits");
	expect_problem(err, "ridership_fare_day.csv: the sum of the day's published cells or of the published fares "
	                    "overflows 64 bits");
	free(err);
}

/* F (route 20, stop 121, 01:00 after midnight) is 25:00:00 in GTFS time
 * and 2024-06-16T01:00 in TIDES: the exporter writes hours past 24 for the
 * next morning, so those stay valid. 49:00:00 and 2024-06-18T01:00 are no
 * hour of the service date, though 01:00 is their clock hour; 31:00:00
 * for A (07:00) is an hour of some service day of the date, but not of
 * the one whose 07:00 D's row names. */
Test(verify, times_that_are_no_hour_of_the_service_day_are_named)
{
	char *err;

	copy_package(bad);
	replace_in(bad, "ridership.txt", ",25:00:00,26:00:00,20,121\r\n", ",49:00:00,50:00:00,20,121\r\n");
	replace_in(bad, "station_activities.csv", ",121,2024-06-16T01:00:00,2024-06-16T02:00:00,",
	           ",121,2024-06-18T01:00:00,2024-06-18T02:00:00,");
	replace_in(bad, "ridership.txt", ",07:00:00,08:00:00,10,110\r\n", ",31:00:00,32:00:00,10,110\r\n");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "ridership.txt: row 5: ridership_start_time 49:00:00 is no hour of the service date (GTFS "
	                    "time before 47:00:00)");
	expect_problem(err, "station_activities.csv: row 5: time_period_start 2024-06-18T01:00:00 is no hour of the "
	                    "service date (its own date or the next morning)");
	expect_problem(err, "ridership.txt, station_activities.csv: their hours run from 07:00 to 31:00 of the service "
	                    "date's clock, more than the 24 hours of one service day");
	cr_expect_eq(tools_count_lines(err), 4, "three problems and the summary:\n%s", err);
	free(err);
}

/* A time too short to hold an hour is a malformed cell, never read past
 * its end (the suite's ASan build would catch the read). */
Test(verify, a_time_too_short_for_its_hour_is_named_not_read_past)
{
	char *err;

	copy_package(bad);
	replace_in(bad, "station_activities.csv", ",121,2024-06-16T01:00:00,", ",121,2024-06-1,");
	replace_in(bad, "ridership.txt", ",25:00:00,26:00:00,20,121\r\n", ",2,26:00:00,20,121\r\n");
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	cr_expect_not_null(strstr(err, "station_activities.csv: row 5"), "%s", err);
	cr_expect_not_null(strstr(err, "ridership.txt: row 5"), "%s", err);
	free(err);
}

/* SHA256SUMS is not signed: a line there vouches for nothing. A file the
 * manifest does not name is not the package's, listed or not. */
Test(verify, a_file_the_manifest_does_not_name_is_not_the_package_s)
{
	static const char rows[] = "card,route,taps\r\nA7000000,10,3\r\n";
	char path[256], hex[65], *err;
	FILE *f;

	copy_package(bad);
	tools_write_file(bad, "taps_by_card.csv", rows, strlen(rows));
	sha256_file(bad, "taps_by_card.csv", hex, NULL);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", bad);
	f = fopen(path, "a");
	cr_assert_not_null(f);
	fprintf(f, "%s  taps_by_card.csv\n", hex);
	cr_assert_eq(fclose(f), 0);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "taps_by_card.csv: not a file of the package (no resource of datapackage.json)");
	cr_expect_eq(tools_count_lines(err), 2, "one problem and the summary:\n%s", err);
	free(err);
}

/* minisign.pub is not signed either: another key put there (and in
 * SHA256SUMS) would make `minisign -Vm datapackage.json -p minisign.pub`
 * trust whatever that key signs. */
Test(verify, a_replaced_minisign_pub_is_named)
{
	char other[160], text[OD_MINISIGN_PUB_TEXT_SIZE], *err;
	uint8_t pk[OD_MINISIGN_PK_SIZE];
	struct tools_run r;

	snprintf(other, sizeof(other), "%s/other.key", dir);
	cr_assert_eq(tools_run(&r, "keygen", other, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(sodium_hex2bin(pk, sizeof(pk), r.out, 64, NULL, NULL, NULL), 0);
	tools_run_free(&r);
	copy_package(bad);
	od_minisign_pub_text(pk, text);
	tools_write_file(bad, "minisign.pub", text, strlen(text));
	resum(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "minisign.pub: not the key the package is checked with");
	cr_expect_eq(tools_count_lines(err), 2, "one problem and the summary:\n%s", err);
	free(err);
}

/* SHA256SUMS lists the files under the signature and the manifest, each
 * once: never the signature nor itself. */
Test(verify, sha256sums_lists_each_file_of_the_manifest_once)
{
	char path[256], hex[65], *err;
	FILE *f;

	copy_package(bad);
	sha256_file(bad, "datapackage.json.minisig", hex, NULL);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", bad);
	f = fopen(path, "a");
	cr_assert_not_null(f);
	fprintf(f, "%s  datapackage.json.minisig\n", hex);
	sha256_file(bad, "ridership_day.csv", hex, NULL);
	fprintf(f, "%s  ridership_day.csv\n", hex);
	cr_assert_eq(fclose(f), 0);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "datapackage.json.minisig: listed in SHA256SUMS twice, or not one of the files it lists");
	expect_problem(err, "ridership_day.csv: listed in SHA256SUMS twice");
	free(err);
}

/* A signed package of another date is a valid package, just not the one
 * asked for: --date says which. */
Test(verify, a_package_of_another_date_than_the_one_asked_for_is_named)
{
	char *err;

	cr_expect_eq(verify_with(pkg, &err, "--date", DATE), 0, "%s", err);
	free(err);
	cr_expect_eq(verify_with(pkg, &err, "--date", "2024-06-16"), 1, "%s", err);
	expect_problem(err, "datapackage.json: service date 2024-06-15, not 2024-06-16, the date asked for: another "
	                    "date's package");
	cr_expect_eq(tools_count_lines(err), 2, "one problem and the summary:\n%s", err);
	free(err);
	cr_expect_eq(verify_with(pkg, &err, "--date", "2024-06-31"), 2, "%s", err);
	free(err);
}

/* In the publish folder's layout, DATE/vN, the path says which date and
 * version the package must be, with or without --date: `komposter export`
 * writes no version (null), so its package cannot pass for vN, and a
 * package of the 15th cannot pass for the 16th's. The daemon's own
 * packages are tested in test_publish_stage. */
Test(verify, a_package_in_the_publish_layout_is_of_its_folder_s_date_and_version)
{
	char where[160], *err;

	snprintf(where, sizeof(where), "%s/open/20240616/v1", dir);
	copy_package(where);
	cr_expect_eq(verify(where, &err), 1, "%s", err);
	expect_problem(err, "datapackage.json: service date 2024-06-15, but the folder is 20240616/v1: another date's "
	                    "package");
	expect_problem(err, "datapackage.json: no komposter.version, but the folder is 20240616/v1 (the publishing "
	                    "layout): which version it is cannot be told");
	free(err);
	snprintf(where, sizeof(where), "%s/open/2024-06-16/v1", dir);
	copy_package(where);
	cr_expect_eq(verify(where, &err), 0, "not the layout (DATE is 8 digits): %s", err);
	free(err);
}

/* The date the rules above read is the signed manifest's own. */
Test(verify, a_manifest_without_a_service_date_is_not_valid)
{
	char *err;
	cJSON *doc;

	copy_package(bad);
	doc = read_manifest(bad);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "service_date");
	write_manifest(bad, doc);
	cJSON_Delete(doc);
	reseal(bad);
	cr_expect_eq(verify(bad, &err), 1, "%s", err);
	expect_problem(err, "datapackage.json: no komposter.service_date (YYYY-MM-DD)");
	free(err);
}
