/*
 * check.c — consistency check of a whole database.
 *
 * Why it is built this way: everything derived is recomputed from the log
 * alone and compared with what is stored, in one read transaction (one
 * snapshot, so a running daemon does not make the check lie):
 *  - the log is walked in order; sequences must run 1, 2, 3, …;
 *  - each stored chain head must equal BLAKE2b(stored previous head ‖
 *    entry), so an edited entry or head shows up at its own sequence; the
 *    heads are derived (derive.h): every entry up to the mark has one;
 *  - the (device, batch_seq, seq) of every entry is collected, sorted and
 *    merged against `once` in key order (both directions), and each
 *    watermark's stored base checked against the same sorted list (from
 *    the derived frames' watermark to the log's, once.c); so are each device's
 *    frames and highest batch_seq in device_stats (its rejects have no log
 *    behind them: only their record's decoding is checked);
 *  - taps are summed into cells (kept sorted and merged whenever the buffer
 *    fills, so memory follows the number of distinct cells, not of taps)
 *    and merged against `tap_agg` cell by cell; count records of COUNTS
 *    frames likewise against `door_agg` and `load_agg`. The three tables
 *    share one cell set type: an encoded key and three u64 counters.
 *    Door cells of source NVR are skipped: unsigned camera counts have no
 *    log entry to recount them from (nvr.h keeps the events, not a log).
 *    vehicle_hours is recounted in two parts, each a cell set of its own
 *    over the same table: the accepted taps and the signed counts; its NVR
 *    part is skipped for the same reason.
 *  - the distinct-rider sketches (riders.h) are rebuilt from the
 *    pseudonyms of the log's accepted taps up to the sketches' mark (one
 *    batch of (date, route, hash), compacted whenever it fills, so memory
 *    follows the distinct riders; the taps after the mark are held by the
 *    writer or read back at its next open, riders.h "Deferred") and
 *    compared with the stored ones byte for byte (the bytes
 *    are a function of the set, hll.h); a difference is reported with how
 *    many registers differ. A cell with taps after the mark may hold some
 *    of them (it was written ahead of others): each of its registers must
 *    lie between the log's up to the mark and the whole log's (a second,
 *    small batch of the taps after the mark).
 *  - the trees derived from the log (cells, vehicle hours, traffic, date
 *    index: derive.h) are compared with the log up to their mark; frames
 *    after it are held by the writer or derived at its next open;
 *  - the index of frames by service date (date_frames.h) is rebuilt from
 *    the log's records with the writer's own rule (st_date_frames_of),
 *    one key per frame and date, sorted and merged against the stored
 *    keys in both directions;
 *  - the tables with no log behind them (cameras, vehicle_pos, the NVR
 *    tables and the imported GTFS routes and stops) are checked record by
 *    record: each decodes, every nvr_order
 *    record names a counted object of its sequence and the two tables have
 *    as many records, and outages are in order, without overlap, and only
 *    the last may be open.
 * The cell a tap counts in comes from st_tap_agg_of, a count record's from
 * st_count_cell_of, the writer's own rules, with the service-day settings
 * recorded in the database (st_db_options).
 * Signatures are not verified and frame_hash is not recomputed: the log
 * holds neither a signature nor the raw tokens the keyed hash was made over
 * (log.h). The check only makes sure every stored signature is zeros.
 * Nothing above needs an epoch key, so a database whose old epochs were
 * destroyed (epoch_keys.h) checks exactly as before: the pseudonyms of
 * those epochs are still in the log and still rebuild the stored sketches.
 * The epoch_keys table itself is checked record by record: each decodes
 * (a key or a tombstone) and no key survives below the horizon.
 * Every problem is one line on `out`; the walk goes on after a problem.
 */
#include "storage/check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "storage/cameras.h"
#include "storage/date_frames.h"
#include "storage/db_internal.h"
#include "storage/epoch_keys.h"
#include "storage/grow.h"
#include "storage/riders.h"
#include "storage/service_day.h"

#define PROGRESS_EVERY 4096
#define CELLS_INITIAL 4096
#define PAIRS_INITIAL 1024

#define FKEYS_INITIAL 1024

/* A date_frames key, recounted from the log. */
struct fkey {
	uint8_t k[ST_DATE_FRAMES_KEY_SIZE];
};

struct pair {
	uint64_t device_id;
	uint64_t batch_seq;
	uint64_t seq;
};

/* Cell keys are compared over CELL_KEY_MAX bytes, zero-padded: within one
 * set every key has the same size, so the order is LMDB's. */
#define CELL_KEY_MAX ST_TAP_AGG_KEY_SIZE
_Static_assert(ST_DOOR_AGG_KEY_SIZE <= CELL_KEY_MAX && ST_LOAD_AGG_KEY_SIZE <= CELL_KEY_MAX &&
                   ST_VHOUR_KEY_SIZE <= CELL_KEY_MAX,
               "count and vehicle hour cell keys fit a cell");
_Static_assert(ST_TAP_AGG_VAL_SIZE == ST_COUNT_AGG_VAL_SIZE, "every aggregate value is three LE8");

struct cell {
	uint8_t key[CELL_KEY_MAX];
	uint64_t v[ST_COUNT_VALUES];
};

/* Which counters of a stored value a cell set recounts: all three of a
 * tap, door or load cell, or one part of a vehicle_hours cell (whose NVR
 * part has no log behind it). */
enum cell_part {
	PART_ALL = 0,
	PART_VHOUR_TAPS,   /* accepted, 0, 0 */
	PART_VHOUR_SIGNED, /* signed boardings, alightings, records */
};

/* The cells of one aggregate table, recounted from the log. */
struct cells {
	const char *name;         /* the table, as problem lines name it */
	const char *values;       /* what the three counters are, for problem lines */
	enum st_count_table rule; /* how counters combine (st_count_val_combine) */
	size_t key_size;
	size_t val_size;
	enum cell_part part;
	MDB_dbi dbi;
	struct cell *a;
	size_t n, cap;
};

struct check {
	struct st_db *db;
	struct st_read r;
	struct st_check_report *rep;
	FILE *out;
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
	uint64_t total;
	uint8_t head[ST_CHAIN_HEAD_SIZE]; /* of the previous entry */
	struct pair *pairs;
	size_t npairs, cap_pairs;
	struct fkey *fkeys;
	size_t nfkeys, cap_fkeys;
	struct cells taps, doors, loads, vhour_taps, vhour_signed;
	struct st_riders_batch riders;
	struct st_riders_batch riders_after; /* accepted taps after the mark */
	uint64_t riders_through; /* the sketches' mark (riders.h): later taps may not be in them yet */
	uint64_t derived_through; /* the derived trees' mark (derive.h): later frames are not in them yet */
	uint64_t unchained;       /* the first entry after the mark with no chain head; 0: none */
};

