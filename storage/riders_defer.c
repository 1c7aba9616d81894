/*
 * riders_defer.c — the distinct-rider sketches kept in memory and written
 * behind the taps (riders.h, "Deferred").
 *
 * Why it is built this way: a sketch is up to 16 KiB, and a commit group
 * of a few frames touches every route's and the date's. Reading, parsing
 * and rewriting them per group was half of what a small commit wrote;
 * holding the notes and writing them every few hundred milliseconds made
 * one commit in ten twice as slow as the rest (the notes were sorted and every
 * sketch parsed and rewritten at once). So each touched (date, route) has a
 * cell here: the sketch as it now is, whether and since when it holds taps
 * the stored copy does not ("dirty"), and since which log sequence.
 *
 * The taps come from the transactions that derive frames (derive.c): a
 * commit group in step, or a run behind the log. So a commit group of a
 * deferring writer touches no sketch at all, and the cells are only ever
 * touched under the derive lock (readers' threads derive too).
 *
 *  - A run's notes go into its cells only after its commit (an aborted
 *    or failed run must not reach a sketch); the cells they need are
 *    loaded inside the run's transaction, where a failure still fails
 *    the run, so applying them afterwards cannot fail.
 *  - A run's transaction writes the dirty cells that are due (dirty for
 *    riders_defer_ms), the oldest first and at most RIDERS_WRITES_PER_RUN,
 *    each with the run's own notes added: the cost is spread over the
 *    runs instead of falling on one. With riders_defer_ms 0 it writes
 *    every cell it touches and every dirty one: the sketches move with
 *    the derived trees, as without deferral.
 *  - The mark (meta "riders_through") is the last log sequence whose taps
 *    every stored sketch holds, never past the derived trees' mark: below
 *    the first dirty sequence of every cell left unwritten and below the
 *    run's first frame when a cell it touched is left unwritten. It is
 *    written when it changes.
 *  - Cells are evicted only when clean and only between runs' writes,
 *    least recently used first, down to RIDERS_CACHE_CELLS; past that the
 *    run writes every dirty cell, so the next one can evict them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "storage/db_internal.h"
#include "storage/grow.h"
#include "storage/log.h"
#include "storage/riders.h"

#define RIDERS_MARK_KEY "riders_through"
/* Due cells a run writes at most: four 16 KiB sketches, about what one
 * 32-tap frame writes otherwise. */
#define RIDERS_WRITES_PER_RUN 4
/* Cells kept in memory (32 KiB each) when clean: a city's routes and its
 * total, of two service dates (around the day's change); more are kept
 * while dirty, and written by the group that finds them. */
#define RIDERS_CACHE_CELLS 256

int st_riders_mark_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq)
{
	return st_meta_mark_get(txn, meta, RIDERS_MARK_KEY, seq);
}

int st_riders_mark_put(MDB_txn *txn, MDB_dbi meta, uint64_t seq)
{
	return st_meta_mark_put(txn, meta, RIDERS_MARK_KEY, seq);
}

/* ---- the cells ---- */

/* Two remembered cells: a tap's notes alternate between its route's and
 * its date's. */
static struct st_riders_cell *cell_find(struct st_riders_cache *c, uint32_t date, uint32_t route)
{
	size_t i;

	for (int m = 0; m < 2; m++) {
		i = c->last[m];
		if (i < c->n && c->a[i].date == date && c->a[i].route == route)
			goto found;
	}
	for (i = 0; i < c->n; i++)
		if (c->a[i].date == date && c->a[i].route == route)
			goto found;
	return NULL;
found:
	if (c->last[0] != i) {
		c->last[1] = c->last[0];
		c->last[0] = i;
	}
	return &c->a[i];
}

/* The cell of (date, route), read from txn when it is not held yet. */
static int cell_get(struct st_db *db, MDB_txn *txn, uint32_t date, uint32_t route, struct st_riders_cell **out)
{
	struct st_riders_cache *c = &db->riders_cache;
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	struct st_hll *h;
	int rc;

	if ((*out = cell_find(c, date, route)) != NULL)
		return ST_OK;
	if (c->n == c->cap && st_grow((void **)&c->a, &c->cap, 16, sizeof *c->a) != ST_OK)
		return ST_EIO;
	if (!(h = malloc(sizeof *h)))
		return ST_EIO;
	st_riders_key(kb, date, route);
	rc = st_status(mdb_get(txn, db->dbi.riders, &k, &v));
	if (rc == ST_OK && st_hll_parse(v.mv_data, v.mv_size, h) != 0)
		rc = ST_ECORRUPT;
	else if (rc == ST_ENOTFOUND) {
		st_hll_clear(h);
		rc = ST_OK;
	}
	if (rc != ST_OK) {
		free(h);
		return rc;
	}
	c->a[c->n] = (struct st_riders_cell){.date = date, .route = route, .h = h};
	c->last[1] = c->last[0];
	c->last[0] = c->n;
	*out = &c->a[c->n++];
	return ST_OK;
}

