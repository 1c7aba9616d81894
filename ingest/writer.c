/*
 * writer.c — group commit.
 *
 * The writer blocks for the first frame of a group, then takes the frames
 * already queued until the group is full, the queue is empty or
 * group_max_wait_ms have passed since the first; it never waits for more.
 * While st_commit_group syncs, verify workers keep filling ctx->in, so the
 * next group is ready when the sync returns: under load groups grow by
 * themselves and the fsync cost is shared; a lone tap waits one sync.
 * Each device of a group gets one ACK for the frames its watermark covers
 * (ack_group), so a busy device costs one signature per group, not per frame.
 *
 * Verify's reject notes (inbound.h) come through the same ring and ride
 * in the group's transaction (st_commit_group_rejects), so a device's
 * rejects cost no transaction of their own; they get no answer here
 * (verify has sent the NACK).
 *
 * Key destruction runs between groups, never inside one: an idle writer's
 * wait for a first frame ends at the next hour of the schedule, so keys
 * leave on time on a quiet night too. The schedule's clock is wall time
 * (the retention is in service dates), its wake-up the monotonic clock.
 */
#include "ingest/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "firmware-proto/frame.h"
#include "ingest/clock.h"
#include "ingest/inbound.h"
#include "ingest/thread_attr.h"
#include "storage/commit.h"
#include "storage/epoch_keys.h"
#include "storage/derive.h"
#include "storage/riders.h"
#include "storage/service_day.h"

struct kp_writer {
	struct kp_writer_ctx ctx;
	pthread_t thread;
	struct kp_inbound *inbound;
	struct st_commit_item *items;
	size_t *slot;                     /* items[i] came from inbound[slot[i]] */
	struct st_commit_reject *rejects; /* the group's reject notes (inbound.h) */
	struct kp_reply *out;             /* the group's ACKs, folded and posted at once */
	size_t max;
	uint64_t no_key_logged_ns; /* the last missing-key alarm line (monotonic) */
	uint64_t riders_logged_ns; /* the last riders' sketches alarm line (monotonic) */
	uint64_t derive_logged_ns; /* the last deriving alarm line (monotonic) */
	int keys_ran;          /* the key schedule ran at least once */
	int64_t keys_last_ms;  /* wall time of its last run */
	int nice_started;      /* the thread's nice value as started (inherited) */
	int nice_now;          /* its nice value now */
};

static int64_t wall_ms(const struct kp_writer *w)
{
	return w->ctx.now_ms ? w->ctx.now_ms(w->ctx.clock_ctx) : kp_now_ms();
}

/* Destroys the keys that left the retention, once an hour (and when the
 * wall clock went back). */
static void keys_schedule(struct kp_writer *w)
{
	const struct kp_writer_ctx *ctx = &w->ctx;
	struct st_epoch_destroyed out;
	char before_s[11], first[11], last[11];
	int64_t now = wall_ms(w);
	uint32_t before;
	int rc;

	if (ctx->cfg.key_retention_days == 0)
		return;
	if (w->keys_ran && now >= w->keys_last_ms && now - w->keys_last_ms < KP_WRITER_KEYS_EVERY_MS)
		return;
	w->keys_ran = 1;
	w->keys_last_ms = now;
	rc = st_epoch_retention_before(ctx->db, now, ctx->cfg.key_retention_days, &before);
	if (rc == ST_OK)
		rc = st_epoch_keys_destroy_before(ctx->db, before, now, &out);
	if (rc != ST_OK) {
		fprintf(stderr, "komposterd: ALARM: destroying epoch keys failed: %s (%s); tried again in an hour\n",
		        st_strerror(rc), mdb_strerror(st_last_error()));
		return;
	}
	if (out.count == 0)
		return;
	atomic_fetch_add_explicit(&ctx->m->epoch_keys_destroyed, out.count, memory_order_relaxed);
	st_date_format(before, before_s);
	st_date_format(out.first, first);
	st_date_format(out.last, last);
	fprintf(stderr,
	        "komposterd: destroyed %" PRIu32 " pseudonym epoch keys (epochs %s to %s): every epoch ending before "
	        "%s, older than %d days\n",
	        out.count, first, last, before_s, ctx->cfg.key_retention_days);
}

/* Frames of the next group: 0 when the wait for a first one reached the
 * key schedule's next hour or the held riders' sketches or frames not derived
 * fell due (storage/riders.h, "Deferred"; storage/derive.h), -1 when the ring is closed and empty. After the
 * first frame it takes only what is queued already, never waiting for more:
 * a lone frame is committed at once, and under load the previous sync is
 * what let the queue fill. group_max_wait_ms still bounds how long a group
 * keeps collecting while frames keep coming. */