__attribute__((format(printf, 2, 3))) static void problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	c->rep->problems++;
	if (!c->out)
		return;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static int pair_add(struct check *c, uint64_t device_id, uint64_t batch_seq, uint64_t seq)
{
	int rc;

	if (c->npairs == c->cap_pairs) {
		rc = st_grow((void **)&c->pairs, &c->cap_pairs, PAIRS_INITIAL, sizeof *c->pairs);
		if (rc != ST_OK)
			return rc;
	}
	c->pairs[c->npairs++] = (struct pair){device_id, batch_seq, seq};
	return ST_OK;
}

/* The date_frames keys of one entry: one per distinct date of its rows. */
static int fkeys_add(struct check *c, uint64_t seq, const uint8_t *frame, uint8_t type, uint16_t count)
{
	size_t first = c->nfkeys;
	uint32_t date;
	int rc;

	for (uint16_t i = 0; i < count; i++) {
		size_t j = first;
		struct fkey f;

		if (!st_date_frames_of(frame, type, i, c->db->zone, c->db->opts.service_day_start_hour, &date))
			continue;
		f.k[0] = type;
		kp_store_u32be(f.k + 1, date);
		kp_store_u64be(f.k + 5, seq);
		while (j < c->nfkeys && memcmp(c->fkeys[j].k, f.k, sizeof f.k) != 0)
			j++;
		if (j < c->nfkeys)
			continue;
		if (c->nfkeys == c->cap_fkeys) {
			rc = st_grow((void **)&c->fkeys, &c->cap_fkeys, FKEYS_INITIAL, sizeof *c->fkeys);
			if (rc != ST_OK)
				return rc;
		}
		c->fkeys[c->nfkeys++] = f;
	}
	return ST_OK;
}

static int cell_cmp(const void *a, const void *b)
{
	return memcmp(((const struct cell *)a)->key, ((const struct cell *)b)->key, CELL_KEY_MAX);
}

/* Sorts the cells and combines equal keys. */
static void cells_compact(struct cells *cs)
{
	size_t out = 0;

	if (cs->n == 0)
		return;
	qsort(cs->a, cs->n, sizeof *cs->a, cell_cmp);
	for (size_t i = 1; i < cs->n; i++) {
		if (cell_cmp(&cs->a[out], &cs->a[i]) == 0)
			st_count_val_combine(cs->rule, cs->a[out].v, cs->a[i].v);
		else
			cs->a[++out] = cs->a[i];
	}
	cs->n = out + 1;
}

static int cell_add(struct cells *cs, const uint8_t *key, const uint64_t v[ST_COUNT_VALUES])
{
	struct cell *cell;
	int rc;

	if (cs->n == cs->cap) {
		cells_compact(cs);
		if (cs->n >= cs->cap / 2) {
			rc = st_grow((void **)&cs->a, &cs->cap, CELLS_INITIAL, sizeof *cs->a);
			if (rc != ST_OK)
				return rc;
		}
	}
	cell = &cs->a[cs->n++];
	memset(cell->key, 0, sizeof cell->key);
	memcpy(cell->key, key, cs->key_size);
	memcpy(cell->v, v, sizeof cell->v);
	return ST_OK;
}

/* ---- the log walk ---- */

static void check_chain(struct check *c, uint64_t seq, const MDB_val *entry)
{
	uint8_t want[ST_CHAIN_HEAD_SIZE];
	MDB_val k = {sizeof seq, &seq};
	MDB_val v;

	st_chain_next(c->head, entry->mv_data, entry->mv_size, want);
	if (mdb_get(c->r.txn, c->db->dbi.chain, &k, &v) != MDB_SUCCESS) {
		if (seq > c->derived_through) { /* not chained yet (derive.h) */
			if (c->unchained == 0)
				c->unchained = seq;
			memcpy(c->head, want, sizeof want);
			return;
		}
		problem(c, "chain: no head stored for seq %" PRIu64, seq);
		memcpy(c->head, want, sizeof want);
		return;
	}
	if (c->unchained != 0) /* the heads after the mark run on from it, without a gap */
		problem(c, "chain: head of seq %" PRIu64 " stored, none for seq %" PRIu64, seq, c->unchained);
	if (v.mv_size != ST_CHAIN_HEAD_SIZE) {
		problem(c, "chain: head of seq %" PRIu64 " has %zu bytes", seq, v.mv_size);
		memcpy(c->head, want, sizeof want);
		return;
	}
	if (memcmp(v.mv_data, want, sizeof want) != 0)
		problem(c, "chain: head of seq %" PRIu64 " does not recompute from the previous head and the entry",
		        seq);
	memcpy(c->head, v.mv_data, sizeof want);
}

static int count_taps(struct check *c, uint64_t seq, const uint8_t *frame, uint16_t count)
{
	struct kp_tap t;
	struct st_tap_agg_key k;
	struct st_tap_agg_val v;
	uint8_t key[ST_TAP_AGG_KEY_SIZE];
	int rc = ST_OK;

	for (uint16_t i = 0; i < count && rc == ST_OK; i++) {
		kp_frame_get_tap(frame, i, &t);
		if (st_tap_agg_of(&t, c->db->zone, c->db->opts.service_day_start_hour, &k, &v) != 0) {
			problem(c, "log: seq %" PRIu64 " tap %u has a time out of range", seq, i);
			continue;
		}
		st_tap_agg_key_encode(&k, key);
		if (seq <= c->derived_through)
			rc = cell_add(&c->taps, key, (const uint64_t[ST_COUNT_VALUES]){v.accepted, v.denied, v.amount});
		if (rc == ST_OK && v.accepted != 0) /* pseudonym where the token was */
			rc = st_riders_batch_note(seq <= c->riders_through ? &c->riders : &c->riders_after, k.service_date,
			                          k.route_id, t.card_token);
		if (rc == ST_OK && t.vehicle_id != 0 && v.accepted != 0 && seq <= c->derived_through) {
			const struct st_vehicle_hour_key vk = {k.service_date, k.hour, k.route_id, t.vehicle_id};
			uint8_t vkey[ST_VHOUR_KEY_SIZE];

			st_vhour_key_encode(&vk, vkey);
			rc = cell_add(&c->vhour_taps, vkey, (const uint64_t[ST_COUNT_VALUES]){v.accepted, 0, 0});
		}
	}
	c->rep->taps += count;
	return rc;
}

