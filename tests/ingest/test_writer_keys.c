/*
 * Description: the writer thread destroys the epoch keys that left the
 * retention, at its start and again once its clock (injected here) has
 * moved an hour on, between commit groups; after a destruction it never
 * uses the key it had cached: a late tap of the same card gets another
 * pseudonym. The key is gone from the database (a tombstone), the metric
 * counts it, and st_check passes.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "ingest/writer.h"
#include "stages.h"
#include "storage/check.h"
#include "storage/epoch_keys.h"
#include "storage/log.h"

static const int64_t noon = 1715763600000; /* 2024-05-15 12:00 in Kyiv */
static const int64_t hour = 3600000;
static const int64_t day = 86400000;

static struct kp_writer *running;
static _Atomic int64_t clock_ms;

static int64_t test_clock(void *ctx)
{
	(void)ctx;
	return atomic_load(&clock_ms);
}

static void finish(void)
{
	kp_ring_close(&ts.in);
	kp_writer_join(running);
	running = NULL;
}

static void teardown(void)
{
	if (running)
		finish();
	ts_teardown();
}

TestSuite(writer_keys, .init = ts_setup, .fini = teardown);

static void start_writer(int retention_days)
{
	struct kp_writer_ctx ctx = {
		.cfg = { .group_max_frames = 1, .group_max_wait_ms = 1, .key_retention_days = retention_days },
		.db = tdb.db,
		.in = &ts.in,
		.replies = &ts.replies,
		.m = &ts.m,
		.health = &ts.health,
		.now_ms = test_clock,
	};

	cr_assert_eq(kp_writer_start(&ctx, &running), 0);
}

/* Feeds a frame of one tap of card 9 at noon of 2024-05-15 and waits for its ACK. */
static void tap_and_wait(const struct tdev *d, uint64_t batch_seq)
{
	static uint8_t frame[KP_FRAME_MAX];
	size_t len = t_frame_simple(frame, d, batch_seq, 1, noon, 9);
	struct kp_reply r;

	ts_feed(d->id, frame, len);
	r = ts_reply_wait();
	cr_assert_eq(r.type, KP_TYPE_ACK);
	cr_assert_eq(r.batch_seq, batch_seq);
}

static void stored_pseudonym(uint64_t seq, uint8_t out[ST_PSEUDONYM_SIZE])
{
	struct st_read r;
	struct st_log_entry e;
	struct kp_tap t;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, seq, &e), ST_OK);
	kp_frame_get_tap(e.frame, 0, &t);
	memcpy(out, t.card_token, ST_PSEUDONYM_SIZE);
	st_read_end(&r);
}

static int first_key(void *ctx, const struct st_epoch_key_info *k)
{
	*(struct st_epoch_key_info *)ctx = *k;
	return 1;
}

/* The record of the oldest epoch key. */
static struct st_epoch_key_info oldest_key(void)
{
	struct st_epoch_key_info k = {0};
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_epoch_keys_foreach(&r, first_key, &k), ST_ESTOP, "no epoch key at all");
	st_read_end(&r);
	return k;
}

static void expect_check_passes(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
}

Test(writer_keys, after_the_retention_the_cached_key_is_not_used_again)
{
	uint8_t p1[ST_PSEUDONYM_SIZE], p2[ST_PSEUDONYM_SIZE], p3[ST_PSEUDONYM_SIZE];
	struct st_epoch_key_info k;
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x71);
	atomic_store(&clock_ms, noon);
	start_writer(2);
	tap_and_wait(&d, 1);
	atomic_store(&clock_ms, noon + 30 * 60000); /* within the hour: no run */
	tap_and_wait(&d, 2);
	atomic_store(&clock_ms, noon + 3 * day + hour); /* 2024-05-18: 05-15 ended > 2 days ago */
	tap_and_wait(&d, 3);
	finish();

	stored_pseudonym(1, p1);
	stored_pseudonym(2, p2);
	stored_pseudonym(3, p3);
	cr_expect_eq(memcmp(p1, p2, sizeof p1), 0, "the same card within the epoch changed pseudonym");
	cr_expect_neq(memcmp(p3, p1, sizeof p1), 0, "the writer used the destroyed key");
	k = oldest_key();
	cr_expect_eq(k.epoch_date, 20240515);
	cr_expect_eq(k.destroyed_at, noon + 3 * day + hour, "the key of 2024-05-15 is not destroyed");
	cr_expect_eq(atomic_load(&ts.m.epoch_keys_destroyed), 1);
	expect_check_passes();
}

Test(writer_keys, the_writer_destroys_old_keys_when_it_starts)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x72);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 1, noon, 9), NULL), ST_OK);
	cr_assert_eq(oldest_key().destroyed_at, 0);
	atomic_store(&clock_ms, noon + 91 * day);
	start_writer(90);
	finish();
	cr_expect_eq(oldest_key().destroyed_at, noon + 91 * day, "the key of 2024-05-15 outlived 90 days");
	cr_expect_eq(atomic_load(&ts.m.epoch_keys_destroyed), 1);
}

Test(writer_keys, keys_within_the_retention_are_kept)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x73);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 1, noon, 9), NULL), ST_OK);
	atomic_store(&clock_ms, noon + 90 * day); /* 05-15 ended 89.5 days ago */
	start_writer(90);
	finish();
	cr_expect_eq(oldest_key().destroyed_at, 0, "a key within the retention was destroyed");
	cr_expect_eq(atomic_load(&ts.m.epoch_keys_destroyed), 0);
}
