/*
 * Description: epoch keys older than a date are destroyed in one
 * transaction: their records become tombstones (made, destroyed), a newer
 * key survives, the horizon only rises; a late tap of a destroyed epoch is
 * stored, but with a pseudonym that links to nothing (not to the card's
 * pseudonym before the destruction, nor to its other late taps) and no key
 * is made again for that epoch, nor for an older epoch that never had one;
 * st_check passes on such a database; the retention's first kept date is
 * counted in service dates of the database's zone.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/epoch_keys.h"
#include "storage/log.h"

TestSuite(epoch_keys, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon_0515 = 1715763600000; /* Wednesday 2024-05-15, 12:00 in Kyiv */
static const int64_t day = 86400000;
static const int64_t destroyed_at = 1716000000000;

static uint64_t next_seq = 1;

/* Commits a frame of the taps of `cards` (n of them) at `at`; returns its
 * log sequence. */
static uint64_t commit_cards(const struct tdev *d, int64_t at, const uint32_t *cards, uint16_t n)
{
	struct kp_tap taps[4];
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	size_t len;

	cr_assert_leq(n, 4);
	for (uint16_t i = 0; i < n; i++)
		taps[i] = t_tap(at, 7, 100, 1, 800, cards[i]);
	len = t_frame(frame, d, next_seq++, taps, n);
	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_assert_eq(it.outcome, ST_STORED);
	return it.seq;
}

static void stored_pseudonym(uint64_t seq, uint16_t i, uint8_t out[ST_PSEUDONYM_SIZE])
{
	struct st_read r;
	struct st_log_entry e;
	struct kp_tap t;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, seq, &e), ST_OK);
	kp_frame_get_tap(e.frame, i, &t);
	memcpy(out, t.card_token, ST_PSEUDONYM_SIZE);
	st_read_end(&r);
}

struct keys {
	struct st_epoch_key_info k[16];
	size_t n;
};

static int collect(void *ctx, const struct st_epoch_key_info *k)
{
	struct keys *ks = ctx;

	cr_assert_lt(ks->n, 16);
	ks->k[ks->n++] = *k;
	return 0;
}

static void list_keys(struct keys *ks, uint32_t *horizon)
{
	struct st_read r;

	ks->n = 0;
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_epoch_keys_foreach(&r, collect, ks), ST_OK);
	cr_assert_eq(st_epoch_horizon(&r, horizon), ST_OK);
	st_read_end(&r);
}

static void expect_check_passes(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0, "st_check found %llu problems", (unsigned long long)rep.problems);
}

Test(epoch_keys, keys_older_than_the_date_become_tombstones_and_a_newer_key_survives)
{
	struct tdev d;
	struct keys ks;
	struct st_epoch_destroyed out;
	uint8_t kept[ST_EPOCH_KEY_SIZE], again[ST_EPOCH_KEY_SIZE];
	uint32_t horizon;

	tdb_open();
	tdev_make(&d, 1);
	commit_cards(&d, noon_0515 - 5 * day, (uint32_t[]){1}, 1);
	commit_cards(&d, noon_0515 - 4 * day, (uint32_t[]){1}, 1);
	commit_cards(&d, noon_0515, (uint32_t[]){1}, 1);
	t_stored_epoch_key(20240515, kept);

	cr_assert_eq(st_epoch_keys_destroy_before(tdb.db, 20240515, destroyed_at, &out), ST_OK);
	cr_expect_eq(out.count, 2);
	cr_expect_eq(out.first, 20240510);
	cr_expect_eq(out.last, 20240511);
	cr_expect_eq(out.horizon, 20240515);

	list_keys(&ks, &horizon);
	cr_assert_eq(ks.n, 3);
	cr_expect_eq(horizon, 20240515);
	cr_expect_eq(ks.k[0].epoch_date, 20240510);
	cr_expect_eq(ks.k[0].created_at, 1700000000000); /* t_commit1's received_at */
	cr_expect_eq(ks.k[0].destroyed_at, destroyed_at);
	cr_expect_eq(ks.k[1].epoch_date, 20240511);
	cr_expect_eq(ks.k[1].destroyed_at, destroyed_at);
	cr_expect_eq(ks.k[2].epoch_date, 20240515);
	cr_expect_eq(ks.k[2].destroyed_at, 0);
	t_stored_epoch_key(20240515, again);
	cr_expect_eq(memcmp(kept, again, sizeof kept), 0, "the newer key changed");

	cr_assert_eq(st_epoch_keys_destroy_before(tdb.db, 20240512, destroyed_at + day, &out), ST_OK);
	cr_expect_eq(out.count, 0, "destroying again destroyed something");
	cr_expect_eq(out.horizon, 20240515, "the horizon went down");
	list_keys(&ks, &horizon);
	cr_expect_eq(ks.k[0].destroyed_at, destroyed_at, "a tombstone was rewritten");
	expect_check_passes();
}

