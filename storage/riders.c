/*
 * riders.c — distinct-rider sketches per (service date, route) (riders.h).
 *
 * Why it is built this way: a sketch is up to 16 KiB, so the writer must
 * not read, parse and rewrite one per tap. A commit group notes each
 * accepted tap's (date, route, hash) and (date, all, hash) in a batch
 * owned by the db (grown, never shrunk, so a steady writer allocates
 * nothing); at the end of the group the batch is sorted and every touched
 * cell is read, added to and written once, in the group's transaction,
 * and not written at all when the group raised none of its registers
 * (usual for a busy day's dense sketch, whose 16 KiB would otherwise be
 * copied by every commit).
 * Deferred (riders.h): the notes of committed groups are held in a second
 * batch and written with a later group's; room for a group's notes is
 * reserved inside its transaction, so that keeping them after the commit
 * cannot fail.
 * st_check uses the same batch to recompute the sketches from the log,
 * compacting it (sort, drop repeats) whenever it fills, so its memory
 * follows the distinct riders, not the taps.
 */
#include "storage/riders.h"

#include <stdlib.h>
#include <time.h>

#include "firmware-proto/frame.h"
#include "storage/db_internal.h"
#include "storage/log.h"

#define BATCH_INITIAL 1024

void st_riders_key(uint8_t out[ST_RIDERS_KEY_SIZE], uint32_t date, uint32_t route)
{
	kp_store_u32be(out, date);
	kp_store_u32be(out + 4, route);
}

void st_riders_batch_clear(struct st_riders_batch *b)
{
	b->n = 0;
}

void st_riders_batch_free(struct st_riders_batch *b)
{
	free(b->a);
	*b = (struct st_riders_batch){0};
}

static int note_cmp(const void *x, const void *y)
{
	const struct st_riders_note *a = x, *b = y;

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	if (a->route != b->route)
		return a->route < b->route ? -1 : 1;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return 0;
}

void st_riders_batch_sort(struct st_riders_batch *b)
{
	size_t out = 0;

	if (b->n == 0)
		return;
	qsort(b->a, b->n, sizeof *b->a, note_cmp);
	for (size_t i = 1; i < b->n; i++)
		if (note_cmp(&b->a[out], &b->a[i]) != 0)
			b->a[++out] = b->a[i];
	b->n = out + 1;
}

static int batch_push(struct st_riders_batch *b, uint32_t date, uint32_t route, uint64_t hash)
{
	if (b->n == b->cap)
		st_riders_batch_sort(b);
	if (b->n >= b->cap / 2 && b->n == b->cap) {
		size_t next = b->cap ? b->cap * 2 : BATCH_INITIAL;
		struct st_riders_note *p = realloc(b->a, next * sizeof *p);

		if (!p)
			return ST_EIO;
		b->a = p;
		b->cap = next;
	}
	b->a[b->n++] = (struct st_riders_note){date, route, hash};
	return ST_OK;
}

int st_riders_batch_note(struct st_riders_batch *b, uint32_t date, uint32_t route,
                         const uint8_t pseudonym[ST_PSEUDONYM_SIZE])
{
	uint64_t hash = kp_load_u64le(pseudonym);
	int rc = ST_OK;

	if (route != ST_RIDERS_ALL)
		rc = batch_push(b, date, route, hash);
	if (rc == ST_OK)
		rc = batch_push(b, date, ST_RIDERS_ALL, hash);
	return rc;
}

size_t st_riders_batch_cell(const struct st_riders_batch *b, size_t i, struct st_hll *h, int *changed)
{
	const struct st_riders_note *first = &b->a[i];
	int any = 0;

	for (; i < b->n && b->a[i].date == first->date && b->a[i].route == first->route; i++)
		any |= st_hll_add(h, b->a[i].hash);
	if (changed)
		*changed = any;
	return i;
}

