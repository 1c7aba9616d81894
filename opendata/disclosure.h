/*
 * disclosure.h — what of a count may be published.
 *
 * Two steps, in this order, for every count that goes into open data:
 *  1. noise (only when epsilon > 0): the integer two-sided geometric
 *     mechanism, X = G1 - G2 with G1, G2 independent geometric variables
 *     of parameter alpha = exp(-epsilon), P(X = x) proportional to
 *     alpha^|x|; the noisy count is max(0, count + X). One tap changes a
 *     count by one, so each count is epsilon-differentially private per
 *     tap. The geometric variables are counted Bernoulli trials drawn with
 *     libsodium's randombytes_random against alpha as a 32-bit fixed-point
 *     threshold: no floating-point sampling.
 *  2. suppression: a (noisy) count below k is not published (the caller
 *     writes an empty cell). Suppressing after the noise is post-processing:
 *     it keeps the privacy guarantee and means no published count is below
 *     k, which `komposter verify` checks.
 * Each count is drawn once; the caller keeps the result for the CSV and the
 * JSON alike.
 */
#ifndef OD_DISCLOSURE_H
#define OD_DISCLOSURE_H

#include <stdint.h>

struct od_disclosure {
	uint64_t k;          /* threshold; counts below it are suppressed */
	double epsilon;      /* 0: no noise */
	uint32_t alpha_q32;  /* exp(-epsilon) * 2^32, the Bernoulli threshold */
};

/* k >= 1; epsilon 0 (off) or > 0. 0, or -1 for bad values. */
int od_disclosure_init(struct od_disclosure *d, uint64_t k, double epsilon);

/* The two-sided geometric noise for one count (0 when epsilon is 0). */
int64_t od_disclosure_noise(const struct od_disclosure *d);

/* Noise (if on) and suppression of one count: 1 and *out set when it may
 * be published, 0 when it is suppressed. */
int od_disclosure_publish(const struct od_disclosure *d, uint64_t count, uint64_t *out);

#endif
