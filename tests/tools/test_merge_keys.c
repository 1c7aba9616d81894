/*
 * Description: one pseudonym city-wide (issue #16). The same five cards
 * tap on a device of instance 0/2 and on a device of instance 1/2. When
 * instance 1 imported the epoch keys instance 0 exported (`komposter keys
 * export` / `keys import`), the merged package counts 5 distinct riders
 * on the route; when each instance made its own key, it counts 10 (the
 * same card is two riders): the control that the shared keys are what
 * merges the riders.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "firmware-proto/partition.h"
#include "harness.h"

#define DATE "2024-06-15"
#define CARDS 5

static char dir[64], conf[128], key[128], pub_hex[80];

static void setup(void)
{
	struct tools_run r;
	char whole[128];
	FILE *f;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(conf, sizeof(conf), "%s/k.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(whole, sizeof(whole), "%s/unused", dir);
	cr_assert_eq(fill_write_config(conf, whole), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[open_data]\nk = 2\n");
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(pub_hex, sizeof(pub_hex), "%.64s", r.out);
	tools_run_free(&r);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(merge_keys, .init = setup, .fini = teardown);

/* The first device id from 0x2000 on that partition k of 2 owns. */
static uint64_t device_of(uint32_t k)
{
	for (uint64_t id = 0x2000;; id++)
		if (kp_partition_owner(id, 2) == k)
			return id;
}

/* Cards 1..CARDS tap once each on route 10, stop 110, at hour (UTC). */
static void tap_cards(const char *db, uint32_t partition, int hour)
{
	struct kp_tap t[CARDS];

	memset(t, 0, sizeof(t));
	for (int i = 0; i < CARDS; i++) {
		t[i].tapped_at = fill_utc_ms(2024, 6, 15, hour, i);
		memset(t[i].card_token, 0x33, KP_CARD_TOKEN_SIZE);
		t[i].card_token[0] = (uint8_t)(i + 1);
		t[i].route_id = 10;
		t[i].stop_id = 110;
		t[i].vehicle_id = 1 + partition;
		t[i].fare_product = 1;
		t[i].result = KP_TAP_ACCEPTED;
		t[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, device_of(partition), t, CARDS, CARDS), 0);
}

static void run_ok(struct tools_run *r, const char *what)
{
	cr_assert_eq(r->status, 0, "%s: exit %d: %s", what, r->status, r->err);
	tools_run_free(r);
}

/* Merges the partials of db0 (0/2) and db1 (1/2); the route-day row of route 10. */
static char *merged_route_row(const char *db0, const char *db1, const char *tag)
{
	char p0[160], p1[160], out[160], csv[200], line[256], *row = NULL;
	struct tools_run r;
	FILE *f;

	snprintf(p0, sizeof(p0), "%s/%s-p0.json", dir, tag);
	snprintf(p1, sizeof(p1), "%s/%s-p1.json", dir, tag);
	snprintf(out, sizeof(out), "%s/%s-merged", dir, tag);
	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db0, "partial", "--date", DATE, "--partition", "0/2", "--key",
	                       key, "--out", p0, NULL),
	             0);
	run_ok(&r, "partial 0/2");
	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db1, "partial", "--date", DATE, "--partition", "1/2", "--key",
	                       key, "--out", p1, NULL),
	             0);
	run_ok(&r, "partial 1/2");
	cr_assert_eq(tools_run(&r, "-c", conf, "merge", "--date", DATE, "--out", out, "--key", key, "--pub", pub_hex,
	                       p0, p1, NULL),
	             0);
	run_ok(&r, "merge");
	snprintf(csv, sizeof(csv), "%s/ridership_route_day.csv", out);
	f = fopen(csv, "r");
	cr_assert_not_null(f, "%s", csv);
	while (row == NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, DATE ",10,", strlen(DATE ",10,")) == 0)
			row = strdup(line);
	fclose(f);
	cr_assert_not_null(row, "no row of route 10 in %s", csv);
	return row;
}

Test(merge_keys, one_card_on_two_instances_is_one_rider_with_imported_keys)
{
	char db0[128], db1[128], file[128];
	struct tools_run r;
	char *row;

	snprintf(db0, sizeof(db0), "%s/db0", dir);
	snprintf(db1, sizeof(db1), "%s/db1", dir);
	snprintf(file, sizeof(file), "%s/epoch.keys", dir);
	tap_cards(db0, 0, 7);
	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db0, "keys", "export", "--from", DATE, "--through", DATE,
	                       "--out", file, NULL),
	             0);
	run_ok(&r, "keys export");
	cr_assert_eq(tools_run(&r, "-c", conf, "--db", db1, "keys", "import", file, NULL), 0);
	run_ok(&r, "keys import");
	tap_cards(db1, 1, 9);
	row = merged_route_row(db0, db1, "shared");
	/* accepted 10 (both instances), riders 5 (the same five cards). */
	cr_expect(strstr(row, ",10,5\r\n") != NULL || strstr(row, ",10,5\n") != NULL, "row: %s", row);
	free(row);
}

Test(merge_keys, without_shared_keys_one_card_is_two_riders)
{
	char db0[128], db1[128];
	char *row;

	snprintf(db0, sizeof(db0), "%s/db0", dir);
	snprintf(db1, sizeof(db1), "%s/db1", dir);
	tap_cards(db0, 0, 7);
	tap_cards(db1, 1, 9);
	row = merged_route_row(db0, db1, "local");
	cr_expect(strstr(row, ",10,10\r\n") != NULL || strstr(row, ",10,10\n") != NULL, "row: %s", row);
	free(row);
}
