/*
 * Description: every stored tap counts once in its cell (service date,
 * hour, route, stop, fare product): accepted taps add to accepted and to
 * the amount, denied taps only to denied; foreach walks a date range in
 * key order.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/tap_agg.h"

TestSuite(tap_agg, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC = 12:00 in Kyiv (EEST). */
static const int64_t noon = 1715763600000;

#define CELLS_MAX 16

struct cells {
	struct st_tap_agg_key k[CELLS_MAX];
	struct st_tap_agg_val v[CELLS_MAX];
	int n;
	int stop_after;
};

static int collect(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct cells *c = ctx;

	cr_assert_lt(c->n, CELLS_MAX);
	c->k[c->n] = *k;
	c->v[c->n++] = *v;
	return c->stop_after && c->n == c->stop_after;
}

static int read_cells(uint32_t from, uint32_t to, struct cells *c)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_tap_agg_foreach(&r, from, to, collect, c);
	st_read_end(&r);
	return rc;
}

static const struct st_tap_agg_val *find(const struct cells *c, uint32_t date, uint8_t hour, uint32_t route,
                                         uint32_t stop, uint16_t fare)
{
	for (int i = 0; i < c->n; i++) {
		const struct st_tap_agg_key *k = &c->k[i];

		if (k->service_date == date && k->hour == hour && k->route_id == route && k->stop_id == stop &&
		    k->fare_product == fare)
			return &c->v[i];
	}
	return NULL;
}

static void expect_cell(const struct cells *c, uint32_t stop, uint16_t fare, uint64_t acc, uint64_t den,
                        uint64_t amount)
{
	const struct st_tap_agg_val *v = find(c, 20240515, 12, 7, stop, fare);

	cr_assert_not_null(v, "cell stop %u fare %u", stop, fare);
	cr_expect_eq(v->accepted, acc, "stop %u fare %u accepted", stop, fare);
	cr_expect_eq(v->denied, den, "stop %u fare %u denied", stop, fare);
	cr_expect_eq(v->amount, amount, "stop %u fare %u amount", stop, fare);
}

Test(tap_agg, accepted_denied_and_amount_are_summed_per_cell)
{
	uint8_t f1[KP_FRAME_MAX], f2[KP_FRAME_MAX];
	struct kp_tap taps[7];
	struct tdev d;
	struct cells c = {0};
	size_t l1, l2;

	tdb_open();
	tdev_make(&d, 0x77);
	for (int i = 0; i < 3; i++)
		taps[i] = t_tap(noon + i, 7, 100, 1, 800, (uint32_t)i);
	taps[3] = t_tap(noon + 3, 7, 100, 1, 800, 3);
	taps[3].result = KP_TAP_DENIED_BALANCE;
	taps[4] = t_tap(noon + 4, 7, 100, 1, 800, 4);
	taps[4].result = KP_TAP_DENIED_PASSBACK;
	taps[5] = t_tap(noon + 5, 7, 101, 1, 800, 5);
	taps[6] = t_tap(noon + 6, 7, 100, 2, 400, 6);
	l1 = t_frame(f1, &d, 1, taps, 7);
	taps[0] = t_tap(noon + 100, 7, 100, 1, 650, 8);
	l2 = t_frame(f2, &d, 2, taps, 1);
	cr_assert_eq(t_commit1(f1, l1, NULL), ST_OK);
	cr_assert_eq(t_commit1(f2, l2, NULL), ST_OK);

	cr_assert_eq(read_cells(20240515, 20240515, &c), ST_OK);
	cr_expect_eq(c.n, 3);
	expect_cell(&c, 100, 1, 4, 2, 3 * 800 + 650);
	expect_cell(&c, 101, 1, 1, 0, 800);
	expect_cell(&c, 100, 2, 1, 0, 400);
}