/* A door-cycle record naming a vehicle, in that vehicle's hour. */
static int count_vehicle_hour(struct check *c, const struct kp_count *rec)
{
	struct st_vehicle_hour_key vk = {0, 0, rec->route_id, rec->vehicle_id};
	uint8_t vkey[ST_VHOUR_KEY_SIZE];
	struct st_when w;

	if (rec->vehicle_id == 0 || rec->kind != KP_COUNT_KIND_DOOR_CYCLE ||
	    st_service_day(c->db->zone, rec->observed_at, c->db->opts.service_day_start_hour, &w) != 0)
		return ST_OK;
	vk.service_date = w.service_date;
	vk.hour = w.hour;
	st_vhour_key_encode(&vk, vkey);
	return cell_add(&c->vhour_signed, vkey,
	                (const uint64_t[ST_COUNT_VALUES]){rec->boardings, rec->alightings, 1});
}

static int count_records(struct check *c, uint64_t seq, const uint8_t *frame, uint16_t count)
{
	struct kp_count rec;
	struct st_count_cell cell;
	int rc = ST_OK;

	for (uint16_t i = 0; i < count && rc == ST_OK; i++) {
		kp_frame_get_count(frame, i, &rec);
		if (st_count_cell_of(&rec, ST_COUNT_SOURCE_SIGNED, c->db->zone, c->db->opts.service_day_start_hour,
		                     &cell) != 0) {
			problem(c, "log: seq %" PRIu64 " count record %u has a time out of range", seq, i);
			continue;
		}
		if (seq > c->derived_through)
			continue;
		if (cell.table != ST_COUNT_TABLE_NONE)
			rc = cell_add(cell.table == ST_COUNT_TABLE_DOOR ? &c->doors : &c->loads, cell.key, cell.v);
		if (rc == ST_OK)
			rc = count_vehicle_hour(c, &rec);
	}
	c->rep->counts += count;
	return rc;
}

static int check_entry(struct check *c, uint64_t seq, const MDB_val *val)
{
	static const uint8_t no_signature[KP_SIGNATURE_SIZE];
	struct st_log_entry e;
	struct kp_header h;
	int rc;

	check_chain(c, seq, val);
	if (st_log_entry_parse(val->mv_data, val->mv_size, &e) != ST_OK) {
		problem(c, "log: entry %" PRIu64 " does not parse", seq);
		return ST_OK;
	}
	if (kp_frame_decode(e.frame, e.frame_len, &h) != KP_OK) {
		problem(c, "log: frame of entry %" PRIu64 " does not decode", seq);
		return ST_OK;
	}
	if (memcmp(e.frame + e.frame_len - KP_SIGNATURE_SIZE, no_signature, KP_SIGNATURE_SIZE) != 0)
		problem(c, "log: entry %" PRIu64 " keeps signature bytes (they must be zeros)", seq);
	rc = pair_add(c, h.device_id, h.batch_seq, seq);
	if (rc == ST_OK && seq <= c->derived_through)
		rc = fkeys_add(c, seq, e.frame, h.type, h.count);
	if (rc != ST_OK)
		return rc;
	if (h.type == KP_TYPE_COUNTS)
		return count_records(c, seq, e.frame, h.count);
	if (h.type != KP_TYPE_TAPS) {
		problem(c, "log: entry %" PRIu64 " holds a frame of type %u", seq, h.type);
		return ST_OK;
	}
	return count_taps(c, seq, e.frame, h.count);
}

static int log_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct check *c = ctx;
	uint64_t seq;
	int rc;

	if (k->mv_size != sizeof seq) {
		problem(c, "log: key of %zu bytes", k->mv_size);
		return ST_OK;
	}
	seq = dec_intkey(k);
	if (seq != c->rep->entries + 1)
		problem(c, "log: seq %" PRIu64 " follows %" PRIu64, seq, c->rep->entries);
	c->rep->entries++;
	rc = check_entry(c, seq, v);
	if (rc == ST_OK && c->progress && c->rep->entries % PROGRESS_EVERY == 0)
		c->progress(c->ctx, c->rep->entries, c->total);
	return rc;
}

static int walk_log(struct check *c)
{
	return st_walk(c->r.txn, c->db->dbi.log, NULL, log_record, c);
}

static int check_chain_count(struct check *c)
{
	MDB_stat st;
	int rc = st_status(mdb_stat(c->r.txn, c->db->dbi.chain, &st));

	uint64_t want = c->rep->entries < c->derived_through ? c->rep->entries : c->derived_through;

	/* The chain holds the log up to the derived trees' mark, and a chain
	 * that an older komposter wrote in the commit may hold more of it. */
	if (rc == ST_OK && (st.ms_entries < want || st.ms_entries > c->rep->entries))
		problem(c, "chain: %zu heads for %" PRIu64 " log entries, %" PRIu64 " derived", st.ms_entries,
		        c->rep->entries, want);
	return rc;
}

/* ---- once-only index and watermarks ---- */

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->device_id != y->device_id)
		return x->device_id < y->device_id ? -1 : 1;
	if (x->batch_seq != y->batch_seq)
		return x->batch_seq < y->batch_seq ? -1 : 1;
	return 0;
}

static void report_repeats(struct check *c)
{
	for (size_t i = 1; i < c->npairs; i++) {
		const struct pair *a = &c->pairs[i - 1], *b = &c->pairs[i];

		if (pair_cmp(a, b) == 0)
			problem(c, "log: device %016" PRIx64 " batch %" PRIu64 " stored twice (seq %" PRIu64
			           " and %" PRIu64 ")",
			        b->device_id, b->batch_seq, a->seq, b->seq);
	}
}

static void once_missing(struct check *c, const struct pair *p)
{
	problem(c, "once: device %016" PRIx64 " batch %" PRIu64 " (seq %" PRIu64 ") is not indexed",
	        p->device_id, p->batch_seq, p->seq);
}

