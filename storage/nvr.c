/*
 * nvr.c — storing a group of NVR camera events (nvr.h): rows, counts and
 * the bounded set of counted objects, in one write transaction.
 *
 * Why it is built this way:
 *  - An object may be counted once per direction. Which directions are
 *    already counted is looked up in `nvr_counted` inside the transaction,
 *    which sees this group's own earlier puts, so two messages of one
 *    object in one group behave as in two groups with no extra bookkeeping.
 *    The count and the mark are written in the same transaction: a crash
 *    keeps both or neither.
 *  - The set is bounded: each object gets an insertion sequence, and
 *    `nvr_order` maps that sequence back to the object, so the oldest is the
 *    first record of `nvr_order`, found with one cursor step, not a scan.
 *    An object's sequence does not change when a second direction is
 *    counted: the bound forgets the oldest-recorded first.
 *  - Counts go to the door cells of count_agg.h under ST_COUNT_SOURCE_NVR,
 *    through the same read-add-write as signed counts; a message that
 *    counts adds 1 to the cell's cycles, so cycles says how many NVR
 *    messages the cell's boardings and alightings rest on. An onboard
 *    camera's event (vehicle_id != 0) adds the same to its vehicle's hour
 *    (vehicle_hours.h) in the same transaction.
 *  - The transaction runs through st_write_run, the one grow-and-retry loop
 *    (txn_retry.h): on MDB_MAP_FULL it is aborted, the map grown and the
 *    whole group run again from the start, so each run starts its stats and
 *    ->counted afresh and keeps nothing from an aborted run.
 *
 * nvr_counted: key camera ‖ 0 ‖ id; value (16 bytes) directions u8,
 *   reserved[7] = 0, seq LE8.
 * nvr_order: key seq BE8; value camera ‖ 0 ‖ id.
 */
#include "storage/nvr.h"

#include <stdbool.h>

#include "storage/db_internal.h"

#define CNT_DIRS 0
#define CNT_RESERVED 1
#define CNT_RESERVED_SIZE 7
#define CNT_SEQ 8

#define SIGN_BIT ((uint64_t)1 << 63)
#define ALL_DIRECTIONS (ST_NVR_BOARDED | ST_NVR_ALIGHTED)

/* ---- keys shared by the NVR tables ---- */

void st_time_key(uint8_t out[8], int64_t t)
{
	kp_store_u64be(out, (uint64_t)t ^ SIGN_BIT);
}

int64_t st_time_of_key(const uint8_t in[8])
{
	return (int64_t)(kp_load_u64be(in) ^ SIGN_BIT);
}

/* The length of a non-empty NUL-terminated string within cap bytes, or 0. */
static size_t nonempty_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, 0, cap);

	return nul ? (size_t)(nul - s) : 0;
}

int st_nvr_object_key(const char *camera, const char *id, uint8_t out[ST_NVR_OBJECT_KEY_MAX], size_t *len)
{
	size_t cl, il;

	if (!camera || !id)
		return ST_EINVAL;
	cl = nonempty_len(camera, ST_CAMERA_NAME_MAX + 1);
	il = nonempty_len(id, ST_NVR_ID_MAX + 1);
	if (cl == 0 || il == 0)
		return ST_EINVAL;
	memcpy(out, camera, cl);
	out[cl] = 0;
	memcpy(out + cl + 1, id, il);
	*len = cl + 1 + il;
	return ST_OK;
}

/* ---- the counted set ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

int st_nvr_counted_decode(const MDB_val *k, const MDB_val *v, unsigned *dirs, uint64_t *seq)
{
	const uint8_t *p = v->mv_data;
	const uint8_t *nul = k->mv_size ? memchr(k->mv_data, 0, k->mv_size) : NULL;

	if (!nul || nul == k->mv_data || nul == (const uint8_t *)k->mv_data + k->mv_size - 1 ||
	    k->mv_size > ST_NVR_OBJECT_KEY_MAX || v->mv_size != ST_NVR_COUNTED_VAL_SIZE ||
	    !all_zero(p + CNT_RESERVED, CNT_RESERVED_SIZE) || p[CNT_DIRS] == 0 || (p[CNT_DIRS] & ~ALL_DIRECTIONS))
		return ST_ECORRUPT;
	*dirs = p[CNT_DIRS];
	*seq = kp_load_u64le(p + CNT_SEQ);
	return ST_OK;
}

/* The directions and sequence of an object: ST_OK, ST_ENOTFOUND, or an error. */
static int counted_read(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, unsigned *dirs, uint64_t *seq)
{
	MDB_val v;
	int rc = st_status(mdb_get(txn, dbi, key, &v));

	return rc == ST_OK ? st_nvr_counted_decode(key, &v, dirs, seq) : rc;
}