Test(tap_agg, interleaved_cells_in_one_frame_are_each_counted)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[6];
	struct tdev d;
	struct cells c = {0};
	size_t len;

	tdb_open();
	tdev_make(&d, 0x78);
	for (int i = 0; i < 6; i++)
		taps[i] = t_tap(noon + i, 7, i % 2 ? 200 : 100, 1, 10, (uint32_t)i);
	len = t_frame(frame, &d, 1, taps, 6);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(read_cells(0, UINT32_MAX, &c), ST_OK);
	cr_expect_eq(c.n, 2);
	expect_cell(&c, 100, 1, 3, 0, 30);
	expect_cell(&c, 200, 1, 3, 0, 30);
}

/* A group's cells are summed in memory and written once (tap_agg.c): a
 * cell already stored, one that two frames of the group share, one new, and
 * a frame repeated within the group, which adds nothing. */
Test(tap_agg, a_group_sums_the_cells_its_frames_share_and_adds_them_to_the_stored_ones_once)
{
	static uint8_t f[4][KP_FRAME_MAX];
	struct st_commit_item items[4];
	struct kp_tap taps[2];
	struct tdev d;
	struct cells c = {0};

	tdb_open();
	tdev_make(&d, 0x79);
	taps[0] = t_tap(noon, 7, 100, 1, 800, 1);
	cr_assert_eq(t_commit1(f[0], t_frame(f[0], &d, 1, taps, 1), NULL), ST_OK); /* stop 100 stored */
	taps[0] = t_tap(noon + 1, 7, 100, 1, 10, 2);
	taps[1] = t_tap(noon + 2, 7, 200, 1, 20, 3);
	items[0] = (struct st_commit_item){.frame = f[1], .len = t_frame(f[1], &d, 2, taps, 2), .received_at = noon};
	taps[0] = t_tap(noon + 3, 7, 200, 1, 30, 4);
	taps[1] = t_tap(noon + 4, 7, 300, 1, 40, 5);
	items[1] = (struct st_commit_item){.frame = f[2], .len = t_frame(f[2], &d, 3, taps, 2), .received_at = noon};
	items[2] = items[0]; /* the same frame again: a duplicate */
	cr_assert_eq(st_commit_group(tdb.db, items, 3, NULL), ST_OK);
	cr_expect_eq(items[0].outcome, ST_STORED);
	cr_expect_eq(items[1].outcome, ST_STORED);
	cr_expect_eq(items[2].outcome, ST_DUPLICATE);
	cr_assert_eq(read_cells(20240515, 20240515, &c), ST_OK);
	cr_expect_eq(c.n, 3);
	expect_cell(&c, 100, 1, 2, 0, 810);
	expect_cell(&c, 200, 1, 2, 0, 50);
	expect_cell(&c, 300, 1, 1, 0, 40);
}

Test(tap_agg, foreach_walks_a_date_range_in_key_order)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[4];
	struct tdev d;
	struct cells c = {0};
	size_t len;
	const int64_t day = 86400000;

	tdb_open();
	tdev_make(&d, 0x79);
	taps[0] = t_tap(noon + 2 * day, 9, 1, 1, 1, 1); /* 2024-05-17 */
	taps[1] = t_tap(noon, 9, 1, 1, 1, 2);           /* 2024-05-15 */
	taps[2] = t_tap(noon + day, 9, 2, 1, 1, 3);     /* 2024-05-16 */
	taps[3] = t_tap(noon + day, 8, 5, 1, 1, 4);     /* 2024-05-16, lower route */
	len = t_frame(frame, &d, 1, taps, 4);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);

	cr_assert_eq(read_cells(20240516, 20240516, &c), ST_OK);
	cr_assert_eq(c.n, 2);
	cr_expect_eq(c.k[0].route_id, 8);
	cr_expect_eq(c.k[1].route_id, 9);

	memset(&c, 0, sizeof c);
	cr_assert_eq(read_cells(20240101, 20241231, &c), ST_OK);
	cr_assert_eq(c.n, 4);
	cr_expect_eq(c.k[0].service_date, 20240515);
	cr_expect_eq(c.k[3].service_date, 20240517);

	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	cr_expect_eq(read_cells(20240101, 20241231, &c), ST_ESTOP);
	cr_expect_eq(c.n, 1);
}
