/*
 * Description: the writer stage alone, on its real queue and a real LMDB:
 * a group is stored in one commit, each frame once (duplicates inside the
 * group and of earlier groups are ACKed, not stored again), and ACKed only
 * after the commit with the device's watermark, one ACK per device per group
 * for the frames its watermark covers and one per frame beyond a gap; a lone
 * frame is committed without waiting for company; a map that cannot hold the
 * group answers every frame with NACK 7, stores none of it, raises the
 * storage-full alarm and clears readiness until a commit succeeds; verify's
 * reject notes are stored in the group for enrolled devices, unanswered.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "ingest/thread_attr.h"
#include "ingest/writer.h"
#include "stages.h"
#include "threads.h"
#include "storage/check.h"
#include "storage/derive.h"
#include "storage/device_stats.h"
#include "storage/log.h"
#include "storage/riders.h"

static const int64_t noon = 1715763600000;

#define GROUP_WAIT_MS 1

/* The writer a test started and has not joined: a failed assertion leaves
 * it running, and the queues must not be destroyed under it. */
static struct kp_writer *running;

/* Closes the input and waits until the writer committed what it held. */
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

TestSuite(writer, .init = ts_setup, .fini = teardown);

static void start_writer_nice(int group_max_frames, int group_max_wait_ms, int nice)
{
	struct kp_writer_ctx ctx = {
		.cfg = { .group_max_frames = group_max_frames, .group_max_wait_ms = group_max_wait_ms, .nice = nice },
		.db = tdb.db,
		.in = &ts.in,
		.replies = &ts.replies,
		.m = &ts.m,
		.health = &ts.health,
	};

	cr_assert_eq(kp_writer_start(&ctx, &running), 0);
}

static void start_writer_waiting(int group_max_frames, int group_max_wait_ms)
{
	start_writer_nice(group_max_frames, group_max_wait_ms, 0);
}

static void start_writer(int group_max_frames)
{
	start_writer_waiting(group_max_frames, GROUP_WAIT_MS);
}

/* Runs the writer over what was fed until now: all there when it starts,
 * so up to group_max_frames of them are one group. */
static void write_all(int group_max_frames)
{
	kp_ring_close(&ts.in);
	start_writer(group_max_frames);
	finish();
}

/* Feeds frame batch_seq of d: n taps at noon. */
static void feed(const struct tdev *d, uint64_t batch_seq, uint16_t n)
{
	static uint8_t frame[KP_FRAME_MAX];
	size_t len = t_frame_simple(frame, d, batch_seq, n, noon + (int64_t)batch_seq * 1000,
	                            (uint32_t)batch_seq * KP_RECORDS_MAX);
	ts_feed(d->id, frame, len);
}

static void expect_ack(uint64_t device_id, uint64_t batch_seq, uint64_t watermark)
{
	struct kp_reply r = ts_reply();

	cr_expect_eq(r.type, KP_TYPE_ACK, "batch_seq %llu not ACKed", (unsigned long long)batch_seq);
	cr_expect_eq(r.device_id, device_id);
	cr_expect_eq(r.batch_seq, batch_seq);
	cr_expect_eq(r.aux, watermark, "watermark %llu, expected %llu", (unsigned long long)r.aux,
	             (unsigned long long)watermark);
}

static void expect_counted(uint64_t stored, uint64_t duplicates, uint64_t taps)
{
	cr_expect_eq(atomic_load(&ts.m.frames_stored), stored, "frames stored");
	cr_expect_eq(atomic_load(&ts.m.frames_duplicate), duplicates, "duplicates");
	cr_expect_eq(atomic_load(&ts.m.taps_stored), taps, "taps stored");
}

static void expect_log(uint64_t entries)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
	cr_expect_eq(rep.entries, entries, "%llu log entries, expected %llu",
	             (unsigned long long)rep.entries, (unsigned long long)entries);
}