/* Adds hash to the cell; a clean cell that changes is dirty from seq on. */
static void cell_add(struct st_riders_cell *cell, uint64_t hash, uint64_t seq, int64_t since)
{
	if (st_hll_add(cell->h, hash) && cell->dirty_from == 0) {
		cell->dirty_from = seq;
		cell->dirty_since = since;
	}
}

/* Clean cells dropped, least recently used first, down to the limit. */
static void evict(struct st_riders_cache *c)
{
	while (c->n > RIDERS_CACHE_CELLS) {
		size_t lru = c->n;

		for (size_t i = 0; i < c->n; i++)
			if (c->a[i].dirty_from == 0 && (lru == c->n || c->a[i].used < c->a[lru].used))
				lru = i;
		if (lru == c->n)
			return; /* all dirty: this group writes them */
		free(c->a[lru].h);
		c->a[lru] = c->a[--c->n];
	}
	c->last[0] = c->last[1] = 0;
}

void st_riders_cache_free(struct st_riders_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->a[i].h);
	free(c->a);
	free(c->note_cell);
	free(c->note_next);
	*c = (struct st_riders_cache){0};
}

/* ---- a group's transaction ---- */

/* The cell's sketch with the group's notes for it, written unless the
 * stored copy holds it already. */
static int cell_write(struct st_db *db, MDB_txn *txn, struct st_riders_cell *cell)
{
	const struct st_riders_cache *c = &db->riders_cache;
	const struct st_riders_batch *b = &db->riders;
	uint8_t kb[ST_RIDERS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	const struct st_hll *h = cell->h;
	size_t len;
	int changed = 0;

	cell->write = 1;
	if (cell->notes != 0) {
		db->riders_hll = *cell->h;
		for (size_t i = cell->notes; i != 0; i = c->note_next[i - 1])
			changed |= st_hll_add(&db->riders_hll, b->a[i - 1].hash);
		h = &db->riders_hll;
	}
	if (!changed && cell->dirty_from == 0)
		return ST_OK; /* the stored copy is the same (a busy day's dense sketch, often) */
	if (st_hll_serialize(h, db->riders_bytes, sizeof db->riders_bytes, &len) != 0)
		return ST_EINVAL; /* cannot happen: the buffer always suffices */
	st_riders_key(kb, cell->date, cell->route);
	v = (MDB_val){len, db->riders_bytes};
	return st_status(mdb_put(txn, db->dbi.riders, &k, &v, 0));
}

/* Room for the cell of each of n notes and the list of each cell's. */
static int reserve_links(struct st_riders_cache *c, size_t n)
{
	if (n <= c->links)
		return ST_OK;
	uint32_t *cell = realloc(c->note_cell, n * sizeof *cell);
	if (!cell)
		return ST_EIO;
	c->note_cell = cell;
	uint32_t *next = realloc(c->note_next, n * sizeof *next);
	if (!next)
		return ST_EIO;
	c->note_next = next;
	c->links = n;
	return ST_OK;
}

/* The group's cells held (loaded inside its transaction), each with the
 * list of its notes (cell->notes, note_next: 1 + index, 0 ends), each note
 * with its cell (note_cell). No sort: a group of a hundred 32-tap frames
 * has 6400 notes, and sorting them was a tenth of its commit's CPU. */
static int load_touched(struct st_db *db, MDB_txn *txn)
{
	struct st_riders_cache *c = &db->riders_cache;
	const struct st_riders_batch *b = &db->riders;
	struct st_riders_cell *cell;
	int rc = reserve_links(c, b->n);

	for (size_t i = 0; i < b->n && rc == ST_OK; i++) {
		rc = cell_get(db, txn, b->a[i].date, b->a[i].route, &cell);
		if (rc != ST_OK)
			break;
		c->note_cell[i] = (uint32_t)(cell - c->a);
		c->note_next[i] = (uint32_t)cell->notes;
		cell->notes = i + 1;
		cell->used = c->groups;
	}
	return rc;
}

/* The oldest dirty cell not written yet in this transaction; NULL: none. */
static struct st_riders_cell *oldest_dirty(struct st_riders_cache *c)
{
	struct st_riders_cell *oldest = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (!c->a[i].write && c->a[i].dirty_from != 0 && (!oldest || c->a[i].dirty_since < oldest->dirty_since))
			oldest = &c->a[i];
	return oldest;
}

/* Without deferral, or with too many cells held, every dirty or touched
 * cell; else the due ones, oldest first, at most RIDERS_WRITES_PER_RUN
 * (the oldest not due means none is). */
static int write_due(struct st_db *db, MDB_txn *txn)
{
	struct st_riders_cache *c = &db->riders_cache;
	struct st_riders_cell *cell;
	int64_t now = st_mono_ms();
	int rc = ST_OK;

	if (db->opts.riders_defer_ms == 0 || c->n > RIDERS_CACHE_CELLS) {
		for (size_t i = 0; i < c->n && rc == ST_OK; i++)
			if (c->a[i].dirty_from != 0 || c->a[i].notes != 0)
				rc = cell_write(db, txn, &c->a[i]);
		return rc;
	}
	for (unsigned written = 0; rc == ST_OK && written < RIDERS_WRITES_PER_RUN; written++) {
		cell = oldest_dirty(c);
		if (!cell || now - cell->dirty_since < db->opts.riders_defer_ms)
			break;
		rc = cell_write(db, txn, cell);
	}
	return rc;
}

/* The last sequence every stored sketch holds once the group commits. */
static uint64_t mark_after(const struct st_db *db, uint64_t seq_before, uint64_t last_seq)
{
	const struct st_riders_cache *c = &db->riders_cache;
	uint64_t mark = last_seq;

	for (size_t i = 0; i < c->n; i++) {
		const struct st_riders_cell *cell = &c->a[i];

		if (cell->write)
			continue;
		if (cell->dirty_from != 0 && cell->dirty_from - 1 < mark)
			mark = cell->dirty_from - 1;
		if (cell->notes != 0 && seq_before < mark)
			mark = seq_before;
	}
	return mark;
}

int st_riders_group_flush(struct st_db *db, MDB_txn *txn, uint64_t seq_before, uint64_t last_seq)
{
	struct st_riders_cache *c = &db->riders_cache;
	int rc;

	c->pending = 0;
	for (size_t i = 0; i < c->n; i++)
		c->a[i].write = 0, c->a[i].notes = 0;
	c->groups++;
	evict(c);
	rc = load_touched(db, txn);
	if (rc == ST_OK)
		rc = write_due(db, txn);
	if (rc != ST_OK)
		return rc;
	c->first_seq = seq_before + 1;
	c->through_next = last_seq;
	c->mark_next = mark_after(db, seq_before, last_seq);
	if (!db->riders_marked || c->mark_next != c->mark)
		rc = st_riders_mark_put(txn, db->dbi.meta, c->mark_next);
	c->pending = rc == ST_OK;
	return rc;
}

/* Whether the stored mark is behind what the cells hold while none is
 * dirty: a run whose taps its sketches held already, and which left a
 * touched cell unwritten, kept the mark where it was. */
static int mark_behind(const struct st_db *db)
{
	const struct st_riders_cache *c = &db->riders_cache;

	return db->riders_marked && c->mark < c->through;
}

/* The first held cell's due time, for the writer (st_riders_due_ms), which
 * must not walk the cells while a reader's thread derives; a mark left
 * behind is due a deferral later, so that it is written, alone if need be. */
static void due_refresh(struct st_db *db)
{
	struct st_riders_cache *c = &db->riders_cache;
	int64_t first = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->a[i].dirty_from != 0 && (first == 0 || c->a[i].dirty_since < first))
			first = c->a[i].dirty_since;
	if (first == 0 && mark_behind(db))
		first = st_mono_ms();
	atomic_store(&c->due_ms, first == 0 || db->opts.riders_defer_ms == 0 ? 0 : first + db->opts.riders_defer_ms);
}

