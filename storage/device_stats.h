/*
 * device_stats.h — what the registry tells an operator about each device's
 * traffic: when it was last heard from, how far its clock is off, how many
 * frames are stored and missing, and how many of its frames were refused,
 * by NACK reason.
 *
 * Promises:
 *  - a device's frames are derived into its record (derive.h) in the same
 *    transaction as the frames or behind them, once per device per
 *    transaction; only newly stored frames count, a duplicate changes
 *    nothing;
 *  - last_seen is the received_at (ms, server clock) of the stored frame
 *    with the highest received_at (a tie: the later one stored), and
 *    last_sent_at that frame's sent_at (device clock); clock_skew_ms is
 *    last_sent_at − last_seen: the device's clock minus the server's, plus
 *    the frame's time in transit (so a little positive lag reads negative);
 *  - gaps is exact: batch_seqs start at 1 and each is stored at most once
 *    (the once-only index), so the batch_seqs missing below the highest
 *    one stored are max_batch_seq − frames. A device that re-sends all its
 *    gaps ends at gaps 0 with max_batch_seq equal to its watermark;
 *  - rejects[reason] (1..KP_NACK_REASON_MAX; index 0 unused) counts frames
 *    of the device refused with that NACK reason, added with the writer's
 *    group (st_commit_group_rejects, commit.h) and only for enrolled
 *    devices. A device's record may hold rejects and no frame;
 *  - skew_rejected_at and skew_rejected_sent_at are the received_at and
 *    sent_at of the newest frame refused for its timestamps (NACK 6), 0
 *    while none was: a device whose clock is so far off that every frame
 *    is refused stores no frame, and its skew is still seen;
 *  - st_device_clock_skewed flags a device whose clock is off by more than
 *    ST_CLOCK_SKEW_FLAG_MS, by whichever is newer of its newest stored
 *    frame and its newest NACK 6 frame.
 * Records written before the skew fields (16 bytes shorter) still read,
 * with both 0.
 * A device with no frame stored and no reject has no record (ST_ENOTFOUND).
 */
#ifndef ST_DEVICE_STATS_H
#define ST_DEVICE_STATS_H

#include <stdint.h>

#include "firmware-proto/frame.h"
#include "storage/db.h"

#define ST_REJECT_SLOTS (KP_NACK_REASON_MAX + 1)
#define ST_CLOCK_SKEW_FLAG_MS 60000 /* a clock off by more than a minute is flagged */

struct st_device_stats {
	uint64_t device_id;
	int64_t last_seen;     /* ms, 0 while no frame is stored */
	int64_t last_sent_at;  /* ms, device clock */
	int64_t clock_skew_ms; /* last_sent_at − last_seen; 0 while no frame is stored */
	uint64_t frames;       /* frames stored */
	uint64_t max_batch_seq;
	uint64_t gaps;         /* max_batch_seq − frames */
	uint64_t rejects[ST_REJECT_SLOTS];
	int64_t skew_rejected_at;      /* ms, server clock; 0: no frame refused for its timestamps */
	int64_t skew_rejected_sent_at; /* ms, that frame's sent_at (device clock) */
};

/* ST_OK with *out filled, ST_ENOTFOUND when the device has no record,
 * ST_ECORRUPT when its record does not decode. */
int st_device_stats_get(struct st_read *r, uint64_t device_id, struct st_device_stats *out);

/* 1 when s's device clock is off by more than ST_CLOCK_SKEW_FLAG_MS
 * (either way), else 0. */
int st_device_clock_skewed(const struct st_device_stats *s);

/* The stable JSON field name of a reject reason's count ("bad_signature",
 * "unknown_device", "revoked", "malformed", "topic_mismatch",
 * "time_window", "storage_full"); NULL for 0 and unknown reasons. */
const char *st_reject_field(unsigned reason);

#endif
