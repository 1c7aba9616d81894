/*
 * Description: the standards of `komposter export`'s package, after a GTFS
 * import made in the test: GTFS-ride ridership.txt and ride_feed_info.txt
 * and TIDES station_activities.csv exist with the specs' headers, are in
 * datapackage.json, SHA256SUMS and so under the signature, and hold only
 * published cells (ridership.txt) or their sums (station_activities.csv),
 * empty where suppressed; GTFS ids and names (quoted where they hold
 * commas and quotes) join every table, empty for a number the feed does
 * not have; a tap after midnight is hour 25 in GTFS time and the next
 * calendar day in TIDES. ridership_day publishes the day's distinct
 * riders, and suppresses them when a route's published riders subtract
 * to below k. `komposter verify` passes, and names ridership.txt,
 * station_activities.csv or ridership_day.csv when one of its numbers is
 * changed and the package is sealed again (hashes, sums, signature redone
 * with the server key: the stock tools pass it).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static char dir[64], db[128], conf[128], key[128], pkg[128], feed[128], pub_hex[80];

/* Taps of a cell: route, stop, UTC day and hour (the zone is UTC, the
 * service day starts at 03:00), how many, the first card of a run of
 * cards (cards repeat across cells: distinct riders are fewer than taps). */
struct cell_spec {
	uint32_t route, stop;
	int mday, hour, n;
	size_t card0;
};

/* Route 10 (T10 in the feed): A 110/7 25 taps, B 111/8 12, C 112/9 3
 * (suppressed), cards 0..24 (25 riders). Route 20 (not in the feed): D
 * 110/7 15, E 121/10 4 (suppressed), F 120 at 01:00 the next day 11,
 * cards 100..114 (15 riders). The day: 40 riders. */
static const struct cell_spec day[] = {
	{ 10, 110, 15, 7, 25, 0 },   { 10, 111, 15, 8, 12, 0 },   { 10, 112, 15, 9, 3, 0 },
	{ 20, 110, 15, 7, 15, 100 }, { 20, 121, 15, 10, 4, 100 }, { 20, 120, 16, 1, 11, 100 },
};

/* Route 10 as above; route 20 only 4 taps of 4 new cards: the day's 29
 * riders minus route 10's published 25 would count route 20's 4. */
static const struct cell_spec small_day[] = {
	{ 10, 110, 15, 7, 25, 0 },
	{ 10, 111, 15, 8, 12, 0 },
	{ 10, 112, 15, 9, 3, 0 },
	{ 20, 121, 15, 10, 4, 100 },
};

static const char routes_txt[] = "route_id,komposter_id,route_short_name,route_long_name,route_type\n"
                                 "T10,10,10,\"Вокзал, \"\"Центр\"\"\",3\n"
                                 "99,,99,Депо,3\n";
static const char stops_txt[] = "stop_id,komposter_id,stop_name\n"
                                "S110,110,\"Майдан Волі, \"\"центр\"\"\"\n"
                                "111,,Збараж\n"
                                "120,,Східна\n";

static void fill_day(const struct cell_spec *spec, size_t nspec)
{
	struct kp_tap taps[128];
	size_t n = 0;

	memset(taps, 0, sizeof(taps));
	for (size_t s = 0; s < nspec; s++) {
		for (int i = 0; i < spec[s].n; i++, n++) {
			cr_assert_lt(n, sizeof(taps) / sizeof(taps[0]));
			taps[n].tapped_at = fill_utc_ms(2024, 6, spec[s].mday, spec[s].hour, i);
			memset(taps[n].card_token, 0xa7, KP_CARD_TOKEN_SIZE);
			taps[n].card_token[0] = (uint8_t)(spec[s].card0 + (size_t)i);
			taps[n].route_id = spec[s].route;
			taps[n].stop_id = spec[s].stop;
			taps[n].vehicle_id = 77;
			taps[n].fare_product = 1;
			taps[n].result = KP_TAP_ACCEPTED;
			taps[n].amount = 800;
		}
	}
	cr_assert_eq(fill_taps(db, DEVICE_ID, taps, n, 16), 0);
}

static void make_scratch(void)
{
	struct tools_run r;
	FILE *f;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(pkg, sizeof(pkg), "%s/pkg", dir);
	snprintf(feed, sizeof(feed), "%s/feed", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[open_data]\nk = %d\n", K);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
	cr_assert_eq(mkdir(feed, 0700), 0);
}

static void import_feed(void)
{
	struct tools_run r;

	tools_write_file(feed, "routes.txt", routes_txt, strlen(routes_txt));
	tools_write_file(feed, "stops.txt", stops_txt, strlen(stops_txt));
	cr_assert_eq(tools_run(&r, "gtfs", "import", "-c", conf, feed, NULL), 0);
	cr_assert_eq(r.status, 0, "gtfs import: %s", r.err);
	tools_run_free(&r);
}

static void export_package(void)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", pkg, "--key", key, NULL), 0);
	cr_assert_eq(r.status, 0, "export failed: %s", r.err);
	tools_run_free(&r);
}

