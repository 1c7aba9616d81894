/*
 * date_frames.h — the log's frames by service date: for each stored frame
 * and each distinct service date of its records that make a record-level
 * row (report/tides.h), one key, so that an export of a few dates visits
 * the frames of those dates and nothing else, however long the log.
 *
 * Which records count (st_date_frames_of):
 *  - every tap of a TAPS frame, at the service date of its tapped_at;
 *  - a door-cycle record of a COUNTS frame with boardings or alightings,
 *    at the service date of its observed_at (occupancy snapshots and
 *    empty door cycles make no passenger event, so they are not indexed);
 * with the database's zone and service-day start hour, as the aggregates.
 * So every key names a frame with at least one row of its date: a reader
 * of the index never walks keys that give it nothing.
 *
 * Promises:
 *  - the keys of every stored frame are derived from its log entry
 *    (derive.h): in the same write transaction (a crash leaves both or
 *    neither) or behind it, up to the derived trees' mark, which a crash
 *    leaves where it was (the next read-write open derives the rest);
 *    cost: one put of a 13-byte key per distinct date per frame (one for a
 *    frame of one date), an empty value;
 *  - keys are only ever added, like the log's entries;
 *  - st_check rebuilds the keys from the log and reports every key missing
 *    or extra.
 *
 * date_frames: key frame type 1 ‖ service_date BE4 ‖ log seq BE8, value
 * empty. The type comes first so that the frames of one table for a range
 * of dates are one stretch of keys, in (date, seq) order.
 */
#ifndef ST_DATE_FRAMES_H
#define ST_DATE_FRAMES_H

#include <stdint.h>

#include "storage/db.h"
#include "storage/zone.h"

#define ST_DATE_FRAMES_KEY_SIZE 13

/* The service date under which record i of a stored or verified frame of
 * `type` (KP_TYPE_TAPS or KP_TYPE_COUNTS, i < its count) is indexed: 1
 * with *date set, 0 when it makes no row (or has no service date). */
int st_date_frames_of(const uint8_t *frame, uint8_t type, uint16_t i, const struct st_zone *zone,
                      int start_hour, uint32_t *date);

/* Calls fn(ctx, date, seq) for the frames of `type` indexed under dates
 * up to `to`, from (date, seq) on, in (date, seq) order, skipping seqs
 * above max_seq (the rest of such a date is skipped with one seek, so the
 * skipped keys cost one step per date, not one per key). fn returns 0 to
 * go on, nonzero to stop. ST_OK when the range ended, ST_ESTOP when fn
 * stopped the walk, else a storage error (ST_ECORRUPT for a bad key). */
int st_date_frames_walk(struct st_read *r, uint8_t type, uint32_t date, uint64_t seq, uint32_t to,
                        uint64_t max_seq, int (*fn)(void *ctx, uint32_t date, uint64_t seq), void *ctx);

#endif
