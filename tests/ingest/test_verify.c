/*
 * Description: the verify stage, fed crafted frames through its real queues
 * and workers, with a real LMDB registry and real Ed25519 keys: a good frame
 * goes to the writer untouched; each failed check is a NACK with its reason
 * to the topic's device, counted by reason; a frame already stored is
 * re-ACKed with the watermark without its signature being checked; COUNTS
 * frames pass only on the counts topic from an APC, and every other mix of
 * topic, frame type and device kind is NACK 4. Each NACK also hands the
 * writer a reject note (no bytes) for the device's rejects. NACKs (and
 * their notes) are limited per device and reason: past the burst they are
 * suppressed and counted.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/verify.h"
#include "stages.h"
#include "storage/devices.h"
#include "storage/handoff.h"

TestSuite(verify, .init = ts_setup, .fini = ts_teardown);

#define PAST_DAYS 30
#define FUTURE_S 600
#define MINUTE_MS 60000

/* Closes the input, runs `workers` verify workers of partition p over it
 * until it is drained, and waits for them. */
static void verify_all_as(int workers, struct kp_partition p)
{
	static struct kp_nack_limit nacks;
	struct kp_verify_ctx ctx = {
		.cfg = { .accept_past_days = PAST_DAYS, .accept_future_s = FUTURE_S, .partition = p },
		.db = tdb.db,
		.in = &ts.in,
		.out = &ts.out,
		.replies = &ts.replies,
		.m = &ts.m,
		.nack_limit = &nacks,
	};
	struct kp_verify_pool *pool;

	cr_assert_eq(kp_nack_limit_init(&nacks, KP_NACK_LIMIT_BURST, KP_NACK_LIMIT_REFILL_MS,
	                      KP_NACK_LIMIT_TOTAL_BURST, KP_NACK_LIMIT_TOTAL_REFILL_MS), 0);
	kp_ring_close(&ts.in);
	cr_assert_eq(kp_verify_start(&ctx, workers, &pool), 0);
	kp_verify_join(pool);
	kp_nack_limit_destroy(&nacks);
}

static void verify_all(int workers)
{
	verify_all_as(workers, (struct kp_partition){ 0, 1 });
}

/* An enrolled device (key_id 0) and a signed frame of n taps a minute old. */
static size_t good_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                         uint16_t n)
{
	return t_frame_simple(buf, d, batch_seq, n, ts_now_ms() - MINUTE_MS, (uint32_t)batch_seq * 1000);
}

/* The next reply is a NACK for `reason` to device_id, naming batch_seq. */
static void expect_nack(uint64_t device_id, uint64_t batch_seq, uint64_t reason)
{
	struct kp_reply r = ts_reply();

	cr_expect_eq(r.type, KP_TYPE_NACK);
	cr_expect_eq(r.device_id, device_id);
	cr_expect_eq(r.batch_seq, batch_seq);
	cr_expect_eq(r.aux, reason, "NACK %llu, expected %llu", (unsigned long long)r.aux,
	             (unsigned long long)reason);
}

/* n frames were refused for `reason`: none reached the writer, only a
 * note of each reject (no bytes) for the device's rejects. */
static void expect_refused(uint64_t reason, uint64_t n)
{
	struct kp_inbound item;
	uint64_t notes = 0;

	cr_expect_eq(atomic_load(&ts.m.rejected[reason]), n, "rejected{%s}", kp_nack_reason_name(reason));
	while (kp_ring_try_pop(&ts.out, &item) == 0) {
		cr_expect_null(item.frame, "a refused frame reached the writer");
		cr_expect_eq(item.len, 0);
		cr_expect_eq(item.reject, reason, "reject note of reason %u", item.reject);
		kp_inbound_free(&item);
		notes++;
	}
	cr_expect_eq(notes, n, "%llu reject notes", (unsigned long long)notes);
}

/* Batches 1 and 2 of device_id were NACKed for `reason`, and nothing else. */
static void expect_both_refused(uint64_t device_id, uint64_t reason)
{
	expect_nack(device_id, 1, reason);
	expect_nack(device_id, 2, reason);
	expect_refused(reason, 2);
}

Test(verify, a_good_frame_goes_to_the_writer_untouched_and_unanswered)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_inbound item;
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x51);
	ts_enrol(&d, 0);
	size_t len = good_frame(frame, &d, 1, 12);
	ts_feed(d.id, frame, len);
	verify_all(1);

	cr_assert_eq(kp_ring_try_pop(&ts.out, &item), 0, "nothing reached the writer");
	cr_expect_eq(item.len, len);
	cr_expect_arr_eq(item.frame, frame, len);
	cr_expect_eq(item.topic_device, d.id);
	cr_expect_eq(item.received_at, TS_RECEIVED_AT);
	kp_inbound_free(&item);
	cr_expect_eq(ts_replies_left(), 0, "a frame for the writer is answered by the writer only");
	for (int reason = 0; reason <= KP_NACK_REASON_MAX; reason++)
		cr_expect_eq(atomic_load(&ts.m.rejected[reason]), 0);
}