Test(writer, a_group_is_one_commit_and_its_frames_are_acked_with_the_watermark_after_it)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x61);
	feed(&d, 2, 10);
	feed(&d, 1, 10);
	feed(&d, 4, 10); /* 3 is missing: the watermark stops at 2 */
	write_all(8);

	expect_ack(d.id, 2, 2); /* covers 1 too */
	expect_ack(d.id, 4, 2); /* beyond the gap: its own */
	cr_expect_eq(ts_replies_left(), 0);
	cr_expect_eq(atomic_load(&ts.m.group_frames.count), 1, "one commit");
	cr_expect_eq(atomic_load(&ts.m.group_frames.sum_micro), 3 * 1000000, "of three frames");
	expect_counted(3, 0, 30);
	cr_expect_eq(atomic_load(&ts.m.acks_merged), 1);
	cr_expect_eq(atomic_load(&ts.health.storage_ok), 1);
	expect_log(3);
}

Test(writer, taps_and_counts_of_one_device_are_one_group_acked_over_both_streams)
{
	static uint8_t frame[KP_FRAME_MAX];
	const struct kp_count recs[] = {t_door_cycle(noon, 7, 100, 1, 3, 1), t_occupancy(noon, 7, 20)};
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x6a);
	feed(&d, 1, 10);
	ts_feed_stream(d.id, KP_STREAM_COUNTS, frame, t_count_frame(frame, &d, 2, recs, 2));
	write_all(8);

	expect_ack(d.id, 2, 2);
	cr_expect_eq(ts_replies_left(), 0, "one ACK covers both streams' frames");
	expect_counted(2, 0, 10);
	cr_expect_eq(atomic_load(&ts.m.counts_stored), 2, "count records stored");
	expect_log(2);
}

Test(writer, an_ack_is_posted_only_once_its_frame_is_stored)
{
	struct tdev d;
	uint8_t frame[KP_FRAME_MAX];

	tdb_open();
	tdev_make(&d, 0x62);
	for (uint64_t seq = 1; seq <= 4; seq++) {
		if (seq == 3)
			continue;
		size_t len = t_frame_simple(frame, &d, seq, 2, noon, (uint32_t)seq * 100);
		cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	}
	start_writer(8);
	feed(&d, 3, 2);
	struct kp_reply r = ts_reply_wait();
	/* Read at once, from another transaction: the frame the ACK names is there. */
	cr_expect(ts_stored(d.id, 3), "ACKed before it was stored");
	cr_expect_eq(r.type, KP_TYPE_ACK);
	cr_expect_eq(r.batch_seq, 3);
	cr_expect_eq(r.aux, 4, "the gap filled, the watermark covers 4");
	finish();
	tdb_reopen();
	cr_expect(ts_stored(d.id, 3), "not durable across a reopen");
	expect_log(4);
}

Test(writer, duplicates_inside_one_group_are_stored_once_and_covered_by_the_groups_ack)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x63);
	feed(&d, 1, 5);
	feed(&d, 1, 5); /* the same frame again, in the same group */
	feed(&d, 2, 5);
	write_all(8);

	expect_ack(d.id, 2, 2);
	cr_expect_eq(ts_replies_left(), 0);
	expect_counted(2, 1, 10);
	expect_log(2);
}

Test(writer, each_device_of_a_group_gets_one_ack_covering_its_frames)
{
	struct tdev a, b;

	tdb_open();
	tdev_make(&a, 0x66);
	tdev_make(&b, 0x67);
	for (uint64_t seq = 1; seq <= 5; seq++) {
		feed(&a, seq, 3);
		if (seq <= 3)
			feed(&b, seq, 3);
	}
	write_all(16);

	struct kp_reply r1 = ts_reply(), r2 = ts_reply();
	cr_expect_eq(ts_replies_left(), 0, "more than one ACK per device");
	struct kp_reply ra = r1.device_id == a.id ? r1 : r2, rb = r1.device_id == a.id ? r2 : r1;
	cr_expect_eq(ra.device_id, a.id);
	cr_expect_eq(rb.device_id, b.id);
	cr_expect(ra.type == KP_TYPE_ACK && ra.batch_seq == 5 && ra.aux == 5, "a: ACK %llu watermark %llu",
	          (unsigned long long)ra.batch_seq, (unsigned long long)ra.aux);
	cr_expect(rb.type == KP_TYPE_ACK && rb.batch_seq == 3 && rb.aux == 3, "b: ACK %llu watermark %llu",
	          (unsigned long long)rb.batch_seq, (unsigned long long)rb.aux);
	cr_expect_eq(atomic_load(&ts.m.acks_merged), 6);
	expect_counted(8, 0, 24);
	expect_log(8);
}

