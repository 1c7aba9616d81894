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
	return 0;
}

/* Successes before the first failure, each trial a success when a uniform
 * 32-bit draw is below the threshold. */
static uint64_t geometric(uint32_t alpha_q32)
{
	uint64_t n = 0;

	while (n < TRIALS_MAX && randombytes_random() < alpha_q32)
		n++;
	return n;
}

int64_t od_disclosure_noise(const struct od_disclosure *d)
{
	if (d->epsilon == 0)
		return 0;
	return (int64_t)geometric(d->alpha_q32) - (int64_t)geometric(d->alpha_q32);
}

int od_disclosure_publish(const struct od_disclosure *d, uint64_t count, uint64_t *out)
{
	int64_t x = od_disclosure_noise(d);
	uint64_t v = count;

	if (x < 0)
		v = (uint64_t)-x > count ? 0 : count - (uint64_t)-x;
	else
		v = count + (uint64_t)x;
	if (v < d->k)
		return 0;
	*out = v;
	return 1;
}
