/*
 * writer.h — the one writer thread: takes verified frames from ctx->in,
 * groups them (what is queued, up to group_max_frames, collecting for at
 * most group_max_wait_ms after the first and never waiting for more), stores
 * each group with st_commit_group (one synced LMDB transaction), and only
 * then posts the ACKs with the device's watermark after the commit: one per
 * device per group, naming its highest frame at or below the watermark (an
 * ACK covers its batch_seq and every frame up to its watermark), and one
 * per frame beyond the watermark. A frame stored before, in an earlier group
 * or earlier in the same one, is ACKed again (so covered) and not stored
 * again. A frame the commit left out for want of its imported epoch key
 * (commit.h, ST_NOKEY) is answered NACK 7, counted in
 * komposter_frames_no_key_total, with an alarm line at most once a minute.
 * A full map
 * or disk answers the whole group with NACK 7, raises
 * komposter_storage_full_total and clears health->storage_ok until a commit
 * succeeds; the frames stay on the devices. The writer never touches the
 * network.
 *
 * With cfg.nice, the writer runs at that nice value while its groups are
 * smaller than KP_WRITER_BUSY_GROUP frames, so that a lightly loaded
 * writer commits as soon as a frame is there; after a group that large it
 * goes back to the value it started with until a group is small again: a
 * saturated writer that pre-empts the verify workers at every wake-up
 * commits smaller groups, and each commit has a fixed cost (measured:
 * komposterd 0.86 of the ideal with the writer always at -10, CPU per
 * frame up from ~200 to ~290 µs; docs/PERFORMANCE.md, session 9).
 *
 * With the database's derive_defer_ms the writer derives the frames it
 * committed (storage/derive.h): once due while idle, a step after a group
 * while it holds more than KP_WRITER_DERIVE_HELD_MAX, all before it stops.
 * The riders' sketches (storage/riders.h, "Deferred") come with the derived
 * frames; with riders_defer_ms the writer writes the ones held once they
 * are due, between groups (an idle writer wakes up for it), and, after the
 * last frames are derived, before it stops.
 *
 * The writer also destroys the pseudonym epoch keys older than
 * key_retention_days (storage/epoch_keys.h), at its start and then about
 * once an hour between commit groups (an idle writer wakes up for it): the
 * thread that caches the keys is the one that destroys them, so its cache is
 * wiped in the same thread, with no race. Each destruction that destroyed
 * something adds to komposter_epoch_keys_destroyed_total and logs one line;
 * a failed one is logged and tried again at the next hour.
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
	int key_retention_days; /* 1..ST_RETENTION_DAYS_MAX; 0: the writer destroys no key (tests of
	                         * other things; the daemon's config never gives 0) */
	int nice;               /* the thread's nice value while its groups are small (thread_attr.h);
	                         * 0: left as inherited */
};

/* Unix ms now, for the key schedule; tests pass their own clock. */
typedef int64_t (*kp_writer_clock)(void *ctx);

/* A group this large means the writer is saturated: its priority boost
 * (cfg.nice) is dropped until a group is smaller again. */
#define KP_WRITER_BUSY_GROUP 32

/* Frames committed and not derived (storage/derive.h): an idle writer
 * derives them once due, KP_WRITER_DERIVE_IDLE_RECORDS records (taps or
 * counts) at a time: a frame that arrives meanwhile waits for 32 frames of
 * 32 taps, about 1.5 ms, not for a whole deferral's (with 256 such frames
 * the latency phase's p99 was up to twice as long), and single-tap frames
 * are derived a thousand at a time, not 32 (each step is a transaction:
 * in steps of 32 frames single taps lost a tenth of their throughput;
 * docs/PERFORMANCE.md, session 12). A busy one derives
 * KP_WRITER_DERIVE_BUSY_RECORDS after a group once it holds more than
 * KP_WRITER_DERIVE_HELD_MAX frames, so that a writer never idle keeps up. */
#define KP_WRITER_DERIVE_IDLE_RECORDS 1024
#define KP_WRITER_DERIVE_BUSY_RECORDS 8192
#define KP_WRITER_DERIVE_HELD_MAX 1024

/* How often the writer destroys the keys that left the retention. */
#define KP_WRITER_KEYS_EVERY_MS (3600 * 1000)

struct kp_writer_ctx {
	struct kp_writer_config cfg;
	struct st_db *db;
	struct kp_ring *in;         /* struct kp_inbound, verified, from the verify workers */
	struct kp_replies *replies; /* ACKs after the commit, NACK 7 when it fails */
	struct kp_metrics *m;       /* stored, duplicates, storage alarms, map, commit histograms */
	struct kp_health *health;   /* storage_ok */
	kp_writer_clock now_ms;     /* NULL: kp_now_ms (clock.h) */
	void *clock_ctx;
};

struct kp_writer;

/* Starts the thread on a copy of *ctx. 0, or -1 (out of memory, no thread). */
int kp_writer_start(const struct kp_writer_ctx *ctx, struct kp_writer **out);
/* Waits until the thread committed what ctx->in holds (close it first) and
 * ended; frees the writer. */
void kp_writer_join(struct kp_writer *w);

#endif
