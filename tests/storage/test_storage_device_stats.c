/*
 * Description: each device's traffic record (device_stats.h), kept by the
 * group commit: after frames 1, 2 and 5 the watermark is 2 and gaps 2 (3
 * and 4 missing), last_seen is the newest received_at and the clock skew
 * sent_at − received_at of that frame; a gap filled later counts down to
 * 0; duplicates (within a group and across groups) change nothing; two
 * devices in one group each get their own record; rejects count per reason
 * for enrolled devices only; st_check recounts frames and the highest
 * batch_seq from the log and reports a record that disagrees.
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <string.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/device_stats.h"
#include "storage/devices.h"
#include "storage/once.h"

TestSuite(device_stats, .init = tdb_setup, .fini = tdb_teardown);

/* 2024-05-15 09:00 UTC. */
static const int64_t t0 = 1715763600000;
static const int64_t minute = 60000;

struct fr {
	uint8_t buf[KP_FRAME_MAX];
	size_t len;
	int64_t sent_at;
};

/* Frame batch_seq of d; its tap at t0 + batch_seq minutes, so its sent_at
 * (helpers.c) is that plus one second. */
static void make(struct fr *f, const struct tdev *d, uint64_t batch_seq)
{
	int64_t at = t0 + (int64_t)batch_seq * minute;

	f->len = t_frame_simple(f->buf, d, batch_seq, 1, at, (uint32_t)(d->id * 100 + batch_seq));
	f->sent_at = at + 1000;
}

static void commit(struct fr **fs, const int64_t *received, size_t n, const uint8_t *want)
{
	struct st_commit_item it[8];

	cr_assert(n <= 8);
	for (size_t i = 0; i < n; i++)
		it[i] = (struct st_commit_item){.frame = fs[i]->buf, .len = fs[i]->len, .received_at = received[i]};
	cr_assert_eq(st_commit_group(tdb.db, it, n, NULL), ST_OK);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(it[i].outcome, want[i], "item %zu outcome %u", i, it[i].outcome);
		cr_expect_eq(it[i].sent_at, fs[i]->sent_at);
	}
}

static int stats_of(uint64_t id, struct st_device_stats *s, uint64_t *watermark)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_device_stats_get(&r, id, s);
	if (watermark)
		cr_assert_eq(st_once_watermark(&r, id, watermark), ST_OK);
	st_read_end(&r);
	return rc;
}

static void expect_consistent(void)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
}

Test(device_stats, a_device_with_nothing_stored_has_no_record)
{
	struct st_device_stats s;

	tdb_open();
	cr_expect_eq(stats_of(7, &s, NULL), ST_ENOTFOUND);
}

Test(device_stats, frames_1_2_5_leave_watermark_2_and_gaps_2)
{
	struct tdev d;
	struct fr f1, f2, f5;
	struct st_device_stats s;
	uint64_t w;
	const uint8_t stored[3] = {ST_STORED, ST_STORED, ST_STORED};

	tdev_make(&d, 11);
	make(&f1, &d, 1);
	make(&f2, &d, 2);
	make(&f5, &d, 5);
	tdb_open();
	/* 5 arrives before 2 but 2 is received later: last_seen follows
	 * received_at, not batch_seq. */
	commit((struct fr *[]){&f1, &f5}, (const int64_t[]){t0 + 10 * minute, t0 + 11 * minute}, 2, stored);
	commit((struct fr *[]){&f2}, (const int64_t[]){t0 + 12 * minute}, 1, stored);
	cr_assert_eq(stats_of(11, &s, &w), ST_OK);
	cr_expect_eq(w, 2);
	cr_expect_eq(s.device_id, 11);
	cr_expect_eq(s.frames, 3);
	cr_expect_eq(s.max_batch_seq, 5);
	cr_expect_eq(s.gaps, 2, "gaps %llu", (unsigned long long)s.gaps);
	cr_expect_eq(s.last_seen, t0 + 12 * minute);
	cr_expect_eq(s.last_sent_at, f2.sent_at);
	cr_expect_eq(s.clock_skew_ms, f2.sent_at - (t0 + 12 * minute));
	cr_expect_eq(s.clock_skew_ms, -10 * minute + 1000);
	for (int i = 0; i < ST_REJECT_SLOTS; i++)
		cr_expect_eq(s.rejects[i], 0);
	expect_consistent();
}

