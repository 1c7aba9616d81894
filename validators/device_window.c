/*
 * device_window.c — which frames go out, and when.
 *
 * Design: the device tracks the oldest frames of the outbox in slots, in two
 * groups: the window (at most `window` frames not in NACK backoff; only they
 * are in flight in the ordinary way) and the backed-off frames (frames a NACK
 * answered, at most `backoff_slots` of them, retried on their own schedule).
 * A NACKed frame leaves the window, so frames the server refuses for good
 * cannot stop newer ones; once backoff_slots are taken, a NACKed frame keeps
 * its window slot, so the number of tracked frames (and Paho's queue) stays
 * bounded. Nothing here ever drops a frame: only an ACK removes one.
 *
 * Invariant: no slot waits on a callback forever. A slot with a publish
 * pending in Paho ("incomplete") leaves that state by the publish's
 * completion, by its deadline (deadline_ms, publish_timeout_ms after Paho
 * took it), by a new connection (vd_window_reset), by an ACK, or by a lost
 * completion (vd_window_all_completed), whichever comes first; every other
 * slot state ends by its own clock (due_ms: resend, retry, NACK backoff).
 * The window's timer (next_due) covers both clocks, so vd_device_poll is
 * always called back in time. A publish given up on keeps its ticket, stale,
 * until its completion comes, so the completion cannot be taken for another
 * publish's.
 *
 * Each slot says how often this process sent its frame, when it is next due,
 * its NACK backoff, and which publishes of its last send Paho has not
 * completed yet (their tickets). A send pass walks the outbox from its oldest
 * frame in one read snapshot (LMDB hands out the stored bytes, Paho copies
 * them), carries each frame's slot over from the last pass or starts a fresh
 * one, and publishes what is due and has no publish still pending in Paho:
 *   - a new frame at once;
 *   - a frame sent before, resend_ms after Paho completed its last publish
 *     (the broker's PUBACK), or VD_SEND_RETRY_MS after Paho reported it failed;
 *   - a NACKed frame when its backoff ends (doubling from backoff_min_ms up to
 *     backoff_max_ms at each NACK);
 *   - every frame not in backoff right after a (re)connect (vd_window_reset),
 *     and every frame whose publish the old connection left pending;
 *   - a frame whose publish Paho has not completed publish_timeout_ms after
 *     taking it: that publish counts as failed, and the frame goes out again
 *     at once (unless a NACK came since: its backoff stands).
 * Completions come from Paho's threads through the mailbox (device_mqtt.c);
 * a completion names its publish by ticket (device_impl.h), never by Paho's
 * token. A slot gives up on a pending publish when its deadline passes or a
 * new connection comes: its tickets turn stale, so that publish's
 * completion, should it come after all (Paho keeps queued publishes across a
 * reconnect), is ignored instead of being taken for the completion of the
 * frame's next publish. ACKs only drop slots (their pending tickets turn
 * stale too) and mark the window dirty; the next pass refills it. A publish
 * that Paho refuses ends the pass; the next try is due a little later.
 */
#include "validators/device_impl.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

struct send_pass {
	struct vd_device *dev;
	int64_t now_ms;
	unsigned n;
	unsigned in_window;  /* slots counted toward cfg.window */
	unsigned in_backoff; /* slots counted toward cfg.backoff_slots */
	int blocked;         /* Paho refused a publish in this pass */
};

int vd_window_init(struct vd_device *dev)
{
	unsigned copies = dev->cfg.duplicate ? VD_COPIES_MAX : 1;

	dev->slots_cap = dev->cfg.window + dev->cfg.backoff_slots;
	dev->slots = calloc(dev->slots_cap, sizeof *dev->slots);
	dev->slots_next = calloc(dev->slots_cap, sizeof *dev->slots_next);
	/* Every slot may hold a live send and one given up on whose completion
	 * is still to come (a reconnect gives up on the whole window). */
	dev->ntickets = 2 * dev->slots_cap * copies;
	dev->tickets = calloc(dev->ntickets, sizeof *dev->tickets);
	if (!dev->slots || !dev->slots_next || !dev->tickets)
		return -1;
	for (unsigned i = 0; i < dev->ntickets; i++)
		dev->tickets[i].dev = dev;
	return 0;
}

void vd_window_free(struct vd_device *dev)
{
	free(dev->slots);
	free(dev->slots_next);
	free(dev->tickets);
}

/* A free ticket, looking on from the last one taken. When none is free, the
 * stale ticket taken longest ago: its publish is presumed lost. Reaching that
 * takes more publishes given up on and never called back than there are
 * spare tickets (one per slot and copy); Paho 1.3.12 calls back for every
 * publish it accepted and caps its queue, so with it this does not happen.
 * Should that completion come after all, it is taken for the new publish's:
 * at worst that frame's resend timer starts early. NULL when every ticket is
 * live, which the sizing rules out. */
static struct vd_ticket *ticket_take(struct vd_device *dev)
{
	struct vd_ticket *oldest = NULL;

