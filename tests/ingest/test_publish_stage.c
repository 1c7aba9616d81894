/*
 * Description: the open-data publisher's decision, one round at a time
 * with the test's own clock, on a database filled through st_commit_group:
 * nothing before a date is closed plus the grace, v1 after; nothing when
 * nothing changed; v2 when late taps change what is published, naming v1's
 * manifest as previous; nothing when publishing is off; the distinct
 * riders' sketches komposterd holds in memory (storage/riders.h) are in the
 * package. Every package verifies (opendata/verify.h) and index.json lists it;
 * one copied into another version's or date's folder does not.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/fill.h"
#include "ingest/publish_index.h"
#include "ingest/publish_stage.h"
#include "opendata/verify.h"

#define DATE 20240615u
#define GRACE_MS (3600 * 1000LL)

static char root[64], db_dir[96], pub_dir[96];
static uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static struct kp_metrics metrics;

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/kp-publish-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(db_dir, sizeof(db_dir), "%s/db", root);
	snprintf(pub_dir, sizeof(pub_dir), "%s/open", root);
	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(crypto_sign_keypair(pk, sk), 0);
	kp_metrics_init(&metrics);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(publish, .init = setup, .fini = teardown);

/* taps[0..n): result on DATE at hour on route/stop, cards from card0. */
static void taps_on(struct kp_tap *taps, int hour, uint32_t route, uint32_t stop, int n, size_t card0,
                    uint8_t result)
{
	memset(taps, 0, (size_t)n * sizeof(*taps));
	for (int i = 0; i < n; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, hour, i);
		memset(taps[i].card_token, 0x5c, KP_CARD_TOKEN_SIZE);
		taps[i].card_token[0] = (uint8_t)(card0 + (size_t)i);
		taps[i].card_token[1] = (uint8_t)((card0 + (size_t)i) >> 8);
		taps[i].route_id = route;
		taps[i].stop_id = stop;
		taps[i].vehicle_id = 77;
		taps[i].fare_product = 1;
		taps[i].result = result;
		taps[i].amount = result == KP_TAP_ACCEPTED ? 800 : 0;
	}
}

/* n taps with result on DATE at hour on route/stop, cards from card0. */
static void add_taps_result(uint64_t device, int hour, uint32_t route, uint32_t stop, int n, size_t card0,
                            uint8_t result)
{
	struct kp_tap taps[64];

	cr_assert_leq(n, 64);
	taps_on(taps, hour, route, stop, n, card0, result);
	cr_assert_eq(fill_taps(db_dir, device, taps, (size_t)n, 16), 0);
}

static void add_taps(uint64_t device, int hour, uint32_t route, uint32_t stop, int n, size_t card0)
{
	add_taps_result(device, hour, route, stop, n, card0, KP_TAP_ACCEPTED);
}

struct run {
	struct st_db *db;
	struct kp_publish *p;
};

/* komposterd's deferral of the riders' sketches in the rounds' opens (0: none). */
static int riders_defer_ms;

static void run_open(struct run *r, int enabled)
{
	struct st_options opts;

	st_options_default(&opts);
	opts.riders_defer_ms = riders_defer_ms;
	opts.path = db_dir;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.adopt_settings = 1;
	cr_assert_eq(st_db_open(&r->db, &opts), ST_OK);
	const struct kp_publish_ctx ctx = {
		.cfg = { .dir = pub_dir, .enabled = enabled, .grace_ms = GRACE_MS, .recheck_days = 30,
		         .interval_ms = 1000, .k = 10, .epsilon = 0 },
		.db = r->db,
		.server_sk = sk,
		.m = &metrics,
	};
	cr_assert_eq(kp_publish_open(&ctx, &r->p), 0);
}

static void run_close(struct run *r)
{
	kp_publish_close(r->p);
	st_db_close(r->db);
}

/* One round at now_ms on a freshly opened database (a restart each time). */
static int round_at(int64_t now_ms, int enabled)
{
	struct run r;

	run_open(&r, enabled);
	int n = kp_publish_round(r.p, now_ms);
	run_close(&r);
	return n;
}

static int exists(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", pub_dir, rel);
	return access(path, F_OK) == 0;
}