static void setup(void)
{
	make_scratch();
	fill_day(day, sizeof(day) / sizeof(day[0]));
	import_feed();
	export_package();
}

static void setup_small(void)
{
	make_scratch();
	fill_day(small_day, sizeof(small_day) / sizeof(small_day[0]));
	export_package();
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

/* Runs a stock tool in cwd, output thrown away; its exit status. */
static int run_in(const char *cwd, const char *const argv[])
{
	int status;
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || chdir(cwd) != 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int stock_tools_pass(const char *folder)
{
	const char *sums[] = { "sha256sum", "--quiet", "-c", "SHA256SUMS", NULL };
	const char *sig[] = { "minisign", "-Vm", "datapackage.json", "-p", "minisign.pub", NULL };

	return run_in(folder, sums) == 0 && run_in(folder, sig) == 0;
}

static int verify(const char *folder, char **err)
{
	struct tools_run r;
	int status;

	cr_assert_eq(tools_run(&r, "verify", folder, "--public-key", pub_hex, NULL), 0);
	status = r.status;
	*err = r.err;
	r.err = NULL;
	tools_run_free(&r);
	return status;
}

static void expect_contains(const char *name, const char *want)
{
	char *text = tools_slurp_file(pkg, name, NULL);

	cr_expect(strstr(text, want) != NULL, "%s lacks [%s]:\n%s", name, want, text);
	free(text);
}

static void expect_header(const char *name, const char *header)
{
	char *text = tools_slurp_file(pkg, name, NULL);

	cr_expect(strncmp(text, header, strlen(header)) == 0, "%s:\n%s", name, text);
	free(text);
}

TestSuite(standards, .init = setup, .fini = teardown);
TestSuite(standards_small, .init = setup_small, .fini = teardown);

Test(standards, the_standard_files_have_the_specs_headers_and_hold_published_cells)
{
	expect_header("ridership.txt", "total_boardings,total_alightings,ridership_start_date,ridership_end_date,"
	                               "ridership_start_time,ridership_end_time,route_id,stop_id\r\n");
	expect_header("ride_feed_info.txt", "ride_files,ride_start_date,ride_end_date,ride_feed_version\r\n");
	expect_header("station_activities.csv", "service_date,stop_id,time_period_start,time_period_end,"
	                                        "total_entries,number_of_transactions\r\n");
	/* GTFS ids where the feed has them, komposter's numbers elsewhere. */
	expect_contains("ridership.txt", "\r\n25,,20240615,20240615,07:00:00,08:00:00,T10,S110\r\n");
	expect_contains("ridership.txt", "\r\n12,,20240615,20240615,08:00:00,09:00:00,T10,111\r\n");
	expect_contains("ridership.txt", "\r\n,,20240615,20240615,09:00:00,10:00:00,T10,112\r\n");
	expect_contains("ridership.txt", "\r\n,,20240615,20240615,10:00:00,11:00:00,20,121\r\n");
	expect_contains("ridership.txt", "\r\n11,,20240615,20240615,25:00:00,26:00:00,20,120\r\n");
	expect_contains("ride_feed_info.txt", "\r\n2,20240615,20240615,");
	/* A stop's hour sums its published cells of every route: 25 + 15. */
	expect_contains("station_activities.csv", "\r\n2024-06-15,S110,2024-06-15T07:00:00,2024-06-15T08:00:00,40,40\r\n");
	expect_contains("station_activities.csv", "\r\n2024-06-15,120,2024-06-16T01:00:00,2024-06-16T02:00:00,11,11\r\n");
	expect_contains("station_activities.csv", "\r\n2024-06-15,112,2024-06-15T09:00:00,2024-06-15T10:00:00,,\r\n");
	expect_contains("SHA256SUMS", "  ridership.txt\n");
	expect_contains("SHA256SUMS", "  ride_feed_info.txt\n");
	expect_contains("SHA256SUMS", "  station_activities.csv\n");
	cr_expect(stock_tools_pass(pkg), "sha256sum -c or minisign -V failed");
}

Test(standards, the_manifest_has_a_resource_and_schema_for_each_standard_file)
{
	char *text = tools_slurp_file(pkg, "datapackage.json", NULL);
	cJSON *doc = cJSON_Parse(text), *res;
	int found = 0;

	cr_assert_not_null(doc);
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(doc, "resources")) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path"));
		const cJSON *fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "schema"),
		                                                       "fields");

		if (strcmp(path, "ridership.txt") == 0) {
			found |= 1;
			cr_expect_eq(cJSON_GetArraySize(fields), 8);
		} else if (strcmp(path, "ride_feed_info.txt") == 0) {
			found |= 2;
		} else if (strcmp(path, "station_activities.csv") == 0) {
			found |= 4;
			cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			                         cJSON_GetArrayItem(fields, 2), "type")),
			                 "datetime");
		} else if (strcmp(path, "ridership_day.csv") == 0) {
			found |= 8;
		}
	}
	cr_expect_eq(found, 15, "resources found: %d", found);
	cJSON_Delete(doc);
	free(text);
}