static long collect(struct kp_writer *w)
{
	const struct kp_writer_ctx *ctx = &w->ctx;
	uint64_t first_deadline = 0;
	size_t n = 0;
	int rc;

	if (ctx->cfg.key_retention_days != 0)
		first_deadline = kp_now_mono_ns() + (uint64_t)KP_WRITER_KEYS_EVERY_MS * 1000000u;
	int64_t due[2] = {st_riders_due_ms(ctx->db), st_derive_due_ms(ctx->db)}; /* same clock, in ms */
	for (int i = 0; i < 2; i++)
		if (due[i] > 0 && (first_deadline == 0 || (uint64_t)due[i] * 1000000u < first_deadline))
			first_deadline = (uint64_t)due[i] * 1000000u;
	rc = kp_ring_pop(ctx->in, &w->inbound[0], first_deadline);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	n = 1;
	uint64_t deadline = kp_now_mono_ns() + (uint64_t)ctx->cfg.group_max_wait_ms * 1000000u;
	/* In batches of 32: one lock per batch, and the clock read once per batch. */
	while (n < w->max) {
		size_t got = kp_ring_try_pop_many(ctx->in, &w->inbound[n], w->max - n < 32 ? w->max - n : 32);

		n += got;
		if (got < 32 || kp_now_mono_ns() >= deadline)
			break;
	}
	atomic_store_explicit(&ctx->m->writer_queue_depth, (int_fast64_t)kp_ring_depth(ctx->in),
	                      memory_order_relaxed);
	return (long)n;
}

/* Frames of an epoch whose imported key is not here yet: NACK 7 (the device
 * re-sends; after `komposter keys import` they are stored), counted, and an
 * alarm line at most once a minute while it lasts. */
static void no_key_alarm(struct kp_writer *w, size_t nokey)
{
	struct kp_metrics *m = w->ctx.m;
	uint64_t now = kp_now_mono_ns();

	atomic_fetch_add_explicit(&m->frames_no_key, nokey, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->rejected[KP_NACK_STORAGE_FULL], nokey, memory_order_relaxed);
	if (w->no_key_logged_ns != 0 && now - w->no_key_logged_ns < 60ull * 1000000000u)
		return;
	w->no_key_logged_ns = now;
	fprintf(stderr,
	        "komposterd: ALARM: %zu frames refused with NACK 7: a record of theirs is in an epoch whose pseudonym "
	        "key is not imported yet (komposter keys import; komposter_frames_no_key_total)\n",
	        nokey);
}

/* ACKs for the n committed frames of the group, merged per device: a device
 * that sent many frames in one group gets one ACK for them, since an ACK
 * covers its batch_seq and every frame up to its watermark (PROTOCOL.md);
 * copies of stored frames are answered alike (the once-only index gave
 * their watermark). Fewer ACKs to sign and send is what lets the group
 * commit beat one ACK per frame. They go to the publisher in one batch: one
 * lock and one wake-up per group, not per ACK (a wake-up per ACK was where
 * the publisher's CPU went, docs/PERFORMANCE.md round 2). A frame the
 * commit left out for want of its imported epoch key gets NACK 7 instead. */
static void ack_group(struct kp_writer *w, size_t n)
{
	const struct kp_writer_ctx *ctx = &w->ctx;
	size_t dup = 0, nokey = 0;

	for (size_t i = 0; i < n; i++) {
		const struct st_commit_item *it = &w->items[i];

		dup += it->outcome == ST_DUPLICATE;
		nokey += it->outcome == ST_NOKEY;
		w->out[i] = (struct kp_reply){
			.device_id = it->device_id,
			.batch_seq = it->batch_seq,
			.aux = it->outcome == ST_NOKEY ? KP_NACK_STORAGE_FULL : it->watermark,
			.type = it->outcome == ST_NOKEY ? KP_TYPE_NACK : KP_TYPE_ACK,
		};
	}
	size_t replies = kp_replies_fold(w->out, n);
	kp_replies_post_many(ctx->replies, w->out, replies);
	atomic_fetch_add_explicit(&ctx->m->frames_duplicate, dup, memory_order_relaxed);
	atomic_fetch_add_explicit(&ctx->m->acks_merged, n - replies, memory_order_relaxed);
	if (nokey > 0)
		no_key_alarm(w, nokey);
}

/* Answers the n frames of the group; frees every item of the group (all
 * taken of the ring, reject notes too). */
