/*
 * Description: `komposter export` writes a service date's open-data
 * package from a database filled through st_commit_group, and the stock
 * tools check it: `sha256sum -c SHA256SUMS` and `minisign -Vm
 * datapackage.json` (the real binaries, run in the package's folder) pass,
 * and fail once a CSV or the manifest is changed. Counts below k are
 * suppressed everywhere, route totals are sums of published cells only
 * (and equal the stored taps when nothing is below k), the fare table
 * suppresses a second fare when one alone would be recoverable, no rider
 * pseudonym, card token or device id is in any file; the suppressed count
 * export prints counts each cell once. `komposter verify`
 * passes a good package and names the problem in each tampered one (a
 * changed CSV, manifest or trusted comment, a deleted table, a cell below
 * k, a record-level column, another key); bad command lines exit 2.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "storage/nvr.h"

#define DEVICE_ID 0x5eed5eed12345678ULL
#define DATE "2024-06-15"
#define K 10

static char dir[64], db[128], conf[128], key[128], pkg[128], pub_hex[80];

/* A cell of taps: route, stop, hour, fare, how many, accepted or not. */
struct cell_spec {
	uint32_t route, stop;
	int hour;
	uint16_t fare;
	int n;
	uint8_t result;
};

/* route 10: A (30 = 25 fare 1 + 5 fare 2), B (15 = 12 fare 1 + 3 fare 4),
 * C (3, below k); route 20: D (26 = 15 fare 1 + 11 fare 2), E (4, below
 * k, fare 3); and denied taps, never counted. */
static const struct cell_spec day[] = {
	{ 10, 110, 7, 1, 25, KP_TAP_ACCEPTED },  { 10, 110, 7, 2, 5, KP_TAP_ACCEPTED },
	{ 10, 111, 8, 1, 12, KP_TAP_ACCEPTED },  { 10, 111, 8, 4, 3, KP_TAP_ACCEPTED },
	{ 10, 112, 9, 1, 3, KP_TAP_ACCEPTED },   { 20, 120, 7, 1, 15, KP_TAP_ACCEPTED },
	{ 20, 120, 7, 2, 11, KP_TAP_ACCEPTED },  { 20, 121, 10, 3, 4, KP_TAP_ACCEPTED },
	{ 10, 110, 7, 1, 7, KP_TAP_DENIED_BALANCE },
};

/* Every cell at least k: route 10 24 + 11, route 20 40. */
static const struct cell_spec big_day[] = {
	{ 10, 110, 7, 1, 24, KP_TAP_ACCEPTED },
	{ 10, 111, 8, 2, 11, KP_TAP_ACCEPTED },
	{ 20, 120, 7, 1, 40, KP_TAP_ACCEPTED },
};

/* A distinctive card token: its first bytes say which tap it is. */
static void token(uint8_t out[KP_CARD_TOKEN_SIZE], size_t i)
{
	memset(out, 0xa7, KP_CARD_TOKEN_SIZE);
	out[0] = (uint8_t)(i >> 8);
	out[1] = (uint8_t)i;
}

static void fill_day(const struct cell_spec *spec, size_t nspec)
{
	struct kp_tap taps[512];
	size_t n = 0;

	memset(taps, 0, sizeof(taps));
	for (size_t s = 0; s < nspec; s++) {
		for (int i = 0; i < spec[s].n; i++, n++) {
			cr_assert_lt(n, sizeof(taps) / sizeof(taps[0]));
			taps[n].tapped_at = fill_utc_ms(2024, 6, 15, spec[s].hour, i);
			token(taps[n].card_token, n);
			taps[n].route_id = spec[s].route;
			taps[n].stop_id = spec[s].stop;
			taps[n].vehicle_id = 77;
			taps[n].fare_product = spec[s].fare;
			taps[n].result = spec[s].result;
			taps[n].amount = spec[s].result == KP_TAP_ACCEPTED ? 800 : 0;
		}
	}
	cr_assert_eq(fill_taps(db, DEVICE_ID, taps, n, 16), 0);
}

