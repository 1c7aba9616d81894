/*
 * commit.h — group commit: store a group of verified frames in ONE LMDB
 * write transaction (log + once-only index + epoch keys, and with
 * derive_defer_ms 0 what derive.h derives from them), then commit with
 * fsync. The daemon's writer thread is the only caller; it must not be
 * called from two threads at once.
 *
 * Promises:
 *  - when st_commit_group returns ST_OK every item is durably stored
 *    (outcome ST_STORED) or was stored before (ST_DUPLICATE, also within the
 *    same group), and `watermark` is the device's watermark after the commit;
 *    but with st_options.epoch_keys_imported, a new frame one of whose
 *    records falls in an epoch without a key yet is left out whole (outcome
 *    ST_NOKEY, nothing of it written, stats.nokey) while the rest of the
 *    group is stored: one device's frame from an epoch not imported yet must
 *    not hold up every other device's (epoch_share.h);
 *  - on MDB_MAP_FULL the transaction is aborted, the map doubled (up to
 *    map_size_max) and the group retried; when the map cannot grow or the disk
 *    is full it returns ST_EFULL, every item's outcome is ST_FULL and nothing
 *    of the group is stored;
 *  - on any other error nothing of the group is stored;
 *  - a frame is stored as log.h describes: card tokens replaced by
 *    pseudonyms, signature bytes zeroed, frame_hash keyed with the epoch
 *    key of its first record's service date;
 *  - TAPS frames add to the tap aggregates (tap_agg.h), COUNTS frames to
 *    the count aggregates as signed counts (count_agg.h), and both to the
 *    other trees derived from the log and to device_stats (derive.h): in
 *    the same transaction with st_options.derive_defer_ms 0, later
 *    otherwise; both streams share the device's batch_seq sequence, its
 *    once-only index and its watermark.
 * Items must be well-formed TAPS or COUNTS frames whose signatures were
 * verified by the caller (any other type: ST_EINVAL), with record times the
 * time window check let through: a record whose time has no service date
 * (beyond year 9999) makes the whole call ST_EINVAL. A group must stay well under
 * LMDB's dirty-page limit (about 131k pages, some 500 MB), else ST_EIO.
 */
#ifndef ST_COMMIT_H
#define ST_COMMIT_H

#include "storage/db.h"

enum st_outcome {
	ST_STORED = 0,
	ST_DUPLICATE = 1,
	ST_FULL = 2,
	ST_FAILED = 3,
	ST_NOKEY = 4, /* imported epoch keys: none yet for one of its records; retry later */
};

struct st_commit_item {
	const uint8_t *frame; /* borrowed, verified frame */
	size_t len;
	int64_t received_at;  /* ms */
	/* filled by st_commit_group: */
	uint8_t outcome;      /* enum st_outcome */
	uint64_t seq;         /* log sequence of the stored frame (new or earlier) */
	uint8_t type;         /* KP_TYPE_TAPS or KP_TYPE_COUNTS */
	uint64_t batch_seq;
	uint64_t device_id;
	uint64_t watermark;
	int64_t sent_at;      /* the frame's sent_at (device clock) */
};

struct st_commit_stats {
	uint64_t stored;      /* frames newly stored */
	uint64_t duplicates;
	uint64_t taps;        /* taps newly stored */
	uint64_t counts;      /* count records newly stored */
	uint64_t nokey;       /* frames left out: an epoch key not imported yet */
	uint32_t map_grows;   /* how many times the map grew during this call */
};

int st_commit_group(struct st_db *db, struct st_commit_item *items, size_t n,
                    struct st_commit_stats *stats);

/* A frame the daemon refused (its NACK reason, 1..KP_NACK_REASON_MAX) for
 * the device its topic named, when it came (ms, server clock) and its
 * sent_at (device clock; 0 when its header did not read). */
struct st_commit_reject {
	uint64_t device_id;
	uint8_t reason;
	int64_t received_at;
	int64_t sent_at;
};

/* st_commit_group, also adding each reject to its device's rejects
 * (device_stats.h) in the same transaction, once per device per group; a
 * reject of a device that is not enrolled is not stored (an unknown id
 * could be anything). With n == 0 the rejects alone are stored. ST_EINVAL
 * for a reason out of range (nothing is stored). */
int st_commit_group_rejects(struct st_db *db, struct st_commit_item *items, size_t n,
                            const struct st_commit_reject *rejects, size_t nrej, struct st_commit_stats *stats);

#endif
