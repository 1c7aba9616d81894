/*
 * tides.h — record-level exports in TIDES v1.0 layout (tides-transit.org,
 * spec/fare_transactions.schema.json and spec/passenger_events.schema.json):
 * CSV rows made a bounded piece at a time, so that an export of any size
 * is streamed and never built in memory.
 *
 * What the rows are (README, "Record-level exports (TIDES)", maps every
 * column):
 *  - fare_transactions: one row per stored tap, accepted or denied, of a
 *    TAPS frame in the log. Its token_id is the rider pseudonym the log
 *    holds in the card token's place (log.h), in hex; the log never holds a
 *    card token, so no row can carry one.
 *  - passenger_events: per door-cycle record of a signed COUNTS frame in
 *    the log, one "Passenger boarded" row when it counted boardings and one
 *    "Passenger alighted" row when it counted alightings, with the count as
 *    event_count. Occupancy snapshots are not passenger events; NVR camera
 *    counts are not exported record by record (see the README).
 * Columns are the spec's, in its order, with a header row first; a column
 * komposter knows nothing about is empty. Fields are written as they are
 * when they hold no ',', '"', CR or LF, else quoted by libcsv (csv_write);
 * rows end in CRLF (RFC 4180).
 *
 * How: the export visits only the frames of from..to, through the log's
 * index by service date (storage/date_frames.h), in (date, seq) order:
 * the rows of a date come together, by seq then record within it; a frame
 * whose records fall on two dates gives its rows of each date under that
 * date, so every row appears once and the bytes are the same for the same
 * database. Its snapshot is the log's last seq when it was opened (or the
 * date index's mark, when it holds the log only that far: storage/derive.h;
 * komposterd derives what is held before it opens one): entries
 * appended later are not in it (their index keys are skipped, one seek per
 * date). A kp_tides_read that needs more rows reads in short read
 * transactions, each looking at most KP_TIDES_RECORDS_PER_READ records
 * (and their frames), and keeps its place as (date, seq, record index),
 * never a transaction across calls, so it can run on the daemon's loop
 * between other work (ingest/http_body.h). Every index key names a frame
 * with at least one row of its date, so a call's work is bounded: the
 * records of one refill, plus one seek per date of the range whose newest
 * frames came after the snapshot. The bytes produced do not depend on the
 * sizes asked for.
 */
#ifndef KP_TIDES_H
#define KP_TIDES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "storage/db.h"

/* Records (taps or counts) looked at per read transaction. */
#define KP_TIDES_RECORDS_PER_READ 4096

enum kp_tides_table {
	KP_TIDES_FARE_TRANSACTIONS = 0,
	KP_TIDES_PASSENGER_EVENTS = 1,
};

struct kp_tides; /* opaque: one export in progress */

/* Begins an export of table for service dates from..to (yyyymmdd, both
 * included) whose snapshot is the log as r sees it (r is used only during
 * the call; later reads begin their own transactions on r->db, which must
 * outlive the export). ST_OK with *out set; ST_EINVAL for a bad table or
 * from > to; ST_ESTOP when out of memory; a storage error otherwise. */
int kp_tides_open(struct st_read *r, enum kp_tides_table table, uint32_t from, uint32_t to,
                  struct kp_tides **out);

/* Writes the next up to cap (> 0) bytes of the CSV into buf: > 0 bytes,
 * 0 at the end, -1 on an error (kp_tides_error says which; it stays). Must
 * not be called from a thread that holds a read transaction. */
ssize_t kp_tides_read(struct kp_tides *t, char *buf, size_t cap);

/* The ST_E* status of the failure, ST_OK when none: ST_ECORRUPT for a
 * stored frame that does not decode, ST_EIO and others from LMDB. */
int kp_tides_error(const struct kp_tides *t);

/* The file name of a table ("fare_transactions.csv"), NULL for none. */
const char *kp_tides_file_name(enum kp_tides_table table);

void kp_tides_close(struct kp_tides *t);

#endif
