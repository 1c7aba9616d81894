/*
 * handoff.h — once-only state handed over with devices moved in from
 * another instance (issue #16): per device the old owner's watermark W and
 * the ids of the frames it stored above W.
 *
 * Promises: a frame of a handed device is "handed" iff its batch_seq <= W or
 * its id is in the table; the verify fast path and st_commit_group call a
 * handed frame a duplicate (re-ACKed, never stored here). A device is handed
 * at most once per database (a second hand-over of it is ST_EEXIST).
 */
#ifndef ST_HANDOFF_H
#define ST_HANDOFF_H

#include <stddef.h>

#include "storage/db.h"

/* Records device_id as moved in with watermark W and the n frame ids in
 * above[] (each > W), and raises the device's own watermark to W, in one
 * write transaction. */
int st_handoff_put(struct st_db *db, uint64_t device_id, uint64_t watermark,
                   const uint64_t *above, size_t n);

/* *handed = 1 when (device_id, batch_seq) was stored by a former owner. */
int st_handoff_lookup(struct st_read *r, uint64_t device_id, uint64_t batch_seq, int *handed);

/* The handed watermark of a device (ST_ENOTFOUND when it was not handed). */
int st_handoff_watermark(struct st_read *r, uint64_t device_id, uint64_t *watermark);

#endif
