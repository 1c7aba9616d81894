/*
 * once.h — the once-only index: (device_id, batch_seq) → commit sequence,
 * and per device the watermark W: the highest W such that every frame
 * 1..W of the device is stored. ACKs report W in their aux field.
 *
 * Promises: a (device, batch_seq) pair is in the index iff its frame is in
 * the log; the watermark never goes back.
 */
#ifndef ST_ONCE_H
#define ST_ONCE_H

#include "storage/db.h"

/* ST_OK and *seq set when stored, ST_ENOTFOUND otherwise. */
int st_once_lookup(struct st_read *r, uint64_t device_id, uint64_t batch_seq, uint64_t *seq);
/* The device's watermark (0 when nothing is stored). */
int st_once_watermark(struct st_read *r, uint64_t device_id, uint64_t *watermark);

/* Calls fn for every index entry in (device, batch_seq) order. */
int st_once_foreach(struct st_read *r,
                    int (*fn)(void *ctx, uint64_t device_id, uint64_t batch_seq, uint64_t seq),
                    void *ctx);

#endif