int st_riders_group_done(struct st_db *db)
{
	struct st_riders_cache *c = &db->riders_cache;
	const struct st_riders_batch *b = &db->riders;
	int64_t now = st_mono_ms();

	if (!c->pending)
		return ST_OK;
	c->pending = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->a[i].write)
			c->a[i].dirty_from = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct st_riders_cell *cell = &c->a[c->note_cell[i]];

		if (cell->write)
			st_hll_add(cell->h, b->a[i].hash); /* its stored copy has them */
		else
			cell_add(cell, b->a[i].hash, c->first_seq, now);
	}
	db->riders_marked = 1;
	c->mark = c->mark_next;
	c->through = c->through_next;
	due_refresh(db);
	return ST_OK;
}

int64_t st_riders_due_ms(const struct st_db *db)
{
	return atomic_load(&db->riders_cache.due_ms);
}

int st_riders_behind(struct st_read *r, uint64_t *through, uint64_t *last)
{
	int rc = st_log_last_seq(r, last);

	if (rc == ST_OK)
		rc = st_riders_mark_get(r->txn, r->db->dbi.meta, through);
	if (rc == ST_OK && *through > *last)
		*through = *last; /* no mark: written in step */
	return rc;
}

/* ---- between groups ---- */

struct sync {
	struct st_db *db;
	unsigned max;
};

