/*
 * derive.c — the derived trees computed from stored log entries (derive.h).
 *
 * Why it is built this way: a frame's cells, vehicle hour and position,
 * date index keys and traffic come from fields the log entry keeps as they
 * arrived, and its riders from the pseudonym the log keeps where the token
 * was, so one function serves the commit group in step, the writer's
 * deferred runs and the replay at open, and they cannot disagree. The
 * riders' sketches are held in memory and written later still
 * (riders_defer.c): a run notes its accepted taps, and they reach the
 * sketches once it commits. Within a run consecutive taps
 * of a frame in one cell are summed first, and the run's cells, positions,
 * traffic and date revisions are written once each at its end: a deferred
 * run of a few hundred frames writes each touched page once.
 */
#include "storage/derive.h"

#include <stdatomic.h>
#include <string.h>

#include "storage/chain.h"
#include "storage/date_frames.h"
#include "storage/db_internal.h"
#include "storage/service_day.h"

#define DERIVE_MARK_KEY "derived_through"

/* ---- one frame ---- */

/* Consecutive taps of one frame that count in the same cell. */
struct agg_run {
	int open;
	struct st_tap_agg_key k;
	struct st_tap_agg_val v;
};

struct frame {
	struct st_db *db;
	MDB_txn *txn;
	struct st_derive *d;
	struct agg_run run;
	struct st_vhour_run vrun;
};

static int same_cell(const struct st_tap_agg_key *a, const struct st_tap_agg_key *b)
{
	return a->service_date == b->service_date && a->hour == b->hour && a->route_id == b->route_id &&
	       a->stop_id == b->stop_id && a->fare_product == b->fare_product;
}

static int agg_run_flush(struct frame *f)
{
	int rc = ST_OK;

	if (f->run.open)
		rc = st_tap_agg_batch_add(&f->d->taps, &f->run.k, &f->run.v);
	if (f->run.open && rc == ST_OK)
		rc = st_date_batch_note(f->txn, f->db->dbi.date_rev, &f->d->revs, f->run.k.service_date);
	f->run.open = 0;
	return rc;
}

static int agg_run_add(struct frame *f, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	int rc;

	if (f->run.open && same_cell(&f->run.k, k)) {
		f->run.v.accepted += v->accepted;
		f->run.v.denied += v->denied;
		f->run.v.amount += v->amount;
		return ST_OK;
	}
	rc = agg_run_flush(f);
	if (rc != ST_OK)
		return rc;
	f->run = (struct agg_run){1, *k, *v};
	return ST_OK;
}

/* An accepted tap naming a vehicle counts in its vehicle's hour. */
static int note_vehicle_tap(struct frame *f, const struct kp_tap *t, const struct st_tap_agg_key *ak,
                            const struct st_tap_agg_val *av)
{
	struct st_vehicle_hour_key vk = {ak->service_date, ak->hour, ak->route_id, t->vehicle_id};
	uint64_t add[ST_VHOUR_VALUES] = {0};

	if (t->vehicle_id == 0 || av->accepted == 0)
		return ST_OK;
	add[ST_VHOUR_ACCEPTED] = av->accepted;
	return st_vhour_run_add(f->txn, f->db->dbi.vehicle_hours, &f->vrun, &vk, add);
}

static int derive_tap(struct frame *f, const uint8_t *frame, uint16_t i)
{
	const struct st_dbis *dbi = &f->db->dbi;
	struct kp_tap t;
	struct st_tap_agg_key ak;
	struct st_tap_agg_val av;
	int rc;

	kp_frame_get_tap(frame, i, &t);
	if (st_tap_agg_of(&t, f->db->zone, f->db->opts.service_day_start_hour, &ak, &av) != 0)
		return ST_EINVAL;
	rc = st_vpos_batch_note(f->txn, dbi->vehicle_pos, &f->d->vpos, t.vehicle_id, t.route_id, t.stop_id,
	                        t.tapped_at);
	if (rc == ST_OK && av.accepted != 0) /* the log keeps the pseudonym where the token was */
		rc = st_riders_batch_note(&f->db->riders, ak.service_date, ak.route_id, t.card_token);
	if (rc == ST_OK)
		rc = note_vehicle_tap(f, &t, &ak, &av);
	if (rc == ST_OK)
		rc = st_frame_dates_note(f->txn, dbi->date_frames, &f->d->dates, ak.service_date);
	if (rc == ST_OK)
		rc = agg_run_add(f, &ak, &av);
	return rc;
}