static void print_problem(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("verify: %s", line);
}

static void expect_verifies(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", pub_dir, rel);
	cr_expect_eq(od_verify(path, pk, NULL, 0, print_problem, NULL), 0, "%s does not verify", rel);
}

static void manifest_sha256(const char *rel, char hex[65])
{
	char path[256];
	unsigned char digest[32], *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s/datapackage.json", pub_dir, rel);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	crypto_hash_sha256(digest, buf, (unsigned long long)len);
	free(buf);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
}

/* The manifest's previous_manifest_sha256, or "" when null. */
static void manifest_previous(const char *rel, char out[65])
{
	struct kp_published_list l;
	char err[KP_PUBLISH_ERR_SIZE];

	cr_assert_eq(kp_published_scan(pub_dir, &l, err), 0, "%s", err);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%08u/v%u", (unsigned)l.v[i].date, (unsigned)l.v[i].version);
		if (strcmp(name, rel) == 0)
			snprintf(out, 65, "%s", l.v[i].previous);
	}
	kp_published_free(&l);
}

static cJSON *read_index(void)
{
	char path[256], buf[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/index.json", pub_dir);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *doc = cJSON_Parse(buf);
	cr_assert_not_null(doc);
	return doc;
}

/* The end of service date DATE: 03:00 UTC the next day. */
static int64_t date_end(void)
{
	return fill_utc_ms(2024, 6, 16, FILL_START_HOUR, 0);
}

static void fill_day(void)
{
	add_taps(0xa1, 7, 10, 110, 20, 0);
	add_taps(0xa1 + 1, 8, 20, 120, 12, 100);
}

Test(publish, nothing_while_the_date_is_open_or_within_the_grace)
{
	fill_day();
	cr_expect_eq(round_at(fill_utc_ms(2024, 6, 15, 20, 0), 1), 0);
	cr_expect_eq(round_at(date_end() + GRACE_MS - 1000, 1), 0);
	cr_expect_not(exists("20240615"));
	cr_expect_eq(atomic_load(&metrics.open_data_published), 0);
}

Test(publish, a_closed_date_after_the_grace_gets_v1_that_verifies_and_is_indexed)
{
	char sha[65], prev[65];

	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	cr_assert(exists("20240615/v1/datapackage.json"));
	cr_expect_not(exists("20240615/v2"));
	expect_verifies("20240615/v1");
	cr_expect_eq(atomic_load(&metrics.open_data_published), 1);
	manifest_previous("20240615/v1", prev);
	cr_expect_str_eq(prev, "", "the first package follows none");

	manifest_sha256("20240615/v1", sha);
	cJSON *doc = read_index();
	const cJSON *dates = cJSON_GetObjectItem(doc, "dates"), *d = cJSON_GetArrayItem(dates, 0);
	const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "versions"), 0);
	cr_expect_eq(cJSON_GetArraySize(dates), 1);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d, "date")), "2024-06-15");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d, "latest")), "v1");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(v, "manifest_sha256")), sha);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(v, "path")), "20240615/v1/");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "latest"), "path")),
	                 "20240615/v1/");
	cJSON_Delete(doc);
	cr_expect(exists("index.html"));
}

Test(publish, nothing_when_nothing_changed)
{
	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	cr_expect_eq(round_at(date_end() + GRACE_MS + 61000, 1), 0);
	cr_expect_eq(round_at(date_end() + 5 * GRACE_MS, 1), 0);
	cr_expect_not(exists("20240615/v2"));
	cr_expect_eq(atomic_load(&metrics.open_data_published), 1);
}

Test(publish, late_taps_that_change_the_tables_give_v2_following_v1)
{
	char v1[65], prev[65];

	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	/* An offline validator comes back with the taps of a route not seen yet. */
	add_taps(0xb7, 9, 30, 130, 15, 200);
	cr_assert_eq(round_at(date_end() + 2 * GRACE_MS, 1), 1);
	cr_assert(exists("20240615/v2/datapackage.json"));
	expect_verifies("20240615/v1");
	expect_verifies("20240615/v2");
	manifest_sha256("20240615/v1", v1);
	manifest_previous("20240615/v2", prev);
	cr_expect_str_eq(prev, v1);
	cJSON *doc = read_index();
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "dates"), 0);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "versions")), 2);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d, "latest")), "v2");
	cJSON_Delete(doc);
}