static void make_scratch(void)
{
	char path[128];
	struct tools_run r;
	FILE *f;

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(pkg, sizeof(pkg), "%s/open/" DATE, dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[open_data]\nk = %d\n", K);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(strlen(r.out), 65);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
	snprintf(path, sizeof(path), "%s/open", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
}

static void setup(void)
{
	make_scratch();
	fill_day(day, sizeof(day) / sizeof(day[0]));
}

/* [open_data] epsilon for the noisy suite. */
static void add_epsilon(void)
{
	FILE *f = fopen(conf, "a");

	cr_assert_not_null(f);
	fprintf(f, "epsilon = 1\n");
	cr_assert_eq(fclose(f), 0);
}

static void setup_noisy(void)
{
	setup();
	add_epsilon();
}

static struct kp_count door_cycle(int hour, uint32_t route, uint32_t stop, uint16_t boardings, uint16_t alightings)
{
	return (struct kp_count){ .observed_at = fill_utc_ms(2024, 6, 15, hour, 30), .route_id = route,
		                  .stop_id = stop, .vehicle_id = 77, .door = 1, .kind = KP_COUNT_KIND_DOOR_CYCLE,
		                  .boardings = boardings, .alightings = alightings,
		                  .occupancy = KP_OCCUPANCY_UNKNOWN, .confidence = 90 };
}

/* n boardings by a street camera at stop 110, hour 7. */
static void street_boardings(const char *prefix, int n)
{
	const struct fill_nvr_cell c = { "stop110", 7, 0, 110, 0, ST_NVR_BOARDED };

	cr_assert_eq(fill_nvr_counts(db, &c, prefix, n), 0);
}

/* The day, and bus 77's APC: route 10 hour 7 40 boardings 12 alightings,
 * hour 8 3 boardings (below k), hour 9 20 boardings; a street camera at stop 110 hour 7: 12
 * boardings. */
static void setup_cameras(void)
{
	const struct kp_count counts[] = {
		door_cycle(7, 10, 110, 40, 12),
		door_cycle(8, 10, 111, 3, 0),
		door_cycle(9, 10, 112, 20, 0),
	};

	setup();
	cr_assert_eq(fill_counts(db, 0xc3, 1, counts, 3), 0);
	street_boardings("a", 6);
	street_boardings("b", 6);
}

static void setup_big(void)
{
	make_scratch();
	fill_day(big_day, sizeof(big_day) / sizeof(big_day[0]));
}

/* 12 taps of 3 cards in one cell: every count is published but the
 * route's and the day's riders (3, below k). */
static void setup_few_riders(void)
{
	struct kp_tap taps[12];

	make_scratch();
	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < 12; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 7, (int)i);
		token(taps[i].card_token, i % 3);
		taps[i].route_id = 10;
		taps[i].stop_id = 110;
		taps[i].vehicle_id = 77;
		taps[i].fare_product = 1;
		taps[i].result = KP_TAP_ACCEPTED;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, DEVICE_ID, taps, 12, 16), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

/* ------------------------------------------------------------- helpers */

/* Runs argv (a stock tool) in cwd, its output thrown away; the exit status. */
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

static void export_to(const char *out, const char *previous)
{
	struct tools_run r;

	if (previous != NULL)
		cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", out, "--key", key,
		                       "--previous", previous, NULL), 0);
	else
		cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", out, "--key", key, NULL), 0);
	cr_assert_eq(r.status, 0, "export failed: %s", r.err);
	cr_expect(strstr(r.out, "sha256sum -c SHA256SUMS") != NULL, "%s", r.out);
	tools_run_free(&r);
}

static cJSON *json_file(const char *name)
{
	char *text = tools_slurp_file(pkg, name, NULL);
	cJSON *doc = cJSON_Parse(text);

	cr_assert_not_null(doc, "%s is not JSON", name);
	free(text);
	return doc;
}

/* folder/name has the CSV row line (without its CRLF). */
static void expect_file_line(const char *folder, const char *name, const char *line)
{
	char *text = tools_slurp_file(folder, name, NULL), want[256];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	cr_expect(strstr(text, want) != NULL, "%s lacks the row %s:\n%s", name, line, text);
	free(text);
}

/* The row of a JSON table whose col is value (and key2 value2), or NULL. */
static const cJSON *find_row(const cJSON *rows, const char *col, double value, const char *key2, double value2)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, rows) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, col);
		const cJSON *b = key2 ? cJSON_GetObjectItemCaseSensitive(r, key2) : NULL;

		if (cJSON_IsNumber(a) && a->valuedouble == value && (key2 == NULL || (cJSON_IsNumber(b) && b->valuedouble == value2)))
			return r;
	}
	return NULL;
}

/* accepted of a row: its number, or -1 for null (suppressed). */
static double accepted(const cJSON *row)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(row, "accepted");

	cr_assert_not_null(row);
	if (cJSON_IsNull(a))
		return -1;
	cr_assert(cJSON_IsNumber(a));
	return a->valuedouble;
}

/* The base64 line of minisign.pub, for `minisign -P`. */
static void minisign_pub_b64(char out[80])
{
	char *text = tools_slurp_file(pkg, "minisign.pub", NULL), *nl = strchr(text, '\n');

	cr_assert_not_null(nl);
	snprintf(out, 80, "%.*s", (int)strcspn(nl + 1, "\n"), nl + 1);
	free(text);
}

static int minisign_verifies(const char *folder)
{
	char b64[80];
	const char *argv[] = { "minisign", "-Vm", "datapackage.json", "-P", b64, NULL };

	minisign_pub_b64(b64);
	return run_in(folder, argv);
}