Test(verify, a_forged_signature_is_nack_1)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d, forger;

	tdb_open();
	tdev_make(&d, 0x52);
	ts_enrol(&d, 0);
	tdev_make(&forger, 0x52); /* the same id, another key */
	ts_feed(d.id, frame, good_frame(frame, &forger, 7, 3));
	verify_all(1);

	expect_nack(d.id, 7, KP_NACK_BAD_SIGNATURE);
	expect_refused(KP_NACK_BAD_SIGNATURE, 1);
}

Test(verify, an_unknown_device_or_key_is_nack_2)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev stranger, other_key;

	tdb_open();
	tdev_make(&stranger, 0x53);
	ts_feed(stranger.id, frame, good_frame(frame, &stranger, 1, 1));
	tdev_make(&other_key, 0x54);
	ts_enrol(&other_key, 1); /* frames are signed with key_id 0 */
	ts_feed(other_key.id, frame, good_frame(frame, &other_key, 2, 1));
	verify_all(1);

	expect_nack(stranger.id, 1, KP_NACK_UNKNOWN_DEVICE);
	expect_nack(other_key.id, 2, KP_NACK_UNKNOWN_DEVICE);
	expect_refused(KP_NACK_UNKNOWN_DEVICE, 2);
}

Test(verify, a_revoked_device_or_key_is_nack_3)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev device, key;

	tdb_open();
	tdev_make(&device, 0x55);
	ts_enrol(&device, 0);
	cr_assert_eq(st_device_revoke(tdb.db, device.id, -1, ts_now_ms()), ST_OK);
	tdev_make(&key, 0x56);
	ts_enrol(&key, 0);
	cr_assert_eq(st_device_revoke(tdb.db, key.id, 0, ts_now_ms()), ST_OK);
	ts_feed(device.id, frame, good_frame(frame, &device, 3, 1));
	ts_feed(key.id, frame, good_frame(frame, &key, 4, 1));
	verify_all(1);

	expect_nack(device.id, 3, KP_NACK_REVOKED);
	expect_nack(key.id, 4, KP_NACK_REVOKED);
	expect_refused(KP_NACK_REVOKED, 2);
}

Test(verify, a_malformed_frame_is_nack_4_naming_its_batch_seq_when_readable)
{
	static uint8_t frame[KP_FRAME_MAX];
	static const uint8_t magic_only[KP_HEADER_SIZE + 12] = KP_MAGIC;
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x57);
	ts_enrol(&d, 0);
	size_t len = good_frame(frame, &d, 9, 2);
	ts_feed(d.id, frame, len - 1); /* one byte short: the header still reads */
	ts_feed(d.id, magic_only, sizeof magic_only);  /* a header of zeros: batch 0 */
	verify_all(1);

	expect_nack(d.id, 9, KP_NACK_MALFORMED);
	expect_nack(d.id, 0, KP_NACK_MALFORMED);
	expect_refused(KP_NACK_MALFORMED, 2);
}

Test(verify, a_payload_without_header_or_magic_is_unreadable_dropped_unanswered)
{
	static uint8_t frame[KP_FRAME_MAX];
	static const uint8_t garbage[] = "not a frame";
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x58);
	ts_enrol(&d, 0);
	size_t len = good_frame(frame, &d, 3, 2);
	ts_feed(d.id, garbage, sizeof(garbage));
	ts_feed(d.id, frame, KP_HEADER_SIZE - 1); /* the magic, but no whole header */
	frame[0] = 'X';
	ts_feed(d.id, frame, len);                /* all there but the magic */
	ts_feed(d.id, frame, 0);
	verify_all(1);

	cr_expect_eq(ts_replies_left(), 0, "an unreadable payload was answered");
	cr_expect_eq(atomic_load(&ts.m.frames_unreadable), 4);
	expect_refused(KP_NACK_MALFORMED, 0);
}

Test(verify, a_frame_on_another_devices_topic_is_nack_5_to_that_topic)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d, other;

	tdb_open();
	tdev_make(&d, 0x58);
	tdev_make(&other, 0x59);
	ts_enrol(&d, 0);
	ts_enrol(&other, 0);
	ts_feed(other.id, frame, good_frame(frame, &d, 5, 1));
	verify_all(1);

	expect_nack(other.id, 5, KP_NACK_TOPIC_MISMATCH);
	expect_refused(KP_NACK_TOPIC_MISMATCH, 1);
}