Test(epoch_keys, a_late_tap_of_a_destroyed_epoch_links_to_nothing)
{
	uint8_t before[ST_PSEUDONYM_SIZE], late1[ST_PSEUDONYM_SIZE], late2[ST_PSEUDONYM_SIZE];
	uint8_t twin_a[ST_PSEUDONYM_SIZE], twin_b[ST_PSEUDONYM_SIZE];
	struct tdev d;
	struct keys ks;
	uint32_t horizon;
	uint64_t seq;

	tdb_open();
	tdev_make(&d, 1);
	stored_pseudonym(commit_cards(&d, noon_0515 - 5 * day, (uint32_t[]){42}, 1), 0, before);
	cr_assert_eq(st_epoch_keys_destroy_before(tdb.db, 20240515, destroyed_at, NULL), ST_OK);

	stored_pseudonym(commit_cards(&d, noon_0515 - 5 * day, (uint32_t[]){42}, 1), 0, late1);
	stored_pseudonym(commit_cards(&d, noon_0515 - 5 * day, (uint32_t[]){42}, 1), 0, late2);
	seq = commit_cards(&d, noon_0515 - 5 * day, (uint32_t[]){42, 42}, 2);
	stored_pseudonym(seq, 0, twin_a);
	stored_pseudonym(seq, 1, twin_b);
	cr_expect_neq(memcmp(late1, before, sizeof before), 0, "a late tap links to the card's earlier pseudonym");
	cr_expect_neq(memcmp(late2, late1, sizeof late1), 0, "two late taps of one card link");
	cr_expect_neq(memcmp(twin_a, twin_b, sizeof twin_a), 0, "two late taps in one frame link");

	/* A late tap of an old epoch that never had a key makes none. */
	commit_cards(&d, noon_0515 - 40 * day, (uint32_t[]){42}, 1);
	list_keys(&ks, &horizon);
	cr_assert_eq(ks.n, 1, "a key was made for a destroyed epoch");
	cr_expect_eq(ks.k[0].epoch_date, 20240510);
	cr_expect_eq(ks.k[0].destroyed_at, destroyed_at, "the destroyed key came back");
	expect_check_passes();
}

Test(epoch_keys, the_horizon_is_the_start_of_the_epoch_of_the_date_with_weekly_epochs)
{
	struct st_epoch_destroyed out;
	struct tdev d;

	tdb.opts.epoch_period = ST_EPOCH_WEEK;
	tdb_open();
	tdev_make(&d, 1);
	commit_cards(&d, noon_0515, (uint32_t[]){1}, 1); /* the week of Monday 2024-05-13 */
	cr_assert_eq(st_epoch_keys_destroy_before(tdb.db, 20240519, destroyed_at, &out), ST_OK);
	cr_expect_eq(out.count, 0, "a week was destroyed before its last date ended");
	cr_expect_eq(out.horizon, 20240513);
	cr_assert_eq(st_epoch_keys_destroy_before(tdb.db, 20240520, destroyed_at, &out), ST_OK);
	cr_expect_eq(out.count, 1);
	cr_expect_eq(out.first, 20240513);
	cr_expect_eq(out.horizon, 20240520);
}

Test(epoch_keys, the_retention_counts_service_dates_in_the_zone_of_the_database)
{
	uint32_t before;

	tdb_open();
	cr_assert_eq(st_epoch_retention_before(tdb.db, noon_0515, 90, &before), ST_OK);
	cr_expect_eq(before, 20240215);
	/* 01:00 in Kyiv is still the service date of the day before. */
	cr_assert_eq(st_epoch_retention_before(tdb.db, t_utc_ms(2024, 5, 14, 22, 0, 0), 1, &before), ST_OK);
	cr_expect_eq(before, 20240513);
	cr_expect_eq(st_epoch_retention_before(tdb.db, noon_0515, 0, &before), ST_EINVAL);
	cr_expect_eq(st_epoch_keys_destroy_before(tdb.db, 20240231, destroyed_at, NULL), ST_EINVAL);
}