/* v1 says 20 taps in a cell; a v2 saying 21 would tell, by difference, one
 * late tap there (and one more rider): held back until the late taps move
 * every count by k (10) or more. */
Test(publish, late_taps_that_move_a_count_by_less_than_k_wait_for_more)
{
	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	add_taps(0xc1, 7, 10, 110, 1, 50);
	cr_expect_eq(round_at(date_end() + 2 * GRACE_MS, 1), 0);
	cr_expect_not(exists("20240615/v2"));
	cr_expect_eq(atomic_load(&metrics.open_data_held_back), 1);
	cr_expect_eq(atomic_load(&metrics.open_data_publish_errors), 0);

	add_taps(0xc2, 7, 10, 110, 11, 60);
	cr_assert_eq(round_at(date_end() + 3 * GRACE_MS, 1), 1);
	cr_assert(exists("20240615/v2/datapackage.json"));
	expect_verifies("20240615/v2");
	cr_expect_eq(atomic_load(&metrics.open_data_held_back), 1);
}

/* A count suppressed in the last version may have been published in an
 * earlier one: a new version is held to every version before. Here v2's
 * counts are all made null on disk (as if suppressed there), so only v1
 * holds the cell's 20 that a v3 saying 21 would move by one. */
Test(publish, a_new_version_is_held_to_every_version_before)
{
	char cmd[512];

	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	add_taps(0xb7, 9, 30, 130, 15, 200);
	cr_assert_eq(round_at(date_end() + 2 * GRACE_MS, 1), 1);
	snprintf(cmd, sizeof(cmd), "sed -i -E 's/\"(accepted|riders)\": *[0-9]+/\"\\1\":null/g' %s/20240615/v2/*.json",
	         pub_dir);
	cr_assert_eq(system(cmd), 0);
	add_taps(0xc1, 7, 10, 110, 1, 50);
	cr_expect_eq(round_at(date_end() + 3 * GRACE_MS, 1), 0);
	cr_expect_not(exists("20240615/v3"));
	cr_expect_eq(atomic_load(&metrics.open_data_held_back), 1);
}

/* The problems od_verify names, one per line. */
static void collect_problem(void *ctx, const char *line)
{
	char *buf = ctx;

	strncat(buf, line, 4096 - strlen(buf) - 2);
	strcat(buf, "\n");
}

static void expect_problem(const char *rel, uint32_t date, const char *want)
{
	char path[256], problems[4096] = "";

	snprintf(path, sizeof(path), "%s/%s", pub_dir, rel);
	cr_expect_gt(od_verify(path, pk, NULL, date, collect_problem, problems), 0, "%s verifies", rel);
	cr_expect(strstr(problems, want) != NULL, "%s: no problem [%s] in:\n%s", rel, want, problems);
}

/* Each version's manifest names its date and version (signed): v1 served
 * as v3, or the 15th's v2 as the 16th's, is otherwise a whole, signed
 * package, and still named. */
Test(publish, a_version_served_in_another_s_place_is_named)
{
	char cmd[1024];

	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	add_taps(0xb7, 9, 30, 130, 15, 200);
	cr_assert_eq(round_at(date_end() + 2 * GRACE_MS, 1), 1);
	snprintf(cmd, sizeof(cmd), "cd %s && cp -r 20240615/v1 20240615/v3 && mkdir 20240616 && cp -r 20240615/v2 20240616/v2",
	         pub_dir);
	cr_assert_eq(system(cmd), 0);
	expect_verifies("20240615/v2");
	expect_problem("20240615/v3", 0, "datapackage.json: version 1, but the folder is 20240615/v3: another version's "
	                                 "package");
	expect_problem("20240616/v2", 0, "datapackage.json: service date 2024-06-15, but the folder is 20240616/v2");
	expect_problem("20240615/v2", 20240616, "datapackage.json: service date 2024-06-15, not 2024-06-16, the date "
	                                        "asked for");
}

