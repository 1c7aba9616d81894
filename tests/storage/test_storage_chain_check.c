/*
 * Description: the hash chain recomputes from the log (head(n) =
 * BLAKE2b(head(n-1) ‖ entry n)); st_check finds a consistent database
 * consistent, and reports an edit made behind the storage API's back (an
 * aggregate, a log entry, a chain head, the once-only index, a watermark,
 * a signature put back into a stored frame, the taps or the signed counts
 * of a vehicle's hour) as at least one problem naming what is wrong; the
 * NVR part of a vehicle's hour has no log behind it and is not recounted.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/chain.h"
#include "storage/check.h"
#include "storage/log.h"
#include "storage/nvr.h"

TestSuite(check, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

/* Three frames from two devices, the second device out of order. */
static void fill(void)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev a, b;
	size_t len;

	tdev_make(&a, 0xE1);
	tdev_make(&b, 0xE2);
	len = t_frame_simple(frame, &a, 1, 4, noon, 1);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &b, 2, 3, noon + 60000, 100);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &a, 2, 5, noon + 86400000, 200);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
}

struct checked {
	struct st_check_report rep;
	char *text;
	size_t text_len;
};

static void run_check(struct checked *c)
{
	FILE *out = open_memstream(&c->text, &c->text_len);

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &c->rep, out, NULL, NULL), ST_OK);
	fclose(out);
}

/* Opens the environment with plain LMDB, lets edit change one database,
 * commits, and reopens the storage API on it. */
static void raw_edit(const char *name, unsigned flags, void (*edit)(MDB_txn *txn, MDB_dbi dbi))
{
	struct t_raw raw;

	tdb_close();
	t_raw_begin(&raw, name, flags);
	edit(raw.txn, raw.dbi);
	t_raw_commit(&raw);
	tdb_open();
}

/* Copies the value at k, lets change alter the copy, and puts it back. */
static void rewrite(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, void (*change)(uint8_t *p, size_t n))
{
	uint8_t *copy = malloc(v->mv_size);

	cr_assert_not_null(copy);
	memcpy(copy, v->mv_data, v->mv_size);
	change(copy, v->mv_size);
	*v = (MDB_val){v->mv_size, copy};
	cr_assert_eq(mdb_put(txn, dbi, k, v, 0), 0);
	free(copy);
}

static void first_byte_plus_one(uint8_t *p, size_t n)
{
	p[0]++;
}

static void last_tap_amount_plus_one(uint8_t *p, size_t n)
{
	/* The amount of the last tap: 64-byte signature, then 48-byte record, amount at 40. */
	p[n - KP_SIGNATURE_SIZE - KP_TAP_RECORD_SIZE + 40]++;
}

static void edit_first_cell(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_cursor *cur;
	MDB_val k, v;

	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	mdb_cursor_close(cur);
	rewrite(txn, dbi, &k, &v, first_byte_plus_one);
}

static void edit_entry_2(MDB_txn *txn, MDB_dbi dbi)
{
	uint64_t seq = 2;
	MDB_val k = {sizeof seq, &seq}, v;

	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	rewrite(txn, dbi, &k, &v, last_tap_amount_plus_one);
}

static void last_signature_byte_set(uint8_t *p, size_t n)
{
	p[n - 1] = 0x5A;
}

static void put_signature_in_entry_2(MDB_txn *txn, MDB_dbi dbi)
{
	uint64_t seq = 2;
	MDB_val k = {sizeof seq, &seq}, v;

	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	rewrite(txn, dbi, &k, &v, last_signature_byte_set);
}

static void edit_head_1(MDB_txn *txn, MDB_dbi dbi)
{
	uint64_t seq = 1;
	MDB_val k = {sizeof seq, &seq}, v;

	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	rewrite(txn, dbi, &k, &v, first_byte_plus_one);
}

