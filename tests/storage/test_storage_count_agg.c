/*
 * Description: COUNTS frames are stored like TAPS frames and counted in the
 * same transaction: door cycles add boardings and alightings per (service
 * date, hour, route, stop, door), occupancy snapshots give peak, sum and
 * samples per (service date, hour, route) without the unknown ones; a repeat
 * is not counted twice; taps and counts of one device share one batch_seq
 * sequence in one group; st_check recounts the count cells from the log and
 * reports a tampered one.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/count_agg.h"
#include "storage/tap_agg.h"

TestSuite(count_agg, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST). */
static const int64_t noon = 1715763600000;
static const int64_t hour_ms = 3600000;

#define CELLS_MAX 16

struct door_cells {
	struct st_door_agg_key k[CELLS_MAX];
	struct st_door_agg_val v[CELLS_MAX];
	int n;
};

struct load_cells {
	struct st_load_agg_key k[CELLS_MAX];
	struct st_load_agg_val v[CELLS_MAX];
	int n;
};

static int collect_door(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct door_cells *c = ctx;

	cr_assert_lt(c->n, CELLS_MAX);
	c->k[c->n] = *k;
	c->v[c->n++] = *v;
	return 0;
}

static int collect_load(void *ctx, const struct st_load_agg_key *k, const struct st_load_agg_val *v)
{
	struct load_cells *c = ctx;

	cr_assert_lt(c->n, CELLS_MAX);
	c->k[c->n] = *k;
	c->v[c->n++] = *v;
	return 0;
}

static void read_cells(struct door_cells *d, struct load_cells *l)
{
	struct st_read r;

	*d = (struct door_cells){0};
	*l = (struct load_cells){0};
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_door_agg_foreach(&r, 0, 99991231, collect_door, d), ST_OK);
	cr_assert_eq(st_load_agg_foreach(&r, 0, 99991231, collect_load, l), ST_OK);
	st_read_end(&r);
}

static void expect_door(const struct door_cells *c, uint32_t date, uint8_t hour, uint32_t stop, uint8_t door,
                        uint64_t boardings, uint64_t alightings, uint64_t cycles)
{
	for (int i = 0; i < c->n; i++) {
		const struct st_door_agg_key *k = &c->k[i];

		if (k->service_date != date || k->hour != hour || k->route_id != 7 || k->stop_id != stop ||
		    k->door != door)
			continue;
		cr_expect_eq(k->source, ST_COUNT_SOURCE_SIGNED, "source of stop %u door %u", stop, door);
		cr_expect_eq(c->v[i].boardings, boardings, "boardings h%u stop %u door %u", hour, stop, door);
		cr_expect_eq(c->v[i].alightings, alightings, "alightings h%u stop %u door %u", hour, stop, door);
		cr_expect_eq(c->v[i].cycles, cycles, "cycles h%u stop %u door %u", hour, stop, door);
		return;
	}
	cr_assert_fail("no door cell %u h%u stop %u door %u", date, hour, stop, door);
}

static void commit_counts(const struct tdev *d, uint64_t batch_seq, const struct kp_count *recs, uint16_t n,
                          uint8_t want_outcome)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	size_t len = t_count_frame(frame, d, batch_seq, recs, n);

	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_expect_eq(it.outcome, want_outcome, "batch %lu", (unsigned long)batch_seq);
}

Test(count_agg, door_cycles_add_boardings_and_alightings_per_door_cell)
{
	const struct kp_count recs[] = {
		t_door_cycle(noon, 7, 100, 1, 3, 1),
		t_door_cycle(noon + 60000, 7, 100, 1, 2, 0),
		t_door_cycle(noon + 60000, 7, 100, 2, 1, 4),
		t_door_cycle(noon + 120000, 7, 101, 1, 5, 5),
		t_door_cycle(noon + hour_ms, 7, 100, 1, 9, 0),
	};
	struct door_cells d;
	struct load_cells l;
	struct tdev dev;

	tdb_open();
	tdev_make(&dev, 0xA1);
	commit_counts(&dev, 1, recs, 5, ST_STORED);
	read_cells(&d, &l);
	cr_expect_eq(d.n, 4);
	cr_expect_eq(l.n, 0, "door cycles make no load cell");
	expect_door(&d, 20240515, 12, 100, 1, 5, 1, 2);
	expect_door(&d, 20240515, 12, 100, 2, 1, 4, 1);
	expect_door(&d, 20240515, 12, 101, 1, 5, 5, 1);
	expect_door(&d, 20240515, 13, 100, 1, 9, 0, 1);
}