	for (unsigned k = 0; k < dev->ntickets; k++) {
		struct vd_ticket *t = &dev->tickets[(dev->ticket_next + k) % dev->ntickets];
		if (t->state == VD_TICKET_FREE) {
			oldest = t;
			break;
		}
		if (t->state == VD_TICKET_STALE && (!oldest || t->issued_ms < oldest->issued_ms))
			oldest = t;
	}
	if (oldest)
		dev->ticket_next = (unsigned)(oldest - dev->tickets + 1) % dev->ntickets;
	return oldest;
}

/* The slot no longer waits for its pending publishes: their completions, if
 * they come, are ignored. */
static void slot_give_up(struct vd_device *dev, struct vd_slot *s)
{
	for (unsigned c = 0; c < s->incomplete; c++)
		dev->tickets[s->tickets[c]].state = VD_TICKET_STALE;
	s->incomplete = 0;
}

static struct vd_slot *slot_find(struct vd_device *dev, uint64_t seq)
{
	for (unsigned i = 0; i < dev->nslots; i++) {
		if (dev->slots[i].seq == seq)
			return &dev->slots[i];
	}
	return NULL;
}

/* When the window next has work for the slot: the deadline of its pending
 * publish, or when it is due to be published. */
static int64_t slot_next(const struct vd_slot *s)
{
	return s->incomplete > 0 ? s->deadline_ms : s->due_ms;
}

static void due_at(struct vd_device *dev, struct vd_slot *s, int64_t due_ms)
{
	s->due_ms = due_ms;
	if (s->incomplete == 0 && due_ms < dev->next_due)
		dev->next_due = due_ms;
}

/* Publishes the copies of one send. Only a refusal of the first copy counts
 * as not sent; a refused second copy just leaves the first one out. */
static int publish_frame(struct vd_device *dev, struct vd_slot *s, const uint8_t *frame,
                         size_t len, int64_t now_ms)
{
	int copies = dev->cfg.duplicate ? VD_COPIES_MAX : 1;
	int rc = VD_OK;

	s->incomplete = 0;
	for (int i = 0; i < copies && rc == VD_OK; i++) {
		struct vd_ticket *t = ticket_take(dev);
		rc = t ? dev->io->publish(dev, frame, len, t)
		       : vd_device_fail(dev, VD_EMQTT, "every publish ticket is in use");
		if (rc == VD_OK) {
			/* Live only now: a completion Paho reports meanwhile waits in the
			 * mailbox until the owner's next drain. t->dev is not written: a
			 * Paho thread may be reading it. */
			t->seq = s->seq;
			t->issued_ms = now_ms;
			t->state = VD_TICKET_LIVE;
			s->tickets[s->incomplete++] = (unsigned)(t - dev->tickets);
			dev->stats.published++;
		}
	}
	if (s->incomplete == 0)
		return VD_EMQTT;
	if (s->sends > 0 || s->seq <= dev->last_seq_at_open)
		dev->stats.resent++;
	s->sends++;
	s->nacked = 0;
	s->deadline_ms = now_ms + dev->cfg.publish_timeout_ms;
	return rc;
}

/* Whether a frame counts as backed off (outside the window) in this pass. */
static int takes_backoff_slot(struct send_pass *p, const struct vd_slot *s)
{
	if (s->backoff_ms == 0 || p->in_backoff == p->dev->cfg.backoff_slots)
		return 0;
	p->in_backoff++;
	return 1;
}

/* Paho did not complete the slot's last send by its deadline: count it as
 * failed (its completion, should it come, is ignored) and publish the frame
 * again now, unless a NACK came since, whose backoff stands. */
static void deadline_passed(struct vd_device *dev, struct vd_slot *s, int64_t now_ms)
{
	dev->stats.publish_timeouts += s->incomplete;
	slot_give_up(dev, s);
	if (!s->nacked)
		s->due_ms = now_ms;
}

/* vd_outbox_frame_fn: one tracked frame, oldest first. */
static int send_one(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct send_pass *p = arg;
	struct vd_device *dev = p->dev;
	const struct vd_slot *old = slot_find(dev, seq);
	struct vd_slot s = old ? *old : (struct vd_slot){.seq = seq};

	if (!takes_backoff_slot(p, &s))
		p->in_window++;
	if (s.incomplete > 0 && s.deadline_ms <= p->now_ms)
		deadline_passed(dev, &s, p->now_ms);
	if (!p->blocked && s.incomplete == 0 && s.due_ms <= p->now_ms &&
	    publish_frame(dev, &s, frame, len, p->now_ms) != VD_OK)
		p->blocked = 1;
	dev->slots_next[p->n++] = s;
	return p->in_window == dev->cfg.window || p->n == dev->slots_cap; /* stop when full */
}

static int64_t earliest_due(const struct vd_device *dev)
{
	int64_t due = INT64_MAX;

	for (unsigned i = 0; i < dev->nslots; i++) {
		if (slot_next(&dev->slots[i]) < due)
			due = slot_next(&dev->slots[i]);
	}
	return due;
}

/* A slot of the last pass that this one did not carry over (the window moved
 * past it) waits for nothing any more. Both sets are in ascending seq order. */