/* One `once` entry against the sorted pairs from *i on. */
static void once_entry(struct check *c, const struct pair *got, size_t *i)
{
	while (*i < c->npairs && pair_cmp(&c->pairs[*i], got) < 0)
		once_missing(c, &c->pairs[(*i)++]);
	if (*i < c->npairs && pair_cmp(&c->pairs[*i], got) == 0) {
		if (c->pairs[*i].seq != got->seq)
			problem(c, "once: device %016" PRIx64 " batch %" PRIu64 " maps to seq %" PRIu64
			           ", the log has it at %" PRIu64,
			        got->device_id, got->batch_seq, got->seq, c->pairs[*i].seq);
		while (*i < c->npairs && pair_cmp(&c->pairs[*i], got) == 0)
			(*i)++;
		return;
	}
	problem(c, "once: device %016" PRIx64 " batch %" PRIu64 " is indexed but not in the log",
	        got->device_id, got->batch_seq);
}

/* A walk of a stored database merged against the sorted pairs. */
struct merge {
	struct check *c;
	size_t i; /* the next pair or cell not yet matched */
};

/* Whether a record of database `name` has the sizes it must; a problem if not. */
static int sizes_ok(struct check *c, const char *name, const MDB_val *k, size_t key_size,
                    const MDB_val *v, size_t val_size)
{
	if (k->mv_size == key_size && v->mv_size == val_size)
		return 1;
	problem(c, "%s: entry of %zu+%zu bytes", name, k->mv_size, v->mv_size);
	return 0;
}

static int once_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct merge *m = ctx;
	struct pair got;

	if (!sizes_ok(m->c, "once", k, ST_ONCE_KEY_SIZE, v, ST_U64_SIZE))
		return ST_OK;
	got = (struct pair){kp_load_u64be(k->mv_data), kp_load_u64be((const uint8_t *)k->mv_data + 8),
	                    kp_load_u64le(v->mv_data)};
	once_entry(m->c, &got, &m->i);
	return ST_OK;
}

static int check_once(struct check *c)
{
	struct merge m = {c, 0};
	int rc = st_walk(c->r.txn, c->db->dbi.once, NULL, once_record, &m);

	while (m.i < c->npairs)
		once_missing(c, &c->pairs[m.i++]);
	return rc;
}

/* ---- handed once-only state (handoff.h) ---- */

struct handed_walk {
	struct check *c;
	uint64_t device_id; /* the device whose watermark was seen last */
	uint64_t watermark;
	int have;
};

/* The first sorted pair of device at or above batch_seq, or NULL. */
static const struct pair *pair_from(const struct check *c, uint64_t device_id, uint64_t batch_seq)
{
	struct pair key = {device_id, batch_seq, 0};
	size_t lo = 0, hi = c->npairs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pair_cmp(&c->pairs[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->npairs && c->pairs[lo].device_id == device_id ? &c->pairs[lo] : NULL;
}

static void handed_watermark(struct handed_walk *h, const MDB_val *k, const MDB_val *v)
{
	const struct pair *p;

	h->device_id = kp_load_u64be(k->mv_data);
	h->watermark = kp_load_u64le(v->mv_data);
	h->have = 1;
	p = pair_from(h->c, h->device_id, 1);
	if (p && p->batch_seq <= h->watermark)
		problem(h->c, "handed: device %016" PRIx64 " batch %" PRIu64 " is in the log and at or"
		              " under its handed watermark %" PRIu64,
		        h->device_id, p->batch_seq, h->watermark);
}

static void handed_frame(struct handed_walk *h, const MDB_val *k)
{
	uint64_t dev = kp_load_u64be(k->mv_data);
	uint64_t batch = kp_load_u64be((const uint8_t *)k->mv_data + 8);
	const struct pair *p = pair_from(h->c, dev, batch);

	if (!h->have || h->device_id != dev)
		problem(h->c, "handed: device %016" PRIx64 " batch %" PRIu64 " has no watermark", dev,
		        batch);
	else if (batch <= h->watermark)
		problem(h->c, "handed: device %016" PRIx64 " batch %" PRIu64 " is at or under its"
		              " watermark %" PRIu64, dev, batch, h->watermark);
	if (p && p->batch_seq == batch)
		problem(h->c, "handed: device %016" PRIx64 " batch %" PRIu64 " is in the log too", dev,
		        batch);
}

static int handed_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct handed_walk *h = ctx;

	(void)cur;
	if (k->mv_size == ST_DEVICE_KEY_SIZE && v->mv_size == ST_U64_SIZE)
		handed_watermark(h, k, v);
	else if (k->mv_size == ST_ONCE_KEY_SIZE && v->mv_size == 0)
		handed_frame(h, k);
	else
		problem(h->c, "handed: entry of %zu+%zu bytes", k->mv_size, v->mv_size);
	return ST_OK;
}

/* Each handed frame is one its former owner stored, so never in this log. */
static int check_handed(struct check *c)
{
	struct handed_walk h = {c, 0, 0, 0};
	return st_walk(c->r.txn, c->db->dbi.handed, NULL, handed_record, &h);
}

/* Where a device's watermark starts: the handed one of a device moved in
 * (its frames up to there are in the former owner's log), else 0. */
static uint64_t watermark_base(const struct check *c, uint64_t dev)
{
	uint64_t w;

	return st_handed_watermark_get(c->r.txn, c->db->dbi.handed, dev, &w) == ST_OK ? w : 0;
}

/* What a device's stored watermark base may be: at least the watermark of
 * its derived frames (the run that derives a frame settles the base, once.c)
 * and at most the log's. */
struct watermark_span {
	uint64_t derived, log;
};

/* The span of the device whose sorted pairs start at *i; *i moves past them. */
static struct watermark_span watermark_from(const struct check *c, size_t *i)
{
	uint64_t dev = c->pairs[*i].device_id;
	uint64_t base = watermark_base(c, dev);
	struct watermark_span w = {base, base};

	for (; *i < c->npairs && c->pairs[*i].device_id == dev; (*i)++) {
		if (c->pairs[*i].batch_seq != w.log + 1)
			continue;
		if (w.derived == w.log && c->pairs[*i].seq <= c->derived_through)
			w.derived++;
		w.log++;
	}
	return w;
}

static void watermark_compare(struct check *c, uint64_t dev, struct watermark_span want, uint64_t got)
{
	if (got < want.derived || got > want.log)
		problem(c, "watermark: device %016" PRIx64 " is stored as %" PRIu64 ", the log says %" PRIu64
		           " (%" PRIu64 " derived)",
		        dev, got, want.log, want.derived);
}

/* Devices before `until` in the pairs that have no stored watermark. */
static void watermarks_absent(struct check *c, size_t *i, uint64_t until, int to_end)
{
	while (*i < c->npairs && (to_end || c->pairs[*i].device_id < until)) {
		uint64_t dev = c->pairs[*i].device_id;

		watermark_compare(c, dev, watermark_from(c, i), 0);
	}
}

static int watermark_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct merge *m = ctx;
	struct check *c = m->c;
	struct watermark_span want;
	uint64_t dev;

	if (!sizes_ok(c, "watermark", k, ST_DEVICE_KEY_SIZE, v, ST_U64_SIZE))
		return ST_OK;
	dev = kp_load_u64be(k->mv_data);
	watermarks_absent(c, &m->i, dev, 0);
	if (m->i < c->npairs && c->pairs[m->i].device_id == dev)
		want = watermark_from(c, &m->i);
	else
		want.derived = want.log = watermark_base(c, dev);
	watermark_compare(c, dev, want, kp_load_u64le(v->mv_data));
	return ST_OK;
}

