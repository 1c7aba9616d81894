/*
 * auth_limit.h — wrong bearer tokens are rate-limited per client address,
 * so that guessing tokens over HTTP is slow for one address and costs the
 * others nothing.
 *
 * Each address has a token bucket of KP_AUTH_LIMIT_BURST wrong tokens that
 * refills one every KP_AUTH_LIMIT_REFILL_MS. It is kept as one timestamp per
 * address (GCRA, the same bucket in eight bytes): each wrong token pushes the
 * address's time forward by one refill, and the address is throttled while
 * its time is more than BURST - 1 refills ahead of now. A throttled address
 * is answered 429 before its token is looked at, right or wrong, so the
 * answer never tells a guess that happened to be right.
 *
 * Promises:
 *  - memory is fixed: KP_AUTH_LIMIT_SLOTS addresses, no allocation;
 *  - an address is found by SipHash (libsodium's crypto_shorthash) under a
 *    key drawn at init, so no client can aim its addresses at another's
 *    slot; a full neighbourhood forgets the address closest to being
 *    refilled, so a flood of many addresses can at worst forget the least
 *    throttled one early;
 *  - time is the caller's (monotonic milliseconds), for tests;
 *  - not thread-safe: the HTTP loop is one thread (loop.h), and owns it.
 * Addresses are 16 bytes: IPv6, or IPv4 mapped (::ffff:a.b.c.d).
 */
#ifndef KP_AUTH_LIMIT_H
#define KP_AUTH_LIMIT_H

#include <sodium.h>
#include <stdint.h>

#define KP_AUTH_LIMIT_SLOTS 1024   /* a power of two */
#define KP_AUTH_LIMIT_PROBE 8      /* slots an address may be in */
#define KP_AUTH_LIMIT_BURST 10     /* wrong tokens an address may send at once */
#define KP_AUTH_LIMIT_REFILL_MS 6000 /* then one more every 6 s: 10 a minute */
#define KP_ADDR_SIZE 16

struct kp_auth_limit_slot {
	uint8_t addr[KP_ADDR_SIZE];
	uint64_t tat_ms; /* when the bucket is full again; 0: free slot */
};

struct kp_auth_limit {
	unsigned char key[crypto_shorthash_KEYBYTES];
	uint64_t burst, refill_ms;
	struct kp_auth_limit_slot slot[KP_AUTH_LIMIT_SLOTS];
};

/* Empties the table and draws its hash key; burst >= 1 wrong tokens at
 * once, then one every refill_ms >= 1. 0, or -1 for bad values or when
 * libsodium cannot start. */
int kp_auth_limit_init(struct kp_auth_limit *l, unsigned burst, uint64_t refill_ms);
/* 0 when addr may present a token at now_ms; else the whole seconds (>= 1)
 * until it may, for Retry-After. */
uint32_t kp_auth_limit_wait(const struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE], uint64_t now_ms);
/* Counts one wrong token from addr at now_ms. */
void kp_auth_limit_fail(struct kp_auth_limit *l, const uint8_t addr[KP_ADDR_SIZE], uint64_t now_ms);

#endif