static int counted_write(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, unsigned dirs, uint64_t seq)
{
	uint8_t vb[ST_NVR_COUNTED_VAL_SIZE] = {0};
	MDB_val v = {sizeof vb, vb};

	vb[CNT_DIRS] = (uint8_t)dirs;
	kp_store_u64le(vb + CNT_SEQ, seq);
	return st_status(mdb_put(txn, dbi, key, &v, 0));
}

struct nvr_group {
	struct st_db *db;
	struct st_nvr_event *events;
	size_t n;
	size_t counted_max;
	MDB_txn *txn;
	uint64_t next_seq; /* the insertion sequence of the next object recorded */
	struct st_nvr_stats stats;
};

/* Drops the oldest-recorded object from the set and from the order. */
static int forget_oldest(struct nvr_group *g)
{
	uint8_t kb[ST_NVR_OBJECT_KEY_MAX];
	MDB_val object = {0, kb};
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = st_status(mdb_cursor_open(g->txn, g->db->dbi.nvr_order, &cur));

	if (rc != ST_OK)
		return rc;
	rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
	if (rc == ST_OK && (v.mv_size == 0 || v.mv_size > sizeof kb))
		rc = ST_ECORRUPT;
	if (rc == ST_OK) { /* a copy: v points into a page the deletes below may move */
		memcpy(kb, v.mv_data, v.mv_size);
		object.mv_size = v.mv_size;
		rc = st_status(mdb_cursor_del(cur, 0));
	}
	mdb_cursor_close(cur);
	if (rc == ST_OK)
		rc = st_status(mdb_del(g->txn, g->db->dbi.nvr_counted, &object, NULL));
	if (rc == ST_OK)
		g->stats.forgotten++;
	return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc; /* the order and the set disagree */
}

/* Records a newly counted object, forgetting the oldest beyond the bound. */
static int remember_new(struct nvr_group *g, MDB_val *key, unsigned dirs)
{
	uint8_t ob[ST_NVR_ORDER_KEY_SIZE];
	MDB_val ok = {sizeof ob, ob};
	uint64_t seq = g->next_seq++;
	MDB_stat st;
	int rc;

	kp_store_u64be(ob, seq);
	rc = counted_write(g->txn, g->db->dbi.nvr_counted, key, dirs, seq);
	if (rc == ST_OK)
		rc = st_status(mdb_put(g->txn, g->db->dbi.nvr_order, &ok, key, MDB_APPEND));
	if (rc == ST_OK)
		rc = st_status(mdb_stat(g->txn, g->db->dbi.nvr_counted, &st));
	while (rc == ST_OK && st.ms_entries > g->counted_max) {
		rc = forget_oldest(g);
		st.ms_entries--;
	}
	return rc;
}

/* An onboard camera's new directions in its vehicle's hour. */
static int add_vehicle_hour(struct nvr_group *g, const struct st_nvr_event *ev, const uint64_t v[ST_COUNT_VALUES])
{
	const struct st_vehicle_hour_key vk = {ev->cell.service_date, ev->cell.hour, ev->cell.route_id,
	                                       ev->vehicle_id};
	const int at = ST_VHOUR_SOURCE(ST_COUNT_SOURCE_NVR);
	uint64_t add[ST_VHOUR_VALUES] = {0};
	uint8_t key[ST_VHOUR_KEY_SIZE];

	if (ev->vehicle_id == 0)
		return ST_OK;
	add[at] = v[0];
	add[at + 1] = v[1];
	add[at + 2] = v[2];
	st_vhour_key_encode(&vk, key);
	return st_vhour_add(g->txn, g->db->dbi.vehicle_hours, key, add);
}

/* Adds one NVR message's new directions to its door cell (and, onboard,
 * to its vehicle's hour). */
static int add_counts(struct nvr_group *g, const struct st_nvr_event *ev, unsigned add)
{
	struct st_door_agg_key k = ev->cell;
	uint64_t v[ST_COUNT_VALUES] = {(add & ST_NVR_BOARDED) != 0, (add & ST_NVR_ALIGHTED) != 0, 1};
	struct st_count_cell cell;
	int rc;

	k.source = ST_COUNT_SOURCE_NVR;
	st_door_cell_make(&k, v, &cell);
	rc = st_count_cell_add(g->txn, &g->db->dbi, &cell);
	if (rc == ST_OK)
		rc = add_vehicle_hour(g, ev, v);
	if (rc != ST_OK)
		return rc;
	g->stats.boardings += v[0];
	g->stats.alightings += v[1];
	return ST_OK;
}