/* A door-cycle record naming a vehicle counts in its vehicle's hour. */
static int note_vehicle_count(struct frame *f, const struct kp_count *c)
{
	struct st_vehicle_hour_key vk = {0, 0, c->route_id, c->vehicle_id};
	uint64_t add[ST_VHOUR_VALUES] = {0};
	const int at = ST_VHOUR_SOURCE(ST_COUNT_SOURCE_SIGNED);
	struct st_when w;

	if (c->vehicle_id == 0 || c->kind != KP_COUNT_KIND_DOOR_CYCLE)
		return ST_OK;
	if (st_service_day(f->db->zone, c->observed_at, f->db->opts.service_day_start_hour, &w) != 0)
		return ST_EINVAL;
	vk.service_date = w.service_date;
	vk.hour = w.hour;
	add[at] = c->boardings;
	add[at + 1] = c->alightings;
	add[at + 2] = 1;
	return st_vhour_run_add(f->txn, f->db->dbi.vehicle_hours, &f->vrun, &vk, add);
}

/* Count record i into its count cell, its vehicle's hour and position. */
static int derive_count(struct frame *f, const uint8_t *frame, uint16_t i)
{
	const struct st_dbis *dbi = &f->db->dbi;
	const int start_hour = f->db->opts.service_day_start_hour;
	struct kp_count c;
	struct st_count_cell cell;
	uint32_t date;
	int rc;

	kp_frame_get_count(frame, i, &c);
	if (st_count_cell_of(&c, ST_COUNT_SOURCE_SIGNED, f->db->zone, start_hour, &cell) != 0)
		return ST_EINVAL;
	rc = st_count_cell_add(f->txn, dbi, &cell);
	if (rc == ST_OK)
		rc = st_date_batch_note(f->txn, dbi->date_rev, &f->d->revs, kp_load_u32be(cell.key));
	if (rc == ST_OK)
		rc = st_vpos_batch_note(f->txn, dbi->vehicle_pos, &f->d->vpos, c.vehicle_id, c.route_id, c.stop_id,
		                        c.observed_at);
	if (rc == ST_OK)
		rc = note_vehicle_count(f, &c);
	if (rc == ST_OK && st_date_frames_of(frame, KP_TYPE_COUNTS, i, f->db->zone, start_hour, &date))
		rc = st_frame_dates_note(f->txn, dbi->date_frames, &f->d->dates, date);
	return rc;
}

int st_derive_frame(struct st_db *db, MDB_txn *txn, uint64_t seq, const uint8_t *frame, size_t len,
                    int64_t received_at, uint16_t *records)
{
	struct frame f = {.db = db, .txn = txn, .d = &db->derive};
	struct kp_header h;
	int rc = ST_OK;

	if (kp_frame_decode(frame, len, &h) != KP_OK || (h.type != KP_TYPE_TAPS && h.type != KP_TYPE_COUNTS))
		return ST_ECORRUPT;
	*records = h.count;
	st_frame_dates_begin(&f.d->dates, h.type, seq);
	for (uint16_t i = 0; i < h.count && rc == ST_OK; i++)
		rc = h.type == KP_TYPE_TAPS ? derive_tap(&f, frame, i) : derive_count(&f, frame, i);
	if (rc == ST_OK)
		rc = agg_run_flush(&f);
	if (rc == ST_OK)
		rc = st_vhour_run_flush(txn, db->dbi.vehicle_hours, &f.vrun);
	if (rc == ST_OK)
		rc = st_frame_dates_flush(txn, db->dbi.date_frames, &f.d->dates);
	if (rc == ST_OK)
		rc = st_dstats_batch_note(&f.d->dstats, h.device_id, h.batch_seq, received_at, h.sent_at);
	if (rc == ST_OK)
		rc = st_watermark_settle(txn, db->dbi.once, db->dbi.watermark, h.device_id);
	return rc;
}

