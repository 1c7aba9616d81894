/*
 * commit.c — group commit: a group of verified TAPS and COUNTS frames in
 * one write transaction.
 *
 * Why it is built this way: one transaction (and so one fsync) per group
 * is what makes thousands of frames a second durable; everything a frame
 * must have before its ACK (log entry, once-only index, epoch key) is
 * written in that same transaction, so a crash leaves all of them or none;
 * its watermark is read from the once-only index it just wrote (once.c: the
 * stored base is settled by the derived frames). Duplicates are found by
 * looking the (device, batch_seq) pair up in `once` inside the
 * transaction, which sees this group's own earlier puts too, so a repeat
 * within one group needs no extra bookkeeping.
 *
 * The log entry is built in a scratch buffer owned by the db (the writer is
 * the only caller): header, then the frame copied record by record with the
 * pseudonym written where the card token was, then zeros where the
 * signature was. frame_hash is keyed with the epoch key of the first tap's
 * service date (log.h), so neither it nor anything else in the entry can
 * test a guessed token once that key is gone. The raw token and the
 * signature are never copied into anything that reaches LMDB.
 *
 * A COUNTS frame takes the same path (log, once-only index, one
 * batch_seq sequence per device whatever the stream): its records hold no
 * card token, so they are copied as they are, and its frame_hash is keyed
 * with the epoch key of its first record's observed_at. Every record must
 * have a service date and hour, as the tap's cell needs one, so a frame
 * that derive.c could not count is refused here, before it is stored.
 *
 * Everything else computed from a frame (the hash chain's head, tap and
 * count cells, vehicle hours and positions, the date index, date
 * revisions, the device's traffic, the distinct-rider sketches) is
 * derived from its stored entry by derive.c: at the end of the group, in
 * its transaction, or with st_options.derive_defer_ms later and many
 * frames at a time (derive.h says why). The group records the derived
 * trees' mark when it defers the first time.
 *
 * The rejects the writer hands in with the group (st_commit_group_rejects)
 * go to their devices' traffic records in the group's transaction (the log
 * does not hold them), each device looked up in the registry first.
 *
 * On MDB_MAP_FULL the whole transaction is aborted, the map doubled and the
 * group run again from the start (st_write_run, the one grow-and-retry loop
 * of txn_retry.h); the epoch key cache is cleared before every run that
 * follows an aborted one, and after a call that failed, because it may hold
 * a key made by an aborted transaction.
 *
 * Every run reads the epoch horizon first (epoch_keys.h): a tap of an epoch
 * whose key was destroyed is stored with a one-off key's pseudonym, and a
 * horizon raised by another process clears the cache before it is used.
 */
#include "storage/commit.h"

#include <sodium.h>

#include "storage/db_internal.h"
#include "storage/service_day.h"

struct group {
	struct st_db *db;
	struct st_commit_item *items;
	size_t n;
	const struct st_commit_reject *rejects;
	size_t nrej;
	unsigned runs;       /* how many times st_write_run ran the group */
	uint32_t map_grows;
	MDB_txn *txn;
	uint64_t last_seq;
	uint64_t seq_before; /* the log's last before the group */
	int64_t now_ms; /* received_at of the frame being stored: a new epoch key's created_at */
	struct st_commit_stats stats;
};

static uint16_t record_count(const struct st_commit_item *it)
{
	return (uint16_t)((it->len - KP_HEADER_SIZE - KP_SIGNATURE_SIZE) / kp_record_size(it->type));
}

/* Copies tap i of frame into dst with its token pseudonymised, and notes
 * its rider. */
static int put_tap(struct group *g, const uint8_t *frame, uint16_t i, uint8_t *dst)
{
	const size_t after_token = KP_TAP_TOKEN_OFFSET + KP_CARD_TOKEN_SIZE;
	const uint8_t *src = frame + KP_HEADER_SIZE + (size_t)i * KP_TAP_RECORD_SIZE;
	struct kp_tap t;
	struct st_tap_agg_key ak;
	struct st_tap_agg_val av;
	uint32_t epoch;
	int rc;

	kp_frame_get_tap(frame, i, &t);
	rc = st_tap_agg_of(&t, g->db->zone, g->db->opts.service_day_start_hour, &ak, &av);
	sodium_memzero(&t, sizeof t);
	if (rc != 0)
		return ST_EINVAL;
	epoch = st_epoch_start(ak.service_date, g->db->opts.epoch_period);
	rc = st_pseudonym_cached(g->db, g->txn, epoch, g->now_ms, src + KP_TAP_TOKEN_OFFSET, dst + KP_TAP_TOKEN_OFFSET);
	if (rc != ST_OK)
		return rc;
	memcpy(dst, src, KP_TAP_TOKEN_OFFSET);
	memcpy(dst + after_token, src + after_token, KP_TAP_RECORD_SIZE - after_token);
	return ST_OK;
}