static int sha256sum_checks(const char *folder)
{
	const char *argv[] = { "sha256sum", "--quiet", "-c", "SHA256SUMS", NULL };

	return run_in(folder, argv);
}

static void copy_package(const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", pkg, to);
	cr_assert_eq(system(cmd), 0);
}

/* komposter verify's status, with its stderr in *err (caller frees). */
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

TestSuite(export, .init = setup, .fini = teardown);

/* --------------------------------------------------------------- tests */

Test(export, stock_sha256sum_and_minisign_verify_the_package)
{
	const char *argv[] = { "minisign", "-Vm", "datapackage.json", "-p", "minisign.pub", NULL };
	char *err;

	export_to(pkg, NULL);
	cr_expect_eq(sha256sum_checks(pkg), 0, "sha256sum -c failed");
	cr_expect_eq(minisign_verifies(pkg), 0, "minisign -V -P failed");
	cr_expect_eq(run_in(pkg, argv), 0, "minisign -V -p minisign.pub failed");
	cr_expect_eq(verify(pkg, &err), 0, "komposter verify: %s", err);
	free(err);
}

Test(export, cells_below_k_are_suppressed_and_totals_are_sums_of_published_cells)
{
	cJSON *rsh, *route, *fare;

	export_to(pkg, NULL);
	rsh = json_file("ridership_route_stop_hour.json");
	cr_expect_eq(accepted(find_row(rsh, "route_id", 10, "stop_id", 110)), 30);
	cr_expect_eq(accepted(find_row(rsh, "route_id", 10, "stop_id", 111)), 15);
	cr_expect_eq(accepted(find_row(rsh, "route_id", 10, "stop_id", 112)), -1, "3 taps published");
	cr_expect_eq(accepted(find_row(rsh, "route_id", 20, "stop_id", 120)), 26);
	cr_expect_eq(accepted(find_row(rsh, "route_id", 20, "stop_id", 121)), -1, "4 taps published");
	/* Route totals leave the suppressed cells out: 45 of 48, 26 of 30. */
	route = json_file("ridership_route_day.json");
	cr_expect_eq(accepted(find_row(route, "route_id", 10, NULL, 0)), 45);
	cr_expect_eq(accepted(find_row(route, "route_id", 20, NULL, 0)), 26);
	/* 48 and 30 distinct riders: more than the published taps, which would
	 * say the suppressed cells hold at least 3 and 4: suppressed. */
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(find_row(route, "route_id", 10, NULL, 0), "riders")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(find_row(route, "route_id", 20, NULL, 0), "riders")));
	/* Fare 4 (3 taps) is suppressed, and fare 2 with it: the day's totals
	 * differ by 19, fares 2 and 4 together, never by fare 4 alone. Fare 3
	 * lies under a suppressed cell only: no row. */
	fare = json_file("ridership_fare_day.json");
	cr_expect_eq(accepted(find_row(fare, "fare_product", 1, NULL, 0)), 52);
	cr_expect_eq(accepted(find_row(fare, "fare_product", 2, NULL, 0)), -1);
	cr_expect_eq(accepted(find_row(fare, "fare_product", 4, NULL, 0)), -1);
	cr_expect_null(find_row(fare, "fare_product", 3, NULL, 0));
	cJSON_Delete(rsh);
	cJSON_Delete(route);
	cJSON_Delete(fare);
}

/* Every number in a count column (accepted, riders) of every CSV is at
 * least k (by the CSV's text: the cells between commas of each line). */
Test(export, no_published_count_anywhere_is_below_k)
{
	static const char *const files[] = { "ridership_route_stop_hour.csv", "ridership_route_day.csv",
		                             "ridership_fare_day.csv" };
	size_t empty = 0;

	export_to(pkg, NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *text = tools_slurp_file(pkg, files[i], NULL), *save = NULL, *line;

		int count_col[16] = { 0 }, ncols = 0;
		char *cell, *cell_save = NULL;

		cr_assert(strncmp(text, "service_date,", 13) == 0, "%s: %s", files[i], text);
		line = strtok_r(text, "\r\n", &save); /* header */
		for (cell = strtok_r(line, ",", &cell_save); cell != NULL; cell = strtok_r(NULL, ",", &cell_save)) {
			cr_assert_lt(ncols, 16);
			count_col[ncols++] = strcmp(cell, "accepted") == 0 || strcmp(cell, "riders") == 0;
		}
		while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
			const char *at = line;

			for (int c = 0; c < ncols; c++) {
				size_t len = strcspn(at, ",");

				if (count_col[c] && len == 0)
					empty++;
				else if (count_col[c])
					cr_expect_geq(strtoull(at, NULL, 10), K, "%s: %s", files[i], line);
				at += len + (at[len] == ',');
			}
		}
		free(text);
	}
	cr_expect_eq(empty, 6, "suppressed cells: C, E, fare 2, fare 4, the riders of both routes");
}

TestSuite(export_big, .init = setup_big, .fini = teardown);

