/*
 * writer.c — group commit.
 *
 * The writer blocks for the first frame of a group, then keeps taking frames
 * until the group is full or group_max_wait_ms have passed since the first.
 * While st_commit_group syncs, verify workers keep filling d->to_writer, so
 * the next group is ready when the sync returns: under load groups grow by
 * themselves and the fsync cost is shared; a lone tap waits at most the
 * configured wait plus one sync.
 */
#include "ingest/writer.h"

#include <stdio.h>
#include <stdlib.h>

#include "storage/commit.h"

struct writer {
	struct kp_daemon *d;
	struct kp_inbound *inbound;
	struct st_commit_item *items;
	size_t max;
};

static size_t collect(struct writer *w)
{
	struct kp_daemon *d = w->d;
	size_t n = 0;

	if (kp_ring_pop(&d->to_writer, &w->inbound[0], 0) != 0)
		return 0;
	n = 1;
	uint64_t deadline = kp_now_mono_ns() + (uint64_t)d->cfg.group_max_wait_ms * 1000000u;
	while (n < w->max && kp_ring_pop(&d->to_writer, &w->inbound[n], deadline) == 0)
		n++;
	atomic_store_explicit(&d->metrics.writer_queue_depth, (int_fast64_t)kp_ring_depth(&d->to_writer),
	                      memory_order_relaxed);
	return n;
}

static void answer(struct writer *w, size_t n, int status)
{
	struct kp_daemon *d = w->d;

	for (size_t i = 0; i < n; i++) {
		struct st_commit_item *it = &w->items[i];
		struct kp_inbound *in = &w->inbound[i];

		if (status == ST_OK) {
			if (it->outcome == ST_DUPLICATE)
				atomic_fetch_add_explicit(&d->metrics.frames_duplicate, 1, memory_order_relaxed);
			kp_replies_post(&d->replies, KP_TYPE_ACK, it->device_id, it->batch_seq, it->watermark);
		} else {
			struct kp_header h;
			kp_frame_peek_header(it->frame, it->len, &h);
			atomic_fetch_add_explicit(&d->metrics.rejected[KP_NACK_STORAGE_FULL], 1, memory_order_relaxed);
			kp_replies_post(&d->replies, KP_TYPE_NACK, in->topic_device, h.batch_seq, KP_NACK_STORAGE_FULL);
		}
		kp_inbound_free(in);
	}
}

static void commit_group(struct writer *w, size_t n)
{
	struct kp_daemon *d = w->d;
	struct st_commit_stats stats = { 0 };

	for (size_t i = 0; i < n; i++) {
		w->items[i] = (struct st_commit_item){
			.frame = w->inbound[i].frame,
			.len = w->inbound[i].len,
			.received_at = w->inbound[i].received_at,
		};
	}
	uint64_t t0 = kp_now_mono_ns();
	int rc = st_commit_group(d->db, w->items, n, &stats);
	double seconds = (double)(kp_now_mono_ns() - t0) / 1e9;

	kp_histogram_observe(&d->metrics.commit_seconds, seconds);
	kp_histogram_observe(&d->metrics.group_frames, (double)n);
	atomic_fetch_add_explicit(&d->metrics.map_grows, stats.map_grows, memory_order_relaxed);
	atomic_store_explicit(&d->metrics.map_size_bytes, st_db_map_size(d->db), memory_order_relaxed);
	if (rc == ST_OK) {
		atomic_fetch_add_explicit(&d->metrics.frames_stored, stats.stored, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->metrics.taps_stored, stats.taps, memory_order_relaxed);
		atomic_store(&d->storage_ok, 1);
	} else if (rc == ST_EFULL) {
		atomic_fetch_add(&d->metrics.storage_full, 1);
		atomic_store(&d->storage_ok, 0);
		fprintf(stderr, "komposterd: ALARM: storage full (map %zu bytes): %zu frames refused with NACK 7\n",
		        st_db_map_size(d->db), n);
	} else {
		atomic_fetch_add(&d->metrics.storage_errors, 1);
		atomic_store(&d->storage_ok, 0);
		fprintf(stderr, "komposterd: ALARM: commit failed: %s: %zu frames refused with NACK 7\n",
		        st_strerror(rc), n);
	}
	answer(w, n, rc);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t n;

	while ((n = collect(w)) > 0)
		commit_group(w, n);
	free(w->inbound);
	free(w->items);
	free(w);
	return NULL;
}

int kp_writer_start(struct kp_daemon *d, pthread_t *thread)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->d = d;
	w->max = (size_t)d->cfg.group_max_frames;
	w->inbound = calloc(w->max, sizeof(*w->inbound));
	w->items = calloc(w->max, sizeof(*w->items));
	if (!w->inbound || !w->items || pthread_create(thread, NULL, writer_main, w) != 0) {
		free(w->inbound);
		free(w->items);
		free(w);
		return -1;
	}
	return 0;
}
