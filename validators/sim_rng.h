/*
 * sim_rng.h — the simulator's seeded pseudo-random numbers (xoshiro256**
 * seeded through splitmix64), so that one --seed replays the same fleet,
 * taps and riders. For simulation only: keys and anything secret come from
 * libsodium, never from here.
 */
#ifndef VD_SIM_RNG_H
#define VD_SIM_RNG_H

#include <stdint.h>

struct vd_rng {
	uint64_t s[4];
};

static inline uint64_t vd_rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void vd_rng_seed(struct vd_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = vd_rng_splitmix(&seed);
}

static inline uint64_t vd_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t vd_rng_next(struct vd_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = vd_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = vd_rng_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static inline uint64_t vd_rng_below(struct vd_rng *r, uint64_t n)
{
	return vd_rng_next(r) % n;
}

/* Uniform in [0, 1). */
static inline double vd_rng_unit(struct vd_rng *r)
{
	return (double)(vd_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
