/*
 * writer.h — the one writer thread: takes verified frames from ctx->in,
 * groups them (up to group_max_frames, waiting at most group_max_wait_ms
 * after the first), stores each group with st_commit_group (one synced LMDB
 * transaction), and only then posts the ACKs, each with the device's
 * watermark after the commit. A frame stored before, in an earlier group or
 * earlier in the same one, is ACKed again and not stored again. A full map
 * or disk answers the whole group with NACK 7, raises
 * komposter_storage_full_total and clears health->storage_ok until a commit
 * succeeds; the frames stay on the devices. The writer never touches the
 * network.
 *
 * Borrowed, and must outlive the thread: the database (this thread is its
 * only writer, commit.h), the queues, the metrics and the health flags. Every
 * item taken from ctx->in is freed here after it is answered.
 */
#ifndef KP_WRITER_H
#define KP_WRITER_H

#include "ingest/health.h"
#include "ingest/metrics.h"
#include "ingest/replies.h"
#include "ingest/ring.h"
#include "storage/db.h"

struct kp_writer_config {
	int group_max_frames;  /* >= 1 */
	int group_max_wait_ms; /* after a group's first frame */
};

struct kp_writer_ctx {
	struct kp_writer_config cfg;
	struct st_db *db;
	struct kp_ring *in;         /* struct kp_inbound, verified, from the verify workers */
	struct kp_replies *replies; /* ACKs after the commit, NACK 7 when it fails */
	struct kp_metrics *m;       /* stored, duplicates, storage alarms, map, commit histograms */
	struct kp_health *health;   /* storage_ok */
};

struct kp_writer;

/* Starts the thread on a copy of *ctx. 0, or -1 (out of memory, no thread). */
int kp_writer_start(const struct kp_writer_ctx *ctx, struct kp_writer **out);
/* Waits until the thread committed what ctx->in holds (close it first) and
 * ended; frees the writer. */
void kp_writer_join(struct kp_writer *w);

#endif
