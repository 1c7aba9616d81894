/*
 * Description: `komposter export --tides --from D --to D --out DIR` writes
 * fare_transactions.csv and passenger_events.csv (mode 0600) with the
 * TIDES headers, one row per tap of the range (accepted and denied) and the
 * boarded/alighted rows of its door cycles; no card token is in them; an
 * existing file is never overwritten; bad command lines exit 2.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fill.h"
#include "harness.h"

#define DEVICE_ID 0x5eed5eed12345678ULL
#define APC_ID 0x00000000000000c1ULL
#define TAPS_N 12

static char dir[64], db[128], conf[128], out[128];
static struct kp_tap taps[TAPS_N];

static void setup(void)
{
	struct kp_count recs[2] = { 0 };

	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(conf, sizeof conf, "%s/komposterd.ini", dir);
	snprintf(out, sizeof out, "%s/tides", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	for (size_t i = 0; i < TAPS_N; i++) {
		/* 8 on 2024-06-15, 4 on 2024-06-16 */
		taps[i] = (struct kp_tap){ .tapped_at = fill_utc_ms(2024, 6, i < 8 ? 15 : 16, 9, (int)i),
			                   .route_id = 7, .stop_id = 300, .vehicle_id = 4242, .fare_product = 2,
			                   .direction = 1, .amount = 800 };
		memset(taps[i].card_token, 0xc0 + (int)i, KP_CARD_TOKEN_SIZE);
	}
	taps[2].result = KP_TAP_DENIED_EXPIRED;
	cr_assert_eq(fill_taps(db, DEVICE_ID, taps, TAPS_N, 5), 0);
	for (int i = 0; i < 2; i++)
		recs[i] = (struct kp_count){ .observed_at = fill_utc_ms(2024, 6, 15, 10, i), .route_id = 7,
			                     .stop_id = 300, .vehicle_id = 31, .door = (uint8_t)(1 + i),
			                     .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = 3, .alightings = 1,
			                     .occupancy = KP_OCCUPANCY_UNKNOWN, .confidence = KP_CONFIDENCE_UNKNOWN };
	cr_assert_eq(fill_counts(db, APC_ID, 1, recs, 2), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(export_tides, .init = setup, .fini = teardown);

static char *slurp(const char *name, size_t *len)
{
	char path[192];
	FILE *f;
	char *buf = malloc(1 << 16);

	snprintf(path, sizeof path, "%s/%s", out, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static size_t lines(const char *text)
{
	size_t n = 0;

	for (const char *p = strstr(text, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		n++;
	return n;
}

Test(export_tides, writes_both_files_of_the_range)
{
	struct tools_run r;
	struct stat st;
	char path[192], *csv;
	size_t len;

	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--tides", "--from", "2024-06-15", "--out", out, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_neq(strstr(r.out, "fare_transactions.csv"), NULL, "%s", r.out);
	tools_run_free(&r);
	csv = slurp("fare_transactions.csv", &len);
	cr_expect_eq(strncmp(csv, "transaction_id,service_date,event_timestamp,", 44), 0, "%s", csv);
	cr_expect_eq(lines(csv), 1 + 8, "%s", csv);
	cr_expect_eq(strstr(csv, "2024-06-16"), NULL);
	cr_expect_neq(strstr(csv, ",Other,"), NULL, "the denied tap");
	for (size_t i = 0; i < TAPS_N; i++)
		cr_expect_null(memmem(csv, len, taps[i].card_token, KP_CARD_TOKEN_SIZE));
	free(csv);
	csv = slurp("passenger_events.csv", &len);
	cr_expect_eq(strncmp(csv, "passenger_event_id,service_date,", 32), 0, "%s", csv);
	cr_expect_eq(lines(csv), 1 + 4, "%s", csv);
	free(csv);
	snprintf(path, sizeof path, "%s/fare_transactions.csv", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);

	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--tides", "--from", "2024-06-15", "--to", "2024-06-16",
	                       "--out", out, NULL), 0);
	cr_expect_eq(r.status, 1, "an existing file is not overwritten");
	tools_run_free(&r);
	csv = slurp("fare_transactions.csv", &len);
	cr_expect_eq(lines(csv), 1 + 8, "the first file is intact");
	free(csv);
}

Test(export_tides, bad_command_lines_exit_2)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--tides", "--out", out, NULL), 0);
	cr_expect_eq(r.status, 2);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--tides", "--from", "2024-06-16", "--to", "2024-06-15",
	                       "--out", out, NULL), 0);
	cr_expect_eq(r.status, 2);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--tides", "--from", "2024-06-15", "--date", "2024-06-15",
	                       "--out", out, NULL), 0);
	cr_expect_eq(r.status, 2);
	tools_run_free(&r);
	cr_assert_eq(tools_run(&r, "export", "-c", conf, "--from", "2024-06-15", "--out", out, NULL), 0);
	cr_expect_eq(r.status, 2);
	tools_run_free(&r);
}
