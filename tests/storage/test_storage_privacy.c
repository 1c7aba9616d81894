/*
 * Description: raw card tokens never reach the disk: the bytes of data.mdb
 * hold the pseudonyms and none of the tokens; a pseudonym is the same for a
 * card within one epoch (and after a reopen, the key is stored) and differs
 * across epochs. Nothing stored can test a guessed token without the epoch
 * key: the stored signature is zeros and no device signature is in data.mdb;
 * frame_hash is BLAKE2b-256 keyed with the epoch key of the first tap's
 * service date (not the unkeyed hash), also when the taps span two dates.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sodium.h>
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

/* The frame_hash and the frame (copied) of log entry seq. */
static void stored_entry(uint64_t seq, uint8_t hash[ST_FRAME_HASH_SIZE], uint8_t frame[KP_FRAME_MAX],
                         size_t *len)
{
	struct st_read r;
	struct st_log_entry e;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, seq, &e), ST_OK);
	cr_assert_leq(e.frame_len, KP_FRAME_MAX);
	memcpy(hash, e.frame_hash, ST_FRAME_HASH_SIZE);
	memcpy(frame, e.frame, e.frame_len);
	*len = e.frame_len;
	st_read_end(&r);
}

/* Expects hash to be the keyed BLAKE2b-256 of frame under the key of
 * epoch_date, and not the unkeyed one. */