/* ---- a run of frames ---- */

void st_derive_begin(struct st_db *db)
{
	struct st_derive *d = &db->derive;

	st_riders_batch_clear(&db->riders);
	st_vpos_batch_clear(&d->vpos);
	st_tap_agg_batch_clear(&d->taps);
	st_dstats_batch_clear(&d->dstats);
	st_date_batch_clear(&d->revs);
}

int st_derive_end(struct st_db *db, MDB_txn *txn)
{
	struct st_derive *d = &db->derive;
	int rc = st_tap_agg_batch_flush(txn, db->dbi.tap_agg, &d->taps);

	if (rc == ST_OK)
		rc = st_vpos_batch_flush(txn, db->dbi.vehicle_pos, &d->vpos);
	if (rc == ST_OK)
		rc = st_dstats_batch_flush(txn, db->dbi.device_stats, &d->dstats);
	if (rc == ST_OK)
		rc = st_date_batch_flush(txn, db->dbi.date_rev, &d->revs);
	return rc;
}

/* ---- the mark ---- */

int st_derive_mark_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq)
{
	return st_meta_mark_get(txn, meta, DERIVE_MARK_KEY, seq);
}

static int mark_put(MDB_txn *txn, MDB_dbi meta, uint64_t seq)
{
	return st_meta_mark_put(txn, meta, DERIVE_MARK_KEY, seq);
}

/* Deferred: the first group of a database without a mark records where
 * the derived trees end (they were in step through seq_before), and so
 * where the riders' sketches end when they had no mark either: they follow
 * the derived frames now (riders_defer.c). */
int st_derive_group_mark(struct st_db *db, MDB_txn *txn, uint64_t seq_before)
{
	uint64_t mark;
	int rc;

	if (db->derive.marked)
		return ST_OK;
	rc = st_derive_mark_get(txn, db->dbi.meta, &mark);
	if (rc == ST_OK && mark == UINT64_MAX)
		rc = mark_put(txn, db->dbi.meta, seq_before);
	if (rc == ST_OK)
		rc = st_riders_mark_get(txn, db->dbi.meta, &mark);
	if (rc == ST_OK && mark == UINT64_MAX)
		rc = st_riders_mark_put(txn, db->dbi.meta, seq_before);
	return rc;
}

void st_derive_group_done(struct st_db *db, uint64_t last_seq)
{
	struct st_derive *d = &db->derive;

	if (db->opts.derive_defer_ms == 0)
		return;
	d->marked = 1;
	if (d->committed <= atomic_load(&d->through))
		d->held_since = st_mono_ms();
	d->committed = last_seq;
}

int64_t st_derive_due_ms(const struct st_db *db)
{
	const struct st_derive *d = &db->derive;
	int64_t due = d->held_since + db->opts.derive_defer_ms;

	if (db->opts.derive_defer_ms == 0 || d->committed <= atomic_load(&d->through))
		return 0;
	return due > d->retry_at ? due : d->retry_at;
}

void st_derive_ran(struct st_db *db, int status)
{
	db->derive.retry_at = status == ST_OK ? 0 : st_mono_ms() + db->opts.derive_defer_ms;
}

int64_t st_derive_retry_ms(const struct st_db *db)
{
	return db->derive.retry_at;
}

uint64_t st_derive_held(const struct st_db *db)
{
	const struct st_derive *d = &db->derive;
	uint64_t through = atomic_load(&d->through);

	return db->opts.derive_defer_ms == 0 || d->committed <= through ? 0 : d->committed - through;
}

/* ---- deriving behind the log ---- */

