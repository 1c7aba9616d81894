/*
 * date_rev.h — a revision per service date: the id of the last write
 * transaction that changed the date's aggregates (tap cells, door and load
 * count cells). It lets a reader keep an answer built from a range of dates
 * (ingest/answer_cache.h) and tell later, in one short read transaction,
 * whether it is still what the database would give: the range's highest
 * revision is the one it was built at.
 *
 * Promises:
 *  - the transaction that derives cells (derive.h: a commit group in step,
 *    or a run behind the log) writes the revision of every date whose
 *    cells it changed, in the same transaction as the cells, once per date; a date's revision only grows (LMDB transaction ids do);
 *  - a range with no data has revision 0.
 * Not recounted by st_check: it records when a date changed, not what.
 *
 * date_rev: key service_date BE4, value the transaction id LE8.
 */
#ifndef ST_DATE_REV_H
#define ST_DATE_REV_H

#include <stdint.h>

#include "storage/db.h"

/* The highest revision of the dates from..to (yyyymmdd, inclusive) in r. */
int st_date_rev_max(struct st_read *r, uint32_t from, uint32_t to, uint64_t *rev);

#endif