static int sync_run(void *ctx, MDB_txn *txn)
{
	struct sync *sy = ctx;
	struct st_db *db = sy->db;
	struct st_riders_cache *c = &db->riders_cache;
	struct st_riders_cell *cell;
	uint64_t last;
	int rc = st_derive_through(db, txn, &last); /* the cells hold every derived frame's taps */

	c->pending = 0;
	st_riders_batch_clear(&db->riders);
	for (size_t i = 0; i < c->n; i++)
		c->a[i].write = 0, c->a[i].notes = 0;
	for (unsigned written = 0; rc == ST_OK && (sy->max == 0 || written < sy->max) && (cell = oldest_dirty(c));
	     written++)
		rc = cell_write(db, txn, cell);
	if (rc != ST_OK)
		return rc;
	c->through_next = last;
	c->mark_next = mark_after(db, last, last);
	if (!db->riders_marked || c->mark_next != c->mark)
		rc = st_riders_mark_put(txn, db->dbi.meta, c->mark_next);
	c->pending = rc == ST_OK;
	return rc;
}

int st_riders_sync(struct st_db *db, unsigned max)
{
	struct st_riders_cache *c = &db->riders_cache;
	struct sync sy = {db, max};
	int64_t now = st_mono_ms();
	int rc;

	if (db->opts.read_only)
		return ST_EINVAL;
	size_t dirty = 0;

	pthread_mutex_lock(&db->derive.lock);
	for (size_t i = 0; i < c->n; i++)
		dirty += c->a[i].dirty_from != 0;
	int run = dirty != 0 || mark_behind(db);

	rc = run ? st_write_run(db, sync_run, &sy, NULL) : ST_OK;
	if (rc == ST_OK && run)
		rc = st_riders_group_done(db);
	else if (rc != ST_OK) {
		for (size_t i = 0; i < c->n; i++)
			if (c->a[i].dirty_from != 0)
				c->a[i].dirty_since = now; /* due again one deferral later, not at once */
		due_refresh(db);
	}
	pthread_mutex_unlock(&db->derive.lock);
	return rc;
}

/* ---- at a read-write open ---- */

struct replay {
	struct st_db *db;
	MDB_txn *txn;
	uint64_t from;
	int64_t since;
	int rc;
};

/* st_log_foreach: the accepted taps of a TAPS entry into their cells. */
static int replay_entry(void *ctx, const struct st_log_entry *e)
{
	struct replay *rp = ctx;
	struct st_db *db = rp->db;
	struct kp_header h;
	struct kp_tap t;
	struct st_tap_agg_key k;
	struct st_tap_agg_val v;
	struct st_riders_cell *cell;

	if (kp_frame_decode(e->frame, e->frame_len, &h) != KP_OK || h.type != KP_TYPE_TAPS)
		return 0; /* st_check names a frame that does not decode; counts have no riders */
	for (uint16_t i = 0; i < h.count && rp->rc == ST_OK; i++) {
		kp_frame_get_tap(e->frame, i, &t);
		if (st_tap_agg_of(&t, db->zone, db->opts.service_day_start_hour, &k, &v) != 0 || v.accepted == 0)
			continue;
		uint64_t hash = kp_load_u64le(t.card_token);

		if (k.route_id != ST_RIDERS_ALL && (rp->rc = cell_get(db, rp->txn, k.service_date, k.route_id, &cell)) == ST_OK)
			cell_add(cell, hash, rp->from, rp->since);
		if (rp->rc == ST_OK && (rp->rc = cell_get(db, rp->txn, k.service_date, ST_RIDERS_ALL, &cell)) == ST_OK)
			cell_add(cell, hash, rp->from, rp->since);
	}
	return rp->rc == ST_OK ? 0 : 1;
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
	db->riders_cache.mark = mark;
	if (rc == ST_OK && mark != UINT64_MAX) {
		/* Due at once: they are older than any deferral. */
		struct replay rp = {db, r.txn, mark + 1, st_mono_ms() - db->opts.riders_defer_ms, ST_OK};

		rc = st_log_foreach(&r, mark + 1, replay_entry, &rp);
		if (rc == ST_ESTOP)
			rc = rp.rc;
	}
	st_read_end(&r);
	due_refresh(db);
	return rc;
}
