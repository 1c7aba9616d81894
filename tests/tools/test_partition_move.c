/*
 * Description: `komposter partition export` / `partition import` (issue
 * #16) from instance 0/2 to the new instance 2/3. Round trip (the import
 * creates the new instance's database): the devices
 * moving to 2/3, and only those, are handed over with their watermark and
 * the frames stored above it; on the new owner a frame the old owner
 * stored is not stored again, the next one is and moves the watermark on
 * from the old owner's, and st_check is clean. Refused with exit 1, one
 * line on stderr and nothing written: an altered file, a file signed by
 * another key (taken with that --pub), a file for another instance, a
 * validly signed file naming a device of another partition, a bad file
 * after a good one, the same device imported twice.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fill.h"
#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
#include "firmware-proto/partition.h"
#include "harness.h"
#include "opendata/signed_file.h"
#include "storage/check.h"
#include "storage/db.h"
#include "storage/devices.h"
#include "storage/handoff.h"
#include "storage/log.h"
#include "storage/once.h"

static char dir[64], db_old[128], db_new[128], conf_old[128], conf_new[128], key[128], other_key[128];
static char other_pub[80], file[128];
static uint64_t moving, moving_handed, staying;

/* The first device id from `from` on that 0 of 2 owns and j of 3 owns. */
static uint64_t device_from(uint64_t from, uint32_t j)
{
	for (uint64_t id = from;; id++)
		if (kp_partition_owner(id, 2) == 0 && kp_partition_owner(id, 3) == j)
			return id;
}

static void write_conf(const char *conf, const char *db, const char *partition)
{
	FILE *f;

	cr_assert_eq(fill_write_config(conf, db), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "[mqtt]\npartition = %s\n[ingest]\nserver_key = %s\n", partition, key);
	cr_assert_eq(fclose(f), 0);
}

static struct st_db *open_db(const char *path)
{
	struct st_options opts;
	struct st_db *h = NULL;

	st_options_default(&opts);
	opts.path = path;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	cr_assert_eq(st_db_open(&h, &opts), ST_OK);
	return h;
}

static void taps(struct st_db *h, uint64_t device, size_t n)
{
	struct kp_tap t[8];

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < n; i++) {
		t[i].tapped_at = fill_utc_ms(2024, 6, 15, 9, (int)i);
		t[i].card_token[0] = (uint8_t)(i + 1);
		t[i].route_id = 10;
		t[i].stop_id = 110;
		t[i].result = KP_TAP_ACCEPTED;
	}
	cr_assert_eq(fill_taps_db(h, device, t, n, 1), 0);
}

static void keygen(const char *path, char *pub_hex)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "keygen", path, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	if (pub_hex)
		snprintf(pub_hex, 80, "%.64s", r.out);
	tools_run_free(&r);
}

/* The old owner 0/2: moving (3 frames), moving_handed (moved in before with
 * frame 2 stored elsewhere, frame 1 here), staying (2 frames). */
static void setup(void)
{
	const uint64_t handed_above[] = { 2 };
	struct st_db *h;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db_old, sizeof(db_old), "%s/old", dir);
	snprintf(db_new, sizeof(db_new), "%s/new", dir);
	snprintf(conf_old, sizeof(conf_old), "%s/old.ini", dir);
	snprintf(conf_new, sizeof(conf_new), "%s/new.ini", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	snprintf(file, sizeof(file), "%s/to-2-of-3.json", dir);
	keygen(key, NULL);
	keygen(other_key, other_pub);
	write_conf(conf_old, db_old, "0/2");
	write_conf(conf_new, db_new, "2/3");
	moving = device_from(0x3000, 2);
	moving_handed = device_from(moving + 1, 2);
	staying = device_from(0x3000, 0);
	h = open_db(db_old);
	for (int i = 0; i < 3; i++) {
		const uint64_t id = i == 0 ? moving : i == 1 ? moving_handed : staying;
		struct st_device d = { .id = id, .kind = ST_KIND_VALIDATOR, .created_at = 1 };

		cr_assert_eq(st_device_add(h, &d), ST_OK);
	}
	cr_assert_eq(st_handoff_put(h, moving_handed, 0, handed_above, 1), ST_OK);
	taps(h, moving, 3);
	taps(h, moving_handed, 1);
	taps(h, staying, 2);
	st_db_close(h);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(partition_move, .init = setup, .fini = teardown);

static void export_ok(void)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf_old, "partition", "export", "--to", "3", "--owner", "2", "--out", file,
	                       NULL),
	             0);
	cr_assert_eq(r.status, 0, "export: %s", r.err);
	cr_expect_str_eq(r.out, "2 devices handed from 0/2 to 2/3\n");
	tools_run_free(&r);
}

/* Runs import with args (NULL-ended, up to 6) and expects a refusal. */
static void expect_refused(const char *why, const char *a1, const char *a2, const char *a3, const char *a4)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf_new, "partition", "import", a1, a2, a3, a4, NULL), 0);
	cr_expect_eq(r.status, 1, "%s: exit %d (%s)", why, r.status, r.err);
	cr_expect_eq(tools_count_lines(r.err), 1, "%s: %s", why, r.err);
	tools_run_free(&r);
}

/* The new owner's database is not even created before every file holds. */
static void expect_nothing_written(void)
{
	cr_expect_neq(access(db_new, F_OK), 0, "%s exists", db_new);
}

