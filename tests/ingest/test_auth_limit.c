/*
 * Description: the per-address bucket of wrong tokens lets an address send
 * BURST wrong tokens at once, then throttles it with the seconds to wait,
 * refills one every refill period, never throttles another address, and
 * keeps a throttled address among a flood of others that each sent one.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/auth_limit.h"

#define BURST 10
#define REFILL_MS 6000
#define T0 1000000u /* any monotonic start */

static struct kp_auth_limit lim;

static void addr_of(uint32_t n, uint8_t out[KP_ADDR_SIZE])
{
	memset(out, 0, KP_ADDR_SIZE);
	out[10] = out[11] = 0xff;
	out[12] = (uint8_t)(n >> 24);
	out[13] = (uint8_t)(n >> 16);
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
}

static void setup(void)
{
	cr_assert_eq(kp_auth_limit_init(&lim, BURST, REFILL_MS), 0);
}

TestSuite(auth_limit, .init = setup);

Test(auth_limit, a_burst_of_wrong_tokens_is_allowed_then_throttled)
{
	uint8_t a[KP_ADDR_SIZE];

	addr_of(0x7f000001, a);
	for (int i = 0; i < BURST; i++) {
		cr_assert_eq(kp_auth_limit_wait(&lim, a, T0), 0, "throttled after %d wrong tokens", i);
		kp_auth_limit_fail(&lim, a, T0);
	}
	uint32_t wait = kp_auth_limit_wait(&lim, a, T0);
	cr_expect_eq(wait, REFILL_MS / 1000, "after the burst wait %u s", wait);
	/* Just before one refill it still waits, at it one more is allowed. */
	cr_expect_eq(kp_auth_limit_wait(&lim, a, T0 + REFILL_MS - 1), 1);
	cr_expect_eq(kp_auth_limit_wait(&lim, a, T0 + REFILL_MS), 0);
	kp_auth_limit_fail(&lim, a, T0 + REFILL_MS);
	cr_expect_neq(kp_auth_limit_wait(&lim, a, T0 + REFILL_MS), 0, "a refill gives exactly one more");
}

Test(auth_limit, wrong_tokens_keep_pushing_the_wait_while_throttled_they_are_counted)
{
	uint8_t a[KP_ADDR_SIZE];

	addr_of(0x0a000001, a);
	for (int i = 0; i < 2 * BURST; i++)
		kp_auth_limit_fail(&lim, a, T0);
	cr_expect_eq(kp_auth_limit_wait(&lim, a, T0), (BURST + 1) * REFILL_MS / 1000);
	cr_expect_eq(kp_auth_limit_wait(&lim, a, T0 + 2 * BURST * REFILL_MS), 0, "never forgiven");
}

Test(auth_limit, another_address_is_never_throttled)
{
	uint8_t a[KP_ADDR_SIZE], b[KP_ADDR_SIZE];

	addr_of(0x7f000001, a);
	addr_of(0x7f000002, b);
	for (int i = 0; i < 5 * BURST; i++)
		kp_auth_limit_fail(&lim, a, T0);
	cr_assert_neq(kp_auth_limit_wait(&lim, a, T0), 0);
	cr_expect_eq(kp_auth_limit_wait(&lim, b, T0), 0);
}

Test(auth_limit, a_flood_of_one_guess_per_address_does_not_free_a_throttled_one)
{
	uint8_t a[KP_ADDR_SIZE], other[KP_ADDR_SIZE];

	addr_of(0xc0a80001, a);
	for (int i = 0; i < 3 * BURST; i++)
		kp_auth_limit_fail(&lim, a, T0);
	/* Ten times the table in addresses, one wrong token each: each fills the
	 * least throttled slot of its neighbourhood, never the heavy one's. */
	for (uint32_t n = 0; n < 10 * KP_AUTH_LIMIT_SLOTS; n++) {
		addr_of(0x0b000000 + n, other);
		kp_auth_limit_fail(&lim, other, T0);
	}
	cr_expect_neq(kp_auth_limit_wait(&lim, a, T0), 0, "the flood freed a throttled address");
}

Test(auth_limit, bad_settings_are_refused)
{
	struct kp_auth_limit l;

	cr_expect_eq(kp_auth_limit_init(&l, 0, REFILL_MS), -1);
	cr_expect_eq(kp_auth_limit_init(&l, BURST, 0), -1);
}