static int count_event(struct nvr_group *g, struct st_nvr_event *ev)
{
	uint8_t kb[ST_NVR_OBJECT_KEY_MAX];
	MDB_val key = {0, kb};
	unsigned before = 0, add;
	uint64_t seq = 0;
	int rc = st_nvr_object_key(ev->camera, ev->id, kb, &key.mv_size);

	if (rc == ST_OK)
		rc = counted_read(g->txn, g->db->dbi.nvr_counted, &key, &before, &seq);
	if (rc != ST_OK && rc != ST_ENOTFOUND)
		return rc;
	add = ev->want & ~before;
	if (add == 0)
		return ST_OK;
	rc = add_counts(g, ev, add);
	if (rc != ST_OK)
		return rc;
	ev->counted = add;
	if (before == 0)
		return remember_new(g, &key, add);
	return counted_write(g->txn, g->db->dbi.nvr_counted, &key, before | add, seq);
}

/* The sequence after the newest recorded object, 1 for an empty order. */
static int order_next(struct nvr_group *g)
{
	MDB_val k, v;
	int rc = st_get_last(g->txn, g->db->dbi.nvr_order, &k, &v);

	g->next_seq = 1;
	if (rc == ST_ENOTFOUND)
		return ST_OK;
	if (rc != ST_OK)
		return rc;
	if (k.mv_size != ST_NVR_ORDER_KEY_SIZE)
		return ST_ECORRUPT;
	g->next_seq = kp_load_u64be(k.mv_data) + 1;
	return ST_OK;
}

/* One run of the whole group in txn (st_write_run may run it again). */
static int store_events(void *ctx, MDB_txn *txn)
{
	struct nvr_group *g = ctx;
	int rc;

	g->txn = txn;
	g->stats = (struct st_nvr_stats){0};
	for (size_t i = 0; i < g->n; i++)
		g->events[i].counted = 0;
	rc = order_next(g);
	for (size_t i = 0; i < g->n && rc == ST_OK; i++) {
		rc = st_nvr_event_put(txn, g->db->dbi.nvr_events, &g->events[i]);
		if (rc == ST_OK && g->events[i].want)
			rc = count_event(g, &g->events[i]);
	}
	return rc;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static bool event_valid(const struct st_nvr_event *ev)
{
	if (!nonempty_len(ev->camera, sizeof ev->camera) || !nonempty_len(ev->id, sizeof ev->id) ||
	    !terminated(ev->label, sizeof ev->label) || !terminated(ev->zones, sizeof ev->zones))
		return false;
	if (ev->type > ST_NVR_END || ev->false_positive > 1 || ev->has_clip > 1)
		return false;
	if (ev->want & ~ALL_DIRECTIONS)
		return false;
	return !ev->want || (ev->cell.service_date != 0 && ev->cell.hour < 24);
}

int st_nvr_commit(struct st_db *db, struct st_nvr_event *events, size_t n,
                  const struct st_nvr_limits *limits, struct st_nvr_stats *stats)
{
	struct nvr_group g = {.db = db, .events = events, .n = n};
	int rc = ST_OK;

	if (!db || (n && !events) || !limits || limits->counted_max < 1)
		rc = ST_EINVAL;
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		events[i].counted = 0;
		if (!event_valid(&events[i]))
			rc = ST_EINVAL;
	}
	if (rc == ST_OK && n > 0) {
		g.counted_max = limits->counted_max;
		rc = st_write_run(db, store_events, &g, NULL);
	}
	if (rc != ST_OK) {
		for (size_t i = 0; events && i < n; i++)
			events[i].counted = 0;
		g.stats = (struct st_nvr_stats){0};
	}
	if (stats)
		*stats = g.stats;
	return rc;
}

/* ---- reads ---- */

unsigned st_nvr_counted_get(struct st_read *r, const char *camera, const char *id)
{
	uint8_t kb[ST_NVR_OBJECT_KEY_MAX];
	MDB_val key = {0, kb};
	unsigned dirs = 0;
	uint64_t seq;

	if (!r || !r->txn || st_nvr_object_key(camera, id, kb, &key.mv_size) != ST_OK)
		return 0;
	if (counted_read(r->txn, r->db->dbi.nvr_counted, &key, &dirs, &seq) != ST_OK)
		return 0;
	return dirs;
}

int st_nvr_counted_size(struct st_read *r, uint64_t *n)
{
	MDB_stat st;
	int rc;

	if (!r || !r->txn || !n)
		return ST_EINVAL;
	rc = st_status(mdb_stat(r->txn, r->db->dbi.nvr_counted, &st));
	if (rc == ST_OK)
		*n = st.ms_entries;
	return rc;
}
