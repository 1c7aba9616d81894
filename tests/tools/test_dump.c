/*
 * Description: `komposter dump` prints one JSON line per stored tap with
 * the tap's fields and a rider pseudonym, never a raw card token; the same
 * card on the same service date gets the same pseudonym; --from-seq and
 * --limit select log entries; --counts prints the count records of COUNTS
 * frames instead, which the default dump leaves out.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"
#include "firmware-proto/hex.h"

#define TAPS_N 10
#define PER_FRAME 4 /* frames of 4, 4 and 2 taps */

static char dir[64], db[128], conf[128];
static struct kp_tap taps[TAPS_N];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(conf, sizeof(conf), "%s/komposterd.ini", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < TAPS_N; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 9, (int)i);
		/* taps 0 and 5 are the same card */
		memset(taps[i].card_token, 0xc0 + (int)(i % 5), KP_CARD_TOKEN_SIZE);
		taps[i].card_token[0] = 0x5a;
		taps[i].route_id = 7;
		taps[i].stop_id = 300 + (uint32_t)i;
		taps[i].vehicle_id = 4242;
		taps[i].fare_product = 2;
		taps[i].direction = 1;
		taps[i].amount = 800 + (uint32_t)i;
		taps[i].flags = KP_TAP_FLAG_TRANSFER;
	}
	cr_assert_eq(fill_taps(db, 0xc3, taps, TAPS_N, PER_FRAME), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(dump, .init = setup, .fini = teardown);

static double num(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(f), "no number '%s'", name);
	return f->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(f), "no string '%s'", name);
	return f->valuestring;
}

static void check_line(const char *line, size_t i, char rider[33])
{
	cJSON *o = cJSON_Parse(line);

	cr_assert_not_null(o, "not JSON: %s", line);
	cr_assert_eq(num(o, "seq"), (double)(i / PER_FRAME + 1));
	cr_assert_eq(num(o, "batch_seq"), (double)(i / PER_FRAME + 1));
	cr_assert_str_eq(str(o, "device_id"), "00000000000000c3");
	cr_assert_eq(num(o, "tapped_at"), (double)taps[i].tapped_at);
	cr_assert(num(o, "received_at") > 0);
	cr_assert_eq(num(o, "route_id"), 7);
	cr_assert_eq(num(o, "stop_id"), 300 + (double)i);
	cr_assert_eq(num(o, "vehicle_id"), 4242);
	cr_assert_eq(num(o, "fare_product"), 2);
	cr_assert_eq(num(o, "direction"), 1);
	cr_assert_eq(num(o, "result"), 0);
	cr_assert_eq(num(o, "amount"), 800 + (double)i);
	cr_assert_eq(num(o, "flags"), KP_TAP_FLAG_TRANSFER);
	cr_assert_eq(strlen(str(o, "rider")), 32);
	memcpy(rider, str(o, "rider"), 33);
	cJSON_Delete(o);
}

Test(dump, one_line_per_tap_and_never_a_raw_token)
{
	char riders[TAPS_N][33], hex[2 * KP_CARD_TOKEN_SIZE + 1];
	struct tools_run r;
	char *line, *save = NULL;
	size_t i = 0;

	cr_assert_eq(tools_run(&r, "dump", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), TAPS_N, "stdout: %s", r.out);
	for (size_t t = 0; t < TAPS_N; t++) {
		kp_hex_encode(taps[t].card_token, KP_CARD_TOKEN_SIZE, hex);
		cr_assert_null(strstr(r.out, hex), "raw token of tap %zu in the dump", t);
		cr_assert_null(memmem(r.out, r.out_len, taps[t].card_token, KP_CARD_TOKEN_SIZE));
	}
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++)
		check_line(line, i, riders[i]);
	cr_assert_str_eq(riders[0], riders[5], "same card, same date, different pseudonyms");
	cr_assert_str_neq(riders[0], riders[1]);
	tools_run_free(&r);
}

Test(dump, from_seq_and_limit_select_log_entries)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "dump", "-c", conf, "--from-seq", "2", "--limit", "1", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), PER_FRAME, "the second frame only: %s", r.out);
	cr_assert_not_null(strstr(r.out, "\"seq\":2,"), "%s", r.out);
	cr_assert_null(strstr(r.out, "\"seq\":1,"), "%s", r.out);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "dump", "-c", conf, "--from-seq", "3", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), TAPS_N - 2 * PER_FRAME, "%s", r.out);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "dump", "-c", conf, "--from-seq", "99", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out_len, 0);
	tools_run_free(&r);
}

Test(dump, counts_prints_the_count_records_and_the_default_dump_leaves_them_out)
{
	const struct kp_count recs[] = {
		{ .observed_at = fill_utc_ms(2024, 6, 15, 10, 0), .route_id = 7, .stop_id = 301, .vehicle_id = 4242,
		  .door = 2, .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = 5, .alightings = 3,
		  .occupancy = KP_OCCUPANCY_UNKNOWN, .confidence = 88 },
		{ .observed_at = fill_utc_ms(2024, 6, 15, 10, 1), .route_id = 7, .vehicle_id = 4242,
		  .kind = KP_COUNT_KIND_OCCUPANCY, .occupancy = 31, .confidence = KP_CONFIDENCE_UNKNOWN },
	};
	struct tools_run r;
	cJSON *line;

	cr_assert_eq(fill_counts(db, 0xd4, 1, recs, 2), 0);
	cr_assert_eq(tools_run(&r, "dump", "-c", conf, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), TAPS_N, "taps only: %s", r.out);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "dump", "-c", conf, "--counts", NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.out), 2, "%s", r.out);
	line = cJSON_Parse(r.out); /* the first line */
	cr_assert_not_null(line, "%s", r.out);
	cr_expect_eq(num(line, "seq"), 4, "after the three TAPS frames");
	cr_expect_str_eq(str(line, "device_id"), "00000000000000d4");
	cr_expect_eq(num(line, "observed_at"), (double)recs[0].observed_at);
	cr_expect_eq(num(line, "stop_id"), 301);
	cr_expect_eq(num(line, "door"), 2);
	cr_expect_eq(num(line, "kind"), KP_COUNT_KIND_DOOR_CYCLE);
	cr_expect_eq(num(line, "boardings"), 5);
	cr_expect_eq(num(line, "alightings"), 3);
	cr_expect_eq(num(line, "confidence"), 88);
	cJSON_Delete(line);
	cr_expect_not_null(strstr(r.out, "\"occupancy\":31,"), "%s", r.out);
	tools_run_free(&r);
}
