/*
 * device_stats.c — the device_stats table: device_id BE → last_seen LE8 ‖
 * last_sent_at LE8 ‖ frames LE8 ‖ max_batch_seq LE8 ‖ rejects[reason]
 * LE8 × ST_REJECT_SLOTS (slot 0 is always 0) ‖ skew_rejected_at LE8 ‖
 * skew_rejected_sent_at LE8 (absent in records of before: read as 0).
 *
 * Why it is built this way: the writer already holds a write transaction
 * per group, so the group gathers what it stored per device (sorted by
 * device at the group's end, one run per device) and reads and writes each
 * device's record once. Only what cannot be derived is stored: the skew is
 * last_sent_at − last_seen and gaps is max_batch_seq − frames (every
 * stored batch_seq is distinct and >= 1, so this counts exactly the
 * missing ones below the highest), so no counter can disagree with
 * another.
 */
#include "storage/device_stats.h"

#include <stdlib.h>

#include "storage/db_internal.h"

void st_dstats_encode(const struct st_device_stats *s, uint8_t out[ST_DSTATS_VAL_SIZE])
{
	kp_store_u64le(out, (uint64_t)s->last_seen);
	kp_store_u64le(out + 8, (uint64_t)s->last_sent_at);
	kp_store_u64le(out + 16, s->frames);
	kp_store_u64le(out + 24, s->max_batch_seq);
	for (size_t i = 0; i < ST_REJECT_SLOTS; i++)
		kp_store_u64le(out + 32 + 8 * i, s->rejects[i]);
	kp_store_u64le(out + ST_DSTATS_VAL_SIZE_V1, (uint64_t)s->skew_rejected_at);
	kp_store_u64le(out + ST_DSTATS_VAL_SIZE_V1 + 8, (uint64_t)s->skew_rejected_sent_at);
}

int st_dstats_decode(const MDB_val *k, const MDB_val *v, struct st_device_stats *s)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != ST_DEVICE_KEY_SIZE || (v->mv_size != ST_DSTATS_VAL_SIZE && v->mv_size != ST_DSTATS_VAL_SIZE_V1))
		return ST_ECORRUPT;
	*s = (struct st_device_stats){0};
	s->device_id = kp_load_u64be(k->mv_data);
	s->last_seen = (int64_t)kp_load_u64le(p);
	s->last_sent_at = (int64_t)kp_load_u64le(p + 8);
	s->frames = kp_load_u64le(p + 16);
	s->max_batch_seq = kp_load_u64le(p + 24);
	for (size_t i = 0; i < ST_REJECT_SLOTS; i++)
		s->rejects[i] = kp_load_u64le(p + 32 + 8 * i);
	if (v->mv_size == ST_DSTATS_VAL_SIZE) {
		s->skew_rejected_at = (int64_t)kp_load_u64le(p + ST_DSTATS_VAL_SIZE_V1);
		s->skew_rejected_sent_at = (int64_t)kp_load_u64le(p + ST_DSTATS_VAL_SIZE_V1 + 8);
	}
	if (s->rejects[0] != 0 || s->frames > s->max_batch_seq || (s->frames == 0 && s->last_seen != 0))
		return ST_ECORRUPT;
	s->gaps = s->max_batch_seq - s->frames;
	s->clock_skew_ms = s->frames ? s->last_sent_at - s->last_seen : 0;
	return ST_OK;
}

static int dstats_read(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, struct st_device_stats *out)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	kp_store_u64be(kb, device_id);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return ST_ENOTFOUND;
	if (rc != MDB_SUCCESS)
		return st_status(rc);
	return st_dstats_decode(&k, &v, out);
}

int st_device_stats_get(struct st_read *r, uint64_t device_id, struct st_device_stats *out)
{
	if (!r || !r->txn || !out)
		return ST_EINVAL;
	return dstats_read(r->txn, r->db->dbi.device_stats, device_id, out);
}

int st_device_clock_skewed(const struct st_device_stats *s)
{
	int64_t skew;

	if (s->skew_rejected_at != 0 && (s->frames == 0 || s->skew_rejected_at > s->last_seen))
		skew = s->skew_rejected_sent_at - s->skew_rejected_at;
	else if (s->frames != 0)
		skew = s->clock_skew_ms;
	else
		return 0;
	return skew > ST_CLOCK_SKEW_FLAG_MS || skew < -ST_CLOCK_SKEW_FLAG_MS;
}

