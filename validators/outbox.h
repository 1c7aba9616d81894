/*
 * outbox.h — a device's persistent outbox: every frame it has made and no ACK
 * has covered yet, and the counter that numbers its frames.
 *
 * One LMDB environment per device, in a directory of its own (created if
 * missing), with two named databases: `frames` (batch_seq as 8 big-endian
 * bytes → the frame's bytes) and `meta` (the last batch_seq allocated).
 *
 * Promises:
 *  - every change is one LMDB write transaction committed with LMDB's default
 *    sync: when a call returns 0 the change survives a crash or power loss;
 *  - vd_outbox_next_seq() allocates the next batch_seq and stores its frame in
 *    the same transaction, so numbering starts at 1, has no gaps and never
 *    reuses a number, across close/reopen and crashes alike: a crash either
 *    keeps both the new counter and the frame or neither;
 *  - a frame stays until vd_outbox_ack() covers it; nothing else deletes one;
 *  - the map grows by itself when it fills (the outbox is used by one thread),
 *    doubling up to VD_OUTBOX_MAP_MAX (64 GiB with a 64-bit size_t, 1 GiB
 *    with a 32-bit one); past that a write fails with MDB_MAP_FULL;
 *  - a newly created outbox is durable as such: after its first commit the
 *    directory and its parent are fsynced.
 * Not thread-safe: one thread at a time per outbox (the environment is opened
 * with MDB_NOTLS, so that thread may change from call to call).
 *
 * Errors: functions return 0 or an LMDB error code (MDB_* or an errno value);
 * mdb_strerror() names it. EINVAL for bad arguments.
 */
#ifndef VD_OUTBOX_H
#define VD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct vd_outbox; /* opaque; owned by the caller of vd_outbox_open */

#define VD_OUTBOX_MAP_MAX \
	((size_t)(sizeof(size_t) > 4 ? UINT64_C(64) << 30 : UINT64_C(1) << 30))

/* The map size after growing from `current`: double, at most
 * VD_OUTBOX_MAP_MAX (saturating, never wrapping); 0 when it is there. */
size_t vd_outbox_map_next(size_t current);

/* Opens (creating if needed) the outbox in directory `dir`. */
int vd_outbox_open(const char *dir, struct vd_outbox **out);
/* Closes and frees; NULL is allowed. */
void vd_outbox_close(struct vd_outbox *ob);

/* Writes frame `seq` of `len` bytes into `frame` (LMDB's own buffer, valid
 * during the call only). Returns 0, or nonzero to abort the transaction (that
 * value is then returned by vd_outbox_next_seq and nothing is stored). */
typedef int (*vd_outbox_fill_fn)(void *arg, uint64_t seq, uint8_t *frame, size_t len);

/* Allocates the next batch_seq, lets `fill` write the `len`-byte frame for it
 * and commits both in one transaction. On 0, *seq holds the number used. */
int vd_outbox_next_seq(struct vd_outbox *ob, size_t len, vd_outbox_fill_fn fill, void *arg,
                       uint64_t *seq);

/* Stores (or replaces) frame `seq`. seq must be nonzero; when it is above the
 * last allocated number, the counter moves up to it, so it is never reused. */
int vd_outbox_put(struct vd_outbox *ob, uint64_t seq, const uint8_t *frame, size_t len);

/* Deletes frame `seq` and every frame <= watermark; later frames stay.
 * *removed (may be NULL) gets how many frames went. */
int vd_outbox_ack(struct vd_outbox *ob, uint64_t seq, uint64_t watermark, size_t *removed);

/* Called for each stored frame, oldest first; `frame` is valid during the call
 * only. Return 0 to go on, nonzero to stop (vd_outbox_foreach returns 0). */
typedef int (*vd_outbox_frame_fn)(void *arg, uint64_t seq, const uint8_t *frame, size_t len);

/* Walks the frames with seq >= from_seq in one read snapshot. */
int vd_outbox_foreach(struct vd_outbox *ob, uint64_t from_seq, vd_outbox_frame_fn fn, void *arg);

/* Number of frames stored. */
int vd_outbox_count(struct vd_outbox *ob, size_t *count);

/* The last batch_seq allocated (0 before the first frame). */
int vd_outbox_last_seq(struct vd_outbox *ob, uint64_t *seq);

#endif