static void give_up_dropped(struct vd_device *dev, const struct vd_slot *kept, unsigned nkept)
{
	unsigned j = 0;

	for (unsigned i = 0; i < dev->nslots; i++) {
		while (j < nkept && kept[j].seq < dev->slots[i].seq)
			j++;
		if (j == nkept || kept[j].seq != dev->slots[i].seq)
			slot_give_up(dev, &dev->slots[i]);
	}
}

int vd_window_send(struct vd_device *dev, int64_t now_ms)
{
	struct send_pass p = {.dev = dev, .now_ms = now_ms};
	struct vd_slot *swap;
	int rc = vd_outbox_foreach(dev->outbox, 1, send_one, &p);
	if (rc)
		return vd_device_fail(dev, VD_ESTORE, "outbox: %s", mdb_strerror(rc));
	give_up_dropped(dev, dev->slots_next, p.n);
	swap = dev->slots;
	dev->slots = dev->slots_next;
	dev->slots_next = swap;
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
		else
			slot_give_up(dev, &dev->slots[i]);
	}
	dev->nslots = kept;
	dev->dirty = 1;
}

void vd_window_nack(struct vd_device *dev, uint64_t seq, int64_t now_ms)
{
	struct vd_slot *s = slot_find(dev, seq);

	if (!s)
		return;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : dev->cfg.backoff_min_ms;
	if (s->backoff_ms > dev->cfg.backoff_max_ms)
		s->backoff_ms = dev->cfg.backoff_max_ms;
	s->nacked = 1;
	s->due_ms = now_ms + s->backoff_ms;
	dev->dirty = 1; /* it may leave the window: the next pass takes a newer frame */
	dev->next_due = earliest_due(dev);
}

/* The slot waiting for ticket k, and which copy of its send that is. A live
 * ticket always belongs to a tracked slot; the check costs little and keeps
 * a broken invariant from writing into the wrong slot. */
static struct vd_slot *slot_of_ticket(struct vd_device *dev, unsigned k, unsigned *copy)
{
	struct vd_slot *s = slot_find(dev, dev->tickets[k].seq);

	for (unsigned c = 0; s && c < s->incomplete; c++) {
		if (s->tickets[c] == k) {
			*copy = c;
			return s;
		}
	}
	return NULL;
}

void vd_window_completed(struct vd_device *dev, unsigned ticket, int ok, int64_t now_ms)
{
	unsigned copy = 0;
	struct vd_slot *s;
	int live;

	if (!ok)
		dev->stats.publish_failures++;
	if (ticket >= dev->ntickets)
		return;
	live = dev->tickets[ticket].state == VD_TICKET_LIVE;
	s = live ? slot_of_ticket(dev, ticket, &copy) : NULL;
	if (dev->tickets[ticket].state == VD_TICKET_STALE)
		dev->stats.stale_completions++;
	dev->tickets[ticket].state = VD_TICKET_FREE;
	if (!s) /* a publish given up on: its frame was ACKed or published again since */
		return;
	s->tickets[copy] = s->tickets[s->incomplete - 1];
	s->incomplete--;
	if (!ok)
		s->nacked = 0; /* this copy never left: retry it soon */
	if (s->incomplete > 0)
		return;
	due_at(dev, s, s->nacked ? s->due_ms : now_ms + (ok ? dev->cfg.resend_ms : VD_SEND_RETRY_MS));
	if (dev->next_due == s->deadline_ms) /* the timer was this deadline: find the next */
		dev->next_due = earliest_due(dev);
}

void vd_window_all_completed(struct vd_device *dev, int64_t now_ms)
{
	for (unsigned i = 0; i < dev->nslots; i++) {
		struct vd_slot *s = &dev->slots[i];
		if (s->incomplete == 0)
			continue;
		slot_give_up(dev, s);
		s->due_ms = s->nacked ? s->due_ms : now_ms + dev->cfg.resend_ms;
	}
	dev->next_due = earliest_due(dev); /* the deadlines given up on may have been the timer */
}

/* After a (re)connect every frame not waiting out a NACK backoff is due at
 * once; a backed-off frame keeps its schedule. Publishes still pending from
 * the old connection are given up on rather than waited for: Paho fails the
 * ones the loss cut off in flight (a failed socket write too, under token 0;
 * the ticket still names it), but sends those still in its queue on the new
 * connection, behind whatever else is queued, and a completion lost on the
 * way would leave the frame waiting. Publishing again costs at most a
 * duplicate, which the daemon acknowledges and does not store twice. A
 * backed-off frame whose retry was cut off goes out at once too, unless a
 * NACK came after that retry. */
void vd_window_reset(struct vd_device *dev)
{
	for (unsigned i = 0; i < dev->nslots; i++) {
		struct vd_slot *s = &dev->slots[i];
		int cut = s->incomplete > 0 && !s->nacked;

		slot_give_up(dev, s);
		if (s->backoff_ms == 0 || cut)
			s->due_ms = 0;
	}
	dev->dirty = 1;
	dev->next_due = earliest_due(dev);
}