Test(verify, taps_outside_the_time_window_are_nack_6)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[2];
	struct tdev d;
	int64_t now = ts_now_ms();

	tdb_open();
	tdev_make(&d, 0x5a);
	ts_enrol(&d, 0);
	/* A day beyond accept_past_days... */
	taps[0] = t_tap(now - (int64_t)(PAST_DAYS + 1) * 86400000, 7, 100, 1, 800, 1);
	ts_feed(d.id, frame, t_frame(frame, &d, 1, taps, 1));
	/* ...and one good tap beside one a minute beyond accept_future_s. */
	taps[0] = t_tap(now - MINUTE_MS, 7, 100, 1, 800, 2);
	taps[1] = t_tap(now + (int64_t)FUTURE_S * 1000 + MINUTE_MS, 7, 100, 1, 800, 3);
	ts_feed(d.id, frame, t_frame(frame, &d, 2, taps, 2));
	verify_all(1);

	expect_both_refused(d.id, KP_NACK_TIME_WINDOW);
}

/* Feeds batch_seq of d with its signature spoilt (were it checked, this
 * were NACK 1), verifies, and expects it re-ACKed as a duplicate; returns
 * the ACK's watermark. */
static uint64_t expect_reack_spoilt(const struct tdev *d, uint64_t batch_seq)
{
	static uint8_t frame[KP_FRAME_MAX];
	size_t len = good_frame(frame, d, batch_seq, 4);

	frame[len - 1] ^= 0xff;
	ts_feed(d->id, frame, len);
	verify_all(1);

	struct kp_reply r = ts_reply();
	cr_expect_eq(r.type, KP_TYPE_ACK);
	cr_expect_eq(r.device_id, d->id);
	cr_expect_eq(r.batch_seq, batch_seq);
	cr_expect_eq(atomic_load(&ts.m.frames_duplicate), 1);
	expect_refused(KP_NACK_BAD_SIGNATURE, 0);
	return r.aux;
}

Test(verify, a_stored_frame_is_reacked_with_the_watermark_without_a_signature_check)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x5b);
	ts_enrol(&d, 0);
	for (uint64_t seq = 1; seq <= 2; seq++) {
		size_t len = good_frame(frame, &d, seq, 4);
		cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	}
	cr_expect_eq(expect_reack_spoilt(&d, 1), 2, "the watermark");
}

Test(verify, a_frame_its_former_owner_stored_is_reacked_not_passed_on)
{
	const uint64_t above[] = {4};
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x5c);
	ts_enrol(&d, 0);
	cr_assert_eq(st_handoff_put(tdb.db, d.id, 2, above, 1), ST_OK);
	expect_reack_spoilt(&d, 4);
}

Test(verify, a_revoked_devices_stored_frame_is_nack_3_not_reacked)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x5c);
	ts_enrol(&d, 0);
	size_t len = good_frame(frame, &d, 1, 4);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	cr_assert_eq(st_device_revoke(tdb.db, d.id, -1, ts_now_ms()), ST_OK);
	ts_feed(d.id, frame, len);
	verify_all(1);

	expect_nack(d.id, 1, KP_NACK_REVOKED);
	expect_refused(KP_NACK_REVOKED, 1);
}

Test(verify, several_workers_handle_every_frame_exactly_once)
{
	enum { GOOD = 60, FORGED = 40 };
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev d, forger;
	struct kp_inbound item;
	uint8_t seen[GOOD + 1] = { 0 };

	tdb_open();
	tdev_make(&d, 0x5d);
	tdev_make(&forger, 0x5d);
	ts_enrol(&d, 0);
	for (uint64_t seq = 1; seq <= GOOD + FORGED; seq++) {
		const struct tdev *signer = seq <= GOOD ? &d : &forger;
		ts_feed(d.id, frame, good_frame(frame, signer, seq, 1));
	}
	verify_all(4);

	size_t to_writer = 0, notes = 0;
	while (kp_ring_try_pop(&ts.out, &item) == 0) {
		struct kp_header h;
		if (item.reject != 0) {
			cr_expect_eq(item.reject, KP_NACK_BAD_SIGNATURE);
			cr_expect_eq(item.topic_device, d.id);
			notes++;
			continue;
		}
		cr_assert_eq(kp_frame_decode(item.frame, item.len, &h), KP_OK);
		cr_assert(h.batch_seq >= 1 && h.batch_seq <= GOOD, "frame %llu reached the writer",
		          (unsigned long long)h.batch_seq);
		cr_expect_eq(seen[h.batch_seq]++, 0, "frame %llu twice", (unsigned long long)h.batch_seq);
		kp_inbound_free(&item);
		to_writer++;
	}
	cr_expect_eq(to_writer, GOOD);
	/* Every forged frame is refused; the workers share one NACK limit. */
	cr_expect_eq(notes, KP_NACK_LIMIT_BURST, "one reject note per NACK sent");
	cr_expect_eq(ts_replies_left(), KP_NACK_LIMIT_BURST);
	cr_expect_eq(atomic_load(&ts.m.rejected[KP_NACK_BAD_SIGNATURE]), FORGED);
	cr_expect_eq(atomic_load(&ts.m.nacks_suppressed[KP_NACK_BAD_SIGNATURE]), FORGED - KP_NACK_LIMIT_BURST);
}