Test(export_big, with_nothing_below_k_the_totals_equal_the_stored_taps)
{
	cJSON *route, *fare;
	double sum = 0;
	const cJSON *r;

	export_to(pkg, NULL);
	route = json_file("ridership_route_day.json");
	cr_expect_eq(accepted(find_row(route, "route_id", 10, NULL, 0)), 35);
	cr_expect_eq(accepted(find_row(route, "route_id", 20, NULL, 0)), 40);
	/* Every tap a card of its own: as many riders as taps (the sketch is
	 * exact this small). */
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(find_row(route, "route_id", 10, NULL, 0), "riders")), 35);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(find_row(route, "route_id", 20, NULL, 0), "riders")), 40);
	fare = json_file("ridership_fare_day.json");
	cJSON_ArrayForEach(r, fare)
		sum += accepted(r);
	cr_expect_eq(sum, 75, "fares sum to %g, 75 stored", sum);
	cJSON_Delete(route);
	cJSON_Delete(fare);
}

/* Every byte string a rider or device could be known by, as hex (both
 * cases), decimal and raw bytes, is absent from every file. */
Test(export, no_pseudonym_card_token_or_device_id_in_any_file)
{
	struct tools_run r;
	char needle[64], *line, *save = NULL;
	DIR *d;
	struct dirent *e;
	size_t riders = 0;

	export_to(pkg, NULL);
	cr_assert_eq(tools_run(&r, "dump", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	d = opendir(pkg);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len;
		char *text;

		if (e->d_name[0] == '.')
			continue;
		text = tools_slurp_file(pkg, e->d_name, &len);
		/* Device id: hex and decimal. */
		snprintf(needle, sizeof(needle), "%016llx", (unsigned long long)DEVICE_ID);
		cr_expect_null(strcasestr(text, needle), "%s holds the device id", e->d_name);
		snprintf(needle, sizeof(needle), "%llu", (unsigned long long)DEVICE_ID);
		cr_expect_null(strstr(text, needle), "%s holds the device id", e->d_name);
		/* Card tokens: raw and hex. */
		for (size_t i = 0; i < 120; i++) {
			uint8_t tok[KP_CARD_TOKEN_SIZE];
			char hex[2 * KP_CARD_TOKEN_SIZE + 1];

			token(tok, i);
			for (size_t b = 0; b < sizeof(tok); b++)
				snprintf(hex + 2 * b, 3, "%02x", tok[b]);
			cr_expect_null(memmem(text, len, tok, sizeof(tok)), "%s holds a card token", e->d_name);
			cr_expect_null(strcasestr(text, hex), "%s holds a card token's hex", e->d_name);
		}
		free(text);
	}
	closedir(d);
	/* Pseudonyms, as `komposter dump` shows them: "rider":"HEX". */
	for (line = strtok_r(r.out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *rider = strstr(line, "\"rider\":\"");

		if (rider == NULL)
			continue;
		snprintf(needle, sizeof(needle), "%.32s", rider + 9);
		riders++;
		d = opendir(pkg);
		cr_assert_not_null(d);
		while ((e = readdir(d)) != NULL) {
			char *text;

			if (e->d_name[0] == '.')
				continue;
			text = tools_slurp_file(pkg, e->d_name, NULL);
			cr_expect_null(strcasestr(text, needle), "%s holds pseudonym %s", e->d_name, needle);
			free(text);
		}
		closedir(d);
	}
	cr_expect_gt(riders, 0, "dump showed no riders: %s", r.out);
	tools_run_free(&r);
}

Test(export, one_changed_byte_of_a_csv_fails_sha256sum_and_verify_not_the_signature)
{
	char bad[160], *text, *err, *digit;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "ridership_route_day.csv", &len);
	digit = strstr(text, ",45");
	cr_assert_not_null(digit, "%s", text);
	digit[2] = '6'; /* 45 -> 46 */
	tools_write_file(bad, "ridership_route_day.csv", text, len);
	free(text);
	cr_expect_neq(sha256sum_checks(bad), 0, "sha256sum -c passed a changed CSV");
	cr_expect_eq(minisign_verifies(bad), 0, "the manifest itself did not change");
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "ridership_route_day.csv: SHA-256 does not match SHA256SUMS") != NULL, "%s", err);
	cr_expect(strstr(err, "ridership_route_day.csv: SHA-256 does not match its hash in datapackage.json") != NULL,
	          "%s", err);
	cr_expect(strstr(err, "route 10: the total 46 is not the sum of its published cells (45)") != NULL, "%s", err);
	free(err);
}

