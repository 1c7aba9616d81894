/*
 * Description: raw card tokens never reach the disk: the bytes of data.mdb
 * hold the pseudonyms and none of the tokens; a pseudonym is the same for a
 * card within one epoch (and after a reopen, the key is stored) and differs
 * across epochs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/log.h"
#include "storage/pseudonym.h"

TestSuite(privacy, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* Wednesday 2024-05-15, 12:00 in Kyiv */
static const int64_t day = 86400000;

/* The stored pseudonym of tap i of log entry seq. */
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

Test(privacy, raw_tokens_never_reach_the_data_file)
{
	enum { FRAMES = 20, TAPS = 50 };
	uint8_t frame[KP_FRAME_MAX];
	uint8_t token[KP_CARD_TOKEN_SIZE];
	uint8_t pseudo[ST_PSEUDONYM_SIZE];
	struct tdev d;
	char path[128];
	uint8_t *data;
	size_t len, size;

	tdb_open();
	tdev_make(&d, 0xD1);
	for (int f = 0; f < FRAMES; f++) {
		len = t_frame_simple(frame, &d, (uint64_t)f + 1, TAPS, noon + f * day / 4, (uint32_t)f * TAPS);
		cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	}
	stored_pseudonym(FRAMES, TAPS - 1, pseudo);
	tdb_close();

	snprintf(path, sizeof path, "%s/data.mdb", tdb.dir);
	data = t_slurp(path, &size);
	for (uint32_t card = 0; card < FRAMES * TAPS; card++) {
		t_token(token, card);
		cr_expect_null(memmem(data, size, token, sizeof token), "token of card %u is in data.mdb", card);
	}
	cr_expect_not_null(memmem(data, size, pseudo, sizeof pseudo), "the pseudonyms are");
	free(data);
}

Test(privacy, a_card_keeps_its_pseudonym_within_a_day_and_across_a_reopen)
{
	uint8_t frame[KP_FRAME_MAX];
	uint8_t a[ST_PSEUDONYM_SIZE], b[ST_PSEUDONYM_SIZE], c[ST_PSEUDONYM_SIZE];
	struct tdev d;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xD2);
	len = t_frame_simple(frame, &d, 1, 1, noon, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 1, noon + 3600000, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	tdb_reopen();
	len = t_frame_simple(frame, &d, 3, 1, noon + 7200000, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_pseudonym(1, 0, a);
	stored_pseudonym(2, 0, b);
	stored_pseudonym(3, 0, c);
	cr_expect_eq(memcmp(a, b, sizeof a), 0);
	cr_expect_eq(memcmp(a, c, sizeof a), 0, "the epoch key survives a reopen");
}

Test(privacy, daily_epochs_unlink_a_card_across_days)
{
	uint8_t frame[KP_FRAME_MAX];
	uint8_t a[ST_PSEUDONYM_SIZE], b[ST_PSEUDONYM_SIZE];
	struct tdev d;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xD3);
	len = t_frame_simple(frame, &d, 1, 1, noon, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 1, noon + day, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_pseudonym(1, 0, a);
	stored_pseudonym(2, 0, b);
	cr_expect_neq(memcmp(a, b, sizeof a), 0);
}

Test(privacy, weekly_epochs_link_a_card_within_the_week_only)
{
	uint8_t frame[KP_FRAME_MAX];
	uint8_t wed[ST_PSEUDONYM_SIZE], sun[ST_PSEUDONYM_SIZE], mon[ST_PSEUDONYM_SIZE];
	struct tdev d;
	size_t len;

	tdb.opts.epoch_period = ST_EPOCH_WEEK;
	tdb_open();
	tdev_make(&d, 0xD4);
	len = t_frame_simple(frame, &d, 1, 1, noon, 42); /* Wednesday */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 1, noon + 4 * day, 42); /* Sunday */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 3, 1, noon + 5 * day, 42); /* next Monday */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_pseudonym(1, 0, wed);
	stored_pseudonym(2, 0, sun);
	stored_pseudonym(3, 0, mon);
	cr_expect_eq(memcmp(wed, sun, sizeof wed), 0);
	cr_expect_neq(memcmp(sun, mon, sizeof sun), 0);
}

Test(privacy, different_cards_get_different_pseudonyms)
{
	uint8_t frame[KP_FRAME_MAX];
	uint8_t a[ST_PSEUDONYM_SIZE], b[ST_PSEUDONYM_SIZE];
	struct tdev d;
	size_t len;

	tdb_open();
	tdev_make(&d, 0xD5);
	len = t_frame_simple(frame, &d, 1, 2, noon, 42);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_pseudonym(1, 0, a);
	stored_pseudonym(1, 1, b);
	cr_expect_neq(memcmp(a, b, sizeof a), 0);
}