int st_riders_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_riders_batch *b, struct st_hll *work,
                          uint8_t bytes[ST_HLL_SERIALIZED_MAX])
{
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	size_t i = 0, len;
	int rc = ST_OK, stored, changed;

	st_riders_batch_sort(b);
	while (i < b->n && rc == ST_OK) {
		st_riders_key(kb, b->a[i].date, b->a[i].route);
		rc = st_status(mdb_get(txn, dbi, &k, &v));
		stored = rc == ST_OK;
		if (rc == ST_OK && st_hll_parse(v.mv_data, v.mv_size, work) != 0)
			rc = ST_ECORRUPT;
		else if (rc == ST_ENOTFOUND) {
			st_hll_clear(work);
			rc = ST_OK;
		}
		if (rc != ST_OK)
			break;
		i = st_riders_batch_cell(b, i, work, &changed);
		if (stored && !changed)
			continue; /* a busy day's dense sketch: most groups raise no register */
		if (st_hll_serialize(work, bytes, ST_HLL_SERIALIZED_MAX, &len) != 0)
			return ST_EINVAL; /* cannot happen: the buffer always suffices */
		v = (MDB_val){len, bytes};
		rc = st_status(mdb_put(txn, dbi, &k, &v, 0));
	}
	st_riders_batch_clear(b);
	return rc;
}

int st_riders_sketch_get(struct st_read *r, uint32_t date, uint32_t route, uint8_t *buf, size_t cap,
                         size_t *len)
{
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	if (!r || !r->txn || !buf || !len)
		return ST_EINVAL;
	st_riders_key(kb, date, route);
	rc = st_status(mdb_get(r->txn, r->db->dbi.riders, &k, &v));
	if (rc != ST_OK)
		return rc;
	if (v.mv_size > cap)
		return ST_EINVAL;
	memcpy(buf, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return ST_OK;
}

static int estimate_of(const void *bytes, size_t len, double *estimate)
{
	struct st_hll *h = malloc(sizeof *h);
	int rc = ST_OK;

	if (!h)
		return ST_EIO;
	if (st_hll_parse(bytes, len, h) != 0)
		rc = ST_ECORRUPT;
	else
		*estimate = st_hll_estimate(h);
	free(h);
	return rc;
}

int st_riders_estimate(struct st_read *r, uint32_t date, uint32_t route, double *estimate)
{
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int rc;

	if (!r || !r->txn || !estimate)
		return ST_EINVAL;
	st_riders_key(kb, date, route);
	rc = st_status(mdb_get(r->txn, r->db->dbi.riders, &k, &v));
	if (rc == ST_ENOTFOUND) {
		*estimate = 0;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	return estimate_of(v.mv_data, v.mv_size, estimate);
}

int st_riders_merge_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                          size_t cap, size_t *len)
{
	struct st_hll *h;
	int rc = ST_OK;

	if (!a || !b || !out || !len)
		return ST_EINVAL;
	h = malloc(sizeof *h);
	if (!h)
		return ST_EIO;
	if (st_hll_parse(a, a_len, h) != 0 || st_hll_merge_bytes(h, b, b_len) != 0)
		rc = ST_ECORRUPT;
	else if (st_hll_serialize(h, out, cap, len) != 0)
		rc = ST_EINVAL;
	free(h);
	return rc;
}

struct riders_visit {
	uint32_t date_to;
	int (*fn)(void *ctx, uint32_t date, uint32_t route, double estimate);
	void *ctx;
};

static int visit_cell(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val)
{
	const struct riders_visit *rv = ctx;
	uint32_t date;
	double e = 0;
	int rc;

	(void)cur;
	if (key->mv_size != ST_RIDERS_KEY_SIZE)
		return ST_ECORRUPT;
	date = kp_load_u32be(key->mv_data);
	if (date > rv->date_to)
		return ST_WALK_DONE;
	rc = estimate_of(val->mv_data, val->mv_size, &e);
	if (rc != ST_OK)
		return rc;
	return rv->fn(rv->ctx, date, kp_load_u32be((const uint8_t *)key->mv_data + 4), e) != 0 ? ST_ESTOP : ST_OK;
}

int st_riders_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                      int (*fn)(void *ctx, uint32_t date, uint32_t route, double estimate), void *ctx)
{
	struct riders_visit rv = {date_to, fn, ctx};
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val from = {sizeof kb, kb};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	st_riders_key(kb, date_from, 0);
	return st_walk(r->txn, r->db->dbi.riders, &from, visit_cell, &rv);
}