static int check_watermarks(struct check *c)
{
	struct merge m = {c, 0};
	int rc = st_walk(c->r.txn, c->db->dbi.watermark, NULL, watermark_record, &m);

	watermarks_absent(c, &m.i, 0, 1);
	return rc;
}

/* ---- device_stats: frames and the highest batch_seq, recounted ---- */

/* Frames and highest batch_seq of the device whose sorted pairs start at
 * *i; *i moves past them. */
static void traffic_from(const struct check *c, size_t *i, uint64_t *frames, uint64_t *max)
{
	uint64_t dev = c->pairs[*i].device_id;

	*frames = *max = 0;
	for (; *i < c->npairs && c->pairs[*i].device_id == dev; (*i)++) {
		if (c->pairs[*i].seq > c->derived_through)
			continue;
		(*frames)++;
		if (c->pairs[*i].batch_seq > *max)
			*max = c->pairs[*i].batch_seq;
	}
}

static void traffic_compare(struct check *c, uint64_t dev, uint64_t frames, uint64_t max,
                            const struct st_device_stats *got)
{
	if (frames != got->frames || max != got->max_batch_seq)
		problem(c, "device_stats: device %016" PRIx64 " has %" PRIu64 " frames up to batch %" PRIu64
		           ", the log says %" PRIu64 " up to %" PRIu64,
		        dev, got->frames, got->max_batch_seq, frames, max);
}

/* Devices before `until` in the pairs that have no device_stats record. */
static void traffic_absent(struct check *c, size_t *i, uint64_t until, int to_end)
{
	const struct st_device_stats none = {0};
	uint64_t frames, max;

	while (*i < c->npairs && (to_end || c->pairs[*i].device_id < until)) {
		uint64_t dev = c->pairs[*i].device_id;

		traffic_from(c, i, &frames, &max);
		traffic_compare(c, dev, frames, max, &none);
	}
}

static int traffic_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct merge *m = ctx;
	struct check *c = m->c;
	struct st_device_stats got;
	uint64_t frames = 0, max = 0;

	(void)cur;
	if (st_dstats_decode(k, v, &got) != ST_OK) {
		problem(c, "device_stats: the record of key size %zu does not decode", k->mv_size);
		return ST_OK;
	}
	traffic_absent(c, &m->i, got.device_id, 0);
	if (m->i < c->npairs && c->pairs[m->i].device_id == got.device_id)
		traffic_from(c, &m->i, &frames, &max);
	traffic_compare(c, got.device_id, frames, max, &got);
	return ST_OK;
}

static int check_traffic(struct check *c)
{
	struct merge m = {c, 0};
	int rc = st_walk(c->r.txn, c->db->dbi.device_stats, NULL, traffic_record, &m);

	traffic_absent(c, &m.i, 0, 1);
	return rc;
}

/* ---- aggregates ---- */

static void cell_describe(const struct cells *cs, const uint8_t *key, char *buf, size_t cap)
{
	struct st_tap_agg_key k;
	struct st_vehicle_hour_key vk;
	struct st_count_cell cell = {cs->rule, {0}, cs->key_size, {0}};

	if (cs->part != PART_ALL) {
		st_vhour_key_decode(key, &vk);
		snprintf(buf, cap, "%u h%u route %u vehicle %u", vk.service_date, vk.hour, vk.route_id, vk.vehicle_id);
		return;
	}
	if (cs->rule == ST_COUNT_TABLE_NONE) {
		st_tap_agg_key_decode(key, &k);
		snprintf(buf, cap, "%u h%u route %u stop %u fare %u", k.service_date, k.hour, k.route_id, k.stop_id,
		         k.fare_product);
		return;
	}
	memcpy(cell.key, key, cs->key_size);
	st_count_cell_describe(&cell, buf, cap);
}

static void cell_report(struct check *c, const struct cells *cs, const uint8_t *key, const char *what,
                        const uint64_t want[ST_COUNT_VALUES], const uint64_t got[ST_COUNT_VALUES])
{
	char name[128];

	cell_describe(cs, key, name, sizeof name);
	problem(c,
	        "%s: cell %s %s: stored %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", the log says %" PRIu64 "/%" PRIu64
	        "/%" PRIu64 " (%s)",
	        cs->name, name, what, got[0], got[1], got[2], want[0], want[1], want[2], cs->values);
}

/* A walk of one stored aggregate table merged against its recounted cells. */
struct cell_merge {
	struct check *c;
	struct cells *cs;
	size_t i; /* the next cell not yet matched */
};

static void agg_entry(struct cell_merge *m, const uint8_t *key, const uint64_t got[ST_COUNT_VALUES])
{
	static const uint64_t none[ST_COUNT_VALUES];
	struct cells *cs = m->cs;
	struct cell stored = {{0}, {0}};

	memcpy(stored.key, key, cs->key_size);
	while (m->i < cs->n && cell_cmp(&cs->a[m->i], &stored) < 0) {
		cell_report(m->c, cs, cs->a[m->i].key, "missing", cs->a[m->i].v, none);
		m->i++;
	}
	if (m->i < cs->n && cell_cmp(&cs->a[m->i], &stored) == 0) {
		const uint64_t *want = cs->a[m->i++].v;

		if (memcmp(want, got, sizeof stored.v) != 0)
			cell_report(m->c, cs, key, "differs", want, got);
		return;
	}
	cell_report(m->c, cs, key, "extra", none, got);
}

/* One part of a stored vehicle_hours cell against its recount. A part
 * that is all zeros is as good as absent (no taps, or no signed counts, of
 * that vehicle in that hour), and the recount never holds one; the NVR
 * part has no log behind it and is never looked at. */
