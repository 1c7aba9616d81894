/*
 * tapgen.c — generating plausible taps.
 *
 * Design: everything random comes from one seeded xoshiro stream, so a seed
 * replays a run. The rider pool is made up front (pool_size random tokens)
 * with a bitmap of which riders have tapped, for --tokens-out. Riders are
 * drawn as pool[floor(n * u^2)] with u uniform: a few riders tap often, many
 * seldom, as on a real network.
 */
#include "validators/tapgen.h"

#include <stdio.h>
#include <stdlib.h>

#include "firmware-proto/hex.h"
#include "validators/sim_rng.h"

static const uint32_t ROUTE_IDS[VD_TAPGEN_ROUTES] = {1, 2, 3, 5, 9, 11, 15, 16, 22, 27};

#define TAP_DENIED_PERCENT 5
#define TAP_TRANSFER_PERCENT 10
#define TAPS_PER_STOP_MAX 8

struct fare {
	unsigned percent; /* share of taps */
	uint32_t amount;  /* kopiykas */
};

static const struct fare FARES[] = {
	{55, 800}, /* 1 single */
	{15, 400}, /* 2 reduced */
	{20, 0},   /* 3 monthly pass */
	{10, 0},   /* 4 free (privileged) */
};

struct vd_tapgen {
	struct vd_rng rng;
	size_t pool_size;
	uint8_t (*tokens)[KP_CARD_TOKEN_SIZE];
	uint8_t *used; /* one bit per rider */
};

int vd_tapgen_create(uint64_t seed, size_t pool_size, struct vd_tapgen **out)
{
	struct vd_tapgen *g = calloc(1, sizeof *g);

	if (!g || pool_size == 0)
		goto err;
	vd_rng_seed(&g->rng, seed);
	g->pool_size = pool_size;
	g->tokens = malloc(pool_size * sizeof *g->tokens);
	g->used = calloc((pool_size + 7) / 8, 1);
	if (!g->tokens || !g->used)
		goto err;
	for (size_t i = 0; i < pool_size; i++) {
		for (size_t j = 0; j < KP_CARD_TOKEN_SIZE; j++)
			g->tokens[i][j] = (uint8_t)vd_rng_next(&g->rng);
	}
	*out = g;
	return 0;
err:
	vd_tapgen_destroy(g);
	return -1;
}

void vd_tapgen_destroy(struct vd_tapgen *g)
{
	if (!g)
		return;
	free(g->tokens);
	free(g->used);
	free(g);
}

void vd_tapgen_vehicle(struct vd_tapgen *g, struct vd_vehicle *v, size_t index,
                       uint32_t vehicle_id)
{
	v->vehicle_id = vehicle_id;
	v->route = (unsigned)(index % VD_TAPGEN_ROUTES);
	v->stop = (unsigned)vd_rng_below(&g->rng, VD_TAPGEN_STOPS);
	v->direction = (uint8_t)vd_rng_below(&g->rng, 2);
	v->stop_taps = 0;
}

/* Moves to the next stop once this stop's riders are in; turns at the ends. */
static void vehicle_advance(struct vd_tapgen *g, struct vd_vehicle *v)
{
	if (v->stop_taps > 0) {
		v->stop_taps--;
		return;
	}
	if (v->direction == 0 && v->stop + 1 == VD_TAPGEN_STOPS)
		v->direction = 1;
	else if (v->direction == 1 && v->stop == 0)
		v->direction = 0;
	else
		v->stop = v->direction == 0 ? v->stop + 1 : v->stop - 1;
	v->stop_taps = (unsigned)vd_rng_below(&g->rng, TAPS_PER_STOP_MAX);
}

static void draw_rider(struct vd_tapgen *g, uint8_t token[KP_CARD_TOKEN_SIZE])
{
	double u = vd_rng_unit(&g->rng);
	size_t i = (size_t)((double)g->pool_size * u * u);

	if (i >= g->pool_size)
		i = g->pool_size - 1;
	g->used[i / 8] |= (uint8_t)(1u << (i % 8));
	for (size_t j = 0; j < KP_CARD_TOKEN_SIZE; j++)
		token[j] = g->tokens[i][j];
}

static uint16_t draw_fare(struct vd_tapgen *g)
{
	unsigned r = (unsigned)vd_rng_below(&g->rng, 100);
	uint16_t product = 1;

	for (size_t i = 0; i < sizeof FARES / sizeof FARES[0]; i++, product++) {
		if (r < FARES[i].percent)
			return product;
		r -= FARES[i].percent;
	}
	return 1;
}

static void draw_outcome(struct vd_tapgen *g, struct kp_tap *t)
{
	if (vd_rng_below(&g->rng, 100) < TAP_DENIED_PERCENT) {
		t->result = (uint8_t)(1 + vd_rng_below(&g->rng, KP_TAP_RESULT_MAX));
		t->amount = 0;
		return;
	}
	t->result = KP_TAP_ACCEPTED;
	t->amount = FARES[t->fare_product - 1].amount;
	if (vd_rng_below(&g->rng, 100) < TAP_TRANSFER_PERCENT) {
		t->flags |= KP_TAP_FLAG_TRANSFER;
		t->amount = 0;
	}
}

uint32_t vd_tapgen_route_id(const struct vd_vehicle *v)
{
	return ROUTE_IDS[v->route];
}

uint32_t vd_tapgen_stop_at(unsigned route, unsigned stop)
{
	return ROUTE_IDS[route] * 100 + stop + 1;
}

uint32_t vd_tapgen_stop_id(const struct vd_vehicle *v)
{
	return vd_tapgen_stop_at(v->route, v->stop);
}

void vd_tapgen_board(struct vd_tapgen *g, struct vd_vehicle *v)
{
	vehicle_advance(g, v);
}

void vd_tapgen_tap(struct vd_tapgen *g, const struct vd_vehicle *v, int64_t now_ms, int offline,
                   struct kp_tap *t)
{
	*t = (struct kp_tap){0};
	t->tapped_at = now_ms;
	draw_rider(g, t->card_token);
	t->route_id = vd_tapgen_route_id(v);
	t->stop_id = vd_tapgen_stop_id(v);
	t->vehicle_id = v->vehicle_id;
	t->direction = v->direction;
	t->fare_product = draw_fare(g);
	t->flags = offline ? KP_TAP_FLAG_OFFLINE : 0;
	draw_outcome(g, t);
}

void vd_tapgen_next(struct vd_tapgen *g, struct vd_vehicle *v, int64_t now_ms, int offline,
                    struct kp_tap *t)
{
	vd_tapgen_board(g, v);
	vd_tapgen_tap(g, v, now_ms, offline, t);
}

int vd_tapgen_write_tokens(const struct vd_tapgen *g, const char *path)
{
	char hex[2 * KP_CARD_TOKEN_SIZE + 1];
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (!f)
		return -1;
	for (size_t i = 0; i < g->pool_size && rc == 0; i++) {
		if (!(g->used[i / 8] & (1u << (i % 8))))
			continue;
		kp_hex_encode(g->tokens[i], KP_CARD_TOKEN_SIZE, hex);
		if (fprintf(f, "%s\n", hex) < 0)
			rc = -1;
	}
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