Test(writer, frames_beyond_a_gap_each_get_their_own_ack_duplicates_too)
{
	struct tdev d;
	uint8_t frame[KP_FRAME_MAX];

	tdb_open();
	tdev_make(&d, 0x68);
	size_t len = t_frame_simple(frame, &d, 6, 5, noon + 6000, 6 * KP_RECORDS_MAX);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK); /* 6 stored before, beyond the gap */
	feed(&d, 1, 5);
	feed(&d, 6, 5); /* a copy of 6 */
	feed(&d, 5, 5);
	feed(&d, 2, 5);
	feed(&d, 5, 5); /* and one of 5 in the same group */
	write_all(8);

	expect_ack(d.id, 2, 2); /* 1 and 2 */
	expect_ack(d.id, 5, 2); /* both copies of 5: one ACK */
	expect_ack(d.id, 6, 2);
	cr_expect_eq(ts_replies_left(), 0);
	expect_counted(3, 2, 15);
	expect_log(4);
}

Test(writer, a_lone_frame_is_committed_without_waiting_for_more)
{
	struct tdev d;

	tdb_open();
	tdev_make(&d, 0x69);
	/* A wait far longer than ts_reply_wait's: a writer that waited for a
	 * second frame would not answer the first in time. */
	start_writer_waiting(8, 600 * 1000);
	feed(&d, 1, 2);
	struct kp_reply r = ts_reply_wait();
	cr_expect_eq(r.type, KP_TYPE_ACK);
	cr_expect_eq(r.batch_seq, 1);
	cr_expect_eq(atomic_load(&ts.m.group_frames.count), 1, "a group of one, before a second frame came");
	feed(&d, 2, 2);
	r = ts_reply_wait();
	cr_expect_eq(r.batch_seq, 2);
	cr_expect_eq(r.aux, 2);
	finish();
	cr_expect_eq(atomic_load(&ts.m.group_frames.count), 2);
	expect_log(2);
}

Test(writer, a_frame_stored_by_an_earlier_commit_is_acked_not_stored_again)
{
	struct tdev d;
	uint8_t frame[KP_FRAME_MAX];

	tdb_open();
	tdev_make(&d, 0x64);
	size_t len = t_frame_simple(frame, &d, 1, 5, noon + 1000, KP_RECORDS_MAX);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	feed(&d, 1, 5); /* the same bytes */
	write_all(8);

	expect_ack(d.id, 1, 1);
	expect_counted(0, 1, 0);
	expect_log(1);
}

#define FULL_GROUP 96 /* 96 frames of 512 taps: about 2.4 MB of log, in a 1 MiB map */

Test(writer, a_full_map_is_nack_7_for_the_whole_group_and_raises_the_alarm)
{
	struct tdev d;

	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 1 * T_MIB;
	tdb_open();
	tdev_make(&d, 0x65);
	atomic_store(&ts.health.storage_ok, 1);
	for (uint64_t seq = 1; seq <= FULL_GROUP; seq++)
		feed(&d, seq, KP_RECORDS_MAX);
	start_writer(FULL_GROUP); /* all there: the first group is all of them */

	for (uint64_t seq = 1; seq <= FULL_GROUP; seq++) {
		struct kp_reply r = ts_reply_wait();
		cr_assert_eq(r.type, KP_TYPE_NACK, "frame %llu answered %u", (unsigned long long)seq, r.type);
		cr_expect_eq(r.aux, KP_NACK_STORAGE_FULL);
		cr_expect_eq(r.device_id, d.id);
		cr_expect_eq(r.batch_seq, seq);
	}
	cr_expect_eq(atomic_load(&ts.m.storage_full), 1, "one alarm for the group");
	cr_expect_eq(atomic_load(&ts.m.rejected[KP_NACK_STORAGE_FULL]), FULL_GROUP);
	cr_expect_eq(atomic_load(&ts.m.frames_stored), 0);
	cr_expect_eq(atomic_load(&ts.m.map_size_bytes), 1 * T_MIB);
	cr_expect_eq(atomic_load(&ts.health.storage_ok), 0, "still ready with a full map");
	cr_expect(!ts_stored(d.id, 1) && !ts_stored(d.id, FULL_GROUP), "part of a refused group stored");

	/* A frame that fits still goes in, and readiness comes back with it. */
	feed(&d, 1, 4);
	struct kp_reply r = ts_reply_wait();
	cr_expect_eq(r.type, KP_TYPE_ACK);
	cr_expect_eq(r.aux, 1);
	cr_expect_eq(atomic_load(&ts.health.storage_ok), 1);
	finish();
	expect_log(1);
}