Test(standards, every_table_naming_a_route_or_stop_joins_the_gtfs_ids_and_names)
{
	char *text = tools_slurp_file(pkg, "ridership_route_stop_hour.json", NULL);
	cJSON *rows = cJSON_Parse(text), *row;
	int seen = 0;

	cr_assert_not_null(rows);
	cJSON_ArrayForEach(row, rows) {
		double route = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "route_id"));
		double stop = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "stop_id"));
		const cJSON *gr = cJSON_GetObjectItemCaseSensitive(row, "gtfs_route_id");

		if (route == 10 && stop == 110) {
			seen |= 1;
			cr_expect_str_eq(cJSON_GetStringValue(gr), "T10");
			cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "route_short_name")), "10");
			cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "route_long_name")),
			                 "Вокзал, \"Центр\"");
			cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "gtfs_stop_id")), "S110");
			cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "stop_name")),
			                 "Майдан Волі, \"центр\"");
		} else if (route == 20 && stop == 121) {
			seen |= 2;
			cr_expect(cJSON_IsNull(gr), "route 20 is not in the feed");
			cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(row, "stop_name")));
		}
	}
	cr_expect_eq(seen, 3);
	cJSON_Delete(rows);
	free(text);
	expect_contains("ridership_route_stop_hour.csv",
	                "\r\n2024-06-15,10,T10,10,\"Вокзал, \"\"Центр\"\"\",110,S110,\"Майдан Волі, \"\"центр\"\"\",7,25\r\n");
	expect_contains("ridership_route_day.csv", "\r\n2024-06-15,20,,,,26,15\r\n");
	expect_contains("ridership_route_day.csv", "\r\n2024-06-15,10,T10,10,\"Вокзал, \"\"Центр\"\"\",37,25\r\n");
}

/* Every count of the standard files is empty or at least k. */
Test(standards, no_count_of_the_standard_files_is_below_k)
{
	static const struct {
		const char *file;
		int cols[2];
	} counts[] = { { "ridership.txt", { 0, 1 } }, { "station_activities.csv", { 4, 5 } } };
	size_t published = 0;

	for (size_t f = 0; f < sizeof(counts) / sizeof(counts[0]); f++) {
		char *text = tools_slurp_file(pkg, counts[f].file, NULL), *save = NULL;

		strtok_r(text, "\r\n", &save); /* header */
		for (char *line = strtok_r(NULL, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
			for (int c = 0; c < 2; c++) {
				const char *at = line;

				for (int i = 0; i < counts[f].cols[c]; i++)
					at = strchr(at, ',') + 1;
				if (*at != ',' && *at != '\0') {
					cr_expect_geq(strtoul(at, NULL, 10), K, "%s: %s", counts[f].file, line);
					published++;
				}
			}
		}
		free(text);
	}
	cr_expect_eq(published, 4 + 2 * 3, "published counts");
}

Test(standards, the_day_table_publishes_the_day_s_distinct_riders)
{
	expect_header("ridership_day.csv", "service_date,accepted,riders\r\n");
	/* 25 + 12 + 15 + 11 published taps; 25 + 15 cards. */
	expect_contains("ridership_day.csv", "\r\n2024-06-15,63,40\r\n");
}

Test(standards_small, the_day_s_riders_are_suppressed_when_a_route_s_would_subtract_below_k)
{
	char *err;

	/* 29 riders, route 10's published 25: 4 riders of the suppressed route 20. */
	expect_contains("ridership_route_day.csv", "\r\n2024-06-15,10,,,,37,25\r\n");
	expect_contains("ridership_day.csv", "\r\n2024-06-15,37,\r\n");
	cr_expect_eq(verify(pkg, &err), 0, "%s", err);
	free(err);
}

Test(standards, verify_passes_the_package)
{
	char *err;

	cr_expect_eq(verify(pkg, &err), 0, "komposter verify: %s", err);
	free(err);
}

/* Replaces the first from by to (same length) in folder/name. */
static void replace_in(const char *folder, const char *name, const char *from, const char *to)
{
	size_t len;
	char *text = tools_slurp_file(folder, name, &len), *at = strstr(text, from);

	cr_assert_not_null(at, "%s lacks %s", name, from);
	cr_assert_eq(strlen(from), strlen(to));
	memcpy(at, to, strlen(to));
	tools_write_file(folder, name, text, len);
	free(text);
}

static void sha256_file(const char *folder, const char *name, char hex[65])
{
	size_t len;
	char *text = tools_slurp_file(folder, name, &len);
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const uint8_t *)text, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	free(text);
}

