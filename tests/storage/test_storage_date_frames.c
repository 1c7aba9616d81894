/*
 * Description: the log's index by service date (storage/date_frames.h):
 * st_commit_group indexes each stored frame once per distinct service date
 * of its rows (a frame across midnight of the service day under both
 * dates; a COUNTS frame only under the dates of its door cycles with
 * boardings or alightings; a duplicate not again); a walk visits the keys
 * of one type in (date, seq) order from a resume key, stops at the range's
 * last date and skips frames after the snapshot; st_check finds the index
 * consistent, and reports a key removed or added behind its back.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/bytes.h"
#include "helpers.h"
#include "storage/check.h"
#include "storage/date_frames.h"

TestSuite(date_frames, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* 2024-05-15 12:00 in Kyiv (the helpers' zone) */
static const int64_t day = 86400000;
#define DAY1 20240515u
#define DAY2 20240516u
#define DAY3 20240517u

#define KEYS_MAX 16
struct keys {
	uint32_t date[KEYS_MAX];
	uint64_t seq[KEYS_MAX];
	size_t n, stop_after;
};

static int note(void *ctx, uint32_t date, uint64_t seq)
{
	struct keys *k = ctx;

	cr_assert_lt(k->n, KEYS_MAX);
	k->date[k->n] = date;
	k->seq[k->n++] = seq;
	return k->stop_after != 0 && k->n == k->stop_after;
}

static int walk(uint8_t type, uint32_t date, uint64_t seq, uint32_t to, uint64_t max_seq, struct keys *k)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_date_frames_walk(&r, type, date, seq, to, max_seq, note, k);
	st_read_end(&r);
	return rc;
}

/* seq 1: taps on DAY1 and, after 03:00 the next day, DAY2; seq 2: taps on
 * DAY2; seq 3: counts, a door cycle on DAY1, an occupancy snapshot and an
 * empty door cycle on DAY3; seq 4: taps on DAY1 again. */
static void fill(void)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[3];
	struct kp_count recs[3];
	struct tdev d, apc;
	size_t len;

	tdev_make(&d, 0xa1);
	tdev_make(&apc, 0xc1);
	taps[0] = t_tap(noon, 7, 100, 1, 800, 1);
	taps[1] = t_tap(noon + day, 7, 100, 1, 800, 2);
	taps[2] = t_tap(noon + 1000, 7, 100, 1, 800, 3);
	len = t_frame(frame, &d, 1, taps, 3);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 4, noon + day, 10);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	recs[0] = t_door_cycle(noon, 7, 100, 1, 3, 0);
	recs[1] = t_occupancy(noon + 2 * day, 7, 40);
	recs[2] = t_door_cycle(noon + 2 * day, 7, 100, 1, 0, 0);
	len = t_count_frame(frame, &apc, 1, recs, 3);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 3, 2, noon + 5000, 20);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK); /* a duplicate: stored once */
}

Test(date_frames, each_frame_is_indexed_under_each_date_of_its_rows)
{
	struct keys k = { 0 };

	tdb_open();
	fill();
	cr_assert_eq(walk(KP_TYPE_TAPS, DAY1, 0, DAY3, UINT64_MAX, &k), ST_OK);
	cr_assert_eq(k.n, 4);
	cr_expect(k.date[0] == DAY1 && k.seq[0] == 1);
	cr_expect(k.date[1] == DAY1 && k.seq[1] == 4);
	cr_expect(k.date[2] == DAY2 && k.seq[2] == 1);
	cr_expect(k.date[3] == DAY2 && k.seq[3] == 2);
	k = (struct keys){ 0 };
	cr_assert_eq(walk(KP_TYPE_COUNTS, DAY1, 0, DAY3, UINT64_MAX, &k), ST_OK);
	cr_assert_eq(k.n, 1, "occupancy and empty door cycles are not indexed");
	cr_expect(k.date[0] == DAY1 && k.seq[0] == 3);
}

Test(date_frames, a_walk_resumes_stops_at_the_range_and_skips_after_the_snapshot)
{
	struct keys k = { .stop_after = 1 };

	tdb_open();
	fill();
	cr_assert_eq(walk(KP_TYPE_TAPS, DAY1, 2, DAY1, UINT64_MAX, &k), ST_ESTOP);
	cr_expect(k.date[0] == DAY1 && k.seq[0] == 4, "resumed from (DAY1, 2)");
	k = (struct keys){ 0 };
	cr_assert_eq(walk(KP_TYPE_TAPS, DAY2, 0, DAY2, UINT64_MAX, &k), ST_OK);
	cr_expect_eq(k.n, 2, "DAY2 only");
	k = (struct keys){ 0 };
	cr_assert_eq(walk(KP_TYPE_TAPS, DAY1, 0, DAY3, 3, &k), ST_OK);
	cr_assert_eq(k.n, 3, "seq 4 is after the snapshot");
	cr_expect(k.seq[0] == 1 && k.date[1] == DAY2 && k.seq[1] == 1 && k.seq[2] == 2);
}


static void edit_index(int remove)
{
	struct t_raw raw;
	uint8_t kb[ST_DATE_FRAMES_KEY_SIZE] = { KP_TYPE_TAPS };
	MDB_val k = { sizeof kb, kb }, v = { 0, kb };

	kp_store_u32be(kb + 1, remove ? DAY2 : DAY3);
	kp_store_u64be(kb + 5, remove ? 1 : 2);
	tdb_close();
	t_raw_begin(&raw, "date_frames", 0);
	if (remove)
		cr_assert_eq(mdb_del(raw.txn, raw.dbi, &k, NULL), 0);
	else
		cr_assert_eq(mdb_put(raw.txn, raw.dbi, &k, &v, 0), 0);
	t_raw_commit(&raw);
	tdb_open();
}

static char *check_text(uint64_t *problems)
{
	struct st_check_report rep;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &rep, out, NULL, NULL), ST_OK);
	fclose(out);
	*problems = rep.problems;
	return text;
}

Test(date_frames, st_check_rebuilds_the_index_and_reports_a_key_missing_or_extra)
{
	uint64_t problems;
	char *text;

	tdb_open();
	fill();
	text = check_text(&problems);
	cr_expect_eq(problems, 0, "%s", text);
	free(text);
	edit_index(1);
	text = check_text(&problems);
	cr_expect_eq(problems, 1, "%s", text);
	cr_expect_neq(strstr(text, "date_frames: frame 1 (type 1) under service date 20240516 is not indexed"), NULL,
	              "%s", text);
	free(text);
	edit_index(0);
	text = check_text(&problems);
	cr_expect_eq(problems, 2, "%s", text);
	cr_expect_neq(strstr(text, "date_frames: frame 2 (type 1) under service date 20240517 is indexed"), NULL,
	              "%s", text);
	free(text);
}
