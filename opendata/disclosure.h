/*
 * disclosure.h — what of a count may be published.
 *
 * For every count that goes into open data, in this order:
 *  1. suppression on the TRUE count: a count below k is not published (the
 *     caller writes an empty cell), whatever the noise would have made of it.
 *  2. noise (only when epsilon > 0) on a count of at least k: the integer
 *     two-sided geometric mechanism, X = G1 - G2 with G1, G2 independent
 *     geometric variables of parameter alpha = exp(-epsilon), P(X = x)
 *     proportional to alpha^|x|. The published value is max(k, count + X):
 *     a noisy value that fell below k is raised to k, so no published count
 *     is below k (what `komposter verify` checks) and a published k only
 *     says "at least k", never a true count below k.
 *  The noise of a cell is deterministic: its Bernoulli trials come from
 *  randombytes_buf_deterministic seeded with BLAKE2b-256, keyed with the
 *  deployment's noise seed, of the cell's label (the caller's text naming
 *  date, table, column and cell key). The noise seed is BLAKE2b-256 of a
 *  domain-separation string keyed with the server's secret key
 *  (od_disclosure_seed_from_key): a re-export of the same date publishes
 *  the same noisy value in every cell, so averaging versions or re-exports
 *  learns nothing; only the holder of the server key can recompute the
 *  noise. The geometric variables are counted Bernoulli trials, each a
 *  uniform 32-bit integer against alpha as a 32-bit fixed-point threshold:
 *  no floating-point sampling.
 *
 * Privacy budget: epsilon is per published count. One accepted tap feeds
 * several noised counts of one package: its route × stop × hour cell, its
 * fare product's day count, its route's distinct riders, the day's
 * distinct riders, and where cameras or counters exist the route-level
 * accepted taps of its hour (the stop level's accepted taps, the route and
 * day totals and the standard files' counts are sums or copies of already
 * noised cells: post-processing, no extra budget). So with the current
 * tables one package spends up to 5·epsilon per tap (4·epsilon without
 * camera data).
 * A validation-rate row's boardings and alightings are camera/counter
 * counts, not taps: one boarding spends up to 2·epsilon (route and stop
 * level rows).
 * Each count is drawn once; the caller keeps the result for the CSV and the
 * JSON alike.
 */
#ifndef OD_DISCLOSURE_H
#define OD_DISCLOSURE_H

#include <stddef.h>
#include <stdint.h>

#define OD_NOISE_SEED_SIZE 32

struct od_disclosure {
	uint64_t k;          /* threshold; true counts below it are suppressed */
	double epsilon;      /* 0: no noise */
	uint32_t alpha_q32;  /* exp(-epsilon) * 2^32, the Bernoulli threshold */
	uint8_t seed[OD_NOISE_SEED_SIZE]; /* the noise seed (see above) */
};

/* k >= 1; epsilon 0 (off) or > 0. The noise seed is random until
 * od_disclosure_seed_from_key sets it. 0, or -1 for bad values. */
int od_disclosure_init(struct od_disclosure *d, uint64_t k, double epsilon);

/* Sets the noise seed from the server's secret key (any length libsodium's
 * BLAKE2b takes as a key: 16 to 64 bytes). 0 or -1. */
int od_disclosure_seed_from_key(struct od_disclosure *d, const uint8_t *key, size_t len);

/* Wipes the noise seed. */
void od_disclosure_wipe(struct od_disclosure *d);

/* The two-sided geometric noise of the cell named cell (0 when epsilon is
 * 0): the same for the same seed and label. */
int64_t od_disclosure_noise(const struct od_disclosure *d, const char *cell);

/* Suppression and noise of one count (above): 1 and *out set when it may be
 * published, 0 when it is suppressed. */
int od_disclosure_publish(const struct od_disclosure *d, const char *cell, uint64_t count, uint64_t *out);

#endif
