/*
 * Description: st_commit_group stores verified TAPS frames in the log with
 * consecutive sequences (header and tap fields kept, tokens pseudonymised,
 * signature zeroed, frame_hash not the plain hash of the original), counts
 * their taps, and refuses a group holding anything but well-formed TAPS
 * frames without storing any of it.
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

Test(commit, counts_frames_are_refused_until_they_are_supported)
{
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	struct kp_header h = {.type = KP_TYPE_COUNTS, .count = 1, .device_id = 0x5555, .batch_seq = 1,
	                      .sent_at = noon};
	struct kp_count c = {.observed_at = noon, .route_id = 7, .door = 1, .kind = KP_COUNT_KIND_DOOR_CYCLE,
	                     .boardings = 3, .occupancy = KP_OCCUPANCY_UNKNOWN,
	                     .confidence = KP_CONFIDENCE_UNKNOWN};
	size_t len = kp_frame_size(KP_TYPE_COUNTS, 1);

	tdb_open();
	tdev_make(&d, 0x5555);
	cr_assert_eq(kp_frame_put_header(frame, sizeof frame, &h), KP_OK);
	kp_frame_put_count(frame, 0, &c);
	cr_assert_eq(kp_frame_sign(frame, len, d.sk), KP_OK);
	cr_expect_eq(t_commit1(frame, len, NULL), ST_EINVAL);
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