const char *st_reject_field(unsigned reason)
{
	static const char *const names[ST_REJECT_SLOTS] = {
		[KP_NACK_BAD_SIGNATURE] = "bad_signature", [KP_NACK_UNKNOWN_DEVICE] = "unknown_device",
		[KP_NACK_REVOKED] = "revoked",             [KP_NACK_MALFORMED] = "malformed",
		[KP_NACK_TOPIC_MISMATCH] = "topic_mismatch", [KP_NACK_TIME_WINDOW] = "time_window",
		[KP_NACK_STORAGE_FULL] = "storage_full",
	};

	return reason < ST_REJECT_SLOTS ? names[reason] : NULL;
}

/* Adds one device's run of notes (all of the same device) to its record. */
static int dstats_apply(MDB_txn *txn, MDB_dbi dbi, const struct st_dstats_note *a, size_t n)
{
	struct st_device_stats s;
	uint8_t kb[ST_DEVICE_KEY_SIZE], vb[ST_DSTATS_VAL_SIZE];
	MDB_val k = {sizeof kb, kb}, v = {sizeof vb, vb};
	int rc;

	rc = dstats_read(txn, dbi, a[0].device_id, &s);
	if (rc == ST_ENOTFOUND)
		s = (struct st_device_stats){.device_id = a[0].device_id};
	else if (rc != ST_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (a[i].reason != 0) {
			s.rejects[a[i].reason]++;
			if (a[i].reason == KP_NACK_TIME_WINDOW && a[i].sent_at != 0 &&
			    a[i].received_at >= s.skew_rejected_at) {
				s.skew_rejected_at = a[i].received_at;
				s.skew_rejected_sent_at = a[i].sent_at;
			}
			continue;
		}
		if (s.frames == 0 || a[i].received_at >= s.last_seen) {
			s.last_seen = a[i].received_at;
			s.last_sent_at = a[i].sent_at;
		}
		s.frames++;
		if (a[i].batch_seq > s.max_batch_seq)
			s.max_batch_seq = a[i].batch_seq;
	}
	kp_store_u64be(kb, a[0].device_id);
	st_dstats_encode(&s, vb);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

void st_dstats_batch_clear(struct st_dstats_batch *b)
{
	b->n = 0;
}

void st_dstats_batch_free(struct st_dstats_batch *b)
{
	free(b->a);
	*b = (struct st_dstats_batch){0};
}

static int batch_add(struct st_dstats_batch *b, const struct st_dstats_note *note)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct st_dstats_note *a = realloc(b->a, cap * sizeof *a);

		if (!a)
			return ST_EIO;
		b->a = a;
		b->cap = cap;
	}
	b->a[b->n] = *note;
	b->a[b->n].order = b->n;
	b->n++;
	return ST_OK;
}

int st_dstats_batch_note(struct st_dstats_batch *b, uint64_t device_id, uint64_t batch_seq, int64_t received_at,
                         int64_t sent_at)
{
	const struct st_dstats_note note = {device_id, batch_seq, received_at, sent_at, 0, 0};

	return batch_add(b, &note);
}

int st_dstats_batch_reject(struct st_dstats_batch *b, uint64_t device_id, uint8_t reason, int64_t received_at,
                           int64_t sent_at)
{
	const struct st_dstats_note note = {
		.device_id = device_id, .received_at = received_at, .sent_at = sent_at, .reason = reason};

	if (reason == 0 || reason >= ST_REJECT_SLOTS)
		return ST_EINVAL;
	return batch_add(b, &note);
}

/* By device, then in the order stored (so a tie of received_at keeps the
 * later frame, as within one device's run). */
static int note_cmp(const void *pa, const void *pb)
{
	const struct st_dstats_note *a = pa, *b = pb;

	if (a->device_id != b->device_id)
		return a->device_id < b->device_id ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

int st_dstats_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_dstats_batch *b)
{
	int rc = ST_OK;
	size_t i = 0;

	if (b->n > 1)
		qsort(b->a, b->n, sizeof b->a[0], note_cmp);
	while (i < b->n && rc == ST_OK) {
		size_t j = i + 1;

		while (j < b->n && b->a[j].device_id == b->a[i].device_id)
			j++;
		rc = dstats_apply(txn, dbi, b->a + i, j - i);
		i = j;
	}
	b->n = 0;
	return rc;
}
