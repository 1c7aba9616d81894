/*
 * Description: st_commit_group stores verified TAPS and COUNTS frames in the
 * log with consecutive sequences (header and tap fields kept, tokens
 * pseudonymised, count records kept, signature zeroed, frame_hash not the
 * plain hash of the original), counts their taps, and refuses a group
 * holding anything but well-formed TAPS or COUNTS frames without storing
 * any of it.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "helpers.h"
#include "storage/log.h"

TestSuite(commit, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* 2024-05-15 09:00 UTC, 12:00 in Kyiv */

Test(commit, stores_a_frame_and_counts_its_taps)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item it = {0};
	struct st_commit_stats stats;
	struct st_read r;
	struct st_log_entry e;
	uint8_t hash[ST_FRAME_HASH_SIZE];
	uint64_t last;
	size_t len;

	tdb_open();
	tdev_make(&d, 0x1111);
	len = t_frame_simple(frame, &d, 1, 3, noon, 10);
	it = (struct st_commit_item){.frame = frame, .len = len, .received_at = noon + 5000};
	cr_assert_eq(st_commit_group(tdb.db, &it, 1, &stats), ST_OK);
	cr_expect_eq(it.outcome, ST_STORED);
	cr_expect_eq(it.seq, 1);
	cr_expect_eq(it.device_id, 0x1111);
	cr_expect_eq(it.batch_seq, 1);
	cr_expect_eq(it.watermark, 1);
	cr_expect_eq(stats.stored, 1);
	cr_expect_eq(stats.duplicates, 0);
	cr_expect_eq(stats.taps, 3);

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_last_seq(&r, &last), ST_OK);
	cr_expect_eq(last, 1);
	cr_assert_eq(st_log_get(&r, 1, &e), ST_OK);
	cr_expect_eq(e.seq, 1);
	cr_expect_eq(e.received_at, noon + 5000);
	cr_expect_eq(e.frame_len, len);
	cr_expect_eq(e.raw_len, len + ST_LOG_ENTRY_HEADER_SIZE);
	crypto_generichash(hash, sizeof hash, frame, len, NULL, 0);
	cr_expect_neq(memcmp(e.frame_hash, hash, sizeof hash), 0,
	              "frame_hash is keyed (test_storage_privacy), not the plain BLAKE2b of the original");
	cr_expect_eq(memcmp(e.raw, "KPL2", 4), 0);
	cr_expect_eq(st_log_get(&r, 2, &e), ST_ENOTFOUND);
	st_read_end(&r);
}

Test(commit, stored_frame_differs_from_the_original_only_in_card_tokens_and_signature)
{
	static const uint8_t zero[KP_SIGNATURE_SIZE];
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct st_read r;
	struct st_log_entry e;
	struct kp_header h;
	struct kp_tap in, out;
	size_t len;

	tdb_open();
	tdev_make(&d, 0x2222);
	len = t_frame_simple(frame, &d, 1, 4, noon, 20);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, 1, &e), ST_OK);
	cr_assert_eq(kp_frame_decode(e.frame, e.frame_len, &h), KP_OK, "the stored frame still decodes");
	cr_expect_eq(memcmp(e.frame, frame, KP_HEADER_SIZE), 0, "header kept");
	cr_expect_eq(memcmp(e.frame + len - KP_SIGNATURE_SIZE, zero, KP_SIGNATURE_SIZE), 0,
	             "signature bytes zeroed");
	for (uint16_t i = 0; i < h.count; i++) {
		kp_frame_get_tap(frame, i, &in);
		kp_frame_get_tap(e.frame, i, &out);
		cr_expect_neq(memcmp(in.card_token, out.card_token, KP_CARD_TOKEN_SIZE), 0, "token %u replaced", i);
		memcpy(out.card_token, in.card_token, KP_CARD_TOKEN_SIZE);
		cr_expect_eq(memcmp(&in, &out, sizeof in), 0, "tap %u otherwise intact", i);
	}
	st_read_end(&r);
}