Test(export, one_changed_byte_of_the_manifest_fails_minisign_and_verify)
{
	char bad[160], *text, *err, *at;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "datapackage.json", &len);
	at = strstr(text, "CC-BY-4.0");
	cr_assert_not_null(at);
	at[6] = '3'; /* CC-BY-3.0 */
	tools_write_file(bad, "datapackage.json", text, len);
	free(text);
	cr_expect_neq(minisign_verifies(bad), 0, "minisign -V passed a changed manifest");
	cr_expect_neq(sha256sum_checks(bad), 0);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "datapackage.json.minisig: the signature does not verify") != NULL, "%s", err);
	cr_expect(strstr(err, "datapackage.json: SHA-256 does not match SHA256SUMS") != NULL, "%s", err);
	free(err);
}

Test(export, verify_names_a_suppressed_cell_made_public)
{
	char bad[160], *text, *err, *cell;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "ridership_route_stop_hour.csv", &len);
	cell = strstr(text, ",112,,,9,\r\n");
	cr_assert_not_null(cell, "%s", text);
	text = realloc(text, len + 2);
	cr_assert_not_null(text);
	cell = strstr(text, ",112,,,9,\r\n");
	memmove(cell + 10, cell + 9, strlen(cell + 9) + 1);
	cell[9] = '3';
	tools_write_file(bad, "ridership_route_stop_hour.csv", text, len + 1);
	free(text);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "ridership_route_stop_hour.csv: row 3: accepted 3 is below k 10 and should be suppressed") !=
	          NULL, "%s", err);
	free(err);
}

Test(export, verify_names_a_record_level_column)
{
	char bad[160], *text, *err, *at;
	size_t len;
	char *out;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "datapackage.json", &len);
	at = strstr(text, "\"name\":\t\"stop_id\"");
	cr_assert_not_null(at, "%s", text);
	cr_assert_eq(asprintf(&out, "%.*s\"name\":\t\"device_id\"%s", (int)(at - text), text, at + strlen("\"name\":\t\"stop_id\"")), (int)len + 2);
	tools_write_file(bad, "datapackage.json", out, strlen(out));
	free(out);
	free(text);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "field 'device_id' is not an open-data field") != NULL, "%s", err);
	free(err);
}

Test(export, verify_with_another_key_names_the_signature)
{
	struct tools_run r;
	char other[160];

	export_to(pkg, NULL);
	snprintf(other, sizeof(other), "%s/other.key", dir);
	cr_assert_eq(tools_run(&r, "keygen", other, NULL), 0);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "verify", pkg, "--public-key", pub_hex, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "datapackage.json.minisig: signed by key") != NULL, "%s", r.err);
	cr_expect_eq(tools_count_lines(r.err), 2, "one line for the problem, one summary: %s", r.err);
	tools_run_free(&r);
}

Test(export, verify_takes_the_minisign_pub_file)
{
	struct tools_run r;
	char pub[160];

	export_to(pkg, NULL);
	snprintf(pub, sizeof(pub), "%s/minisign.pub", pkg);
	cr_assert_eq(tools_run(&r, "verify", pkg, "--minisign-pub", pub, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "valid") != NULL);
	tools_run_free(&r);
}

/* A key pair made by the stock tool has a random key id in its .pub: verify
 * --minisign-pub compares the signature's key id with that id, not with
 * one derived from the public key, so a manifest re-signed with `minisign
 * -S` (its minisign.pub replaced by the stock one, and summed again)
 * verifies with its `minisign -G` public key; and a signature by our key
 * is refused with that .pub, naming both ids. */
Test(export, verify_accepts_a_signature_by_a_stock_minisign_key_pair)
{
	char signed_dir[160], p[200], s[200], cmd[600], *err;
	const char *gen[] = { "minisign", "-G", "-W", "-p", p, "-s", s, NULL };
	const char *sign[] = { "minisign", "-Sm", "datapackage.json", "-s", s, NULL };
	const char *check[] = { "minisign", "-Vm", "datapackage.json", "-p", p, NULL };
	struct tools_run r;

	export_to(pkg, NULL);
	snprintf(p, sizeof(p), "%s/stock.pub", dir);
	snprintf(s, sizeof(s), "%s/stock.key", dir);
	cr_assert_eq(run_in(dir, gen), 0, "minisign -G -W failed");
	cr_assert_eq(tools_run(&r, "verify", pkg, "--minisign-pub", p, NULL), 0);
	cr_expect_eq(r.status, 1, "a package signed by the server key passed with another key");
	cr_expect(strstr(r.err, "signed by key") != NULL && strstr(r.err, "not by the given key") != NULL, "%s", r.err);
	tools_run_free(&r);
	snprintf(signed_dir, sizeof(signed_dir), "%s/stock-signed", dir);
	copy_package(signed_dir);
	cr_assert_eq(run_in(signed_dir, sign), 0, "minisign -S failed");
	cr_assert_eq(run_in(signed_dir, check), 0, "minisign -V of its own signature failed");
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && cp '%s' minisign.pub && sha256sum $(awk '{print $2}' SHA256SUMS) > ../sums.new && "
	         "mv ../sums.new SHA256SUMS",
	         signed_dir, p);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(tools_run(&r, "verify", signed_dir, "--minisign-pub", p, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "valid") != NULL, "%s", r.out);
	tools_run_free(&r);
	cr_expect_eq(verify(signed_dir, &err), 1, "the server's hex key passed a stock key's signature");
	free(err);
}

