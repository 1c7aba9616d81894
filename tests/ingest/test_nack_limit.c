/*
 * Description: the NACK limit gives each (device, reason) a burst of NACKs,
 * then one per refill period; suppressed NACKs do not push the refill back;
 * another reason or another device has its own burst; a full table forgets
 * the pair NACKed longest ago, and a pair whose bucket refilled frees its
 * slot.
 */
#include <criterion/criterion.h>

#include "ingest/nack_limit.h"

#define BURST 5
#define REFILL_MS 10000
#define T0 1000000u /* any monotonic start */
#define DEV 0x1122334455667788ull
/* The total bucket out of the way of the per-pair cases. */
#define NO_TOTAL 1000000u, 1

static struct kp_nack_limit lim;

static void setup(void)
{
	cr_assert_eq(kp_nack_limit_init(&lim, BURST, REFILL_MS, NO_TOTAL), 0);
}

static void teardown(void)
{
	kp_nack_limit_destroy(&lim);
}

TestSuite(nack_limit, .init = setup, .fini = teardown);

/* NACKs allowed out of n asked for at `at`. */
static int allowed_in(struct kp_nack_limit *l, uint64_t device, uint8_t reason, int n, uint64_t at)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += kp_nack_limit_allow(l, device, reason, at);
	return ok;
}

static int allowed(uint64_t device, uint8_t reason, int n, uint64_t at)
{
	return allowed_in(&lim, device, reason, n, at);
}

Test(nack_limit, bad_values_are_refused)
{
	struct kp_nack_limit l;

	cr_expect_eq(kp_nack_limit_init(&l, 0, REFILL_MS, NO_TOTAL), -1);
	cr_expect_eq(kp_nack_limit_init(&l, BURST, 0, NO_TOTAL), -1);
	cr_expect_eq(kp_nack_limit_init(&l, BURST, REFILL_MS, 0, 1), -1);
	cr_expect_eq(kp_nack_limit_init(&l, BURST, REFILL_MS, 1, 0), -1);
}

Test(nack_limit, a_burst_is_allowed_then_every_nack_is_suppressed)
{
	cr_expect_eq(allowed(DEV, 1, 100, T0), BURST);
	cr_expect_eq(allowed(DEV, 1, 100, T0 + REFILL_MS - 1), 0, "nothing before one refill");
}

Test(nack_limit, a_refill_gives_one_more_however_long_the_flood)
{
	cr_expect_eq(allowed(DEV, 1, BURST, T0), BURST);
	for (uint64_t k = 1; k <= 3; k++) {
		uint64_t t = T0 + k * REFILL_MS;

		cr_expect_eq(allowed(DEV, 1, 50, t - 1), 0, "refill %llu: too early", (unsigned long long)k);
		cr_expect_eq(allowed(DEV, 1, 50, t), 1, "refill %llu: exactly one", (unsigned long long)k);
	}
}

Test(nack_limit, a_quiet_pair_gets_its_whole_burst_back)
{
	cr_expect_eq(allowed(DEV, 6, BURST, T0), BURST);
	cr_expect_eq(allowed(DEV, 6, 100, T0 + BURST * REFILL_MS), BURST);
}

Test(nack_limit, each_reason_has_its_own_burst)
{
	cr_expect_eq(allowed(DEV, 1, 20, T0), BURST);
	cr_expect_eq(allowed(DEV, 4, 20, T0), BURST);
	cr_expect_eq(allowed(DEV, 6, 20, T0), BURST);
}

Test(nack_limit, each_device_has_its_own_burst)
{
	cr_expect_eq(allowed(DEV, 1, 20, T0), BURST);
	cr_expect_eq(allowed(DEV + 1, 1, 20, T0), BURST);
	cr_expect_eq(allowed(DEV, 1, 20, T0), 0, "the first is still limited");
}

Test(nack_limit, a_full_table_forgets_the_pair_nacked_longest_ago)
{
	/* DEV first, then every other slot, each a millisecond later. */
	cr_expect_eq(allowed(DEV, 1, BURST, T0), BURST);
	for (uint64_t i = 1; i < KP_NACK_LIMIT_SLOTS; i++)
		cr_assert_eq(allowed(i, 1, BURST, T0 + i), BURST);
	/* The table is full of limited pairs: a new one evicts DEV, the oldest. */
	cr_expect_eq(allowed(0xfeed, 1, BURST, T0 + KP_NACK_LIMIT_SLOTS), BURST);
	cr_expect_eq(allowed(DEV, 1, 1, T0 + KP_NACK_LIMIT_SLOTS), 1, "DEV was forgotten");
	/* ... which in turn evicted device 1, the oldest left; device 2 is still limited. */
	cr_expect_eq(allowed(1, 1, 1, T0 + KP_NACK_LIMIT_SLOTS), 1);
	cr_expect_eq(allowed(KP_NACK_LIMIT_SLOTS - 1, 1, 1, T0 + KP_NACK_LIMIT_SLOTS), 0, "the newest is kept");
}

Test(nack_limit, a_refilled_pair_frees_its_slot_for_another)
{
	for (uint64_t i = 0; i < KP_NACK_LIMIT_SLOTS; i++)
		cr_assert_eq(allowed(i, 2, 1, T0), 1);
	/* One NACK each: every bucket is full again one refill later. */
	uint64_t later = T0 + REFILL_MS;
	cr_expect_eq(allowed(0xbeef, 2, BURST, later), BURST);
	cr_expect_eq(allowed(KP_NACK_LIMIT_SLOTS - 1, 2, BURST, later), BURST, "no one was limited any more");
}

/* A forger rotating through ids that exist nowhere gets a fresh per-pair
 * burst for each: only the total bucket bounds what the flood costs. */
Test(nack_limit_total, a_flood_over_many_devices_gets_the_total_budget_only)
{
	struct kp_nack_limit l;
	int ok = 0;

	cr_assert_eq(kp_nack_limit_init(&l, BURST, REFILL_MS, KP_NACK_LIMIT_TOTAL_BURST, KP_NACK_LIMIT_TOTAL_REFILL_MS),
	             0);
	for (uint64_t d = 1; d <= 3 * KP_NACK_LIMIT_SLOTS; d++)
		ok += kp_nack_limit_allow(&l, d, 2, T0);
	cr_expect_eq(ok, KP_NACK_LIMIT_TOTAL_BURST, "%d NACKs at once for %d forged ids", ok,
	             3 * KP_NACK_LIMIT_SLOTS);
	/* A second later the total has refilled by 1000 / TOTAL_REFILL_MS. */
	ok = 0;
	for (uint64_t d = 5000; d < 5000 + 3 * KP_NACK_LIMIT_SLOTS; d++)
		ok += kp_nack_limit_allow(&l, d, 2, T0 + 1000);
	cr_expect_eq(ok, 1000 / KP_NACK_LIMIT_TOTAL_REFILL_MS);
	/* A refused NACK left its pair's bucket alone: an id refused at T0 gets
	 * its whole burst once the total has refilled (T0 + 3 s), not one less. */
	cr_expect_eq(allowed_in(&l, 3 * KP_NACK_LIMIT_SLOTS, 2, BURST + 1, T0 + 4000), BURST);
	kp_nack_limit_destroy(&l);
}