Test(count_agg, a_door_cycle_before_the_service_day_start_counts_on_the_previous_date)
{
	/* 2024-05-15 22:30 UTC = 01:30 on the 16th in Kyiv, before the 03:00 start. */
	const struct kp_count rec = t_door_cycle(t_utc_ms(2024, 5, 15, 22, 30, 0), 7, 100, 1, 4, 2);
	struct door_cells d;
	struct load_cells l;
	struct tdev dev;

	tdb_open();
	tdev_make(&dev, 0xA1);
	commit_counts(&dev, 1, &rec, 1, ST_STORED);
	read_cells(&d, &l);
	cr_expect_eq(d.n, 1);
	expect_door(&d, 20240515, 1, 100, 1, 4, 2, 1);
}

Test(count_agg, occupancy_gives_peak_sum_and_samples_without_unknown_snapshots)
{
	const struct kp_count recs[] = {
		t_occupancy(noon, 7, 10),
		t_occupancy(noon + 60000, 7, 30),
		t_occupancy(noon + 120000, 7, KP_OCCUPANCY_UNKNOWN),
		t_occupancy(noon + 180000, 7, 20),
		t_occupancy(noon, 8, 0),
	};
	struct door_cells d;
	struct load_cells l;
	struct tdev dev;

	tdb_open();
	tdev_make(&dev, 0xA1);
	commit_counts(&dev, 1, recs, 5, ST_STORED);
	read_cells(&d, &l);
	cr_expect_eq(d.n, 0, "snapshots make no door cell");
	cr_assert_eq(l.n, 2);
	cr_expect_eq(l.k[0].service_date, 20240515);
	cr_expect_eq(l.k[0].hour, 12);
	cr_expect_eq(l.k[0].route_id, 7);
	cr_expect_eq(l.k[0].source, ST_COUNT_SOURCE_SIGNED);
	cr_expect_eq(l.v[0].peak, 30);
	cr_expect_eq(l.v[0].sum, 60);
	cr_expect_eq(l.v[0].samples, 3, "the unknown snapshot is not a sample");
	cr_expect_eq(l.k[1].route_id, 8);
	cr_expect_eq(l.v[1].peak, 0);
	cr_expect_eq(l.v[1].samples, 1, "an empty vehicle is a sample");
}

Test(count_agg, a_repeated_frame_is_not_counted_twice)
{
	const struct kp_count recs[] = {t_door_cycle(noon, 7, 100, 1, 3, 1), t_occupancy(noon, 7, 12)};
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item items[2];
	struct st_commit_stats stats;
	struct door_cells d;
	struct load_cells l;
	struct tdev dev;
	size_t len;

	tdb_open();
	tdev_make(&dev, 0xA1);
	len = t_count_frame(frame, &dev, 1, recs, 2);
	items[0] = (struct st_commit_item){.frame = frame, .len = len, .received_at = 1};
	items[1] = items[0];
	cr_assert_eq(st_commit_group(tdb.db, items, 2, &stats), ST_OK);
	cr_expect_eq(items[0].outcome, ST_STORED);
	cr_expect_eq(items[1].outcome, ST_DUPLICATE, "a repeat in the same group");
	cr_expect_eq(stats.counts, 2);
	commit_counts(&dev, 1, recs, 2, ST_DUPLICATE);
	read_cells(&d, &l);
	expect_door(&d, 20240515, 12, 100, 1, 3, 1, 1);
	cr_assert_eq(l.n, 1);
	cr_expect_eq(l.v[0].sum, 12);
	cr_expect_eq(l.v[0].samples, 1);
}

static int sum_accepted(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	*(uint64_t *)ctx += v->accepted;
	return 0;
}