/* ---- Deferred sketches (riders.h) ---- */

#define RIDERS_MARK_KEY "riders_through"
/* Notes held at most (16 bytes each) before they are written whatever
 * their age. Small, because a write sorts them all: at 65,536 the commit
 * that wrote them took 6-16 ms, at 4096 under 3 ms (docs/PERFORMANCE.md). */
#define RIDERS_PENDING_MAX 4096

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int st_riders_mark_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq)
{
	MDB_val k = {sizeof RIDERS_MARK_KEY - 1, (void *)RIDERS_MARK_KEY}, v;
	int rc = st_status(mdb_get(txn, meta, &k, &v));

	if (rc == ST_ENOTFOUND) {
		*seq = UINT64_MAX;
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != 8)
		return ST_ECORRUPT;
	*seq = kp_load_u64be(v.mv_data);
	return ST_OK;
}

static int mark_put(MDB_txn *txn, MDB_dbi meta, uint64_t seq)
{
	uint8_t b[8];
	MDB_val k = {sizeof RIDERS_MARK_KEY - 1, (void *)RIDERS_MARK_KEY}, v = {sizeof b, b};

	kp_store_u64be(b, seq);
	return st_status(mdb_put(txn, meta, &k, &v, 0));
}

/* Room for n notes, so that adding them later cannot fail. */
static int reserve(struct st_riders_batch *b, size_t n)
{
	if (n <= b->cap)
		return ST_OK;
	size_t next = b->cap ? b->cap : BATCH_INITIAL;
	while (next < n)
		next *= 2;
	struct st_riders_note *p = realloc(b->a, next * sizeof *p);
	if (!p)
		return ST_EIO;
	b->a = p;
	b->cap = next;
	return ST_OK;
}

/* Whether the group's transaction writes the sketches: always without
 * deferral; with it when nothing is held (the mark alone moves), when the
 * oldest held note is riders_defer_ms old, or when too many are held. */
static int flush_due(const struct st_db *db, size_t group_notes)
{
	const struct st_riders_batch *p = &db->riders_pending;

	if (db->opts.riders_defer_ms == 0 || p->n + group_notes == 0 || p->n + group_notes >= RIDERS_PENDING_MAX)
		return 1;
	return p->n > 0 && mono_ms() - db->riders_pending_since >= db->opts.riders_defer_ms;
}

/* The held notes and the group's (db->riders) written, and the mark. */
static int write_all(struct st_db *db, MDB_txn *txn, uint64_t last_seq)
{
	const struct st_riders_batch *p = &db->riders_pending;
	int rc = reserve(&db->riders, db->riders.n + p->n);

	for (size_t i = 0; i < p->n && rc == ST_OK; i++)
		db->riders.a[db->riders.n++] = p->a[i];
	if (rc == ST_OK)
		rc = st_riders_batch_flush(txn, db->dbi.riders, &db->riders, &db->riders_hll, db->riders_bytes);
	if (rc == ST_OK)
		rc = mark_put(txn, db->dbi.meta, last_seq);
	return rc;
}