Test(export, the_manifest_holds_the_chain_head_and_the_previous_manifest_hash)
{
	char next[160], cmd[512], expect[65];
	cJSON *doc, *k;
	FILE *p;

	export_to(pkg, NULL);
	doc = json_file("datapackage.json");
	k = cJSON_GetObjectItemCaseSensitive(doc, "komposter");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "previous_manifest_sha256")));
	cr_expect_eq(strlen(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(k, "chain"), "head"))),
	             64);
	cr_expect_gt(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(k, "chain"), "seq")), 0);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                         cJSON_GetObjectItemCaseSensitive(doc, "temporal"), "start")),
	                 DATE);
	cJSON_Delete(doc);

	snprintf(next, sizeof(next), "%s/open/next", dir);
	snprintf(cmd, sizeof(cmd), "%s/datapackage.json", pkg);
	export_to(next, cmd);
	snprintf(cmd, sizeof(cmd), "sha256sum '%s/datapackage.json'", pkg);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fread(expect, 1, 64, p), 64);
	expect[64] = '\0';
	pclose(p);
	snprintf(cmd, sizeof(cmd), "%s", next);
	{
		char *text = tools_slurp_file(next, "datapackage.json", NULL);

		doc = cJSON_Parse(text);
		free(text);
	}
	k = cJSON_GetObjectItemCaseSensitive(doc, "komposter");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "previous_manifest_sha256")), expect);
	cJSON_Delete(doc);
}

Test(export, a_folder_holding_a_package_is_never_rewritten)
{
	struct tools_run r;

	export_to(pkg, NULL);
	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", pkg, "--key", key, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "already holds a package") != NULL, "%s", r.err);
	cr_expect_eq(tools_count_lines(r.err), 2, "the progress line and the error: %s", r.err);
	tools_run_free(&r);
}

Test(export, bad_command_lines_exit_2)
{
	const char *const cases[][8] = {
		{ "export", "--out", "x", NULL },
		{ "export", "--date", "2024-13-01", "--out", "x", NULL },
		{ "export", "--date", DATE, NULL },
		{ "export", "--date", DATE, "--out", "x", "extra", NULL },
		{ "verify", "somewhere", NULL },
		{ "verify", "somewhere", "--public-key", "abc", NULL },
		{ "verify", "somewhere", "--public-key", pub_hex, "--minisign-pub", "f", NULL },
		{ "verify", "--public-key", pub_hex, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tools_run r;

		cr_assert_eq(tools_run(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5],
		                       cases[i][6], NULL),
		             0);
		cr_expect_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
		tools_run_free(&r);
	}
}

TestSuite(export_cameras, .init = setup_cameras, .fini = teardown);

static const cJSON *rate_row(const cJSON *rows, const char *level, double place, double hour)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, rows)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "level")), level) == 0 &&
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "place_id")) == place &&
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "hour")) == hour)
			return r;
	cr_assert_fail("no %s row %g hour %g", level, place, hour);
	return NULL;
}

Test(export_cameras, the_validation_rate_is_computed_from_published_values_only)
{
	const cJSON *r;
	cJSON *rows;
	char *err;

	export_to(pkg, NULL);
	rows = json_file("validation_rate.json");
	/* Bus 77 on route 10: 30 accepted taps against 40 boardings. */
	r = rate_row(rows, "route", 10, 7);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "source")), "signed");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "boardings")), 40);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "alightings")), 12);
	cr_expect_eq(accepted(r), 30);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "rate")), 0.75);
	/* Hour 8: 3 boardings are suppressed, and the rate with them. */
	r = rate_row(rows, "route", 10, 8);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "boardings")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "alightings")));
	cr_expect_eq(accepted(r), 15);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "rate")));
	/* Hour 9: bus 77's 3 taps are the suppressed cell C; published beside
	 * the hour's cells they would give it away: suppressed, no rate. */
	r = rate_row(rows, "route", 10, 9);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "boardings")), 20);
	cr_expect_eq(accepted(r), -1);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "rate")));
	/* The street camera: the published cells at stop 110 hour 7 (30). */
	r = rate_row(rows, "stop", 110, 7);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "source")), "nvr");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "boardings")), 12);
	cr_expect_eq(accepted(r), 30);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "rate")), 2.5);
	cJSON_Delete(rows);
	cr_expect_eq(verify(pkg, &err), 0, "%s", err);
	free(err);
	cr_expect_eq(sha256sum_checks(pkg), 0);
	cr_expect_eq(minisign_verifies(pkg), 0);
}

