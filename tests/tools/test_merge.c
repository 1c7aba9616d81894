/*
 * Description: `komposter partial` and `komposter merge` (issue #16). The
 * same taps of nine devices are committed into three databases, each
 * holding the devices that partition K/3 owns, and into one database
 * holding them all. The merge of the three signed partials is, file for
 * file, the package `komposter export` makes of the one database (only
 * datapackage.json, SHA256SUMS and the signature differ: provenance);
 * `komposter verify` accepts it, stock minisign a partial's signature; a
 * cell below k on every instance but above k city-wide is published.
 * validation_rate too: two buses' counters (APCs) each on another instance
 * than the bus's validators, and a street camera's door cells on one
 * instance; a komposter-partial-1 is refused by name.
 * Refused with exit 1, one line, and nothing written: an altered partial,
 * one signed by another key, one of another date, two of one partition,
 * a missing partition, partials of different N. An existing partial is
 * never written over.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fill.h"
#include "firmware-proto/partition.h"
#include "firmware-proto/keyfile.h"
#include "harness.h"
#include "opendata/minisign.h"
#include "storage/nvr.h"

#define DATE "2024-06-15"
#define OTHER_DATE "2024-06-16"
#define NDEV 9
#define TAPS_PER_DEV 12

static char dir[64], conf[128], key[128], pub_hex[80];
static char part[3][160], whole[128];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Device d's taps: 2 in route 10 stop 110 at 07 (fare 1), so that cell is
 * below k = 10 on each instance (at most 4 devices) and 18 city-wide. */
static void taps_of(uint64_t d, struct kp_tap *t)
{
	memset(t, 0, TAPS_PER_DEV * sizeof(*t));
	for (int i = 0; i < TAPS_PER_DEV; i++) {
		t[i].tapped_at = fill_utc_ms(2024, 6, 15, i < 2 ? 7 : 8 + i % 3, (int)d);
		memset(t[i].card_token, 0x5a, KP_CARD_TOKEN_SIZE);
		t[i].card_token[0] = (uint8_t)d; /* one card per tap: no card on two instances */
		t[i].card_token[1] = (uint8_t)i;
		t[i].route_id = i < 2 ? 10 : 20 + (uint32_t)(i % 2);
		t[i].stop_id = i < 2 ? 110 : 200 + (uint32_t)(i % 3);
		t[i].vehicle_id = (uint32_t)d;
		t[i].fare_product = (uint16_t)(i < 2 ? 1 : 1 + i % 2);
		t[i].result = i == 11 ? KP_TAP_DENIED_BALANCE : KP_TAP_ACCEPTED;
		t[i].amount = t[i].result == KP_TAP_ACCEPTED ? 800 : 0;
	}
}

/* Bus v's counter: `boardings` at route, stop and hour, on an APC that
 * another instance than the bus's validator (device 0x1000 + v) owns. */
static void count_on_other_instance(char db[3][128], uint32_t v, int hour, uint32_t route, uint32_t stop,
                                    uint16_t boardings)
{
	const uint32_t bus_owner = kp_partition_owner(0x1000 + v, 3);
	uint64_t apc = 0x2000 + v;
	const struct kp_count c = { .observed_at = fill_utc_ms(2024, 6, 15, hour, 30), .route_id = route,
		                    .stop_id = stop, .vehicle_id = v, .door = 1, .kind = KP_COUNT_KIND_DOOR_CYCLE,
		                    .boardings = boardings, .alightings = 2, .occupancy = KP_OCCUPANCY_UNKNOWN,
		                    .confidence = 90 };

	while (kp_partition_owner(apc, 3) == bus_owner)
		apc++;
	cr_assert_eq(fill_counts(whole, apc, 1, &c, 1), 0);
	cr_assert_eq(fill_counts(db[kp_partition_owner(apc, 3)], apc, 1, &c, 1), 0);
}

static void run_ok(const char *what, struct tools_run *r)
{
	cr_assert_eq(r->status, 0, "%s: exit %d: %s", what, r->status, r->err);
	tools_run_free(r);
}

static void make_partial(const char *db, const char *partition, const char *date, const char *keyfile,
                         const char *out)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db, "partial", "--date", date, "--partition", partition,
	                       "--key", keyfile, "--out", out, NULL),
	             0);
	run_ok("partial", &r);
}