/* Copies the count records of frame into dst (nothing in them is
 * personal); each must have a service date and hour (derive.c counts it). */
static int put_counts(struct group *g, const uint8_t *frame, uint16_t n, uint8_t *dst)
{
	struct kp_count c;
	struct st_count_cell cell;

	memcpy(dst, frame + KP_HEADER_SIZE, (size_t)n * KP_COUNT_RECORD_SIZE);
	for (uint16_t i = 0; i < n; i++) {
		kp_frame_get_count(frame, i, &c);
		if (st_count_cell_of(&c, ST_COUNT_SOURCE_SIGNED, g->db->zone, g->db->opts.service_day_start_hour,
		                     &cell) != 0)
			return ST_EINVAL;
	}
	return ST_OK;
}

/* The time of a frame's first record: tapped_at or observed_at. */
static int64_t first_record_time(const struct st_commit_item *it)
{
	struct kp_tap t;
	struct kp_count c;
	int64_t at;

	if (it->type == KP_TYPE_COUNTS) {
		kp_frame_get_count(it->frame, 0, &c);
		return c.observed_at;
	}
	kp_frame_get_tap(it->frame, 0, &t);
	at = t.tapped_at;
	sodium_memzero(&t, sizeof t);
	return at;
}

/* The frame's epoch key: that of the service date of its first record. */
static int frame_key(struct group *g, const struct st_commit_item *it, uint8_t key[ST_EPOCH_KEY_SIZE])
{
	struct st_when w;
	int rc;

	rc = st_service_day(g->db->zone, first_record_time(it), g->db->opts.service_day_start_hour, &w);
	if (rc != 0)
		return ST_EINVAL;
	return st_epoch_key_cached(g->db, g->txn, st_epoch_start(w.service_date, g->db->opts.epoch_period),
	                           g->now_ms, key);
}

/* Builds the log entry of it in db->entry_buf; *len is its size. */
static int build_entry(struct group *g, const struct st_commit_item *it, size_t *len)
{
	uint8_t *entry = g->db->entry_buf;
	uint8_t *frame = entry + ST_LOG_ENTRY_HEADER_SIZE;
	uint8_t key[ST_EPOCH_KEY_SIZE];
	uint8_t hash[ST_FRAME_HASH_SIZE];
	size_t sig = it->len - KP_SIGNATURE_SIZE;
	uint16_t count = record_count(it);
	int rc;

	rc = frame_key(g, it, key);
	if (rc != ST_OK)
		return rc;
	st_frame_hash(key, it->frame, it->len, hash);
	sodium_memzero(key, sizeof key);
	st_log_entry_header(entry, it->received_at, hash);
	memcpy(frame, it->frame, KP_HEADER_SIZE);
	if (it->type == KP_TYPE_COUNTS) {
		rc = put_counts(g, it->frame, count, frame + KP_HEADER_SIZE);
	} else {
		for (uint16_t i = 0; i < count && rc == ST_OK; i++)
			rc = put_tap(g, it->frame, i, frame + KP_HEADER_SIZE + (size_t)i * KP_TAP_RECORD_SIZE);
	}
	memset(frame + sig, 0, KP_SIGNATURE_SIZE);
	*len = ST_LOG_ENTRY_HEADER_SIZE + it->len;
	return rc;
}

/* Log entry and once-only entry of a new frame. */
static int append_frame(struct group *g, const struct st_commit_item *it, uint64_t seq)
{
	const struct st_dbis *dbi = &g->db->dbi;
	size_t len;
	int rc;

	rc = build_entry(g, it, &len);
	if (rc == ST_OK)
		rc = st_log_append(g->txn, dbi->log, seq, g->db->entry_buf, len);
	if (rc == ST_OK)
		rc = st_once_put(g->txn, dbi->once, it->device_id, it->batch_seq, seq);
	return rc;
}

/* With imported epoch keys: whether every epoch the frame's records fall
 * in has its key, asked before anything of the frame is written (put_tap
 * writes its vehicle's position before it needs the key). */