static void delete_first(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_cursor *cur;
	MDB_val k, v;

	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	cr_assert_eq(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
}

static void delete_entry_2(MDB_txn *txn, MDB_dbi dbi)
{
	uint64_t seq = 2;
	MDB_val k = {sizeof seq, &seq};

	cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
}

static void edit_first_watermark(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_cursor *cur;
	MDB_val k, v;

	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	mdb_cursor_close(cur);
	rewrite(txn, dbi, &k, &v, first_byte_plus_one); /* little-endian: W + 1 */
}

static void expect_problem(const char *what)
{
	struct checked c = {0};

	run_check(&c);
	cr_expect_gt(c.rep.problems, 0, "no problem reported");
	cr_expect_not_null(strstr(c.text, what), "no line about %s in:\n%s", what, c.text);
	free(c.text);
}

struct heads {
	uint8_t head[ST_CHAIN_HEAD_SIZE];
	struct st_read *r;
	int n;
};

static int recompute(void *ctx, const struct st_log_entry *e)
{
	struct heads *h = ctx;
	uint8_t stored[ST_CHAIN_HEAD_SIZE];

	st_chain_next(h->head, e->raw, e->raw_len, h->head);
	cr_assert_eq(st_chain_head(h->r, e->seq, stored), ST_OK);
	cr_expect_eq(memcmp(stored, h->head, sizeof stored), 0, "head %lu", (unsigned long)e->seq);
	h->n++;
	return 0;
}

Test(check, chain_heads_recompute_from_the_log)
{
	struct st_read r;
	struct heads h = {.r = &r};
	uint8_t zero[ST_CHAIN_HEAD_SIZE] = {0}, head0[ST_CHAIN_HEAD_SIZE];

	tdb_open();
	fill();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_chain_head(&r, 0, head0), ST_OK);
	cr_expect_eq(memcmp(head0, zero, sizeof zero), 0);
	cr_assert_eq(st_log_foreach(&r, 1, recompute, &h), ST_OK);
	cr_expect_eq(h.n, 3);
	cr_expect_eq(st_chain_head(&r, 4, head0), ST_ENOTFOUND);
	st_read_end(&r);
}

Test(check, an_empty_database_is_consistent)
{
	struct checked c = {0};

	tdb_open();
	run_check(&c);
	cr_expect_eq(c.rep.problems, 0);
	cr_expect_eq(c.rep.entries, 0);
	free(c.text);
}

static void count_progress(void *ctx, uint64_t done, uint64_t total)
{
	cr_expect_leq(done, total);
	*(uint64_t *)ctx = done;
}

Test(check, a_database_written_by_the_writer_is_consistent)
{
	struct checked c = {0};
	uint64_t done = 0;

	tdb_open();
	fill();
	run_check(&c);
	cr_expect_eq(c.rep.problems, 0, "problems:\n%s", c.text);
	cr_expect_eq(c.rep.entries, 3);
	cr_expect_eq(c.rep.taps, 12);
	free(c.text);
	cr_assert_eq(st_check(tdb.db, &c.rep, NULL, count_progress, &done), ST_OK);
	cr_expect_eq(done, 3, "progress reports the end of the walk");
}

Test(check, an_edited_aggregate_is_reported)
{
	tdb_open();
	fill();
	raw_edit("tap_agg", 0, edit_first_cell);
	expect_problem("tap_agg");
}

Test(check, an_edited_log_entry_breaks_the_chain_and_the_sums)
{
	tdb_open();
	fill();
	raw_edit("log", MDB_INTEGERKEY, edit_entry_2);
	expect_problem("chain: head of seq 2");
	expect_problem("tap_agg");
}

Test(check, a_stored_signature_is_reported)
{
	tdb_open();
	fill();
	raw_edit("log", MDB_INTEGERKEY, put_signature_in_entry_2);
	expect_problem("log: entry 2 keeps signature bytes");
}

Test(check, an_edited_chain_head_is_reported)
{
	tdb_open();
	fill();
	raw_edit("chain", MDB_INTEGERKEY, edit_head_1);
	expect_problem("chain: head of seq 1");
}

Test(check, a_removed_log_entry_is_a_gap)
{
	tdb_open();
	fill();
	raw_edit("log", MDB_INTEGERKEY, delete_entry_2);
	expect_problem("log: seq 3 follows 1");
	expect_problem("indexed but not in the log");
}

Test(check, a_missing_once_only_entry_is_reported)
{
	tdb_open();
	fill();
	raw_edit("once", 0, delete_first);
	expect_problem("is not indexed");
}

Test(check, a_wrong_watermark_is_reported)
{
	tdb_open();
	fill();
	raw_edit("watermark", 0, edit_first_watermark);
	expect_problem("watermark: device");
}