Test(count_agg, taps_and_counts_of_one_device_share_one_batch_seq_sequence_in_one_group)
{
	const struct kp_count rec = t_door_cycle(noon, 7, 100, 1, 6, 2);
	uint8_t taps1[KP_FRAME_MAX], counts2[KP_FRAME_MAX], taps3[KP_FRAME_MAX];
	struct st_commit_item items[3];
	struct st_commit_stats stats;
	struct door_cells d;
	struct load_cells l;
	struct st_read r;
	struct tdev dev;
	uint64_t accepted = 0;

	tdb_open();
	tdev_make(&dev, 0xA1);
	items[0] = (struct st_commit_item){.frame = taps1, .len = t_frame_simple(taps1, &dev, 1, 2, noon, 1)};
	items[1] = (struct st_commit_item){.frame = counts2, .len = t_count_frame(counts2, &dev, 2, &rec, 1)};
	items[2] = (struct st_commit_item){.frame = taps3, .len = t_frame_simple(taps3, &dev, 3, 3, noon, 10)};
	cr_assert_eq(st_commit_group(tdb.db, items, 3, &stats), ST_OK);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(items[i].outcome, ST_STORED, "item %d", i);
		cr_expect_eq(items[i].seq, (uint64_t)i + 1, "item %d", i);
		cr_expect_eq(items[i].watermark, 3, "item %d: watermark over both streams", i);
	}
	cr_expect_eq(items[1].type, KP_TYPE_COUNTS);
	cr_expect_eq(stats.taps, 5);
	cr_expect_eq(stats.counts, 1);
	read_cells(&d, &l);
	expect_door(&d, 20240515, 12, 100, 1, 6, 2, 1);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_tap_agg_foreach(&r, 0, 99991231, sum_accepted, &accepted), ST_OK);
	st_read_end(&r);
	cr_expect_eq(accepted, 5, "the COUNTS frame adds no tap");
}

/* ---- st_check ---- */

static void fill_mixed(void)
{
	const struct kp_count recs[] = {t_door_cycle(noon, 7, 100, 1, 3, 1), t_occupancy(noon, 7, 12),
	                                t_door_cycle(noon, 7, 100, 2, 0, 4)};
	uint8_t frame[KP_FRAME_MAX];
	struct tdev apc, validator;

	tdev_make(&apc, 0xA1);
	tdev_make(&validator, 0xB1);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &validator, 1, 4, noon, 1), NULL), ST_OK);
	commit_counts(&apc, 1, recs, 3, ST_STORED);
	commit_counts(&apc, 2, recs, 2, ST_STORED);
}

static uint64_t check_problems(char **text)
{
	struct st_check_report rep;
	size_t len;
	FILE *out = open_memstream(text, &len);

	cr_assert_not_null(out);
	cr_assert_eq(st_check(tdb.db, &rep, out, NULL, NULL), ST_OK);
	cr_assert_eq(fclose(out), 0);
	cr_expect_eq(rep.entries, 3);
	cr_expect_eq(rep.taps, 4);
	cr_expect_eq(rep.counts, 5);
	return rep.problems;
}

/* Adds one to the low byte of the first counter of the first cell of
 * `table`, with plain LMDB behind the storage layer's back. */
static void tamper_first_cell(const char *table)
{
	struct t_raw raw;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t copy[24];

	tdb_close();
	t_raw_begin(&raw, table, 0);
	cr_assert_eq(mdb_cursor_open(raw.txn, raw.dbi, &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	cr_assert_eq(v.mv_size, sizeof copy);
	memcpy(copy, v.mv_data, sizeof copy);
	copy[0]++;
	v = (MDB_val){sizeof copy, copy};
	cr_assert_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	t_raw_commit(&raw);
	tdb_open();
}

Test(count_agg, check_passes_on_taps_and_counts)
{
	char *text = NULL;

	tdb_open();
	fill_mixed();
	cr_expect_eq(check_problems(&text), 0, "%s", text);
	free(text);
}

/* Tampers with the first cell of table; check reports exactly `line`. */
static void expect_tamper_reported(const char *table, const char *line)
{
	char *text = NULL;

	tdb_open();
	fill_mixed();
	tamper_first_cell(table);
	cr_expect_eq(check_problems(&text), 1, "%s", text);
	cr_expect_not_null(strstr(text, line), "%s", text);
	free(text);
}

Test(count_agg, check_reports_a_tampered_door_cell)
{
	expect_tamper_reported("door_agg", "door_agg: cell 20240515 h12 route 7 stop 100 door 1 source 1 differs: "
	                                   "stored 7/2/2, the log says 6/2/2");
}

Test(count_agg, check_reports_a_tampered_load_cell)
{
	expect_tamper_reported("load_agg", "load_agg: cell 20240515 h12 route 7 source 1 differs: "
	                                   "stored 13/24/2, the log says 12/24/2");
}