static int keys_ready(struct group *g, const struct st_commit_item *it, int *ready)
{
	uint8_t key[ST_EPOCH_KEY_SIZE];
	uint16_t count = it->type == KP_TYPE_TAPS ? record_count(it) : 1;
	int rc = ST_OK;

	*ready = 1;
	for (uint16_t i = 0; i < count && rc == ST_OK; i++) {
		struct st_when w;
		struct kp_tap t;
		int64_t at;

		if (it->type == KP_TYPE_TAPS) {
			kp_frame_get_tap(it->frame, i, &t);
			at = t.tapped_at;
			sodium_memzero(&t, sizeof t);
		} else {
			at = first_record_time(it);
		}
		if (st_service_day(g->db->zone, at, g->db->opts.service_day_start_hour, &w) != 0)
			return ST_EINVAL;
		rc = st_epoch_key_cached(g->db, g->txn, st_epoch_start(w.service_date, g->db->opts.epoch_period),
		                         it->received_at, key);
	}
	sodium_memzero(key, sizeof key);
	if (rc == ST_ENOKEY) {
		*ready = 0;
		rc = ST_OK;
	}
	return rc;
}

static int store_item(struct group *g, struct st_commit_item *it)
{
	uint64_t seq;
	int rc;

	int handed;

	rc = st_handed_get(g->txn, g->db->dbi.handed, it->device_id, it->batch_seq, &handed);
	if (rc != ST_OK)
		return rc;
	if (handed) { /* stored by the device's former owner (handoff.h) */
		it->outcome = ST_DUPLICATE;
		it->seq = 0;
		g->stats.duplicates++;
		return ST_OK;
	}
	rc = st_once_get(g->txn, g->db->dbi.once, it->device_id, it->batch_seq, &seq);
	if (rc == ST_OK) {
		it->outcome = ST_DUPLICATE;
		it->seq = seq;
		g->stats.duplicates++;
		return ST_OK;
	}
	if (rc != ST_ENOTFOUND)
		return rc;
	if (g->db->opts.epoch_keys_imported) {
		int ready;

		rc = keys_ready(g, it, &ready);
		if (rc != ST_OK)
			return rc;
		if (!ready) {
			it->outcome = ST_NOKEY;
			it->seq = 0;
			g->stats.nokey++;
			return ST_OK;
		}
	}
	seq = g->last_seq + 1;
	g->now_ms = it->received_at;
	rc = append_frame(g, it, seq);
	if (rc != ST_OK)
		return rc;
	g->last_seq = seq;
	it->outcome = ST_STORED;
	it->seq = seq;
	g->stats.stored++;
	if (it->type == KP_TYPE_COUNTS)
		g->stats.counts += record_count(it);
	else
		g->stats.taps += record_count(it);
	return ST_OK;
}

/* Where the log ends (the chain follows the derived frames, derive.c). */
static int group_start(struct group *g)
{
	int rc = st_log_last(g->txn, g->db->dbi.log, &g->last_seq);

	g->seq_before = g->last_seq;
	return rc;
}

/* Each item's device's watermark after the group. A device with many
 * frames in the group is walked once: the last answer of each hash slot is
 * kept (a collision only walks again). */
#define WATERMARK_MEMO 64

static int fill_watermarks(struct group *g, struct st_commit_item *items, size_t n)
{
	struct {
		uint64_t device_id, watermark;
		int set;
	} memo[WATERMARK_MEMO] = {0};
	const struct st_dbis *dbi = &g->db->dbi;
	int rc = ST_OK;

	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		uint64_t dev = items[i].device_id;
		size_t h = (size_t)((dev * 0x9E3779B97F4A7C15ull) >> 58);

		if (memo[h].set && memo[h].device_id == dev) {
			items[i].watermark = memo[h].watermark;
			continue;
		}
		rc = st_watermark_now(g->txn, dbi->once, dbi->watermark, dev, &items[i].watermark);
		memo[h].device_id = dev;
		memo[h].watermark = items[i].watermark;
		memo[h].set = 1;
	}
	return rc;
}

/* A reject counts for its device only when the device is enrolled. */
static int note_reject(struct group *g, const struct st_commit_reject *rj)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	kp_store_u64be(kb, rj->device_id);
	rc = mdb_get(g->txn, g->db->dbi.devices, &k, &v);
	if (rc == MDB_NOTFOUND)
		return ST_OK;
	if (rc != MDB_SUCCESS)
		return st_status(rc);
	return st_dstats_batch_reject(&g->db->dstats, rj->device_id, rj->reason, rj->received_at, rj->sent_at);
}