struct run {
	struct st_db *db;
	unsigned max_records;
	uint64_t through, last, done, records;
	int marked; /* the database holds a mark */
	uint8_t head[ST_CHAIN_HEAD_SIZE]; /* the chain's head after `through` */
	uint64_t chained;                 /* the chain's last stored sequence */
};

/* The chain's head after entry seq (value v), stored; one that a komposter
 * chaining in its commit stored already must be the same. */
static int chain_entry(struct run *r, MDB_txn *txn, uint64_t seq, const MDB_val *v)
{
	uint8_t stored[ST_CHAIN_HEAD_SIZE];
	int rc;

	st_chain_next(r->head, v->mv_data, v->mv_size, r->head);
	if (seq > r->chained)
		return st_chain_put(txn, r->db->dbi.chain, seq, r->head);
	rc = st_chain_at(txn, r->db->dbi.chain, seq, stored);
	return rc == ST_ENOTFOUND || (rc == ST_OK && memcmp(stored, r->head, sizeof stored) != 0) ? ST_ECORRUPT : rc;
}

static int chain_behind(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct run *r = ctx;
	uint64_t seq = dec_intkey(k);

	if (seq > r->through)
		return ST_WALK_DONE;
	if (seq != r->chained + 1)
		return ST_ECORRUPT; /* the log has no gaps */
	int rc = chain_entry(r, mdb_cursor_txn(cur), seq, v);

	r->chained = seq;
	return rc;
}

/* r->head: the chain's head after r->through, where the run starts. The
 * chain may end past it (a komposter that chained in its commit) or, after
 * an older komposter derived without chaining, before it: then it is
 * chained up to it here. */
static int chain_start(struct run *r, MDB_txn *txn)
{
	const MDB_dbi chain = r->db->dbi.chain;
	uint64_t from;
	MDB_val k = {sizeof from, &from};
	int rc = st_chain_last(txn, chain, &r->chained, r->head);

	if (rc == ST_OK && r->chained >= r->through)
		rc = st_chain_at(txn, chain, r->through, r->head);
	if (rc == ST_ENOTFOUND)
		return ST_ECORRUPT; /* derived through it, so chained through it */
	if (rc != ST_OK || r->chained >= r->through)
		return rc;
	from = r->chained + 1;
	rc = st_walk(txn, r->db->dbi.log, &k, chain_behind, r);
	return rc == ST_OK && r->chained != r->through ? ST_ECORRUPT : rc;
}

static int run_entry(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct run *r = ctx;
	struct st_log_entry e;
	uint64_t seq = dec_intkey(k);
	uint16_t records;
	int rc;

	if (seq != r->through + 1)
		return ST_ECORRUPT; /* the log has no gaps */
	if (st_log_entry_parse(v->mv_data, v->mv_size, &e) != ST_OK)
		return ST_ECORRUPT;
	rc = chain_entry(r, mdb_cursor_txn(cur), seq, v);
	if (rc == ST_OK)
		rc = st_derive_frame(r->db, mdb_cursor_txn(cur), seq, e.frame, e.frame_len, e.received_at, &records);
	if (rc != ST_OK)
		return rc;
	r->through = seq;
	r->done++;
	r->records += records;
	return r->max_records != 0 && r->records >= r->max_records ? ST_WALK_DONE : ST_OK;
}

/* The frames after the mark (without one: after `base`, UINT64_MAX for
 * none), up to r->max_records, and the mark moved over them when there is one. */
