/*
 * Description: disclosure control of one count: without epsilon a count is
 * published as it is when at least k and suppressed below; with epsilon
 * the two-sided geometric noise has the mechanism's distribution (mean 0,
 * P(0) = (1 - a) / (1 + a), symmetric, a = exp(-epsilon)) over cells; a
 * true count below k is never published whatever its noise, one of at least
 * k always is, at k or above; a cell's noise is the same on every draw with
 * the same key-derived seed and differs between cells and seeds.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opendata/disclosure.h"

#define DRAWS 40000

Test(disclosure, without_noise_counts_below_k_are_suppressed_and_others_exact)
{
	struct od_disclosure d;
	uint64_t out = 0;

	cr_assert_eq(od_disclosure_init(&d, 10, 0), 0);
	cr_expect_eq(od_disclosure_publish(&d, "c", 9, &out), 0);
	cr_expect_eq(od_disclosure_publish(&d, "c", 0, &out), 0);
	cr_expect_eq(od_disclosure_publish(&d, "c", 10, &out), 1);
	cr_expect_eq(out, 10);
	cr_expect_eq(od_disclosure_publish(&d, "c", 12345, &out), 1);
	cr_expect_eq(out, 12345);
	for (int i = 0; i < 100; i++)
		cr_expect_eq(od_disclosure_noise(&d, "c"), 0);
}

Test(disclosure, bad_settings_are_refused)
{
	struct od_disclosure d;

	cr_expect_eq(od_disclosure_init(&d, 0, 0), -1);
	cr_expect_eq(od_disclosure_init(&d, 10, -1), -1);
	cr_expect_eq(od_disclosure_init(&d, 10, NAN), -1);
	cr_expect_eq(od_disclosure_init(&d, 10, INFINITY), -1);
}

Test(disclosure, geometric_noise_has_the_mechanisms_distribution)
{
	const double epsilon = 1, a = exp(-epsilon);
	struct od_disclosure d;
	long zero = 0, pos = 0, neg = 0;
	double sum = 0, sq = 0;

	cr_assert_eq(od_disclosure_init(&d, 10, epsilon), 0);
	for (int i = 0; i < DRAWS; i++) {
		char cell[32];

		snprintf(cell, sizeof(cell), "20260101/t/accepted/%d", i);
		int64_t x = od_disclosure_noise(&d, cell);

		zero += x == 0;
		pos += x > 0;
		neg += x < 0;
		sum += (double)x;
		sq += (double)x * (double)x;
	}
	/* Variance 2a / (1 - a)^2 = 1.84; the bounds are over 8 standard errors wide. */
	cr_expect_lt(fabs(sum / DRAWS), 0.06, "mean %g", sum / DRAWS);
	cr_expect_lt(fabs(sq / DRAWS - 2 * a / ((1 - a) * (1 - a))), 0.25, "variance %g", sq / DRAWS);
	cr_expect_lt(fabs((double)zero / DRAWS - (1 - a) / (1 + a)), 0.03, "P(0) %g", (double)zero / DRAWS);
	cr_expect_lt(fabs((double)(pos - neg) / DRAWS), 0.04, "%ld above, %ld below", pos, neg);
}

/* The threshold is on the true count: with noise a count of k - 1 could
 * come out at k or above, and publishing it would reveal a true count below
 * k. Many cells (different noise each) and a small epsilon make that
 * certain without the rule. A count of at least k is always published, at
 * k or above. */
Test(disclosure, a_true_count_below_k_is_never_published_and_one_of_k_always_is)
{
	struct od_disclosure d;
	int below_k = 0;

	cr_assert_eq(od_disclosure_init(&d, 10, 0.1), 0);
	for (int i = 0; i < 2000; i++) {
		char cell[32];
		uint64_t out = 0;

		snprintf(cell, sizeof(cell), "cell/%d", i);
		cr_expect_eq(od_disclosure_publish(&d, cell, 9, &out), 0, "%s: true count 9 published as %llu", cell,
		             (unsigned long long)out);
		cr_expect_eq(od_disclosure_publish(&d, cell, 0, &out), 0);
		cr_assert_eq(od_disclosure_publish(&d, cell, 10, &out), 1, "%s: true count 10 suppressed", cell);
		cr_expect_geq(out, 10);
		below_k += od_disclosure_noise(&d, cell) < 0;
	}
	cr_expect_gt(below_k, 0, "no cell drew negative noise: the raise to k was not exercised");
}

/* The noise of a cell is a function of the key and the cell's label: a
 * re-export draws the same values (averaging versions learns nothing);
 * another cell or another key draws others. */
Test(disclosure, noise_is_the_same_for_a_cell_and_key_and_differs_between_cells_and_keys)
{
	struct od_disclosure a, b, c;
	uint8_t key[64], other[64];
	int differ_cells = 0, differ_keys = 0;

	memset(key, 0x5a, sizeof(key));
	memset(other, 0xa5, sizeof(other));
	cr_assert_eq(od_disclosure_init(&a, 10, 0.5), 0);
	cr_assert_eq(od_disclosure_init(&b, 10, 0.5), 0);
	cr_assert_eq(od_disclosure_init(&c, 10, 0.5), 0);
	cr_assert_eq(od_disclosure_seed_from_key(&a, key, sizeof(key)), 0);
	cr_assert_eq(od_disclosure_seed_from_key(&b, key, sizeof(key)), 0);
	cr_assert_eq(od_disclosure_seed_from_key(&c, other, sizeof(other)), 0);
	cr_expect_eq(od_disclosure_seed_from_key(&c, other, 8), -1);
	for (int i = 0; i < 200; i++) {
		char cell[32], next[32];
		uint64_t va = 0, vb = 0;

		snprintf(cell, sizeof(cell), "20260101/t/accepted/%d", i);
		snprintf(next, sizeof(next), "20260101/t/accepted/%d", i + 1);
		cr_expect_eq(od_disclosure_noise(&a, cell), od_disclosure_noise(&b, cell), "%s", cell);
		cr_expect_eq(od_disclosure_noise(&a, cell), od_disclosure_noise(&a, cell), "%s", cell);
		cr_assert_eq(od_disclosure_publish(&a, cell, 1000, &va), 1);
		cr_assert_eq(od_disclosure_publish(&b, cell, 1000, &vb), 1);
		cr_expect_eq(va, vb, "%s", cell);
		differ_cells += od_disclosure_noise(&a, cell) != od_disclosure_noise(&a, next);
		differ_keys += od_disclosure_noise(&a, cell) != od_disclosure_noise(&c, cell);
	}
	cr_expect_gt(differ_cells, 100, "neighbouring cells drew the same noise %d times of 200", 200 - differ_cells);
	cr_expect_gt(differ_keys, 100, "two keys drew the same noise %d times of 200", 200 - differ_keys);
	od_disclosure_wipe(&a);
}

Test(disclosure, no_noisy_count_is_published_below_k)
{
	struct od_disclosure d;

	cr_assert_eq(od_disclosure_init(&d, 10, 0.5), 0);
	for (uint64_t c = 0; c < 30; c++) {
		for (int i = 0; i < 200; i++) {
			uint64_t out = 0;

			char cell[32];

			snprintf(cell, sizeof(cell), "%d", i);
			if (od_disclosure_publish(&d, cell, c, &out))
				cr_assert_geq(out, 10, "count %llu published as %llu", (unsigned long long)c,
				              (unsigned long long)out);
		}
	}
}