Test(verify, a_flood_gets_the_burst_of_nacks_per_device_and_reason_the_rest_suppressed)
{
	enum { FLOOD = 30 };
	static uint8_t frame[KP_FRAME_MAX];
	static const uint8_t short_frame[KP_HEADER_SIZE + 8] = "KMP1";
	struct tdev d, other, forger, other_forger;

	tdb_open();
	tdev_make(&d, 0x61);
	tdev_make(&other, 0x62);
	tdev_make(&forger, 0x61);
	tdev_make(&other_forger, 0x62);
	ts_enrol(&d, 0);
	ts_enrol(&other, 0);
	for (uint64_t seq = 1; seq <= FLOOD; seq++) {
		ts_feed(d.id, frame, good_frame(frame, &forger, seq, 1)); /* NACK 1 */
		ts_feed(d.id, short_frame, sizeof short_frame);          /* NACK 4 */
	}
	ts_feed(other.id, frame, good_frame(frame, &other_forger, 1, 1));
	verify_all(2);

	size_t per[KP_NACK_REASON_MAX + 1] = { 0 }, to_other = 0;
	while (ts_replies_left() > 0) {
		struct kp_reply r = ts_reply();

		cr_assert_eq(r.type, KP_TYPE_NACK);
		cr_assert(r.aux <= KP_NACK_REASON_MAX);
		if (r.device_id == other.id)
			to_other++;
		else
			per[r.aux]++;
	}
	cr_expect_eq(per[KP_NACK_BAD_SIGNATURE], KP_NACK_LIMIT_BURST);
	cr_expect_eq(per[KP_NACK_MALFORMED], KP_NACK_LIMIT_BURST);
	cr_expect_eq(to_other, 1, "another device's NACK is not held back by the flood");
	cr_expect_eq(atomic_load(&ts.m.nacks_suppressed[KP_NACK_BAD_SIGNATURE]), FLOOD - KP_NACK_LIMIT_BURST);
	cr_expect_eq(atomic_load(&ts.m.nacks_suppressed[KP_NACK_MALFORMED]), FLOOD - KP_NACK_LIMIT_BURST);
	cr_expect_eq(atomic_load(&ts.m.rejected[KP_NACK_BAD_SIGNATURE]), FLOOD + 1, "every frame is still refused");
}

/* ---- COUNTS: one frame type and one device kind per stream ---- */

/* A signed COUNTS frame of one door cycle observed at `at`. */
static size_t counts_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq, int64_t at)
{
	const struct kp_count rec = t_door_cycle(at, 7, 100, 1, 3, 1);

	return t_count_frame(buf, d, batch_seq, &rec, 1);
}

Test(verify, an_apcs_counts_frame_on_the_counts_topic_goes_to_the_writer)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_inbound item;
	struct tdev apc;
	size_t len;

	tdb_open();
	tdev_make(&apc, 0x61);
	ts_enrol_kind(&apc, 0, ST_KIND_APC);
	len = counts_frame(frame, &apc, 1, ts_now_ms() - MINUTE_MS);
	ts_feed_stream(apc.id, KP_STREAM_COUNTS, frame, len);
	verify_all(1);

	cr_assert_eq(kp_ring_try_pop(&ts.out, &item), 0, "nothing reached the writer");
	cr_expect_eq(item.len, len);
	cr_expect_eq(item.stream, KP_STREAM_COUNTS);
	cr_expect_eq(memcmp(item.frame, frame, len), 0);
	kp_inbound_free(&item);
	cr_expect_eq(kp_ring_depth(&ts.replies.ring), 0, "a good frame was answered before its commit");
}