static void answer(struct kp_writer *w, size_t taken, size_t n, int status)
{
	const struct kp_writer_ctx *ctx = &w->ctx;

	if (status == ST_OK && n > 0)
		ack_group(w, n);
	for (size_t i = 0; status != ST_OK && i < n; i++) {
		const struct st_commit_item *it = &w->items[i];
		struct kp_inbound *in = &w->inbound[w->slot[i]];
		/* Verified frames always have a header; 0 only guards the read. */
		struct kp_header h;
		uint64_t seq = kp_frame_peek_header(it->frame, it->len, &h) == KP_OK ? h.batch_seq : 0;

		atomic_fetch_add_explicit(&ctx->m->rejected[KP_NACK_STORAGE_FULL], 1, memory_order_relaxed);
		kp_replies_post(ctx->replies, KP_TYPE_NACK, in->topic_device, seq, KP_NACK_STORAGE_FULL);
	}
	for (size_t i = 0; i < taken; i++)
		kp_inbound_free(&w->inbound[i]);
}

/* taken items of the ring: the frames go to st_commit_group's items, the
 * reject notes to its rejects, in the same transaction. */
static void commit_group(struct kp_writer *w, size_t taken)
{
	const struct kp_writer_ctx *ctx = &w->ctx;
	struct kp_metrics *m = ctx->m;
	struct st_commit_stats stats = { 0 };
	size_t n = 0, nrej = 0;
	int64_t now_ms = kp_now_ms();

	for (size_t i = 0; i < taken; i++) {
		const struct kp_inbound *in = &w->inbound[i];

		if (in->reject != 0) {
			w->rejects[nrej++] = (struct st_commit_reject){in->topic_device, in->reject, in->received_at,
			                                               in->sent_at};
			continue;
		}
		kp_histogram_observe(&m->writer_wait_seconds, (double)(now_ms - in->received_at) / 1e3);
		w->slot[n] = i;
		w->items[n++] = (struct st_commit_item){
			.frame = in->frame,
			.len = in->len,
			.received_at = in->received_at,
		};
	}
	uint64_t t0 = kp_now_mono_ns();
	int rc = st_commit_group_rejects(ctx->db, w->items, n, w->rejects, nrej, &stats);
	double seconds = (double)(kp_now_mono_ns() - t0) / 1e9;

	kp_histogram_observe(&m->commit_seconds, seconds);
	if (n > 0)
		kp_histogram_observe(&m->group_frames, (double)n);
	atomic_fetch_add_explicit(&m->map_grows, stats.map_grows, memory_order_relaxed);
	atomic_store_explicit(&m->map_size_bytes, st_db_map_size(ctx->db), memory_order_relaxed);
	if (rc == ST_OK) {
		atomic_fetch_add_explicit(&m->frames_stored, stats.stored, memory_order_relaxed);
		atomic_fetch_add_explicit(&m->taps_stored, stats.taps, memory_order_relaxed);
		atomic_fetch_add_explicit(&m->counts_stored, stats.counts, memory_order_relaxed);
		atomic_store(&ctx->health->storage_ok, 1);
	} else if (rc == ST_EFULL) {
		atomic_fetch_add(&m->storage_full, 1);
		atomic_store(&ctx->health->storage_ok, 0);
		fprintf(stderr, "komposterd: ALARM: storage full (map %zu bytes): %zu frames refused with NACK 7\n",
		        st_db_map_size(ctx->db), n);
	} else {
		atomic_fetch_add(&m->storage_errors, 1);
		atomic_store(&ctx->health->storage_ok, 0);
		fprintf(stderr, "komposterd: ALARM: commit failed: %s (%s): %zu frames refused with NACK 7\n",
		        st_strerror(rc), mdb_strerror(st_last_error()), n);
	}
	answer(w, taken, n, rc);
}

/* The writer's priority follows its load (writer.h): cfg.nice while its
 * groups are small, the value it started with after a group of
 * KP_WRITER_BUSY_GROUP frames or more. A value it cannot take is said once,
 * and the writer stays as it is. */
static void pace_priority(struct kp_writer *w, long group)
{
	int want = group >= KP_WRITER_BUSY_GROUP ? w->nice_started : w->ctx.cfg.nice;
	int err;

	if (want == w->nice_now || w->ctx.cfg.nice == 0)
		return;
	if ((err = kp_thread_nice(want)) != 0) {
		fprintf(stderr, "komposterd: writer: cannot set nice %d: %s; staying at %d\n", want, strerror(err),
		        w->nice_now);
		w->ctx.cfg.nice = 0;
		return;
	}
	w->nice_now = want;
}

/* A failed write of what the writer holds: an alarm line at most once a
 * minute while it lasts (it is tried again later, and the log keeps what
 * it would write, so a crash loses nothing). */
static void held_alarm(uint64_t *logged_ns, const char *what, int rc)
{
	uint64_t now = kp_now_mono_ns();

	if (rc == ST_OK || (*logged_ns != 0 && now - *logged_ns < 60ull * 1000000000u))
		return;
	*logged_ns = now;
	fprintf(stderr, "komposterd: ALARM: %s failed: %s (%s); tried again later\n", what, st_strerror(rc),
	        mdb_strerror(st_last_error()));
}