Test(device_stats, duplicates_change_nothing_and_filled_gaps_count_down)
{
	struct tdev d;
	struct fr f1, f3, f4, f5;
	struct st_device_stats s, before;
	uint64_t w;

	tdev_make(&d, 12);
	make(&f1, &d, 1);
	make(&f3, &d, 3);
	make(&f4, &d, 4);
	make(&f5, &d, 5);
	tdb_open();
	/* 5 twice in one group: the second is a duplicate. */
	commit((struct fr *[]){&f1, &f5, &f5}, (const int64_t[]){t0, t0 + minute, t0 + 2 * minute}, 3,
	       (const uint8_t[]){ST_STORED, ST_STORED, ST_DUPLICATE});
	cr_assert_eq(stats_of(12, &before, NULL), ST_OK);
	cr_expect_eq(before.frames, 2);
	cr_expect_eq(before.gaps, 3);
	cr_expect_eq(before.last_seen, t0 + minute, "a duplicate within a group is not seen");
	/* Both again, received later: nothing changes. */
	commit((struct fr *[]){&f1, &f5}, (const int64_t[]){t0 + 9 * minute, t0 + 9 * minute}, 2,
	       (const uint8_t[]){ST_DUPLICATE, ST_DUPLICATE});
	cr_assert_eq(stats_of(12, &s, NULL), ST_OK);
	cr_expect(memcmp(&s, &before, sizeof s) == 0, "duplicates changed the record");
	/* 3 and 4 re-sent; received at the same time as 5 was: a tie keeps
	 * the later stored. */
	commit((struct fr *[]){&f4, &f3}, (const int64_t[]){t0 + minute, t0 + minute}, 2,
	       (const uint8_t[]){ST_STORED, ST_STORED});
	cr_assert_eq(stats_of(12, &s, &w), ST_OK);
	cr_expect_eq(s.frames, 4);
	cr_expect_eq(s.gaps, 1, "only 2 is missing");
	cr_expect_eq(w, 1);
	cr_expect_eq(s.last_seen, t0 + minute);
	cr_expect_eq(s.last_sent_at, f3.sent_at);
	expect_consistent();
}

Test(device_stats, two_devices_in_one_group_each_get_their_own)
{
	struct tdev a, b;
	struct fr a1, a2, b1, b3;
	struct st_device_stats sa, sb;

	tdev_make(&a, 21);
	tdev_make(&b, 22);
	make(&a1, &a, 1);
	make(&a2, &a, 2);
	make(&b1, &b, 1);
	make(&b3, &b, 3);
	tdb_open();
	commit((struct fr *[]){&b3, &a1, &b1, &a2},
	       (const int64_t[]){t0 + 5 * minute, t0 + 6 * minute, t0 + 4 * minute, t0 + 7 * minute}, 4,
	       (const uint8_t[]){ST_STORED, ST_STORED, ST_STORED, ST_STORED});
	cr_assert_eq(stats_of(21, &sa, NULL), ST_OK);
	cr_assert_eq(stats_of(22, &sb, NULL), ST_OK);
	cr_expect_eq(sa.frames, 2);
	cr_expect_eq(sa.gaps, 0);
	cr_expect_eq(sa.last_seen, t0 + 7 * minute);
	cr_expect_eq(sa.last_sent_at, a2.sent_at);
	cr_expect_eq(sb.frames, 2);
	cr_expect_eq(sb.gaps, 1);
	cr_expect_eq(sb.max_batch_seq, 3);
	cr_expect_eq(sb.last_seen, t0 + 5 * minute, "b3 was received after b1");
	cr_expect_eq(sb.last_sent_at, b3.sent_at);
	cr_expect_eq(sb.clock_skew_ms, b3.sent_at - (t0 + 5 * minute));
	expect_consistent();
}

Test(device_stats, a_failed_group_leaves_no_record)
{
	struct tdev d;
	struct fr f1;
	struct st_device_stats s;
	struct st_commit_item it[2];

	tdev_make(&d, 31);
	make(&f1, &d, 1);
	tdb_open();
	it[0] = (struct st_commit_item){.frame = f1.buf, .len = f1.len, .received_at = t0};
	it[1] = (struct st_commit_item){.frame = f1.buf, .len = 10, .received_at = t0};
	cr_assert_eq(st_commit_group(tdb.db, it, 2, NULL), ST_EINVAL);
	cr_expect_eq(stats_of(31, &s, NULL), ST_ENOTFOUND);
}

static void enrol(uint64_t id)
{
	struct st_device dev = {.id = id, .kind = ST_KIND_VALIDATOR, .created_at = t0};

	cr_assert_eq(st_device_add(tdb.db, &dev), ST_OK);
}