/* One run of the whole group in txn (st_write_run may run it again after
 * growing the map). A run after the first means the one before was aborted:
 * the epoch key cache may hold a key made by it, so it is cleared. */
static int store_group(void *ctx, MDB_txn *txn)
{
	struct group *g = ctx;
	int rc;

	if (g->runs++ > 0)
		st_epoch_cache_clear(g->db);
	g->txn = txn;
	g->stats = (struct st_commit_stats){0};
	st_dstats_batch_clear(&g->db->dstats);
	rc = st_epoch_horizon_load(g->db, txn);
	if (rc == ST_OK)
		rc = group_start(g);
	for (size_t i = 0; i < g->n && rc == ST_OK; i++)
		rc = store_item(g, &g->items[i]);
	if (rc == ST_OK)
		rc = g->db->opts.derive_defer_ms == 0 ? st_derive_group(g->db, txn, g->seq_before)
		                                      : st_derive_group_mark(g->db, txn, g->seq_before);
	for (size_t i = 0; i < g->nrej && rc == ST_OK; i++)
		rc = note_reject(g, &g->rejects[i]);
	if (rc == ST_OK)
		rc = st_dstats_batch_flush(txn, g->db->dbi.device_stats, &g->db->dstats);
	if (rc == ST_OK)
		rc = fill_watermarks(g, g->items, g->n);
	return rc;
}

/* In step, the group derives its frames (derive.h) under the lock that
 * keeps other threads' catch-ups off the derive state. */
static int write_group(struct group *g)
{
	struct st_derive *d = &g->db->derive;
	int in_step = g->db->opts.derive_defer_ms == 0;
	int rc;

	if (in_step)
		pthread_mutex_lock(&d->lock);
	rc = st_write_run(g->db, store_group, g, &g->map_grows);
	if (in_step && rc == ST_OK)
		rc = st_riders_group_done(g->db); /* the riders' notes come with the derived frames */
	if (in_step)
		pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Decodes every header first: one bad item refuses the whole group. */
static int check_items(struct st_commit_item *items, size_t n)
{
	struct kp_header h;
	int rc = ST_OK;

	for (size_t i = 0; i < n; i++) {
		struct st_commit_item *it = &items[i];

		it->outcome = ST_FAILED;
		it->seq = it->watermark = it->device_id = it->batch_seq = 0;
		it->type = 0;
		it->sent_at = 0;
		if (!it->frame || kp_frame_decode(it->frame, it->len, &h) != KP_OK ||
		    (h.type != KP_TYPE_TAPS && h.type != KP_TYPE_COUNTS)) {
			rc = ST_EINVAL;
			continue;
		}
		it->type = h.type;
		it->device_id = h.device_id;
		it->batch_seq = h.batch_seq;
		it->sent_at = h.sent_at;
	}
	return rc;
}

static void mark_failed(struct st_commit_item *items, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		items[i].outcome = rc == ST_EFULL ? ST_FULL : ST_FAILED;
		items[i].seq = 0;
		items[i].watermark = 0;
	}
}

int st_commit_group(struct st_db *db, struct st_commit_item *items, size_t n,
                    struct st_commit_stats *stats)
{
	return st_commit_group_rejects(db, items, n, NULL, 0, stats);
}

int st_commit_group_rejects(struct st_db *db, struct st_commit_item *items, size_t n,
                            const struct st_commit_reject *rejects, size_t nrej, struct st_commit_stats *stats)
{
	struct group g = {.db = db, .items = items, .n = n, .rejects = rejects, .nrej = nrej};
	int rc;

	if (!db || (n && !items) || (nrej && !rejects))
		return ST_EINVAL;
	rc = check_items(items, n);
	for (size_t i = 0; i < nrej && rc == ST_OK; i++)
		if (rejects[i].reason == 0 || rejects[i].reason > KP_NACK_REASON_MAX)
			rc = ST_EINVAL;
	if (rc == ST_OK && n + nrej > 0)
		rc = write_group(&g);
	if (rc == ST_OK && n > 0)
		st_derive_group_done(db, g.last_seq);
	if (rc != ST_OK) {
		st_epoch_cache_clear(db);
		mark_failed(items, n, rc);
		g.stats = (struct st_commit_stats){0};
	}
	if (stats) {
		*stats = g.stats;
		stats->map_grows = g.map_grows;
	}
	return rc;
}