/* A reject note from verify (no bytes): pushed as verify pushes it. */
static void feed_reject(uint64_t device_id, uint8_t reason)
{
	struct kp_inbound note = {.topic_device = device_id, .received_at = noon, .reject = reason};

	cr_assert_eq(kp_ring_push(&ts.in, &note), 0);
}

Test(writer, reject_notes_ride_in_the_group_and_count_for_enrolled_devices_only)
{
	struct tdev d;
	struct st_read r;
	struct st_device_stats s;

	tdb_open();
	tdev_make(&d, 0x71);
	ts_enrol(&d, 0);
	feed_reject(d.id, KP_NACK_BAD_SIGNATURE);
	feed(&d, 1, 2);
	feed_reject(0x72, KP_NACK_BAD_SIGNATURE); /* not enrolled */
	feed_reject(d.id, KP_NACK_TIME_WINDOW);
	feed_reject(d.id, KP_NACK_BAD_SIGNATURE);
	write_all(16);

	expect_ack(d.id, 1, 1);
	cr_expect_eq(ts_replies_left(), 0, "a reject note was answered by the writer");
	cr_expect_eq(atomic_load(&ts.m.frames_stored), 1);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_expect_eq(st_device_stats_get(&r, d.id, &s), ST_OK);
	cr_expect_eq(st_device_stats_get(&r, 0x72, &(struct st_device_stats){0}), ST_ENOTFOUND);
	st_read_end(&r);
	cr_expect_eq(s.frames, 1);
	cr_expect_eq(s.gaps, 0);
	cr_expect_eq(s.last_seen, TS_RECEIVED_AT);
	cr_expect_eq(s.rejects[KP_NACK_BAD_SIGNATURE], 2);
	cr_expect_eq(s.rejects[KP_NACK_TIME_WINDOW], 1);
	expect_log(1);
}

Test(writer, a_large_shuffled_group_still_gets_one_ack_per_device)
{
	struct tdev d[3];
	int got[3] = { 0 };

	tdb_open();
	for (int i = 0; i < 3; i++)
		tdev_make(&d[i], (uint8_t)(0x73 + i));
	/* 40 frames of each device, in an order that is neither by device nor by batch_seq. */
	for (uint64_t k = 0; k < 120; k++) {
		uint64_t j = (k * 47) % 120;
		feed(&d[j % 3], j / 3 + 1, 1);
	}
	write_all(128);

	for (int i = 0; i < 3; i++) {
		struct kp_reply r = ts_reply();
		int who = r.device_id == d[0].id ? 0 : r.device_id == d[1].id ? 1 : 2;
		cr_expect_eq(r.device_id, d[who].id);
		cr_expect(r.type == KP_TYPE_ACK && r.batch_seq == 40 && r.aux == 40, "ACK %llu watermark %llu",
		          (unsigned long long)r.batch_seq, (unsigned long long)r.aux);
		got[who]++;
	}
	cr_expect_eq(ts_replies_left(), 0);
	cr_expect(got[0] == 1 && got[1] == 1 && got[2] == 1);
	expect_counted(120, 0, 120);
}

/* With imported epoch keys (epoch_share.h), a frame of an epoch whose key
 * is not here yet is left out of its group and NACKed 7, and the group's
 * other frames are stored and ACKed: one device's frame from an epoch not
 * imported yet does not hold up every other device's. */