static void expect_keyed_hash(const uint8_t hash[ST_FRAME_HASH_SIZE], const uint8_t *frame, size_t len,
                              uint32_t epoch_date)
{
	uint8_t key[ST_EPOCH_KEY_SIZE];
	uint8_t want[ST_FRAME_HASH_SIZE];

	crypto_generichash(want, sizeof want, frame, len, NULL, 0);
	cr_expect_neq(memcmp(hash, want, sizeof want), 0, "frame_hash is the unkeyed BLAKE2b of the original");
	t_stored_epoch_key(epoch_date, key);
	crypto_generichash(want, sizeof want, frame, len, key, sizeof key);
	cr_expect_eq(memcmp(hash, want, sizeof want), 0, "frame_hash is not keyed with the key of %u",
	             epoch_date);
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

/* The definition (pseudonym.h), whatever the writer keeps to compute it
 * faster: keyed BLAKE2b-128 of the token under the epoch's stored key. */
Test(privacy, a_pseudonym_is_keyed_blake2b_128_of_the_token_under_its_epochs_key)
{
	uint8_t frame[KP_FRAME_MAX];
	uint8_t key[ST_EPOCH_KEY_SIZE], token[KP_CARD_TOKEN_SIZE];
	uint8_t got[ST_PSEUDONYM_SIZE], want[ST_PSEUDONYM_SIZE];
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0xD8);
	cr_assert_eq(t_commit1(frame, t_frame_simple(frame, &d, 1, 3, noon, 7), NULL), ST_OK);
	t_stored_epoch_key(20240515, key);
	for (uint16_t i = 0; i < 3; i++) {
		t_token(token, 7 + i);
		crypto_generichash(want, sizeof want, token, sizeof token, key, sizeof key);
		stored_pseudonym(1, i, got);
		cr_expect_eq(memcmp(got, want, sizeof want), 0, "tap %u", i);
	}
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

Test(privacy, the_stored_frame_keeps_no_signature)
{
	static const uint8_t zero[KP_SIGNATURE_SIZE];
	uint8_t frame[KP_FRAME_MAX], stored[KP_FRAME_MAX];
	uint8_t hash[ST_FRAME_HASH_SIZE];
	struct kp_header h;
	struct tdev d;
	size_t len, stored_len;

	tdb_open();
	tdev_make(&d, 0xD6);
	len = t_frame_simple(frame, &d, 1, 3, noon, 7);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_entry(1, hash, stored, &stored_len);
	cr_assert_eq(stored_len, len);
	cr_expect_eq(memcmp(stored + len - KP_SIGNATURE_SIZE, zero, KP_SIGNATURE_SIZE), 0,
	             "the signature bytes are zeros");
	cr_expect_eq(kp_frame_decode(stored, stored_len, &h), KP_OK, "the stored frame still decodes");
	cr_expect_neq(kp_frame_verify(stored, stored_len, d.pk), KP_OK, "nothing to verify");
}

Test(privacy, device_signatures_never_reach_the_data_file)
{
	enum { FRAMES = 20, TAPS = 5 };
	uint8_t frame[KP_FRAME_MAX];
	uint8_t sig[FRAMES][KP_SIGNATURE_SIZE];
	uint8_t plain[FRAMES][ST_FRAME_HASH_SIZE];
	struct tdev d;
	char path[128];
	uint8_t *data;
	size_t len, size;

	tdb_open();
	tdev_make(&d, 0xD7);
	for (int f = 0; f < FRAMES; f++) {
		len = t_frame_simple(frame, &d, (uint64_t)f + 1, TAPS, noon + f * day / 4, (uint32_t)f * TAPS);
		memcpy(sig[f], frame + len - KP_SIGNATURE_SIZE, KP_SIGNATURE_SIZE);
		crypto_generichash(plain[f], ST_FRAME_HASH_SIZE, frame, len, NULL, 0);
		cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	}
	tdb_close();

	snprintf(path, sizeof path, "%s/data.mdb", tdb.dir);
	data = t_slurp(path, &size);
	for (int f = 0; f < FRAMES; f++) {
		cr_expect_null(memmem(data, size, sig[f], KP_SIGNATURE_SIZE), "signature of frame %d is in data.mdb",
		               f);
		cr_expect_null(memmem(data, size, plain[f], ST_FRAME_HASH_SIZE),
		               "unkeyed hash of frame %d is in data.mdb", f);
	}
	free(data);
}

Test(privacy, frame_hash_is_keyed_with_the_epoch_key_of_the_first_taps_date)
{
	uint8_t frame[KP_FRAME_MAX], stored[KP_FRAME_MAX];
	uint8_t hash[ST_FRAME_HASH_SIZE];
	struct tdev d;
	size_t len, stored_len;

	tdb_open();
	tdev_make(&d, 0xD8);
	len = t_frame_simple(frame, &d, 1, 4, noon, 300);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_entry(1, hash, stored, &stored_len);
	expect_keyed_hash(hash, frame, len, 20240515);
}

Test(privacy, weekly_epochs_key_frame_hash_with_the_weeks_key)
{
	uint8_t frame[KP_FRAME_MAX], stored[KP_FRAME_MAX];
	uint8_t hash[ST_FRAME_HASH_SIZE];
	struct tdev d;
	size_t len, stored_len;

	tdb.opts.epoch_period = ST_EPOCH_WEEK;
	tdb_open();
	tdev_make(&d, 0xD9);
	len = t_frame_simple(frame, &d, 1, 2, noon, 400); /* Wednesday 2024-05-15 */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	stored_entry(1, hash, stored, &stored_len);
	expect_keyed_hash(hash, frame, len, 20240513); /* the week begins on Monday */
}

Test(privacy, a_frame_over_two_service_dates_takes_its_first_taps_epoch)
{
	/* Kyiv is UTC+3 in May and the service day starts at 03:00 local:
	 * 02:55 on 16 May is service date 15 May, 03:05 is 16 May. */
	const int64_t before = t_utc_ms(2024, 5, 15, 23, 55, 0);
	const int64_t after = t_utc_ms(2024, 5, 16, 0, 5, 0);
	struct kp_tap early_first[2] = {t_tap(before, 7, 100, 1, 800, 1), t_tap(after, 7, 100, 1, 800, 2)};
	struct kp_tap late_first[2] = {t_tap(after, 7, 100, 1, 800, 3), t_tap(before, 7, 100, 1, 800, 4)};
	uint8_t a[KP_FRAME_MAX], b[KP_FRAME_MAX], stored[KP_FRAME_MAX];
	uint8_t hash_a[ST_FRAME_HASH_SIZE], hash_b[ST_FRAME_HASH_SIZE];
	uint8_t key[ST_EPOCH_KEY_SIZE], other[ST_FRAME_HASH_SIZE];
	struct tdev d;
	size_t len_a, len_b, stored_len;

	tdb_open();
	tdev_make(&d, 0xDA);
	len_a = t_frame(a, &d, 1, early_first, 2);
	len_b = t_frame(b, &d, 2, late_first, 2);
	cr_assert_eq(t_commit1(a, len_a, NULL), ST_OK);
	cr_assert_eq(t_commit1(b, len_b, NULL), ST_OK);
	stored_entry(1, hash_a, stored, &stored_len);
	stored_entry(2, hash_b, stored, &stored_len);
	expect_keyed_hash(hash_a, a, len_a, 20240515);
	expect_keyed_hash(hash_b, b, len_b, 20240516); /* the first tap, not the earliest */

	t_stored_epoch_key(20240516, key);
	crypto_generichash(other, sizeof other, a, len_a, key, sizeof key);
	cr_expect_neq(memcmp(hash_a, other, sizeof other), 0, "the second tap's epoch is not used");
}