Test(publish, late_taps_that_change_nothing_published_give_no_v2)
{
	fill_day();
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	/* Late denied taps: stored, but no table publishes denied taps. */
	add_taps_result(0xb8, 7, 10, 110, 15, 300, KP_TAP_DENIED_BALANCE);
	cr_expect_eq(round_at(date_end() + 2 * GRACE_MS, 1), 0);
	cr_expect_not(exists("20240615/v2"));
}

Test(publish, packages_of_two_dates_form_one_chain)
{
	char first[65], prev[65];
	struct kp_tap t[12];

	fill_day();
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 12; i++) {
		t[i].tapped_at = fill_utc_ms(2024, 6, 14, 10, i);
		memset(t[i].card_token, 0x33, KP_CARD_TOKEN_SIZE);
		t[i].card_token[0] = (uint8_t)i;
		t[i].route_id = 10;
		t[i].stop_id = 110;
		t[i].fare_product = 1;
		t[i].result = KP_TAP_ACCEPTED;
		t[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db_dir, 0xc1, t, 12, 12), 0);
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 2);
	manifest_sha256("20240614/v1", first);
	manifest_previous("20240615/v1", prev);
	cr_expect_str_eq(prev, first, "each package names the one published before it");
}

Test(publish, nothing_when_publishing_is_off)
{
	fill_day();
	cr_expect_eq(round_at(date_end() + 10 * GRACE_MS, 0), 0);
	cr_expect_not(exists(""));
	cr_expect_eq(atomic_load(&metrics.open_data_published), 0);
}

Test(publish, an_error_is_counted_and_retried_next_round)
{
	FILE *f;

	fill_day();
	f = fopen(pub_dir, "w"); /* a file where the folder should be */
	cr_assert_not_null(f);
	fclose(f);
	cr_expect_eq(round_at(date_end() + GRACE_MS + 1000, 1), -1);
	cr_expect_eq(atomic_load(&metrics.open_data_publish_errors), 1);
	cr_assert_eq(unlink(pub_dir), 0);
	cr_expect_eq(round_at(date_end() + GRACE_MS + 2000, 1), 1);
}

/* n accepted taps on day (June 2024) at hour, written into the database the
 * publisher holds open. */
static void add_taps_db(struct st_db *db, int day, uint64_t device, uint32_t route, int n, size_t card0)
{
	struct kp_tap t[32];

	cr_assert_leq(n, 32);
	memset(t, 0, sizeof(t));
	for (int i = 0; i < n; i++) {
		t[i].tapped_at = fill_utc_ms(2024, 6, day, 10, i);
		memset(t[i].card_token, 0x6d, KP_CARD_TOKEN_SIZE);
		t[i].card_token[0] = (uint8_t)(card0 + (size_t)i);
		t[i].route_id = route;
		t[i].stop_id = 100 + route;
		t[i].fare_product = 1;
		t[i].result = KP_TAP_ACCEPTED;
		t[i].amount = 800;
	}
	cr_assert_eq(fill_taps_db(db, device, t, (size_t)n, 16), 0);
}

static uint64_t builds(void)
{
	return atomic_load(&metrics.open_data_builds);
}

Test(publish, a_date_is_built_again_only_when_its_taps_changed)
{
	struct run r;

	run_open(&r, 1);
	add_taps_db(r.db, 14, 0xd1, 10, 12, 0);
	add_taps_db(r.db, 15, 0xd2, 10, 12, 0);
	cr_assert_eq(kp_publish_round(r.p, date_end() + GRACE_MS + 1000), 2);
	cr_expect_eq(builds(), 2);

	/* No new taps: rounds build nothing. */
	cr_expect_eq(kp_publish_round(r.p, date_end() + GRACE_MS + 61000), 0);
	cr_expect_eq(kp_publish_round(r.p, date_end() + 3 * GRACE_MS), 0);
	cr_expect_eq(builds(), 2, "a round without new taps built %llu dates", (unsigned long long)(builds() - 2));

	/* A late tap to the 14th: only the 14th is built, and gets v2. */
	add_taps_db(r.db, 14, 0xd3, 30, 12, 100);
	cr_expect_eq(kp_publish_round(r.p, date_end() + 4 * GRACE_MS), 1);
	cr_expect_eq(builds(), 3);
	cr_expect(exists("20240614/v2/datapackage.json"));
	cr_expect_not(exists("20240615/v2"));
	cr_expect_eq(kp_publish_round(r.p, date_end() + 5 * GRACE_MS), 0);
	cr_expect_eq(builds(), 3);
	run_close(&r);

	/* A restart builds the dates of the window once. */
	run_open(&r, 1);
	cr_expect_eq(kp_publish_round(r.p, date_end() + 6 * GRACE_MS), 0);
	cr_expect_eq(builds(), 5);
	cr_expect_eq(kp_publish_round(r.p, date_end() + 7 * GRACE_MS), 0);
	cr_expect_eq(builds(), 5);
	run_close(&r);
}