Test(writer, a_frame_without_its_imported_epoch_key_is_nacked_and_the_rest_stored)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it;
	struct tdev a, b;
	size_t len;

	tdb_open(); /* local keys: the first frame makes its epoch's key */
	tdev_make(&a, 0x71);
	tdev_make(&b, 0x72);
	len = t_frame_simple(frame, &a, 1, 2, noon, 1);
	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	tdb.opts.epoch_keys_imported = 1;
	tdb_reopen();

	feed(&a, 2, 2); /* noon's epoch: its key is here */
	len = t_frame_simple(frame, &b, 1, 2, noon + 40 * 86400000LL, 100); /* an epoch without one */
	ts_feed(b.id, frame, len);
	write_all(8);

	expect_ack(a.id, 2, 2);
	struct kp_reply r = ts_reply();
	cr_expect_eq(r.type, KP_TYPE_NACK);
	cr_expect_eq(r.device_id, b.id);
	cr_expect_eq(r.batch_seq, 1);
	cr_expect_eq(r.aux, KP_NACK_STORAGE_FULL);
	cr_expect_eq(ts_replies_left(), 0);
	cr_expect(ts_stored(a.id, 2));
	cr_expect(!ts_stored(b.id, 1), "nothing of the frame without its key is stored");
	cr_expect_eq(atomic_load(&ts.m.frames_stored), 1);
	cr_expect_eq(atomic_load(&ts.m.frames_no_key), 1);
	cr_expect_eq(atomic_load(&ts.m.storage_errors), 0, "the group itself did not fail");
	cr_expect_eq(atomic_load(&ts.health.storage_ok), 1);
	expect_log(2);
}

Test(writer, runs_as_kp_writer_at_the_nice_value_it_was_given)
{
	struct tdev d;
	/* A higher value than the test's: allowed without privileges. */
	int nice = tt_thread_nice(0) + 3;

	tdb_open();
	tdev_make(&d, 0x6a);
	start_writer_nice(8, GROUP_WAIT_MS, nice);
	feed(&d, 1, 2);
	cr_expect_eq(ts_reply_wait().type, KP_TYPE_ACK); /* past the thread's start */
	pid_t tid = tt_thread_find("kp-writer");
	cr_expect_gt(tid, 0, "no thread named kp-writer");
	if (tid > 0)
		cr_expect_eq(tt_thread_nice(tid), nice);
	finish();
}

/* The thread's nice value once it is want, or as it is after 2 s. */
static int nice_within_2s(pid_t tid, int want)
{
	int nice = tt_thread_nice(tid);

	for (int i = 0; i < 400 && nice != want; i++) {
		usleep(5 * 1000);
		nice = tt_thread_nice(tid);
	}
	return nice;
}

Test(writer, a_saturated_writer_drops_its_priority_until_a_group_is_small_again)
{
	struct tdev d;
	int started = tt_thread_nice(0);
	int boost = started - 2;

	if (kp_thread_nice_allowed(boost) != 1)
		cr_skip_test("this process may not lower a nice value (no CAP_SYS_NICE, RLIMIT_NICE 0)");
	tdb_open();
	tdev_make(&d, 0x6b);
	for (uint64_t seq = 1; seq <= KP_WRITER_BUSY_GROUP; seq++)
		feed(&d, seq, 1);
	start_writer_nice(2 * KP_WRITER_BUSY_GROUP, GROUP_WAIT_MS, boost); /* all queued: one group */
	cr_assert_eq(ts_reply_wait().batch_seq, KP_WRITER_BUSY_GROUP, "one ACK for the group");
	cr_expect_eq(atomic_load(&ts.m.group_frames.count), 1);
	pid_t tid = tt_thread_find("kp-writer");
	cr_assert_gt(tid, 0, "no thread named kp-writer");
	/* The ACKs are posted before the writer looks at the group's size. */
	cr_expect_eq(nice_within_2s(tid, started), started, "still boosted after a group of %d",
	             KP_WRITER_BUSY_GROUP);

	feed(&d, KP_WRITER_BUSY_GROUP + 1, 1);
	cr_assert_eq(ts_reply_wait().batch_seq, KP_WRITER_BUSY_GROUP + 1);
	cr_expect_eq(nice_within_2s(tid, boost), boost, "not boosted again after a group of one");
	finish();
}

/* The estimate of distinct riders of 2024-05-15 (noon's date), all routes. */
static double riders_today(void)
{
	struct st_read r;
	double e = -1;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_riders_estimate(&r, 20240515, ST_RIDERS_ALL, &e), ST_OK);
	st_read_end(&r);
	return e;
}