static int derive_in(struct run *r, MDB_txn *txn, uint64_t base)
{
	struct st_db *db = r->db;
	uint64_t from;
	MDB_val k = {sizeof from, &from};
	uint64_t before;
	int rc;

	r->done = r->records = 0;
	db->riders_cache.pending = 0; /* a run that derives nothing applies no notes */
	rc = st_derive_mark_get(txn, db->dbi.meta, &r->through);
	if (rc == ST_OK)
		rc = st_log_last(txn, db->dbi.log, &r->last);
	if (rc != ST_OK)
		return rc;
	r->marked = r->through != UINT64_MAX;
	if (!r->marked)
		r->through = base == UINT64_MAX ? r->last : base;
	if (r->through >= r->last)
		return ST_OK;
	rc = chain_start(r, txn);
	if (rc != ST_OK)
		return rc;
	st_derive_begin(db);
	before = r->through;
	from = before + 1;
	rc = st_walk(txn, db->dbi.log, &k, run_entry, r);
	if (rc == ST_OK)
		rc = st_derive_end(db, txn);
	if (rc == ST_OK)
		rc = st_riders_group_flush(db, txn, before, r->through);
	if (rc == ST_OK && r->marked)
		rc = mark_put(txn, db->dbi.meta, r->through);
	return rc;
}

static int run_txn(void *ctx, MDB_txn *txn)
{
	return derive_in(ctx, txn, UINT64_MAX);
}

int st_derive_group(struct st_db *db, MDB_txn *txn, uint64_t seq_before)
{
	struct run r = {.db = db};

	return derive_in(&r, txn, seq_before);
}

static int derive_run(struct st_db *db, struct run *r)
{
	int rc;

	if (db->opts.read_only)
		return ST_EINVAL;
	pthread_mutex_lock(&db->derive.lock);
	rc = st_write_run(db, run_txn, r, NULL);
	if (rc == ST_OK)
		atomic_store(&db->derive.through, r->through);
	if (rc == ST_OK)
		rc = st_riders_group_done(db);
	pthread_mutex_unlock(&db->derive.lock);
	return rc;
}

int st_derive_run(struct st_db *db, unsigned max_records, uint64_t *done)
{
	struct run r = {.db = db, .max_records = max_records};
	int rc = derive_run(db, &r);

	if (done)
		*done = rc == ST_OK ? r.done : 0;
	return rc;
}

int st_derive_through(struct st_db *db, MDB_txn *txn, uint64_t *through)
{
	int rc = st_derive_mark_get(txn, db->dbi.meta, through);

	if (rc == ST_OK && *through == UINT64_MAX)
		rc = st_log_last(txn, db->dbi.log, through);
	return rc;
}

int st_derive_behind(struct st_read *r, uint64_t *through, uint64_t *last)
{
	int rc = st_derive_through(r->db, r->txn, through);

	return rc == ST_OK ? st_log_last(r->txn, r->db->dbi.log, last) : rc;
}

int st_derive_catch_up(struct st_db *db)
{
	struct st_read r;
	uint64_t through, last;
	int rc = st_read_begin(db, &r);

	if (rc != ST_OK)
		return rc;
	rc = st_derive_behind(&r, &through, &last);
	st_read_end(&r);
	if (rc != ST_OK || through >= last || db->opts.read_only)
		return rc;
	return st_derive_run(db, 0, NULL);
}

void st_derive_current(struct st_db *db)
{
	(void)st_derive_catch_up(db); /* derive.h: the writer reports a failure */
}

int st_read_current(struct st_read *r)
{
	struct st_db *db = r->db;
	uint64_t through, last;

	if (db->opts.read_only || st_derive_behind(r, &through, &last) != ST_OK || through >= last)
		return ST_OK;
	st_read_end(r);
	st_derive_current(db);
	return st_read_begin(db, r);
}

int st_derive_open(struct st_db *db)
{
	struct st_derive *d = &db->derive;
	struct run r = {.db = db};
	int rc;

	if (pthread_mutex_init(&d->lock, NULL) != 0)
		return ST_EIO;
	d->lock_ready = 1;
	if (db->opts.read_only)
		return ST_OK;
	rc = derive_run(db, &r);
	d->committed = atomic_load(&d->through);
	d->marked = r.marked;
	return rc;
}

void st_derive_close(struct st_db *db)
{
	struct st_derive *d = &db->derive;

	if (d->lock_ready)
		pthread_mutex_destroy(&d->lock);
	st_tap_agg_batch_free(&d->taps);
	st_dstats_batch_free(&d->dstats);
}