static int vhour_part(struct cell_merge *m, const MDB_val *k, const MDB_val *v)
{
	uint64_t all[ST_VHOUR_VALUES];
	uint64_t got[ST_COUNT_VALUES] = {0};
	const int signed_at = ST_VHOUR_SOURCE(ST_COUNT_SOURCE_SIGNED);

	st_vhour_val_decode(v->mv_data, all);
	if (m->cs->part == PART_VHOUR_TAPS) {
		got[0] = all[ST_VHOUR_ACCEPTED];
	} else {
		got[0] = all[signed_at];
		got[1] = all[signed_at + 1];
		got[2] = all[signed_at + 2];
	}
	if (got[0] == 0 && got[1] == 0 && got[2] == 0)
		return ST_OK;
	agg_entry(m, k->mv_data, got);
	return ST_OK;
}

static int agg_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct cell_merge *m = ctx;
	struct st_tap_agg_val tv;
	uint64_t got[ST_COUNT_VALUES];

	if (m->cs->part == PART_VHOUR_SIGNED && (k->mv_size != m->cs->key_size || v->mv_size != m->cs->val_size))
		return ST_OK; /* reported once, by the walk of the taps part */
	if (!sizes_ok(m->c, m->cs->name, k, m->cs->key_size, v, m->cs->val_size))
		return ST_OK;
	if (m->cs->part != PART_ALL)
		return vhour_part(m, k, v);
	if (m->cs->rule == ST_COUNT_TABLE_DOOR &&
	    st_count_key_source(ST_COUNT_TABLE_DOOR, k->mv_data) == ST_COUNT_SOURCE_NVR)
		return ST_OK; /* no log entry behind NVR counts: nothing to recount them from */
	if (m->cs->rule == ST_COUNT_TABLE_NONE) {
		st_tap_agg_val_decode(v->mv_data, &tv);
		got[0] = tv.accepted;
		got[1] = tv.denied;
		got[2] = tv.amount;
	} else {
		st_count_val_decode(v->mv_data, got);
	}
	agg_entry(m, k->mv_data, got);
	return ST_OK;
}

static int check_agg(struct check *c, struct cells *cs)
{
	static const uint64_t none[ST_COUNT_VALUES];
	struct cell_merge m = {c, cs, 0};
	int rc;

	cells_compact(cs);
	rc = st_walk(c->r.txn, cs->dbi, NULL, agg_record, &m);
	for (; m.i < cs->n; m.i++)
		cell_report(c, cs, cs->a[m.i].key, "missing", cs->a[m.i].v, none);
	return rc;
}

/* ---- distinct-rider sketches ---- */

struct riders_merge {
	struct check *c;
	size_t i;     /* the next recounted note not yet matched */
	size_t after; /* the same in c->riders_after */
	struct st_hll want, got, upto;
	uint8_t bytes[ST_HLL_SERIALIZED_MAX];
};

static void riders_cell_name(uint32_t date, uint32_t route, char *buf, size_t cap)
{
	if (route == ST_RIDERS_ALL)
		snprintf(buf, cap, "%u all routes", date);
	else
		snprintf(buf, cap, "%u route %u", date, route);
}

/* Rebuilds the recounted cell at m->i into m->want; moves m->i past it. */
static void riders_want(struct riders_merge *m)
{
	st_hll_clear(&m->want);
	m->i = st_riders_batch_cell(&m->c->riders, m->i, &m->want, NULL);
}

static int riders_note_cmp(const struct st_riders_note *n, uint32_t date, uint32_t route)
{
	if (n->date != date)
		return n->date < date ? -1 : 1;
	if (n->route != route)
		return n->route < route ? -1 : 1;
	return 0;
}

static void riders_missing(struct riders_merge *m)
{
	const struct st_riders_note *n = &m->c->riders.a[m->i];
	char name[64];

	riders_cell_name(n->date, n->route, name, sizeof name);
	riders_want(m);
	problem(m->c, "riders: sketch of %s missing (the log says about %.0f riders)", name,
	        st_hll_estimate(&m->want));
}

static void riders_compare(struct riders_merge *m, const char *name, const MDB_val *v)
{
	size_t len = 0;
	unsigned differ = 0;

	riders_want(m);
	if (st_hll_parse(v->mv_data, v->mv_size, &m->got) != 0) {
		problem(m->c, "riders: sketch of %s (%zu bytes) does not decode", name, v->mv_size);
		return;
	}
	if (st_hll_serialize(&m->want, m->bytes, sizeof m->bytes, &len) == 0 && len == v->mv_size &&
	    memcmp(m->bytes, v->mv_data, len) == 0)
		return;
	for (unsigned r = 0; r < ST_HLL_M; r++)
		differ += m->want.reg[r] != m->got.reg[r];
	problem(m->c,
	        "riders: sketch of %s differs from the log's in %u of %u registers%s: stored about %.0f riders, "
	        "the log says about %.0f",
	        name, differ, ST_HLL_M, differ == 0 ? " (and in its sparse list)" : "", st_hll_estimate(&m->got),
	        st_hll_estimate(&m->want));
}

/* A sketch that may hold taps after the mark (riders.h, "Deferred"): every
 * register at least the log's up to the mark (m->want, may be empty) and at
 * most the whole log's (m->upto). */
static void riders_compare_between(struct riders_merge *m, const char *name, const MDB_val *v, int have_want)
{
	unsigned below = 0, above = 0;

	if (!have_want)
		st_hll_clear(&m->want);
	m->upto = m->want;
	m->after = st_riders_batch_cell(&m->c->riders_after, m->after, &m->upto, NULL);
	if (st_hll_parse(v->mv_data, v->mv_size, &m->got) != 0) {
		problem(m->c, "riders: sketch of %s (%zu bytes) does not decode", name, v->mv_size);
		return;
	}
	for (unsigned r = 0; r < ST_HLL_M; r++) {
		below += m->got.reg[r] < m->want.reg[r];
		above += m->got.reg[r] > m->upto.reg[r];
	}
	if (below + above == 0)
		return;
	problem(m->c,
	        "riders: sketch of %s differs from the log's in %u of %u registers: stored about %.0f riders, the log "
	        "says about %.0f up to the sketches' mark and %.0f in all",
	        name, below + above, ST_HLL_M, st_hll_estimate(&m->got), st_hll_estimate(&m->want),
	        st_hll_estimate(&m->upto));
}