Test(writer, an_idle_writer_writes_the_held_riders_notes_once_they_are_due)
{
	struct tdev d;

	tdb.opts.riders_defer_ms = 40;
	tdb_open();
	tdev_make(&d, 0x6c);
	start_writer(8);
	feed(&d, 1, 2);
	cr_assert_eq(ts_reply_wait().type, KP_TYPE_ACK);
	/* No more frames: only the writer's own wake-up can write them. */
	for (int i = 0; i < 400 && riders_today() == 0; i++)
		usleep(5 * 1000);
	cr_expect_gt(riders_today(), 0, "held past their due time by an idle writer");
	finish();
	expect_log(1);
}

Test(writer, a_stopping_writer_writes_the_held_riders_notes)
{
	struct tdev d;

	tdb.opts.riders_defer_ms = 3600 * 1000;
	tdb_open();
	tdev_make(&d, 0x6d);
	start_writer(8);
	feed(&d, 1, 2);
	cr_assert_eq(ts_reply_wait().type, KP_TYPE_ACK);
	cr_expect_eq(riders_today(), 0, "written before they were due");
	finish();
	cr_expect_gt(riders_today(), 0, "a stopping writer left its notes unwritten");
	expect_log(1);
}

/* The derived trees' mark and the log's last (storage/derive.h). */
static void derived_through(uint64_t *through, uint64_t *last)
{
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_derive_behind(&r, through, last), ST_OK);
	st_read_end(&r);
}

/* Waits for the ACK whose watermark reaches batch_seq. */
static void wait_covered(uint64_t batch_seq)
{
	struct kp_reply r;

	do
		r = ts_reply_wait();
	while (r.type == KP_TYPE_ACK && r.aux < batch_seq);
	cr_assert_eq(r.type, KP_TYPE_ACK);
}

Test(writer, an_idle_writer_derives_the_held_frames_once_they_are_due)
{
	uint64_t through = 0, last = 0;
	struct tdev d;

	tdb.opts.derive_defer_ms = 40;
	tdb_open();
	tdev_make(&d, 0x6e);
	start_writer(8);
	feed(&d, 1, 2);
	feed(&d, 2, 2);
	wait_covered(2);
	/* No more frames: only the writer's own wake-up can derive them. */
	for (int i = 0; i < 400; i++) {
		derived_through(&through, &last);
		if (last == 2 && through == 2)
			break;
		usleep(5 * 1000);
	}
	cr_expect_eq(through, 2, "held past their due time by an idle writer");
	cr_expect_eq(atomic_load(&ts.m.derive_held), 0);
	cr_expect_geq(atomic_load(&ts.m.derive_run_seconds.count), 1, "komposter_derive_run_seconds");
	finish();
	expect_log(2);
}

Test(writer, a_stopping_writer_derives_the_frames_it_holds)
{
	uint64_t through, last;
	struct tdev d;

	tdb.opts.derive_defer_ms = 3600 * 1000;
	tdb_open();
	tdev_make(&d, 0x6f);
	start_writer(8);
	feed(&d, 1, 2);
	wait_covered(1);
	derived_through(&through, &last);
	cr_expect_eq(last, 1);
	cr_expect_eq(through, 0, "derived before it was due");
	/* The gauge is set just after the group's ACKs. */
	for (int i = 0; i < 400 && atomic_load(&ts.m.derive_held) == 0; i++)
		usleep(5 * 1000);
	cr_expect_eq(atomic_load(&ts.m.derive_held), 1, "komposter_derive_held_frames");
	finish();
	derived_through(&through, &last);
	cr_expect_eq(through, 1, "a stopping writer left a frame not derived");
	expect_log(1);
}

Test(writer, a_busy_writer_derives_once_it_holds_too_many_frames)
{
	const uint64_t frames = KP_WRITER_DERIVE_HELD_MAX + 300;
	uint64_t through, last;
	struct tdev d;

	tdb.opts.derive_defer_ms = 3600 * 1000; /* never due: only the busy rule derives */
	tdb_open();
	tdev_make(&d, 0x70);
	start_writer(64);
	for (uint64_t b = 1; b <= frames; b++)
		feed(&d, b, 1);
	wait_covered(frames);
	derived_through(&through, &last);
	cr_expect_eq(last, frames);
	cr_expect_gt(through, 0, "a busy writer derived nothing");
	/* It derives after the group's ACKs: the last group may be held too. */
	cr_expect_leq(last - through, KP_WRITER_DERIVE_HELD_MAX + 64, "%llu frames held",
	              (unsigned long long)(last - through));
	finish();
	expect_log(frames);
}