static uint64_t watermark_of(struct st_db *h, uint64_t device, uint64_t *log_last)
{
	struct st_read rd;
	uint64_t w = 0;

	cr_assert_eq(st_read_begin(h, &rd), ST_OK);
	cr_assert_eq(st_once_watermark(&rd, device, &w), ST_OK);
	cr_assert_eq(st_log_last_seq(&rd, log_last), ST_OK);
	st_read_end(&rd);
	return w;
}

Test(partition_move, round_trip_makes_a_replayed_frame_a_duplicate)
{
	struct st_check_report rep;
	struct tools_run r;
	struct st_db *h;
	uint64_t last;
	int handed;

	export_ok();
	cr_assert_eq(tools_run(&r, "-c", conf_new, "partition", "import", file, NULL), 0);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	cr_expect_str_eq(r.out, "2 devices imported\n");
	tools_run_free(&r);

	h = open_db(db_new);
	cr_expect_eq(watermark_of(h, moving, &last), 3, "the old owner's watermark goes on here");
	cr_expect_eq(watermark_of(h, moving_handed, &last), 1);
	/* The fleet re-sends: fill fails on a frame not stored, nothing lands. */
	struct kp_tap t = { .tapped_at = fill_utc_ms(2024, 6, 15, 9, 0), .route_id = 10, .result = KP_TAP_ACCEPTED };
	cr_expect_neq(fill_taps_db(h, moving, &t, 1, 1), 0, "batch 1 was stored by the old owner");
	cr_expect_neq(fill_taps_db(h, moving_handed, &t, 1, 1), 0);
	watermark_of(h, moving, &last);
	cr_expect_eq(last, 0, "no replayed frame stored");
	taps(h, staying, 1); /* not handed: stored as ever */
	{
		struct st_read rd;

		cr_assert_eq(st_read_begin(h, &rd), ST_OK);
		cr_expect_eq(st_handoff_lookup(&rd, moving_handed, 2, &handed), ST_OK);
		cr_expect_eq(handed, 1, "the frame handed to the old owner travels on");
		cr_expect_eq(st_handoff_lookup(&rd, staying, 1, &handed), ST_OK);
		cr_expect_eq(handed, 0, "a device that stays is not handed");
		st_read_end(&rd);
	}
	struct kp_tap four[4];

	memset(four, 0, sizeof(four));
	for (int i = 0; i < 4; i++)
		four[i] = t;
	cr_expect_neq(fill_taps_db(h, moving, four, 4, 1), 0, "1..3 duplicates, 4 stored");
	cr_expect_eq(watermark_of(h, moving, &last), 4, "W + 1 moves it");
	cr_expect_eq(last, 2, "batch 4 of the moved device and the staying one's");
	cr_assert_eq(st_check(h, &rep, NULL, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
	st_db_close(h);

	expect_refused("imported twice", file, NULL, NULL, NULL);
}

Test(partition_move, an_altered_file_is_refused)
{
	FILE *f;
	char *text;
	long size;

	export_ok();
	f = fopen(file, "r+");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	text = calloc(1, (size_t)size + 1);
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	char *w = strstr(text, "\"watermark\":3");
	cr_assert_not_null(w, "%s", text);
	w[strlen("\"watermark\":")] = '0';
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	cr_assert_eq(fwrite(text, 1, (size_t)size, f), (size_t)size);
	cr_assert_eq(fclose(f), 0);
	free(text);
	expect_refused("altered", file, NULL, NULL, NULL);
	expect_nothing_written();
}

Test(partition_move, another_key_is_refused_unless_given)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "-c", conf_old, "partition", "export", "--to", "3", "--owner", "2", "--out", file,
	                       "--key", other_key, NULL),
	             0);
	cr_assert_eq(r.status, 0, "export: %s", r.err);
	tools_run_free(&r);
	expect_refused("signed by another key", file, NULL, NULL, NULL);
	expect_nothing_written();
	cr_assert_eq(tools_run(&r, "-c", conf_new, "partition", "import", "--pub", other_pub, file, NULL), 0);
	cr_expect_eq(r.status, 0, "with its --pub: %s", r.err);
	tools_run_free(&r);
}

Test(partition_move, a_file_for_another_instance_is_refused)
{
	export_ok();
	expect_refused("--partition 1/3", "--partition", "1/3", file, NULL);
	expect_refused("--partition 2/4", "--partition", "2/4", file, NULL);
	expect_nothing_written();
}

Test(partition_move, a_signed_device_of_another_partition_is_refused_and_nothing_of_a_good_file_written)
{
	char bad[160], text[512], err[OD_ERR_SIZE], kerr[KP_KEYFILE_ERR_SIZE], hex[KP_DEVICE_ID_TEXT_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];

	export_ok();
	snprintf(bad, sizeof(bad), "%s/staying.json", dir);
	kp_device_id_format(staying, hex);
	snprintf(text, sizeof(text),
	         "{\"format\":\"komposter-handoff-1\",\"from\":\"0/2\",\"to\":\"2/3\",\"created\":1,"
	         "\"devices\":[{\"device\":\"%s\",\"watermark\":2,\"above\":[]}]}",
	         hex);
	cr_assert_eq(kp_keyfile_read_secret(key, sk, kerr), 0, "%s", kerr);
	cr_assert_eq(od_signed_write(bad, text, "komposter handoff 0/2 to 2/3", sk, err), 0, "%s", err);
	sodium_memzero(sk, sizeof(sk));
	expect_refused("device of 0/3", bad, NULL, NULL, NULL);
	expect_refused("a good file, then a bad one", file, bad, NULL, NULL);
	expect_refused("the same file twice", file, file, NULL, NULL);
	expect_nothing_written();
}