static int riders_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct riders_merge *m = ctx;
	const struct st_riders_batch *b = &m->c->riders;
	uint32_t date, route;
	char name[64];

	(void)cur;
	if (k->mv_size != ST_RIDERS_KEY_SIZE) {
		problem(m->c, "riders: key of %zu bytes", k->mv_size);
		return ST_OK;
	}
	date = kp_load_u32be(k->mv_data);
	route = kp_load_u32be((const uint8_t *)k->mv_data + 4);
	riders_cell_name(date, route, name, sizeof name);
	const struct st_riders_batch *after = &m->c->riders_after;
	int have_want, have_after;

	while (m->i < b->n && riders_note_cmp(&b->a[m->i], date, route) < 0)
		riders_missing(m);
	while (m->after < after->n && riders_note_cmp(&after->a[m->after], date, route) < 0)
		m->after = st_riders_batch_cell(after, m->after, &m->upto, NULL); /* not written yet: fine */
	have_want = m->i < b->n && riders_note_cmp(&b->a[m->i], date, route) == 0;
	have_after = m->after < after->n && riders_note_cmp(&after->a[m->after], date, route) == 0;
	if (have_want && !have_after)
		riders_compare(m, name, v);
	else if (have_after) {
		if (have_want)
			riders_want(m);
		riders_compare_between(m, name, v, have_want);
	} else
		problem(m->c, "riders: sketch of %s has no accepted tap in the log", name);
	return ST_OK;
}

static int check_riders(struct check *c)
{
	struct riders_merge *m = malloc(sizeof *m);
	int rc;

	if (!m)
		return ST_EIO;
	*m = (struct riders_merge){.c = c};
	st_riders_batch_sort(&c->riders);
	st_riders_batch_sort(&c->riders_after);
	rc = st_walk(c->r.txn, c->db->dbi.riders, NULL, riders_record, m);
	while (rc == ST_OK && m->i < c->riders.n)
		riders_missing(m);
	free(m);
	return rc;
}

/* ---- the frames by service date ---- */

static int fkey_cmp(const void *a, const void *b)
{
	return memcmp(((const struct fkey *)a)->k, ((const struct fkey *)b)->k, ST_DATE_FRAMES_KEY_SIZE);
}

static void fkey_report(struct check *c, const uint8_t *k, const char *what)
{
	problem(c, "date_frames: frame %" PRIu64 " (type %u) under service date %" PRIu32 " %s", kp_load_u64be(k + 5),
	        k[0], kp_load_u32be(k + 1), what);
}

static int fkey_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct merge *m = ctx;
	struct check *c = m->c;
	int cmp = -1;

	(void)cur;
	if (!sizes_ok(c, "date_frames", k, ST_DATE_FRAMES_KEY_SIZE, v, 0))
		return ST_OK;
	while (m->i < c->nfkeys && (cmp = memcmp(c->fkeys[m->i].k, k->mv_data, ST_DATE_FRAMES_KEY_SIZE)) < 0)
		fkey_report(c, c->fkeys[m->i++].k, "is not indexed");
	if (m->i < c->nfkeys && cmp == 0)
		m->i++;
	else
		fkey_report(c, k->mv_data, "is indexed, but the log has no row of that date in it");
	return ST_OK;
}

static int check_date_frames(struct check *c)
{
	struct merge m = {c, 0};
	int rc;

	if (c->nfkeys > 0)
		qsort(c->fkeys, c->nfkeys, sizeof *c->fkeys, fkey_cmp);
	rc = st_walk(c->r.txn, c->db->dbi.date_frames, NULL, fkey_record, &m);
	while (rc == ST_OK && m.i < c->nfkeys)
		fkey_report(c, c->fkeys[m.i++].k, "is not indexed");
	return rc;
}

/* ---- the registry and the NVR tables: every record decodes ---- */

struct table_walk {
	struct check *c;
	const char *name;
	int (*decode)(const MDB_val *k, const MDB_val *v);
	uint64_t records;
	struct st_nvr_outage last; /* nvr_outages: the one before */
};

static int table_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct table_walk *w = ctx;

	(void)cur;
	w->records++;
	if (w->decode(k, v) != ST_OK)
		problem(w->c, "%s: record %" PRIu64 " (%zu+%zu bytes) does not decode", w->name, w->records,
		        k->mv_size, v->mv_size);
	return ST_OK;
}

static int counted_record_ok(const MDB_val *k, const MDB_val *v)
{
	unsigned dirs;
	uint64_t seq;

	return st_nvr_counted_decode(k, v, &dirs, &seq);
}

static int walk_table(struct check *c, const char *name, MDB_dbi dbi,
                      int (*decode)(const MDB_val *k, const MDB_val *v), uint64_t *records)
{
	struct table_walk w = {.c = c, .name = name, .decode = decode};
	int rc = st_walk(c->r.txn, dbi, NULL, table_record, &w);

	if (records)
		*records = w.records;
	return rc;
}

/* An order record must name a counted object recorded with its sequence. */
static int order_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct table_walk *w = ctx;
	MDB_val object = *v, cv;
	unsigned dirs;
	uint64_t seq = 0;

	(void)cur;
	w->records++;
	if (k->mv_size != ST_NVR_ORDER_KEY_SIZE || v->mv_size == 0 || v->mv_size > ST_NVR_OBJECT_KEY_MAX) {
		problem(w->c, "nvr_order: record %" PRIu64 " of %zu+%zu bytes", w->records, k->mv_size,
		        v->mv_size);
		return ST_OK;
	}
	if (mdb_get(w->c->r.txn, w->c->db->dbi.nvr_counted, &object, &cv) != MDB_SUCCESS ||
	    st_nvr_counted_decode(&object, &cv, &dirs, &seq) != ST_OK || seq != kp_load_u64be(k->mv_data))
		problem(w->c, "nvr_order: seq %" PRIu64 " names no counted object of that seq",
		        kp_load_u64be(k->mv_data));
	return ST_OK;
}

/* Outages decode, are in order, do not overlap, and only the last is open. */
static int outage_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct table_walk *w = ctx;
	struct st_nvr_outage o;

	(void)cur;
	if (st_nvr_outage_check_record(k, v, &o) != ST_OK) {
		problem(w->c, "nvr_outages: record %" PRIu64 " does not decode", w->records + 1);
		return ST_OK;
	}
	if (w->records > 0 && (w->last.end == 0 || w->last.end > o.start))
		problem(w->c, "nvr_outages: the outage from %" PRId64 " overlaps the one from %" PRId64, o.start,
		        w->last.start);
	w->records++;
	w->last = o;
	return ST_OK;
}