Test(verify, a_validators_key_on_the_counts_topic_is_nack_4)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev validator;

	tdb_open();
	tdev_make(&validator, 0x62);
	ts_enrol(&validator, 0);
	ts_feed_stream(validator.id, KP_STREAM_COUNTS, frame,
	               counts_frame(frame, &validator, 1, ts_now_ms() - MINUTE_MS));
	verify_all(1);

	expect_nack(validator.id, 1, KP_NACK_MALFORMED);
	expect_refused(KP_NACK_MALFORMED, 1);
}

Test(verify, an_apcs_frame_on_the_taps_topic_is_nack_4)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev apc;

	tdb_open();
	tdev_make(&apc, 0x63);
	ts_enrol_kind(&apc, 0, ST_KIND_APC);
	/* TAPS signed by the APC's key, and its COUNTS sent to the wrong topic. */
	ts_feed(apc.id, frame, good_frame(frame, &apc, 1, 2));
	ts_feed(apc.id, frame, counts_frame(frame, &apc, 2, ts_now_ms() - MINUTE_MS));
	verify_all(1);

	expect_both_refused(apc.id, KP_NACK_MALFORMED);
}

Test(verify, a_frame_type_that_does_not_match_the_topics_stream_is_nack_4)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct tdev validator;

	tdb_open();
	tdev_make(&validator, 0x64);
	ts_enrol(&validator, 0);
	ts_feed_stream(validator.id, KP_STREAM_COUNTS, frame, good_frame(frame, &validator, 1, 2));
	ts_feed_stream(validator.id, KP_STREAM_ACK, frame, good_frame(frame, &validator, 2, 2));
	verify_all(1);

	expect_both_refused(validator.id, KP_NACK_MALFORMED);
}

Test(verify, counts_observed_outside_the_time_window_are_nack_6)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_count recs[2];
	struct tdev apc;
	int64_t now = ts_now_ms();

	tdb_open();
	tdev_make(&apc, 0x65);
	ts_enrol_kind(&apc, 0, ST_KIND_APC);
	/* sent_at is a second after the first record: only observed_at is late. */
	recs[0] = t_door_cycle(now - MINUTE_MS, 7, 100, 1, 1, 0);
	recs[1] = t_door_cycle(now + (int64_t)FUTURE_S * 1000 + MINUTE_MS, 7, 100, 1, 1, 0);
	ts_feed_stream(apc.id, KP_STREAM_COUNTS, frame, t_count_frame(frame, &apc, 1, recs, 2));
	verify_all(1);

	expect_nack(apc.id, 1, KP_NACK_TIME_WINDOW);
	expect_refused(KP_NACK_TIME_WINDOW, 1);
}

/* The first device id from `from` on that partition p owns (want 1) or
 * does not own (want 0). */
static uint64_t id_owned(const struct kp_partition *p, uint64_t from, int want)
{
	while (kp_partition_owns(p, from) != want)
		from++;
	return from;
}

Test(verify, another_partitions_device_is_counted_and_dropped_unanswered_before_any_check)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_partition p = { 1, 3 };
	struct kp_inbound item;
	struct tdev mine, theirs, forger;

	tdb_open();
	tdev_make(&mine, id_owned(&p, 0x60, 1));
	tdev_make(&theirs, id_owned(&p, 0x60, 0));
	ts_enrol(&mine, 0);
	ts_enrol(&theirs, 0);
	size_t len = good_frame(frame, &mine, 1, 4);
	ts_feed(mine.id, frame, len);
	ts_feed(theirs.id, frame, good_frame(frame, &theirs, 1, 4));
	tdev_make(&forger, theirs.id);
	ts_feed(theirs.id, frame, good_frame(frame, &forger, 2, 4)); /* would be NACK 1 */
	ts_feed(theirs.id, (const uint8_t *)"junk", 4);                /* would be NACK 4 */
	verify_all_as(1, p);

	cr_expect_eq(atomic_load(&ts.m.frames_not_owned), 3);
	cr_assert_eq(kp_ring_try_pop(&ts.out, &item), 0, "the owned device's frame did not reach the writer");
	cr_expect_eq(item.topic_device, mine.id);
	cr_expect_eq(item.len, len);
	kp_inbound_free(&item);
	cr_expect_neq(kp_ring_try_pop(&ts.out, &item), 0, "another partition's frame reached the writer");
	cr_expect_eq(ts_replies_left(), 0, "another partition's frame was answered");
	for (int reason = 0; reason <= KP_NACK_REASON_MAX; reason++)
		cr_expect_eq(atomic_load(&ts.m.rejected[reason]), 0);
}