Test(device_stats, rejects_count_per_reason_for_enrolled_devices_only)
{
	struct tdev d;
	struct fr f1;
	struct st_device_stats s;
	struct st_commit_item it;
	const struct st_commit_reject rj[] = {
		{41, KP_NACK_BAD_SIGNATURE, 0, 0}, {99, KP_NACK_BAD_SIGNATURE, 0, 0}, {41, KP_NACK_TIME_WINDOW, 0, 0},
		{41, KP_NACK_BAD_SIGNATURE, 0, 0}, {42, KP_NACK_REVOKED, 0, 0},
	};
	const struct st_commit_reject bad = {41, 0, 0, 0}, beyond = {41, KP_NACK_REASON_MAX + 1, 0, 0};

	tdev_make(&d, 41);
	make(&f1, &d, 1);
	tdb_open();
	enrol(41);
	enrol(42);
	/* Rejects alone, no frame: 99 is not enrolled and keeps no record. */
	cr_assert_eq(st_commit_group_rejects(tdb.db, NULL, 0, rj, 5, NULL), ST_OK);
	cr_assert_eq(stats_of(41, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_BAD_SIGNATURE], 2);
	cr_expect_eq(s.rejects[KP_NACK_TIME_WINDOW], 1);
	cr_expect_eq(s.frames, 0);
	cr_expect_eq(s.last_seen, 0);
	cr_expect_eq(s.clock_skew_ms, 0);
	cr_assert_eq(stats_of(42, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_REVOKED], 1);
	cr_expect_eq(stats_of(99, &s, NULL), ST_ENOTFOUND);
	/* With a frame in the same group. */
	it = (struct st_commit_item){.frame = f1.buf, .len = f1.len, .received_at = t0 + minute};
	cr_assert_eq(st_commit_group_rejects(tdb.db, &it, 1, rj, 1, NULL), ST_OK);
	cr_expect_eq(it.outcome, ST_STORED);
	cr_assert_eq(stats_of(41, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_BAD_SIGNATURE], 3);
	cr_expect_eq(s.frames, 1);
	cr_expect_eq(s.last_seen, t0 + minute);
	/* A reason out of range refuses the group. */
	cr_expect_eq(st_commit_group_rejects(tdb.db, NULL, 0, &bad, 1, NULL), ST_EINVAL);
	cr_expect_eq(st_commit_group_rejects(tdb.db, NULL, 0, &beyond, 1, NULL), ST_EINVAL);
	cr_assert_eq(stats_of(41, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_BAD_SIGNATURE], 3);
	expect_consistent();
}

/* Rewrites the record of device id with plain LMDB (tdb.db is closed
 * meanwhile and opened again): its stored frames bumped by bump_frames,
 * cut to `size` bytes when nonzero (a record of an older layout). */
static void tamper(uint64_t id, uint8_t bump_frames, size_t size)
{
	struct t_raw raw;
	uint8_t kb[8], vb[256];
	MDB_val k = {sizeof kb, kb}, v;

	for (int i = 0; i < 8; i++)
		kb[i] = (uint8_t)(id >> (56 - 8 * i));
	tdb_close();
	t_raw_begin(&raw, "device_stats", 0);
	cr_assert_eq(mdb_get(raw.txn, raw.dbi, &k, &v), 0);
	cr_assert(v.mv_size <= sizeof vb && size <= v.mv_size);
	memcpy(vb, v.mv_data, v.mv_size);
	vb[16] += bump_frames; /* frames LE8 at offset 16 (device_stats.c) */
	v.mv_data = vb;
	if (size != 0)
		v.mv_size = size;
	cr_assert_eq(mdb_put(raw.txn, raw.dbi, &k, &v, 0), 0);
	t_raw_commit(&raw);
	tdb_open();
}