/* setup_cameras, and an onboard camera on bus 78 of route 10 counting 12
 * boardings in hour 7: route 10 hour 7 has a signed row (bus 77) and an
 * nvr row (bus 78). */
static void setup_two_sources(void)
{
	struct st_nvr_event ev[12];

	setup_cameras();
	memset(ev, 0, sizeof(ev));
	for (int i = 0; i < 12; i++) {
		snprintf(ev[i].camera, sizeof(ev[i].camera), "bus78-front");
		snprintf(ev[i].id, sizeof(ev[i].id), "o-%d", i);
		snprintf(ev[i].label, sizeof(ev[i].label), "person");
		ev[i].type = ST_NVR_END;
		ev[i].start = fill_utc_ms(2024, 6, 15, 7, 10 + i);
		ev[i].end = ev[i].start + 4000;
		ev[i].received_at = ev[i].end;
		ev[i].want = ST_NVR_BOARDED;
		ev[i].vehicle_id = 78;
		ev[i].cell = (struct st_door_agg_key){ .service_date = 20240615, .hour = 7, .route_id = 10,
			                               .stop_id = 110, .door = 1, .source = ST_COUNT_SOURCE_NVR };
	}
	cr_assert_eq(fill_nvr_events(db, ev, 12), 0);
}

TestSuite(export_two_sources, .init = setup_two_sources, .fini = teardown);

/* Each row's taps would pass alone; together, the route's taps minus both
 * could be a count below k: neither row publishes its taps, nor a rate. */
Test(export_two_sources, a_route_hour_with_two_sources_publishes_no_taps_for_either)
{
	const cJSON *r;
	cJSON *rows;
	char *err;
	int seen = 0;

	export_to(pkg, NULL);
	rows = json_file("validation_rate.json");
	cJSON_ArrayForEach(r, rows) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "level")), "route") != 0 ||
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "place_id")) != 10 ||
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "hour")) != 7)
			continue;
		seen++;
		cr_expect_eq(accepted(r), -1, "source %s",
		             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "source")));
		cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "rate")));
	}
	cr_expect_eq(seen, 2, "route 10 hour 7: a signed and an nvr row");
	cJSON_Delete(rows);
	cr_expect_eq(verify(pkg, &err), 0, "%s", err);
	free(err);
}

TestSuite(export_noisy, .init = setup_noisy, .fini = teardown);

/* With epsilon the counts are noisy, yet the rules hold: the CSV and the
 * JSON carry the same values (verify compares them), no count is below k,
 * route totals are sums of the published (noisy) cells. */
Test(export_noisy, noisy_counts_keep_every_rule_and_are_the_same_in_csv_and_json)
{
	cJSON *doc;
	char *err;

	for (int i = 0; i < 5; i++) {
		char out[160];

		snprintf(out, sizeof(out), "%s/open/noisy-%d", dir, i);
		export_to(out, NULL);
		cr_expect_eq(verify(out, &err), 0, "%s", err);
		free(err);
	}
	export_to(pkg, NULL);
	doc = json_file("datapackage.json");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "disclosure"),
	                     "epsilon")),
	             1);
	cJSON_Delete(doc);
}

/* The noise of a cell is derived from the server key and the cell: two
 * exports of the same date publish the same noisy values (averaging them
 * learns nothing), and the values are noisy (not all the true counts). */
Test(export_noisy, a_re_export_publishes_the_same_noisy_values)
{
	static const char *const tables[] = { "ridership_route_stop_hour.csv", "ridership_route_day.csv",
		                               "ridership_fare_day.csv" };
	char first[160], second[160];

	snprintf(first, sizeof(first), "%s/open/first", dir);
	snprintf(second, sizeof(second), "%s/open/second", dir);
	export_to(first, NULL);
	export_to(second, NULL);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		size_t la, lb;
		char *a = tools_slurp_file(first, tables[i], &la), *b = tools_slurp_file(second, tables[i], &lb);

		cr_expect(la == lb && memcmp(a, b, la) == 0, "%s differs between two exports:\n%s\n---\n%s", tables[i], a,
		          b);
		free(a);
		free(b);
	}
}

Test(export, a_changed_trusted_comment_fails_minisign_and_verify)
{
	char bad[160], *text, *err, *at;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "datapackage.json.minisig", &len);
	at = strstr(text, "timestamp:");
	cr_assert_not_null(at, "%s", text);
	at[10] = at[10] == '9' ? '8' : '9';
	tools_write_file(bad, "datapackage.json.minisig", text, len);
	free(text);
	cr_expect_neq(minisign_verifies(bad), 0, "minisign -V passed a changed trusted comment");
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "datapackage.json.minisig: the trusted comment's signature does not verify") != NULL,
	          "%s", err);
	free(err);
}