static int due_now(int64_t due)
{
	return due != 0 && (int64_t)(kp_now_mono_ns() / 1000000u) >= due;
}

/* The riders' sketches held since a run derived their frames, written once
 * due by an idle writer, ST_RIDERS_SYNC_STEP at a time so that a frame
 * arriving meanwhile waits for a few of them, not for all (the runs that
 * derive frames write the due ones too); with final, every one before the
 * writer stops. A failure is
 * an alarm; the notes stay held and are tried again a deferral later
 * (riders.h). */
static void riders_schedule(struct kp_writer *w, int final)
{
	int64_t due = st_riders_due_ms(w->ctx.db);

	if (due == 0 || (!final && !due_now(due)))
		return;
	held_alarm(&w->riders_logged_ns, "writing the riders' sketches",
	           st_riders_sync(w->ctx.db, final ? 0 : ST_RIDERS_SYNC_STEP));
}

/* The frames committed and not yet derived (storage/derive.h): by an idle
 * writer once due, by a busy one whenever it holds more than
 * KP_WRITER_DERIVE_HELD_MAX (a writer that is never idle must not fall ever
 * further behind), all of them before it stops (writer.h says how many at
 * a time). A failure (a full map or disk) is an alarm; they stay held and
 * are tried again a deferral later, busy or idle. */
static void derive_schedule(struct kp_writer *w, int idle, int final)
{
	struct st_db *db = w->ctx.db;
	int64_t due = st_derive_due_ms(db), retry = st_derive_retry_ms(db);
	int busy = st_derive_held(db) > KP_WRITER_DERIVE_HELD_MAX && (retry == 0 || due_now(retry));
	int rc;

	if (due == 0 || (!final && !(idle && due_now(due)) && !busy))
		return;
	uint64_t t0 = kp_now_mono_ns();
	rc = st_derive_run(db, final ? 0 : idle ? KP_WRITER_DERIVE_IDLE_RECORDS : KP_WRITER_DERIVE_BUSY_RECORDS, NULL);
	kp_histogram_observe(&w->ctx.m->derive_run_seconds, (double)(kp_now_mono_ns() - t0) / 1e9);
	st_derive_ran(db, rc);
	held_alarm(&w->derive_logged_ns, "deriving the cells and indexes of stored frames", rc);
}

static void derive_gauge(struct kp_writer *w)
{
	atomic_store_explicit(&w->ctx.m->derive_held, (int_fast64_t)st_derive_held(w->ctx.db), memory_order_relaxed);
}

static void *writer_main(void *arg)
{
	struct kp_writer *w = arg;
	long n;

	errno = 0;
	w->nice_started = w->nice_now = getpriority(PRIO_PROCESS, 0); /* this thread's, on Linux */
	if (w->nice_started == -1 && errno != 0)
		w->ctx.cfg.nice = 0;
	pace_priority(w, 0);
	keys_schedule(w);
	while ((n = collect(w)) >= 0) {
		keys_schedule(w);
		if (n > 0) {
			commit_group(w, (size_t)n);
			pace_priority(w, n);
			derive_schedule(w, 0, 0);
		} else {
			riders_schedule(w, 0);
			derive_schedule(w, 1, 0);
		}
		derive_gauge(w);
	}
	derive_schedule(w, 0, 1); /* first: the riders of the frames it derives are held too */
	riders_schedule(w, 1);
	return NULL;
}

static void writer_free(struct kp_writer *w)
{
	free(w->inbound);
	free(w->items);
	free(w->slot);
	free(w->rejects);
	free(w->out);
	free(w);
}

int kp_writer_start(const struct kp_writer_ctx *ctx, struct kp_writer **out)
{
	struct kp_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->ctx = *ctx;
	w->max = (size_t)ctx->cfg.group_max_frames;
	w->inbound = calloc(w->max, sizeof(*w->inbound));
	w->items = calloc(w->max, sizeof(*w->items));
	w->slot = calloc(w->max, sizeof(*w->slot));
	w->rejects = calloc(w->max, sizeof(*w->rejects));
	w->out = calloc(w->max, sizeof(*w->out));
	if (!w->inbound || !w->items || !w->slot || !w->rejects || !w->out ||
	    pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		writer_free(w);
		return -1;
	}
	(void)kp_thread_name(w->thread, "kp-writer"); /* unnamed works the same (thread_attr.h) */
	*out = w;
	return 0;
}

void kp_writer_join(struct kp_writer *w)
{
	pthread_join(w->thread, NULL);
	writer_free(w);
}