static int check_side_tables(struct check *c)
{
	const struct st_dbis *d = &c->db->dbi;
	struct table_walk order = {.c = c}, outages = {.c = c};
	uint64_t counted = 0;
	int rc;

	rc = walk_table(c, "cameras", d->cameras, st_camera_check_record, NULL);
	if (rc == ST_OK)
		rc = walk_table(c, "vehicle_pos", d->vehicle_pos, st_vehicle_pos_check_record, NULL);
	if (rc == ST_OK)
		rc = walk_table(c, "gtfs_routes", d->gtfs_routes, st_gtfs_route_check_record, NULL);
	if (rc == ST_OK)
		rc = walk_table(c, "gtfs_stops", d->gtfs_stops, st_gtfs_stop_check_record, NULL);
	if (rc == ST_OK)
		rc = walk_table(c, "nvr_events", d->nvr_events, st_nvr_event_check_record, NULL);
	if (rc == ST_OK)
		rc = walk_table(c, "nvr_counted", d->nvr_counted, counted_record_ok, &counted);
	if (rc == ST_OK)
		rc = st_walk(c->r.txn, d->nvr_order, NULL, order_record, &order);
	if (rc == ST_OK && order.records != counted)
		problem(c, "nvr_order: %" PRIu64 " records for %" PRIu64 " counted objects", order.records, counted);
	if (rc == ST_OK)
		rc = st_walk(c->r.txn, d->nvr_outages, NULL, outage_record, &outages);
	return rc;
}

/* Every epoch_keys record decodes, and no live key is below the horizon
 * (epoch_keys.h): a destruction that left a key behind is a problem. */
struct keys_walk {
	struct check *c;
	uint32_t horizon;
};

static int key_record(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct keys_walk *w = ctx;

	(void)cur;
	if (st_epoch_key_check_record(k, v, w->horizon) != ST_OK)
		problem(w->c, "epoch_keys: the record of %zu+%zu bytes does not decode or is a key below the horizon %" PRIu32,
		        k->mv_size, v->mv_size, w->horizon);
	return ST_OK;
}

static int check_epoch_keys(struct check *c)
{
	struct keys_walk w = {.c = c};
	int rc = st_epoch_horizon_get(c->r.txn, c->db->dbi.meta, &w.horizon);

	if (rc == ST_ECORRUPT) {
		problem(c, "meta: the epoch horizon does not decode");
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	return st_walk(c->r.txn, c->db->dbi.epoch_keys, NULL, key_record, &w);
}

/* ---- entry point ---- */

static int run_checks(struct check *c)
{
	int rc;

	rc = st_log_last_seq(&c->r, &c->total);
	if (rc == ST_OK)
		rc = walk_log(c);
	if (rc == ST_OK)
		rc = check_chain_count(c);
	if (rc != ST_OK)
		return rc;
	if (c->progress)
		c->progress(c->ctx, c->rep->entries, c->total);
	if (c->npairs > 0)
		qsort(c->pairs, c->npairs, sizeof *c->pairs, pair_cmp);
	report_repeats(c);
	rc = check_once(c);
	if (rc == ST_OK)
		rc = check_handed(c);
	if (rc == ST_OK)
		rc = check_watermarks(c);
	if (rc == ST_OK)
		rc = check_traffic(c);
	if (rc == ST_OK)
		rc = check_agg(c, &c->taps);
	if (rc == ST_OK)
		rc = check_agg(c, &c->doors);
	if (rc == ST_OK)
		rc = check_agg(c, &c->loads);
	if (rc == ST_OK)
		rc = check_agg(c, &c->vhour_taps);
	if (rc == ST_OK)
		rc = check_agg(c, &c->vhour_signed);
	if (rc == ST_OK)
		rc = check_riders(c);
	if (rc == ST_OK)
		rc = check_date_frames(c);
	if (rc == ST_OK)
		rc = check_side_tables(c);
	if (rc == ST_OK)
		rc = check_epoch_keys(c);
	return rc;
}

int st_check(struct st_db *db, struct st_check_report *rep, FILE *out,
             void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx)
{
	struct check c = {.db = db, .rep = rep, .out = out, .progress = progress, .ctx = ctx};
	int rc;

	if (!db || !rep)
		return ST_EINVAL;
	c.taps = (struct cells){"tap_agg", "accepted/denied/amount", ST_COUNT_TABLE_NONE, ST_TAP_AGG_KEY_SIZE,
	                        ST_TAP_AGG_VAL_SIZE, PART_ALL, db->dbi.tap_agg, NULL, 0, 0};
	c.doors = (struct cells){"door_agg", "boardings/alightings/cycles", ST_COUNT_TABLE_DOOR,
	                         ST_DOOR_AGG_KEY_SIZE, ST_COUNT_AGG_VAL_SIZE, PART_ALL, db->dbi.door_agg, NULL, 0, 0};
	c.loads = (struct cells){"load_agg", "peak/sum/samples", ST_COUNT_TABLE_LOAD, ST_LOAD_AGG_KEY_SIZE,
	                         ST_COUNT_AGG_VAL_SIZE, PART_ALL, db->dbi.load_agg, NULL, 0, 0};
	c.vhour_taps = (struct cells){"vehicle_hours", "accepted taps/-/-", ST_COUNT_TABLE_DOOR, ST_VHOUR_KEY_SIZE,
	                              ST_VHOUR_VAL_SIZE, PART_VHOUR_TAPS, db->dbi.vehicle_hours, NULL, 0, 0};
	c.vhour_signed = (struct cells){"vehicle_hours", "signed boardings/alightings/records", ST_COUNT_TABLE_DOOR,
	                                ST_VHOUR_KEY_SIZE, ST_VHOUR_VAL_SIZE, PART_VHOUR_SIGNED,
	                                db->dbi.vehicle_hours, NULL, 0, 0};
	*rep = (struct st_check_report){0};
	rc = st_read_begin(db, &c.r);
	if (rc != ST_OK)
		return rc;
	rc = st_riders_mark_get(c.r.txn, db->dbi.meta, &c.riders_through);
	if (rc == ST_OK)
		rc = st_derive_mark_get(c.r.txn, db->dbi.meta, &c.derived_through);
	if (rc == ST_OK)
		rc = run_checks(&c);
	st_read_end(&c.r);
	free(c.pairs);
	free(c.fkeys);
	free(c.taps.a);
	free(c.doors.a);
	free(c.loads.a);
	free(c.vhour_taps.a);
	free(c.vhour_signed.a);
	st_riders_batch_free(&c.riders);
	st_riders_batch_free(&c.riders_after);
	return rc;
}