Test(export, a_deleted_table_is_named)
{
	char bad[160], path[256], *err;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	snprintf(path, sizeof(path), "%s/ridership_fare_day.json", bad);
	cr_assert_eq(unlink(path), 0);
	cr_expect_neq(sha256sum_checks(bad), 0);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "ridership_fare_day.json: listed in SHA256SUMS but cannot be read") != NULL, "%s", err);
	cr_expect(strstr(err, "ridership_fare_day.json: in datapackage.json but cannot be read") != NULL, "%s", err);
	free(err);
}

/* Fares 2 (16 taps) and 4 (3) are suppressed together; publishing fare 2
 * leaves fare 4 alone suppressed, recoverable as the day's published cells
 * minus the published fares: verify names it. */
Test(export, verify_names_a_single_suppressed_fare)
{
	char bad[160], *text, *err, *at, *edited;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	cr_expect_eq(verify(bad, &err), 0, "%s", err);
	free(err);
	text = tools_slurp_file(bad, "ridership_fare_day.csv", &len);
	at = strstr(text, ",2,\r\n");
	cr_assert_not_null(at, "%s", text);
	edited = malloc(len + 3);
	cr_assert_not_null(edited);
	memcpy(edited, text, (size_t)(at - text) + 3);
	memcpy(edited + (at - text) + 3, "16", 2);
	memcpy(edited + (at - text) + 5, at + 3, len - (size_t)(at - text) - 3);
	tools_write_file(bad, "ridership_fare_day.csv", edited, len + 2);
	free(edited);
	free(text);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "ridership_fare_day.csv: fare product 4 is the only suppressed one") != NULL, "%s", err);
	free(err);
}

Test(export_big, verify_names_more_riders_than_published_taps)
{
	char bad[160], *text, *err, *at;
	size_t len;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	text = tools_slurp_file(bad, "ridership_route_day.csv", &len);
	at = strstr(text, ",35,35\r\n");
	cr_assert_not_null(at, "%s", text);
	at[5] = '6'; /* 35 riders -> 36 */
	tools_write_file(bad, "ridership_route_day.csv", text, len);
	free(text);
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "route 10: 36 riders beside 35 accepted taps would bound the suppressed cells") != NULL,
	          "%s", err);
	free(err);
}

TestSuite(export_few_riders, .init = setup_few_riders, .fini = teardown);

/* The counts: the cell, the route's accepted and riders, the day's
 * accepted and riders, the fare, the stop's hour (station_activities);
 * suppressed: the two riders, each once. */
Test(export_few_riders, a_suppressed_count_is_counted_once)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--date", DATE, "--out", pkg, "--key", key, NULL), 0);
	cr_assert_eq(r.status, 0, "export failed: %s", r.err);
	cr_expect(strstr(r.out, ": 7 tables, 7 counts, 2 suppressed (k 10)") != NULL, "%s", r.out);
	tools_run_free(&r);
	expect_file_line(pkg, "ridership_day.csv", "2024-06-15,12,");
	expect_file_line(pkg, "ridership_route_day.csv", "2024-06-15,10,,,,12,");
}

Test(export, verify_of_a_missing_folder_is_one_line)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "verify", "/nonexistent/package", "--public-key", pub_hex, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_str_eq(r.err, "komposter: verify: /nonexistent/package: No such file or directory\n");
	tools_run_free(&r);
}

/* Inserts ins at the end of the first at in folder/name. */
static void insert_after(const char *folder, const char *name, const char *at, const char *ins)
{
	size_t len;
	char *text = tools_slurp_file(folder, name, &len), *p = strstr(text, at), *out;

	cr_assert_not_null(p, "%s lacks %s:\n%s", name, at, text);
	p += strlen(at);
	cr_assert_gt(asprintf(&out, "%.*s%s%s", (int)(p - text), text, ins, p), 0);
	tools_write_file(folder, name, out, strlen(out));
	free(out);
	free(text);
}

/* The cross-checks of validation_rate against the published cells; the
 * hashes no longer match either (not resealed), but each rule is named
 * on its own line. */
Test(export_cameras, verify_names_rate_taps_that_are_not_the_published_cells)
{
	char bad[160], *err;

	export_to(pkg, NULL);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	copy_package(bad);
	/* Stop 110 hour 7: 310 instead of the published cells' 30. */
	insert_after(bad, "validation_rate.csv", ",stop,110,,,7,nvr,12,,3", "1");
	/* Route 10 hour 9: taps published beside the suppressed cell C. */
	insert_after(bad, "validation_rate.csv", ",route,10,,,9,signed,20,,", "12");
	cr_expect_eq(verify(bad, &err), 1);
	cr_expect(strstr(err, "validation_rate.csv: row 4: stop 110 hour 7: accepted '310' is not the sum of the "
	                      "published cells at that stop and hour ('30')") != NULL,
	          "%s", err);
	cr_expect(strstr(err, "route 10 hour 9: accepted 12 is published beside a suppressed cell") != NULL, "%s", err);
	free(err);
}