Test(commit, sequences_run_on_across_groups_and_frames)
{
	uint8_t f[3][KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item items[2] = {0};
	struct st_commit_stats stats;
	size_t len[3];

	tdb_open();
	tdev_make(&d, 0x3333);
	for (int i = 0; i < 3; i++)
		len[i] = t_frame_simple(f[i], &d, (uint64_t)i + 1, 2, noon + i * 60000, 100 * (uint32_t)i);
	items[0] = (struct st_commit_item){.frame = f[0], .len = len[0]};
	cr_assert_eq(st_commit_group(tdb.db, items, 1, NULL), ST_OK);
	items[0] = (struct st_commit_item){.frame = f[1], .len = len[1]};
	items[1] = (struct st_commit_item){.frame = f[2], .len = len[2]};
	cr_assert_eq(st_commit_group(tdb.db, items, 2, &stats), ST_OK);
	cr_expect_eq(items[0].seq, 2);
	cr_expect_eq(items[1].seq, 3);
	cr_expect_eq(items[1].watermark, 3);
	cr_expect_eq(stats.stored, 2);
	cr_expect_eq(stats.taps, 4);
}

Test(commit, a_group_with_a_malformed_frame_stores_nothing)
{
	uint8_t good[KP_FRAME_MAX], bad[KP_FRAME_MAX];
	struct tdev d;
	struct st_commit_item items[2] = {0};
	struct st_read r;
	uint64_t last;
	size_t len;

	tdb_open();
	tdev_make(&d, 0x4444);
	len = t_frame_simple(good, &d, 1, 2, noon, 1);
	memcpy(bad, good, len);
	bad[0] = 'X';
	items[0] = (struct st_commit_item){.frame = good, .len = len};
	items[1] = (struct st_commit_item){.frame = bad, .len = len};
	cr_expect_eq(st_commit_group(tdb.db, items, 2, NULL), ST_EINVAL);
	cr_expect_eq(items[0].outcome, ST_FAILED);
	cr_expect_eq(items[1].outcome, ST_FAILED);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_last_seq(&r, &last), ST_OK);
	cr_expect_eq(last, 0);
	st_read_end(&r);
}

Test(commit, a_counts_frame_is_logged_with_its_records_as_they_arrived)
{
	const struct kp_count recs[] = {t_door_cycle(noon, 7, 100, 1, 3, 0), t_occupancy(noon + 1, 7, 40)};
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	struct st_log_entry e;
	struct st_read r;
	struct tdev d;
	size_t len;
	size_t sig;

	tdb_open();
	tdev_make(&d, 0x5555);
	len = t_count_frame(frame, &d, 1, recs, 2);
	sig = len - KP_SIGNATURE_SIZE;
	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_expect_eq(it.outcome, ST_STORED);
	cr_expect_eq(it.type, KP_TYPE_COUNTS);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, it.seq, &e), ST_OK);
	cr_assert_eq(e.frame_len, len);
	cr_expect_eq(memcmp(e.frame, frame, sig), 0, "header and records as they arrived");
	for (size_t i = sig; i < len; i++)
		cr_expect_eq(e.frame[i], 0, "signature byte %zu", i - sig);
	st_read_end(&r);
}

Test(commit, a_frame_of_another_type_is_refused)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	int len;

	tdb_open();
	tdev_make(&d, 0x5555);
	len = kp_frame_make_reply(frame, sizeof frame, KP_TYPE_ACK, 0, d.id, 1, noon, 1, d.sk);
	cr_assert_gt(len, 0);
	cr_expect_eq(t_commit1(frame, (size_t)len, NULL), ST_EINVAL);
}

Test(commit, an_empty_group_is_a_no_op)
{
	struct st_commit_stats stats;

	tdb_open();
	cr_expect_eq(st_commit_group(tdb.db, NULL, 0, &stats), ST_OK);
	cr_expect_eq(stats.stored, 0);
}

Test(commit, a_read_only_database_refuses_commits)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	size_t len;

	tdb_open();
	tdb.opts.read_only = 1;
	tdb_reopen();
	tdev_make(&d, 0x6666);
	len = t_frame_simple(frame, &d, 1, 1, noon, 1);
	cr_expect_eq(t_commit1(frame, len, NULL), ST_EINVAL);
}