Test(device_stats, st_check_recounts_frames_from_the_log)
{
	struct tdev d;
	struct fr f1, f3;
	struct st_check_report rep;

	tdev_make(&d, 51);
	make(&f1, &d, 1);
	make(&f3, &d, 3);
	tdb_open();
	commit((struct fr *[]){&f1, &f3}, (const int64_t[]){t0, t0}, 2, (const uint8_t[]){ST_STORED, ST_STORED});
	expect_consistent();
	tamper(51, 1, 0);
	cr_assert_eq(st_check(tdb.db, &rep, NULL, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 1, "%llu problems", (unsigned long long)rep.problems);
}

/* ---- clock skew ---- */

static const int64_t hour = 60 * minute;

Test(device_stats, a_device_whose_every_frame_is_refused_for_skew_is_flagged_by_its_last_nack_6)
{
	struct st_device_stats s;
	/* 61: sent hours ahead; 62: sent on time but with an old tap (NACK 6 too). */
	const struct st_commit_reject rj[] = {
		{61, KP_NACK_TIME_WINDOW, t0, t0 + 3 * hour}, {62, KP_NACK_TIME_WINDOW, t0, t0 - 500},
		{61, KP_NACK_TIME_WINDOW, t0 + minute, t0 + minute + 3 * hour},
	};

	tdb_open();
	enrol(61);
	enrol(62);
	cr_assert_eq(st_commit_group_rejects(tdb.db, NULL, 0, rj, 3, NULL), ST_OK);
	cr_assert_eq(stats_of(61, &s, NULL), ST_OK);
	cr_expect_eq(s.frames, 0);
	cr_expect_eq(s.skew_rejected_at, t0 + minute, "the newest NACK 6 is kept");
	cr_expect_eq(s.skew_rejected_sent_at, t0 + minute + 3 * hour);
	cr_expect(st_device_clock_skewed(&s));
	cr_assert_eq(stats_of(62, &s, NULL), ST_OK);
	cr_expect_eq(s.skew_rejected_sent_at, t0 - 500);
	cr_expect_not(st_device_clock_skewed(&s), "a clock half a second off is not flagged");
	expect_consistent();
}

Test(device_stats, a_stored_frame_flags_a_clock_off_by_more_than_a_minute_and_the_newest_evidence_wins)
{
	struct tdev d;
	struct fr f1, f2, f3;
	struct st_device_stats s;
	/* Refused just after frame 2 arrived: sent_at two hours back. */
	const struct st_commit_reject jump = {71, KP_NACK_TIME_WINDOW, t0 + 2 * minute + 2000, t0 - 2 * hour};

	tdev_make(&d, 71);
	make(&f1, &d, 1);
	make(&f2, &d, 2);
	make(&f3, &d, 3);
	tdb_open();
	enrol(71);
	/* Received two minutes before it was sent, by the device's clock. */
	commit((struct fr *[]){&f1}, (const int64_t[]){f1.sent_at - 2 * minute}, 1, (const uint8_t[]){ST_STORED});
	cr_assert_eq(stats_of(71, &s, NULL), ST_OK);
	cr_expect_eq(s.clock_skew_ms, 2 * minute);
	cr_expect(st_device_clock_skewed(&s));
	/* A frame on time: no longer flagged. */
	commit((struct fr *[]){&f2}, (const int64_t[]){f2.sent_at + 200}, 1, (const uint8_t[]){ST_STORED});
	cr_assert_eq(stats_of(71, &s, NULL), ST_OK);
	cr_expect_not(st_device_clock_skewed(&s));
	/* Its clock jumps two hours back: the refused frame flags it again. */
	cr_assert_eq(st_commit_group_rejects(tdb.db, NULL, 0, &jump, 1, NULL), ST_OK);
	cr_assert_eq(stats_of(71, &s, NULL), ST_OK);
	cr_expect(st_device_clock_skewed(&s));
	/* A frame on time after that is the newer evidence. */
	commit((struct fr *[]){&f3}, (const int64_t[]){f3.sent_at + 500}, 1, (const uint8_t[]){ST_STORED});
	cr_assert_eq(stats_of(71, &s, NULL), ST_OK);
	cr_expect_not(st_device_clock_skewed(&s));
	expect_consistent();
}

Test(device_stats, a_record_of_before_the_skew_fields_still_reads)
{
	struct st_device_stats s;
	const struct st_commit_reject rj = {81, KP_NACK_TIME_WINDOW, t0, t0 + 3 * hour};

	tdb_open();
	enrol(81);
	cr_assert_eq(st_commit_group_rejects(tdb.db, NULL, 0, &rj, 1, NULL), ST_OK);
	tamper(81, 0, 32 + 8 * ST_REJECT_SLOTS);
	cr_assert_eq(stats_of(81, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_TIME_WINDOW], 1);
	cr_expect_eq(s.skew_rejected_at, 0);
	cr_expect_eq(s.skew_rejected_sent_at, 0);
	cr_expect_not(st_device_clock_skewed(&s));
	expect_consistent();
	/* The next reject writes the record in the new layout. */
	cr_assert_eq(st_commit_group_rejects(tdb.db, NULL, 0, &rj, 1, NULL), ST_OK);
	cr_assert_eq(stats_of(81, &s, NULL), ST_OK);
	cr_expect_eq(s.rejects[KP_NACK_TIME_WINDOW], 2);
	cr_expect(st_device_clock_skewed(&s));
}
