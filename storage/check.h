/*
 * check.h — consistency check of a database: walks the whole log and
 * verifies that every entry parses, the sequence has no gaps, the hash chain
 * recomputes to the stored heads, the once-only index holds exactly the
 * log's (device, batch_seq) pairs, every watermark's stored base lies
 * between its derived frames' watermark and the log's, the tap
 * aggregates, the count aggregates (count_agg.h) and the taps and signed
 * counts of vehicle_hours (vehicle_hours.h) equal the sums recomputed from
 * the log, the distinct-rider sketches (riders.h) equal, register for
 * register, the sketches of the log's accepted taps' pseudonyms, and no
 * stored frame
 * keeps signature bytes, and every epoch_keys record is a key or a
 * tombstone with no key below the horizon (epoch_keys.h); nothing it
 * recomputes needs a key, so destroyed epochs check like any other. It verifies no signature and recomputes no
 * frame_hash: neither is possible from what the log keeps (log.h).
 *
 * Door cells of source ST_COUNT_SOURCE_NVR, and the NVR part of
 * vehicle_hours cells, are not recounted: unsigned
 * camera counts (nvr.h) have no log entry behind them, so nothing could
 * confirm or refute them; they are skipped, and the signed cells beside
 * them are recounted exactly as ever. The camera registry, vehicle
 * positions, NVR tables and GTFS routes and stops are checked only for
 * records that decode (and,
 * for the NVR's counted set, that its order table agrees with it; for
 * outages, that they are ordered, disjoint and only the last is open).
 */
#ifndef ST_CHECK_H
#define ST_CHECK_H

#include <stdio.h>

#include "storage/db.h"

struct st_check_report {
	uint64_t entries;
	uint64_t taps;
	uint64_t counts;   /* count records of COUNTS frames */
	uint64_t problems; /* 0 means the database is consistent */
};

/* Problems are described one per line on `out` (may be NULL). progress, if
 * not NULL, is called now and then with the entries walked so far.
 * Returns ST_OK when the walk completed (look at problems), or an error. */
int st_check(struct st_db *db, struct st_check_report *rep, FILE *out,
             void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx);

#endif