/* Seals a changed file again as the server would: its hash in the
 * manifest and in SHA256SUMS, the manifest's signature by the server key. */
static void reseal(const char *folder, const char *name)
{
	char old_hex[65], new_hex[65], old_manifest[65], new_manifest[65], kerr[KP_KEYFILE_ERR_SIZE];
	char sig[OD_MINISIGN_SIG_TEXT_SIZE], path[256], *manifest, *sums, *line;
	uint8_t sk[KP_SECRET_KEY_SIZE];
	size_t len;

	sums = tools_slurp_file(folder, "SHA256SUMS", NULL);
	line = strstr(sums, name);
	cr_assert_not_null(line);
	snprintf(old_hex, sizeof(old_hex), "%.64s", line - 66);
	sha256_file(folder, name, new_hex);
	replace_in(folder, "datapackage.json", old_hex, new_hex);
	sha256_file(folder, "datapackage.json", new_manifest);
	line = strstr(sums, "  datapackage.json");
	snprintf(old_manifest, sizeof(old_manifest), "%.64s", line - 64);
	free(sums);
	replace_in(folder, "SHA256SUMS", old_hex, new_hex);
	replace_in(folder, "SHA256SUMS", old_manifest, new_manifest);
	manifest = tools_slurp_file(folder, "datapackage.json", &len);
	cr_assert_eq(kp_keyfile_read_secret(key, sk, kerr), 0, "%s", kerr);
	cr_assert_eq(od_minisign_sign(sk, (const uint8_t *)manifest, len,
	                              "timestamp:1718409600\tfile:datapackage.json\tprehashed", sig),
	             0);
	sodium_memzero(sk, sizeof(sk));
	free(manifest);
	snprintf(path, sizeof(path), "%s/datapackage.json.minisig", folder);
	cr_assert_eq(unlink(path), 0);
	tools_write_file(folder, "datapackage.json.minisig", sig, strlen(sig));
}

Test(standards, verify_names_ridership_txt_when_a_number_differs_from_its_published_cell)
{
	char bad[160], cmd[400], *err;

	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", pkg, bad);
	cr_assert_eq(system(cmd), 0);
	replace_in(bad, "ridership.txt", "\r\n25,,", "\r\n26,,");
	reseal(bad, "ridership.txt");
	cr_expect(stock_tools_pass(bad), "the resealed package should pass sha256sum -c and minisign -V");
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "ridership.txt: row 1: total_boardings '26' is not the published cell of "
	                      "ridership_route_stop_hour ('25')") != NULL,
	          "%s", err);
	cr_expect(strstr(err, "SHA256SUMS") == NULL && strstr(err, "minisig") == NULL, "%s", err);
	free(err);
}

Test(standards, verify_names_station_and_day_numbers_that_are_not_from_the_published_cells)
{
	char bad[160], cmd[400], *err;

	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", pkg, bad);
	cr_assert_eq(system(cmd), 0);
	replace_in(bad, "station_activities.csv", ",40,40\r\n", ",41,41\r\n");
	reseal(bad, "station_activities.csv");
	/* 30 riders: 5 more than route 10's published 25. */
	replace_in(bad, "ridership_day.csv", ",63,40\r\n", ",63,30\r\n");
	reseal(bad, "ridership_day.csv");
	cr_expect(stock_tools_pass(bad), "the resealed package should pass sha256sum -c and minisign -V");
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "station_activities.csv: row 1: total_entries '41', number_of_transactions '41' are not "
	                      "the sum of the published cells at stop S110 and that hour ('40')") != NULL,
	          "%s", err);
	cr_expect(strstr(err, "ridership_day.csv: 30 riders minus route row") != NULL &&
	                  strstr(err, "leaves 5 riders, below k 10") != NULL,
	          "%s", err);
	free(err);
}