static void setup(void)
{
	struct tools_run r;
	struct kp_tap taps[TAPS_PER_DEV];
	char db[3][128];
	FILE *f;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(tools_scratch_make(dir), 0);
	path_of(conf, sizeof(conf), "k.ini");
	path_of(key, sizeof(key), "server.key");
	path_of(whole, sizeof(whole), "whole");
	cr_assert_eq(fill_write_config(conf, whole), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[open_data]\nk = 10\n");
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
	for (int k = 0; k < 3; k++)
		snprintf(db[k], sizeof(db[k]), "%s/db%d", dir, k);
	unsigned per[3] = { 0 };
	for (uint64_t d = 1; d <= NDEV; d++) {
		uint64_t id = 0x1000 + d;
		uint32_t owner = kp_partition_owner(id, 3);

		taps_of(d, taps);
		cr_assert_eq(fill_taps(whole, id, taps, TAPS_PER_DEV, 6), 0);
		cr_assert_eq(fill_taps(db[owner], id, taps, TAPS_PER_DEV, 6), 0);
		per[owner]++;
	}
	/* Device d's taps at hour 8 are on route 20 + (d's i = 6: 0), vehicle d. */
	count_on_other_instance(db, 3, 8, 20, 200, 30);
	count_on_other_instance(db, 5, 9, 20, 201, 25);
	/* A street camera at stop 200, hour 8 (Frigate on one instance). */
	const struct fill_nvr_cell street = { "stop200", 8, 0, 200, 0, ST_NVR_BOARDED };
	cr_assert_eq(fill_nvr_counts(whole, &street, "s", 12), 0);
	cr_assert_eq(fill_nvr_counts(db[0], &street, "s", 12), 0);
	for (int k = 0; k < 3; k++) {
		char p[16];

		cr_assert(per[k] > 0 && per[k] <= 4, "partition %d holds %u devices", k, per[k]);
		snprintf(part[k], sizeof(part[k]), "%s/p%d.json", dir, k);
		snprintf(p, sizeof(p), "%d/3", k);
		make_partial(db[k], p, DATE, key, part[k]);
	}
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(merge, .init = setup, .fini = teardown);

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static const char *const tables[] = {
	"ridership_route_stop_hour.csv", "ridership_route_stop_hour.json", "ridership_route_day.csv",
	"ridership_route_day.json", "ridership_day.csv", "ridership_day.json", "ridership_fare_day.csv",
	"ridership_fare_day.json", "ridership.txt", "ride_feed_info.txt", "station_activities.csv", "minisign.pub",
	"validation_rate.csv", "validation_rate.json",
};

Test(merge, three_partials_give_the_package_one_instance_makes)
{
	char merged[128], single[128], a[256], b[256];
	struct tools_run r;

	path_of(merged, sizeof(merged), "merged");
	path_of(single, sizeof(single), "single");
	cr_assert_eq(tools_run(&r, "-c", conf, "merge", "--date", DATE, "--out", merged, "--key", key, "--pub", pub_hex,
	                       part[2], part[0], part[1], NULL),
	             0);
	run_ok("merge", &r);
	cr_assert_eq(tools_run(&r, "-c", conf, "export", "--date", DATE, "--out", single, "--key", key, NULL), 0);
	run_ok("export", &r);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(a, sizeof(a), "%s/%s", merged, tables[i]);
		snprintf(b, sizeof(b), "%s/%s", single, tables[i]);
		char *x = slurp(a), *y = slurp(b);

		cr_assert_str_eq(x, y, "%s differs", tables[i]);
		free(x);
		free(y);
	}
	snprintf(a, sizeof(a), "%s/ridership_route_stop_hour.csv", merged);
	char *csv = slurp(a);
	cr_assert_not_null(strstr(csv, ",110,,,7,18\r\n"), "the 18 taps of route 10 at 07 are not published:\n%s", csv);
	free(csv);
	snprintf(a, sizeof(a), "%s/validation_rate.csv", merged);
	csv = slurp(a);
	cr_assert(strstr(csv, ",route,20,") && strstr(csv, ",signed,30,") && strstr(csv, ",stop,200,") &&
	                  strstr(csv, ",nvr,12,"),
	          "the counters' and the street camera's rows are missing:\n%s", csv);
	free(csv);
	cr_assert_eq(tools_run(&r, "verify", merged, "--public-key", pub_hex, NULL), 0);
	run_ok("verify", &r);
	/* A partial's signature is minisign's own: the stock tool checks it. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "minisign -Vqm %s -p %s/minisign.pub", part[1], merged);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* merge with these partials fails with one line saying want; nothing written. */
static void expect_refused(const char *want, const char *p0, const char *p1, const char *p2)
{
	char out[128];
	struct tools_run r;

	path_of(out, sizeof(out), "refused");
	cr_assert_eq(tools_run(&r, "-c", conf, "merge", "--date", DATE, "--out", out, "--key", key, "--pub", pub_hex,
	                       p0, p1, p2, NULL),
	             0);
	cr_assert_eq(r.status, 1, "exit %d (%s): %s", r.status, want, r.err);
	cr_assert_eq(tools_count_lines(r.err), 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, want), "want '%s': %s", want, r.err);
	cr_assert_neq(access(out, F_OK), 0, "%s written", out);
	tools_run_free(&r);
}

Test(merge, an_altered_partial_is_refused)
{
	char forged[160], cmd[1024];

	snprintf(forged, sizeof(forged), "%s/forged.json", dir);
	/* One count more in a cell, the signature copied along. */
	snprintf(cmd, sizeof(cmd), "sed 's/\\[10,110,7,1,\\([0-9]\\)/[10,110,7,1,9/' %s > %s && cp %s.minisig %s.minisig",
	         part[1], forged, part[1], forged);
	cr_assert_eq(system(cmd), 0);
	char *x = slurp(part[1]), *y = slurp(forged);
	cr_assert_str_neq(x, y, "the sed changed nothing");
	free(x);
	free(y);
	expect_refused("signature", part[0], forged, part[2]);
}

Test(merge, a_partial_signed_by_another_key_is_refused)
{
	char other_key[128], other[160], db[128];
	struct tools_run r;

	path_of(other_key, sizeof(other_key), "other.key");
	cr_assert_eq(tools_run(&r, "keygen", other_key, NULL), 0);
	run_ok("keygen", &r);
	snprintf(db, sizeof(db), "%s/db2", dir);
	snprintf(other, sizeof(other), "%s/other.json", dir);
	make_partial(db, "2/3", DATE, other_key, other);
	expect_refused("signature", part[0], part[1], other);
}

Test(merge, a_partial_of_another_date_is_refused)
{
	char other[160], db[128];

	snprintf(db, sizeof(db), "%s/db2", dir);
	snprintf(other, sizeof(other), "%s/late.json", dir);
	make_partial(db, "2/3", OTHER_DATE, key, other);
	expect_refused("not of " DATE, part[0], part[1], other);
}

/* from edited by the sed expression into name, signed again with the
 * instances' key: only what the edit wrote can be at fault. */
static void edit_signed(const char *from, const char *expr, const char *name, char out[160], const char *want)
{
	char cmd[1024];

	snprintf(out, 160, "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "sed '%s' %s > %s", expr, from, out);
	cr_assert_eq(system(cmd), 0);
	char *text = slurp(out);
	cr_assert_not_null(strstr(text, want), "the sed did not write %s", want);
	uint8_t sk[KP_SECRET_KEY_SIZE];
	char kerr[256], sig[OD_MINISIGN_SIG_TEXT_SIZE], sig_path[200];
	cr_assert_eq(kp_keyfile_read_secret(key, sk, kerr), 0, "%s", kerr);
	cr_assert_eq(od_minisign_sign(sk, (const uint8_t *)text, strlen(text), "komposter partial", sig), 0);
	free(text);
	snprintf(sig_path, sizeof(sig_path), "%s.minisig", out);
	FILE *f = fopen(sig_path, "w");
	cr_assert(f && fputs(sig, f) >= 0 && fclose(f) == 0);
}

Test(merge, a_partial_of_the_format_without_camera_data_is_refused_by_name)
{
	char old[160];

	edit_signed(part[2], "s/komposter-partial-2/komposter-partial-1/", "old.json", old, "komposter-partial-1");
	expect_refused("komposter-partial-1", part[0], part[1], old);
}

/* A signed partial is an instance's word, not a trusted input: a fare
 * product past 16 bits or an hour past 23 would index the tables' arrays
 * out of bounds (run under ASan, the suite's second build, it is caught). */
Test(merge, a_signed_partial_with_a_cell_out_of_range_is_refused)
{
	char fare[160], hour[160];

	edit_signed(part[1], "s/\\[10,110,7,1,/[10,110,7,70000,/", "fare.json", fare, "[10,110,7,70000,");
	expect_refused("malformed cells", part[0], fare, part[2]);
	edit_signed(part[1], "s/\\[10,110,7,1,/[10,110,24,1,/", "hour.json", hour, "[10,110,24,1,");
	expect_refused("malformed cells", part[0], hour, part[2]);
}

Test(merge, two_partials_of_one_partition_are_refused)
{
	expect_refused("two partials of partition 1/3", part[0], part[1], part[1]);
}

Test(merge, a_missing_partition_is_refused)
{
	char out[128];
	struct tools_run r;

	path_of(out, sizeof(out), "refused");
	cr_assert_eq(tools_run(&r, "-c", conf, "merge", "--date", DATE, "--out", out, "--key", key, part[0], part[1],
	                       NULL),
	             0);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "partition 2/3 is missing"), "%s", r.err);
	cr_assert_neq(access(out, F_OK), 0);
	tools_run_free(&r);
}

