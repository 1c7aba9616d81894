/*
 * auth_limit.c — the per-address bucket of wrong tokens (auth_limit.h).
 *
 * Slots are an open-addressed neighbourhood of KP_AUTH_LIMIT_PROBE after
 * the address's hash. A slot whose bucket is full again (tat <= now) holds
 * nothing worth keeping, so it counts as free: no sweep is needed.
 */
#include "ingest/auth_limit.h"

#include <string.h>

int kp_auth_limit_init(struct kp_auth_limit *l, unsigned burst, uint64_t refill_ms)
{
	if (burst < 1 || refill_ms < 1 || sodium_init() < 0)
		return -1;
	memset(l, 0, sizeof(*l));
	randombytes_buf(l->key, sizeof l->key);
	l->burst = burst;
	l->refill_ms = refill_ms;
	return 0;
}

static size_t home(const struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE])
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, addr, KP_ADDR_SIZE, l->key);
	for (size_t i = 0; i < sizeof v; i++)
		v = v << 8 | h[i];
	return (size_t)(v & (KP_AUTH_LIMIT_SLOTS - 1));
}

static const struct kp_auth_limit_slot *find(const struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE])
{
	size_t h = home(l, addr);

	for (size_t i = 0; i < KP_AUTH_LIMIT_PROBE; i++) {
		const struct kp_auth_limit_slot *s = &l->slot[(h + i) & (KP_AUTH_LIMIT_SLOTS - 1)];
		if (s->tat_ms != 0 && memcmp(s->addr, addr, KP_ADDR_SIZE) == 0)
			return s;
	}
	return NULL;
}

uint32_t kp_auth_limit_wait(const struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE], uint64_t now_ms)
{
	const struct kp_auth_limit_slot *s = find(l, addr);
	uint64_t allowed_ahead = (l->burst - 1) * l->refill_ms;
	uint64_t over;

	if (s == NULL || s->tat_ms <= now_ms + allowed_ahead)
		return 0;
	over = s->tat_ms - now_ms - allowed_ahead;
	return (uint32_t)((over + 999) / 1000);
}

/* The address's slot, else a free one, else the one closest to free. */
static struct kp_auth_limit_slot *take(struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE], uint64_t now_ms)
{
	struct kp_auth_limit_slot *s = (struct kp_auth_limit_slot *)find(l, addr);
	struct kp_auth_limit_slot *best = NULL;
	size_t h;

	if (s != NULL)
		return s;
	h = home(l, addr);
	for (size_t i = 0; i < KP_AUTH_LIMIT_PROBE; i++) {
		struct kp_auth_limit_slot *c = &l->slot[(h + i) & (KP_AUTH_LIMIT_SLOTS - 1)];
		if (c->tat_ms <= now_ms) {
			best = c;
			break;
		}
		if (best == NULL || c->tat_ms < best->tat_ms)
			best = c;
	}
	memcpy(best->addr, addr, KP_ADDR_SIZE);
	best->tat_ms = 0;
	return best;
}

void kp_auth_limit_fail(struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE], uint64_t now_ms)
{
	struct kp_auth_limit_slot *s = take(l, addr, now_ms);
	uint64_t from = s->tat_ms > now_ms ? s->tat_ms : now_ms;

	s->tat_ms = from + l->refill_ms;
}
