/*
 * derive.h — the trees derived from the log: the hash chain's heads
 * (chain.h), tap cells (tap_agg.h), count
 * cells (count_agg.h), vehicle hours (vehicle_hours.h) and positions
 * (vehicle_pos.h), the date index (date_frames.h), date revisions
 * (date_rev.h), each device's traffic (device_stats.h, its stored
 * frames; its rejects are not in the log and go with the writer's group)
 * and its watermark's stored base (once.c: readers add the once-only
 * entries after it), and the distinct riders' sketches (riders.h, which may
 * hold theirs in memory longer still). Everything in them is computed from stored log
 * entries alone, so they can be written with the frames or behind them.
 *
 * In step (st_options.derive_defer_ms 0, the default): st_commit_group
 * derives each frame it stores in the same transaction as its log entry.
 *
 * Deferred (derive_defer_ms > 0: komposterd's): a commit group writes the
 * log and the once-only index, and nothing derived: a one-frame commit
 * wrote half as many pages, and on a virtual disk fdatasync costs about
 * 50 µs per scattered page (docs/PERFORMANCE.md, session 11). The writer derives the frames after the mark later, many
 * frames to a transaction, with st_derive_run. The mark (meta
 * "derived_through", BE8) is the last log sequence every derived tree
 * holds; a database without one is in step through the log's end.
 *  - A read-write st_db_open derives every frame after the mark (a crash
 *    loses nothing: the log is the record). The mark is never removed: a
 *    writer in step on a database that has one moves it with every group.
 *  - A reader that must see everything stored (komposterd's API, its
 *    exports and packages, the Frigate stage's vehicle positions: an ACK
 *    has told a device its frame counts) derives what is held first
 *    (st_derive_current, st_read_current); one that cannot
 *    write (a read-only open beside a running komposterd) sees the trees
 *    as of the mark, which st_derive_behind reports, at most a few hundred
 *    milliseconds behind while the writer runs.
 *  - st_check compares the derived trees with the log up to the mark.
 * Deriving is serialised by a lock of its own, so the writer and any other
 * thread may call it; none may hold a read transaction meanwhile (db.h).
 */
#ifndef ST_DERIVE_H
#define ST_DERIVE_H

#include <stdint.h>

#include "storage/db.h"

/* Derives the frames after the mark, in one write transaction, and moves
 * the mark: whole frames, up to the one whose records (taps or counts)
 * reach max_records (0: all). A run's cost follows its records, not its
 * frames (32 taps cost 32 cells, one tap one), so a writer sizes its steps
 * in records. *done (may be NULL): how many frames. A database in step has
 * nothing to derive. ST_EFULL when the map or disk is full (nothing
 * derived; the frames stay behind). */
int st_derive_run(struct st_db *db, unsigned max_records, uint64_t *done);

/* st_derive_run(db, 0) when the mark is behind the log, else nothing
 * (one short read transaction). */
int st_derive_catch_up(struct st_db *db);

/* For the daemon's readers: st_derive_catch_up, whose failure (a full map
 * or disk, an entry that does not derive) leaves the trees as of the mark:
 * the writer's own attempt raises the alarm, and readers still answer. */
void st_derive_current(struct st_db *db);

/* For a reader that learns inside its read transaction r that it needs the
 * derived trees (an authorised request, an onboard camera): when they are
 * behind the log, ends r, st_derive_current, and begins r again. ST_OK
 * with r open, or st_read_begin's error with r ended. */
int st_read_current(struct st_read *r);

/* In r: *through, the mark (the log's last when none is recorded), and
 * *last, the log's last sequence. */
int st_derive_behind(struct st_read *r, uint64_t *through, uint64_t *last);

/* The writer's schedule, kept in memory: the monotonic time (ms) at which
 * the oldest frame not derived falls due (its commit + derive_defer_ms, or
 * later after a failed run), 0 when none is held or the database is in
 * step; and how many frames are held. The writer tells st_derive_ran how
 * its run went: a failed one (a full map or disk) is tried again a
 * deferral later, not at once (an idle writer would spin on it), and
 * st_derive_retry_ms says until when (0: the last run did not fail). */
int64_t st_derive_due_ms(const struct st_db *db);
uint64_t st_derive_held(const struct st_db *db);
void st_derive_ran(struct st_db *db, int status);
int64_t st_derive_retry_ms(const struct st_db *db);

#endif