Test(merge, partials_of_different_n_overlap_and_are_refused)
{
	char other[160], db[128];

	snprintf(db, sizeof(db), "%s/db0", dir);
	snprintf(other, sizeof(other), "%s/half.json", dir);
	make_partial(db, "0/2", DATE, key, other);
	expect_refused("overlap", other, part[1], part[2]);
}

/* Instance 1/3's own package, or its partial claiming the whole city (0/1),
 * would sit beside the merged package and give away by difference every
 * cell it suppressed: both are refused from its config. */
Test(merge, an_instance_of_a_partition_writes_no_package_of_its_own)
{
	char conf1[160], db1[128], out[160], whole_claim[160];
	struct tools_run r;

	snprintf(conf1, sizeof(conf1), "%s/i1.ini", dir);
	snprintf(db1, sizeof(db1), "%s/db1", dir);
	cr_assert_eq(fill_write_config(conf1, db1), 0);
	FILE *f = fopen(conf1, "a");
	cr_assert(f && fprintf(f, "[mqtt]\npartition = 1/3\n") > 0 && fclose(f) == 0);
	path_of(out, sizeof(out), "own-package");
	cr_assert_eq(tools_run(&r, "-c", conf1, "export", "--date", DATE, "--out", out, "--key", key, NULL), 0);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_eq(tools_count_lines(r.err), 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "this instance is 1/3 of a partition"), "%s", r.err);
	cr_assert_neq(access(out, F_OK), 0, "%s written", out);
	tools_run_free(&r);

	snprintf(whole_claim, sizeof(whole_claim), "%s/claim.json", dir);
	cr_assert_eq(tools_run(&r, "-c", conf1, "partial", "--date", DATE, "--partition", "0/1", "--key", key, "--out",
	                       whole_claim, NULL),
	             0);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "--partition 0/1: this instance is 1/3"), "%s", r.err);
	cr_assert_neq(access(whole_claim, F_OK), 0, "%s written", whole_claim);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "-c", conf1, "partial", "--date", DATE, "--key", key, "--out", whole_claim, NULL), 0);
	run_ok("partial of its own share", &r);
}

Test(merge, a_partial_is_never_written_over)
{
	char db[128];
	struct tools_run r;
	char *before = slurp(part[0]);

	snprintf(db, sizeof(db), "%s/db0", dir);
	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db, "partial", "--date", OTHER_DATE, "--partition", "0/3",
	                       "--key", key, "--out", part[0], NULL),
	             0);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_eq(tools_count_lines(r.err), 1, "%s", r.err);
	tools_run_free(&r);
	char *after = slurp(part[0]);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}