/* The 14th cannot be compared with its v1 (a table of it unreadable): the
 * round fails with its error and tries it again, but the 15th, closed
 * since, still gets its v1. */
Test(publish, a_date_that_fails_holds_no_later_date_back)
{
	struct run r;
	char path[256];
	FILE *f;

	run_open(&r, 1);
	add_taps_db(r.db, 14, 0xd1, 10, 12, 0);
	cr_assert_eq(kp_publish_round(r.p, fill_utc_ms(2024, 6, 15, FILL_START_HOUR, 0) + GRACE_MS + 1000), 1);
	snprintf(path, sizeof(path), "%s/20240614/v1/ridership_route_stop_hour.json", pub_dir);
	f = fopen(path, "w");
	cr_assert(f != NULL && fputs("not json", f) >= 0 && fclose(f) == 0);
	add_taps_db(r.db, 14, 0xd3, 30, 12, 100); /* late: the 14th is built and compared again */
	add_taps_db(r.db, 15, 0xd2, 10, 12, 0);
	cr_expect_eq(kp_publish_round(r.p, date_end() + GRACE_MS + 1000), -1);
	cr_expect_eq(atomic_load(&metrics.open_data_publish_errors), 1);
	cr_expect(exists("20240615/v1/datapackage.json"), "the 15th waited for the 14th");
	cr_expect_not(exists("20240614/v2"));
	cr_expect_eq(kp_publish_round(r.p, date_end() + GRACE_MS + 61000), -1, "the 14th is tried again");
	cr_expect_eq(atomic_load(&metrics.open_data_publish_errors), 2);
	run_close(&r);
}

/* The riders column of route's row in the package's ridership_route_day. */
static long route_day_riders(const char *rel, uint32_t route)
{
	char path[256], line[512], head[64];
	long riders = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/ridership_route_day.csv", pub_dir, rel);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	snprintf(head, sizeof(head), "2024-06-15,%u,", (unsigned)route);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, head, strlen(head)) == 0)
			riders = strtol(strrchr(line, ',') + 1, NULL, 10);
	fclose(f);
	return riders;
}

Test(publish, the_riders_sketches_komposterd_holds_in_memory_are_in_the_package)
{
	struct kp_tap taps[12];
	struct st_options opts;
	struct st_db *killed;

	fill_day(); /* route 20: 12 riders, written */
	st_options_default(&opts);
	opts.path = db_dir;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.riders_defer_ms = 3600 * 1000;
	cr_assert_eq(st_db_open(&killed, &opts), ST_OK);
	taps_on(taps, 21, 20, 120, 12, 200, KP_TAP_ACCEPTED); /* 12 more riders of route 20, held in memory */
	cr_assert_eq(fill_taps_db(killed, 0xa9, taps, 12, 12), 0);
	st_db_close(killed); /* as a kill leaves it: the open below holds them again */
	riders_defer_ms = 3600 * 1000;
	cr_assert_eq(round_at(date_end() + GRACE_MS + 1000, 1), 1);
	riders_defer_ms = 0;
	expect_verifies("20240615/v1");
	cr_expect_eq(route_day_riders("20240615/v1", 10), 20);
	cr_expect_eq(route_day_riders("20240615/v1", 20), 24, "the package left out the riders held in memory");
}
