/*
 * disclosure.c — noise and suppression of published counts (disclosure.h).
 *
 * Why Bernoulli trials: a geometric variable of parameter alpha is the
 * number of successes before the first failure of trials that succeed with
 * probability alpha. Drawing each trial as a uniform 32-bit integer below
 * alpha * 2^32 keeps the sampling exact in integers (floating point is used
 * once, for the threshold). The expected number of trials is
 * 1 / (1 - alpha): about 10.5 for epsilon 0.1, 1.6 for epsilon 1.
 */
#include "opendata/disclosure.h"

#include <math.h>
#include <string.h>

#include <sodium.h>

/* A bound that the trials of one draw never reach in practice (alpha at
 * most exp(-0.01): the chance of 2^24 successes in a row is below 1e-72000),
 * so a draw always ends. */
#define TRIALS_MAX (1u << 24)

int od_disclosure_init(struct od_disclosure *d, uint64_t k, double epsilon)
{
	double alpha;

	if (k < 1 || !(epsilon >= 0) || isinf(epsilon))
		return -1;
	if (sodium_init() < 0)
		return -1;
	d->k = k;
	d->epsilon = epsilon;
	d->alpha_q32 = 0;
	if (epsilon > 0) {
		alpha = exp(-epsilon);
		d->alpha_q32 = (uint32_t)fmin(alpha * 4294967296.0, 4294967295.0);
	}
	randombytes_buf(d->seed, sizeof(d->seed));
	return 0;
}

int od_disclosure_seed_from_key(struct od_disclosure *d, const uint8_t *key, size_t len)
{
	static const char domain[] = "komposter open-data noise seed v1";

	if (len < crypto_generichash_KEYBYTES_MIN || len > crypto_generichash_KEYBYTES_MAX)
		return -1;
	return crypto_generichash(d->seed, sizeof(d->seed), (const uint8_t *)domain, sizeof(domain) - 1, key, len);
}

void od_disclosure_wipe(struct od_disclosure *d)
{
	sodium_memzero(d->seed, sizeof(d->seed));
}

/* A deterministic stream of 32-bit draws for one cell: blocks of
 * randombytes_buf_deterministic, block i seeded with BLAKE2b-256 keyed with
 * the cell's seed of the block number. */
#define DRG_BLOCK_WORDS 16 /* 32-bit draws per block: enough for most cells */

/* crypto_generichash fails only on out-of-range sizes: these are constants
 * in its range, so its results need no run-time check. */
_Static_assert(randombytes_SEEDBYTES >= crypto_generichash_BYTES_MIN &&
                       randombytes_SEEDBYTES <= crypto_generichash_BYTES_MAX,
               "a seed is a BLAKE2b output size");
_Static_assert(OD_NOISE_SEED_SIZE >= crypto_generichash_KEYBYTES_MIN &&
                       OD_NOISE_SEED_SIZE <= crypto_generichash_KEYBYTES_MAX,
               "the noise seed is a BLAKE2b key size");

struct drg {
	uint8_t cell_seed[randombytes_SEEDBYTES];
	uint64_t block;
	uint32_t buf[DRG_BLOCK_WORDS];
	size_t pos;
};

static void drg_init(struct drg *g, const struct od_disclosure *d, const char *cell)
{
	crypto_generichash(g->cell_seed, sizeof(g->cell_seed), (const uint8_t *)cell, strlen(cell), d->seed,
	                   sizeof(d->seed));
	g->block = 0;
	g->pos = DRG_BLOCK_WORDS;
}

static uint32_t drg_next(struct drg *g)
{
	if (g->pos == DRG_BLOCK_WORDS) {
		uint8_t block_seed[randombytes_SEEDBYTES], n[8];

		for (int i = 0; i < 8; i++)
			n[i] = (uint8_t)(g->block >> (8 * i));
		crypto_generichash(block_seed, sizeof(block_seed), n, sizeof(n), g->cell_seed, sizeof(g->cell_seed));
		randombytes_buf_deterministic(g->buf, sizeof(g->buf), block_seed);
		sodium_memzero(block_seed, sizeof(block_seed));
		g->block++;
		g->pos = 0;
	}
	return g->buf[g->pos++];
}

/* Successes before the first failure, each trial a success when a uniform
 * 32-bit draw is below the threshold. */
static uint64_t geometric(struct drg *g, uint32_t alpha_q32)
{
	uint64_t n = 0;

	while (n < TRIALS_MAX && drg_next(g) < alpha_q32)
		n++;
	return n;
}

int64_t od_disclosure_noise(const struct od_disclosure *d, const char *cell)
{
	struct drg g;
	int64_t x;

	if (d->epsilon == 0)
		return 0;
	drg_init(&g, d, cell);
	x = (int64_t)geometric(&g, d->alpha_q32);
	x -= (int64_t)geometric(&g, d->alpha_q32);
	sodium_memzero(&g, sizeof(g));
	return x;
}

int od_disclosure_publish(const struct od_disclosure *d, const char *cell, uint64_t count, uint64_t *out)
{
	int64_t x;
	uint64_t v;

	if (count < d->k)
		return 0;
	x = od_disclosure_noise(d, cell);
	if (x < 0)
		v = (uint64_t)-x > count ? 0 : count - (uint64_t)-x;
	else
		v = count + (uint64_t)x;
	*out = v < d->k ? d->k : v;
	return 1;
}