/* Bus 31 at 12:xx Kyiv: the taps of fill() moved to it, two door cycles of
 * its signed counter and one onboard NVR boarding, so its vehicle_hours cell
 * has all three parts. */
static void fill_vehicle_hour(void)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[3];
	const struct kp_count recs[] = {t_door_cycle(noon + 60000, 7, 100, 1, 3, 1),
	                                t_door_cycle(noon + 120000, 7, 101, 2, 2, 0)};
	struct st_nvr_event ev = {.type = ST_NVR_END, .start = noon, .end = noon + 5000, .received_at = noon + 6000,
	                          .want = ST_NVR_BOARDED, .vehicle_id = 31,
	                          .cell = {.service_date = 20240515, .hour = 12, .route_id = 7, .stop_id = 100,
	                                   .door = 1, .source = ST_COUNT_SOURCE_NVR}};
	struct st_nvr_limits limits = {.counted_max = 10};
	struct st_nvr_stats stats = {0};
	struct tdev v, apc;
	size_t len;

	tdev_make(&v, 0xE3);
	tdev_make(&apc, 0xE4);
	for (int i = 0; i < 3; i++) {
		taps[i] = t_tap(noon + i * 1000, 7, 100, 1, 800, 300 + (uint32_t)i);
		taps[i].vehicle_id = 31;
	}
	len = t_frame(frame, &v, 1, taps, 3);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_count_frame(frame, &apc, 1, recs, 2);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	snprintf(ev.camera, sizeof ev.camera, "bus31-front");
	snprintf(ev.id, sizeof ev.id, "obj-1");
	snprintf(ev.label, sizeof ev.label, "person");
	cr_assert_eq(st_nvr_commit(tdb.db, &ev, 1, &limits, &stats), ST_OK);
	cr_assert_eq(stats.boardings, 1);
}

/* vehicle_hours value: accepted LE8, then signed b, a, records, then NVR
 * b, a, records. */
static size_t vhour_byte;

static void vhour_byte_plus_one(uint8_t *p, size_t n)
{
	cr_assert_eq(n, 56);
	p[vhour_byte]++;
}

/* The cell of bus 31 (the only one with a vehicle other than fill()'s 4242). */
static void edit_bus_31_cell(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kb = k.mv_data;

		if (k.mv_size == 13 && kb[9] == 0 && kb[10] == 0 && kb[11] == 0 && kb[12] == 31)
			break;
	}
	mdb_cursor_close(cur);
	cr_assert_eq(rc, 0, "no vehicle_hours cell of bus 31");
	rewrite(txn, dbi, &k, &v, vhour_byte_plus_one);
}

static void expect_consistent(void)
{
	struct checked c = {0};

	run_check(&c);
	cr_expect_eq(c.rep.problems, 0, "problems:\n%s", c.text);
	free(c.text);
}

Test(check, vehicle_hours_are_recounted_from_the_log_and_their_nvr_part_is_not)
{
	tdb_open();
	fill();
	fill_vehicle_hour();
	expect_consistent();
}

Test(check, an_edited_tap_count_of_a_vehicle_hour_is_reported)
{
	tdb_open();
	fill();
	fill_vehicle_hour();
	vhour_byte = 0; /* accepted */
	raw_edit("vehicle_hours", 0, edit_bus_31_cell);
	expect_problem("vehicle_hours: cell 20240515 h12 route 7 vehicle 31 differs");
}

Test(check, an_edited_signed_count_of_a_vehicle_hour_is_reported)
{
	tdb_open();
	fill();
	fill_vehicle_hour();
	vhour_byte = 8; /* signed boardings */
	raw_edit("vehicle_hours", 0, edit_bus_31_cell);
	expect_problem("vehicle_hours: cell 20240515 h12 route 7 vehicle 31 differs: stored 6/1/2");
}

Test(check, the_nvr_part_of_a_vehicle_hour_is_not_recounted)
{
	tdb_open();
	fill();
	fill_vehicle_hour();
	vhour_byte = 32; /* NVR boardings: no log to say otherwise */
	raw_edit("vehicle_hours", 0, edit_bus_31_cell);
	expect_consistent();
}