int st_riders_group_flush(struct st_db *db, MDB_txn *txn, uint64_t seq_before, uint64_t last_seq, int *flushed)
{
	*flushed = 0;
	if (flush_due(db, db->riders.n)) {
		int rc = write_all(db, txn, last_seq);
		*flushed = rc == ST_OK;
		return rc;
	}
	/* Held: a database never marked gets its mark now, before the first
	 * taps it does not hold, so that st_check and a later open know. */
	int rc = db->riders_marked ? ST_OK : mark_put(txn, db->dbi.meta, seq_before);
	return rc == ST_OK ? reserve(&db->riders_pending, db->riders_pending.n + db->riders.n) : rc;
}

int st_riders_group_done(struct st_db *db, int flushed)
{
	struct st_riders_batch *p = &db->riders_pending;

	db->riders_marked = 1; /* the group's transaction wrote the mark, or it was there */
	if (flushed) {
		st_riders_batch_clear(p);
		db->riders_pending_since = 0;
		return ST_OK;
	}
	if (db->riders.n == 0)
		return ST_OK;
	if (p->n + db->riders.n > p->cap)
		return ST_EINVAL; /* cannot happen: st_riders_group_flush reserved the room */
	if (p->n == 0)
		db->riders_pending_since = mono_ms();
	for (size_t i = 0; i < db->riders.n; i++)
		p->a[p->n++] = db->riders.a[i];
	return ST_OK;
}

int64_t st_riders_due_ms(const struct st_db *db)
{
	if (db->opts.riders_defer_ms == 0 || db->riders_pending.n == 0)
		return 0;
	return db->riders_pending_since + db->opts.riders_defer_ms;
}

static int sync_run(void *ctx, MDB_txn *txn)
{
	struct st_db *db = ctx;
	uint64_t last;
	int rc = st_log_last(txn, db->dbi.log, &last);

	st_riders_batch_clear(&db->riders);
	return rc == ST_OK ? write_all(db, txn, last) : rc;
}

int st_riders_sync(struct st_db *db)
{
	if (db->opts.read_only)
		return ST_EINVAL;
	if (db->riders_pending.n == 0)
		return ST_OK;
	int rc = st_write_run(db, sync_run, db, NULL);
	if (rc == ST_OK)
		return st_riders_group_done(db, 1);
	db->riders_pending_since = mono_ms(); /* due again one deferral later, not at once */
	return rc;
}

/* st_log_foreach: the accepted taps of a TAPS entry into the held notes. */
static int replay_entry(void *ctx, const struct st_log_entry *e)
{
	struct st_db *db = ctx;
	struct kp_header h;
	struct kp_tap t;
	struct st_tap_agg_key k;
	struct st_tap_agg_val v;
	int rc = ST_OK;

	if (kp_frame_decode(e->frame, e->frame_len, &h) != KP_OK || h.type != KP_TYPE_TAPS)
		return 0; /* st_check names a frame that does not decode; counts have no riders */
	for (uint16_t i = 0; i < h.count && rc == ST_OK; i++) {
		kp_frame_get_tap(e->frame, i, &t);
		if (st_tap_agg_of(&t, db->zone, db->opts.service_day_start_hour, &k, &v) == 0 && v.accepted != 0)
			rc = st_riders_batch_note(&db->riders_pending, k.service_date, k.route_id, t.card_token);
	}
	return rc == ST_OK ? 0 : 1;
}

int st_riders_replay(struct st_db *db)
{
	struct st_read r;
	uint64_t mark;
	int rc = st_read_begin(db, &r);

	if (rc != ST_OK)
		return rc;
	rc = st_riders_mark_get(r.txn, db->dbi.meta, &mark);
	db->riders_marked = rc == ST_OK && mark != UINT64_MAX;
	if (rc == ST_OK && mark != UINT64_MAX) {
		rc = st_log_foreach(&r, mark + 1, replay_entry, db);
		if (rc == ST_ESTOP)
			rc = ST_EIO; /* out of memory */
	}
	st_read_end(&r);
	/* Due at once: they are older than any deferral. */
	if (rc == ST_OK && db->riders_pending.n > 0)
		db->riders_pending_since = mono_ms() - db->opts.riders_defer_ms;
	return rc;
}
