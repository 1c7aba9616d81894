/*
 * device_window.c — which frames go out, and when.
 *
 * Design: the window is the oldest `window` frames of the outbox; only they
 * are ever in flight, so Paho's queues stay bounded however much a device has
 * stored while offline, and the daemon's watermark can advance in order. Each
 * frame of the window has a slot: how often this process sent it, when it is
 * next due, and its NACK backoff. A send pass walks the outbox from its oldest
 * frame in one read snapshot (LMDB hands out the stored bytes, Paho copies
 * them), carries each frame's slot over from the last pass or starts a fresh
 * one, and publishes what is due:
 *   - a new frame at once;
 *   - a frame sent before, resend_ms after its last send;
 *   - a NACKed frame when its backoff ends (doubling from backoff_min_ms up to
 *     backoff_max_ms at each NACK);
 *   - every frame of the window right after a (re)connect (vd_window_reset).
 * ACKs only drop slots and mark the window dirty; the next pass refills it.
 * A publish that Paho refuses ends the pass; the next try is due a little
 * later.
 */
#include "validators/device_impl.h"

#include <lmdb.h>
#include <string.h>

struct send_pass {
	struct vd_device *dev;
	int64_t now_ms;
	struct vd_slot next[VD_WINDOW_MAX];
	unsigned n;
	int blocked; /* Paho refused a publish in this pass */
};

static const struct vd_slot *slot_find(const struct vd_device *dev, uint64_t seq)
{
	for (unsigned i = 0; i < dev->nslots; i++) {
		if (dev->slots[i].seq == seq)
			return &dev->slots[i];
	}
	return NULL;
}

static int publish_frame(struct vd_device *dev, struct vd_slot *s, const uint8_t *frame,
                         size_t len, int64_t now_ms)
{
	int copies = dev->cfg.duplicate ? 2 : 1;

	for (int i = 0; i < copies; i++) {
		if (vd_mqtt_publish(dev, frame, len) != VD_OK)
			return VD_EMQTT;
		dev->stats.published++;
	}
	if (s->sends > 0 || s->seq <= dev->last_seq_at_open)
		dev->stats.resent++;
	s->sends++;
	s->due_ms = now_ms + dev->cfg.resend_ms;
	return VD_OK;
}

/* vd_outbox_frame_fn: one frame of the window, oldest first. */
static int send_one(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct send_pass *p = arg;
	const struct vd_slot *old = slot_find(p->dev, seq);
	struct vd_slot s = old ? *old : (struct vd_slot){.seq = seq};

	if (!p->blocked && s.due_ms <= p->now_ms &&
	    publish_frame(p->dev, &s, frame, len, p->now_ms) != VD_OK)
		p->blocked = 1;
	p->next[p->n++] = s;
	return p->n == p->dev->cfg.window; /* stop once the window is full */
}

static int64_t earliest_due(const struct vd_device *dev)
{
	int64_t due = INT64_MAX;

	for (unsigned i = 0; i < dev->nslots; i++) {
		if (dev->slots[i].due_ms < due)
			due = dev->slots[i].due_ms;
	}
	return due;
}

int vd_window_send(struct vd_device *dev, int64_t now_ms)
{
	struct send_pass p = {.dev = dev, .now_ms = now_ms};
	int rc = vd_outbox_foreach(dev->outbox, 1, send_one, &p);
	if (rc)
		return vd_device_fail(dev, VD_ESTORE, "outbox: %s", mdb_strerror(rc));
	memcpy(dev->slots, p.next, p.n * sizeof p.next[0]);
	dev->nslots = p.n;
	dev->dirty = 0;
	dev->next_due = earliest_due(dev);
	if (p.blocked && dev->next_due < now_ms + VD_SEND_RETRY_MS)
		dev->next_due = now_ms + VD_SEND_RETRY_MS;
	return VD_OK;
}

void vd_window_ack(struct vd_device *dev, uint64_t seq, uint64_t watermark)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < dev->nslots; i++) {
		uint64_t s = dev->slots[i].seq;
		if (s != seq && s > watermark)
			dev->slots[kept++] = dev->slots[i];
	}
	dev->nslots = kept;
	dev->dirty = 1;
}

void vd_window_nack(struct vd_device *dev, uint64_t seq, int64_t now_ms)
{
	for (unsigned i = 0; i < dev->nslots; i++) {
		struct vd_slot *s = &dev->slots[i];
		if (s->seq != seq)
			continue;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : dev->cfg.backoff_min_ms;
		if (s->backoff_ms > dev->cfg.backoff_max_ms)
			s->backoff_ms = dev->cfg.backoff_max_ms;
		s->due_ms = now_ms + s->backoff_ms;
		dev->next_due = earliest_due(dev);
		return;
	}
}

void vd_window_reset(struct vd_device *dev)
{
	for (unsigned i = 0; i < dev->nslots; i++)
		dev->slots[i].due_ms = 0;
	dev->dirty = 1;
}
