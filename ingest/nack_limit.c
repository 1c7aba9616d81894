/*
 * nack_limit.c — the per-(device, reason) bucket of NACKs and the one over
 * all of them (nack_limit.h).
 *
 * A plain array scanned in full: 512 slots of 32 bytes are a few cache
 * lines' worth of compares per NACK, and a scan needs no hash key, no
 * neighbourhood and no sweep. A slot whose bucket is full again
 * (tat <= now) is free, so the table only ever holds pairs that are being
 * limited right now.
 */
#include "ingest/nack_limit.h"

#include <string.h>

int kp_nack_limit_init(struct kp_nack_limit *l, unsigned burst, uint64_t refill_ms, unsigned total_burst,
                       uint64_t total_refill_ms)
{
	if (burst < 1 || refill_ms < 1 || total_burst < 1 || total_refill_ms < 1)
		return -1;
	memset(l->slot, 0, sizeof l->slot);
	l->burst = burst;
	l->refill_ms = refill_ms;
	l->total_burst = total_burst;
	l->total_refill_ms = total_refill_ms;
	l->total_tat_ms = 0;
	return pthread_mutex_init(&l->lock, NULL) == 0 ? 0 : -1;
}

void kp_nack_limit_destroy(struct kp_nack_limit *l)
{
	pthread_mutex_destroy(&l->lock);
}

/* The pair's live slot, else a free one, else the one NACKed longest ago
 * (cleared). */
static struct kp_nack_limit_slot *take(struct kp_nack_limit *l, uint64_t device_id, uint8_t reason,
                                       uint64_t now_ms)
{
	struct kp_nack_limit_slot *free_slot = NULL, *oldest = &l->slot[0];

	for (size_t i = 0; i < KP_NACK_LIMIT_SLOTS; i++) {
		struct kp_nack_limit_slot *s = &l->slot[i];

		if (s->tat_ms <= now_ms) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (s->device_id == device_id && s->reason == reason)
			return s;
		if (s->last_ms < oldest->last_ms || oldest->tat_ms <= now_ms)
			oldest = s;
	}
	if (free_slot == NULL)
		free_slot = oldest;
	*free_slot = (struct kp_nack_limit_slot){.device_id = device_id, .reason = reason};
	return free_slot;
}

/* GCRA: a bucket whose full time is tat may give one NACK at now_ms. */
static bool gcra_allows(uint64_t tat, uint64_t burst, uint64_t refill_ms, uint64_t now_ms)
{
	return tat <= now_ms + (burst - 1) * refill_ms;
}

static void gcra_charge(uint64_t *tat, uint64_t refill_ms, uint64_t now_ms)
{
	*tat = (*tat > now_ms ? *tat : now_ms) + refill_ms;
}

bool kp_nack_limit_allow(struct kp_nack_limit *l, uint64_t device_id, uint8_t reason, uint64_t now_ms)
{
	struct kp_nack_limit_slot *s;
	bool allow;

	pthread_mutex_lock(&l->lock);
	s = take(l, device_id, reason, now_ms);
	allow = gcra_allows(s->tat_ms, l->burst, l->refill_ms, now_ms) &&
	        gcra_allows(l->total_tat_ms, l->total_burst, l->total_refill_ms, now_ms);
	if (allow) {
		gcra_charge(&s->tat_ms, l->refill_ms, now_ms);
		gcra_charge(&l->total_tat_ms, l->total_refill_ms, now_ms);
		s->last_ms = now_ms;
	}
	pthread_mutex_unlock(&l->lock);
	return allow;
}
