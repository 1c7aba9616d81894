/*
 * Description: disclosure control of one count: without epsilon a count is
 * published as it is when at least k and suppressed below; with epsilon
 * the two-sided geometric noise has the mechanism's distribution (mean 0,
 * P(0) = (1 - a) / (1 + a), symmetric, a = exp(-epsilon)) and no noisy
 * count is published below k.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "opendata/disclosure.h"

#define DRAWS 40000

Test(disclosure, without_noise_counts_below_k_are_suppressed_and_others_exact)
{
	struct od_disclosure d;
	uint64_t out = 0;

	cr_assert_eq(od_disclosure_init(&d, 10, 0), 0);
	cr_expect_eq(od_disclosure_publish(&d, 9, &out), 0);
	cr_expect_eq(od_disclosure_publish(&d, 0, &out), 0);
	cr_expect_eq(od_disclosure_publish(&d, 10, &out), 1);
	cr_expect_eq(out, 10);
	cr_expect_eq(od_disclosure_publish(&d, 12345, &out), 1);
	cr_expect_eq(out, 12345);
	for (int i = 0; i < 100; i++)
		cr_expect_eq(od_disclosure_noise(&d), 0);
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
		int64_t x = od_disclosure_noise(&d);

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

Test(disclosure, no_noisy_count_is_published_below_k)
{
	struct od_disclosure d;

	cr_assert_eq(od_disclosure_init(&d, 10, 0.5), 0);
	for (uint64_t c = 0; c < 30; c++) {
		for (int i = 0; i < 200; i++) {
			uint64_t out = 0;

			if (od_disclosure_publish(&d, c, &out))
				cr_assert_geq(out, 10, "count %llu published as %llu", (unsigned long long)c,
				              (unsigned long long)out);
		}
	}
}
