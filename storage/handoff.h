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

/* One device moved in: its former owner's watermark and the ids of the
 * frames it stored above it (each > watermark, strictly increasing). */
struct st_handoff {
	uint64_t device_id;
	uint64_t watermark;
	const uint64_t *above;
	size_t n;
};

/* Records every device of v[0..n) as st_handoff_put does, all in one write
 * transaction: any failure (ST_EEXIST for a device handed already) writes
 * nothing. */
int st_handoff_put_all(struct st_db *db, const struct st_handoff *v, size_t n);

/* Calls fn for every handed frame id above a watermark, in (device,
 * batch_seq) order: what a device moved in and moved on again takes along.
 * fn returns nonzero to stop (ST_ESTOP), as st_once_foreach's. */
int st_handoff_foreach_frame(struct st_read *r, int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq),
                             void *ctx);

/* Records device_id as moved in with watermark W and the n frame ids in
 * above[] (each > W), and raises the stored base of the device's own
 * watermark to W (once.c), in one write transaction. */
int st_handoff_put(struct st_db *db, uint64_t device_id, uint64_t watermark,
                   const uint64_t *above, size_t n);

/* *handed = 1 when (device_id, batch_seq) was stored by a former owner. */
int st_handoff_lookup(struct st_read *r, uint64_t device_id, uint64_t batch_seq, int *handed);

/* The handed watermark of a device (ST_ENOTFOUND when it was not handed). */
int st_handoff_watermark(struct st_read *r, uint64_t device_id, uint64_t *watermark);

#endif
