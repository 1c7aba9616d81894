/*
 * count_agg.c — passenger-count aggregates: door cells and load cells.
 *
 * Why it is built this way: a count record adds to exactly one cell, and
 * which one is decided in one place (st_count_cell_of) that the writer and
 * st_check share. A cell travels as its encoded key and three u64 counters
 * (struct st_count_cell), so the writer's read-add-write and the check's
 * recount combine values with the same rule (st_count_val_combine): door
 * counters are summed, a load cell keeps the highest peak and sums the rest.
 * Keys are big-endian and fixed-size, so LMDB keeps cells in (date, hour,
 * route, ...) order and a date range is one cursor walk; values are three
 * little-endian u64, like the tap aggregates'.
 */
#include "storage/count_agg.h"

#include <stdio.h>

#include "storage/db_internal.h"
#include "storage/service_day.h"

#define K_DATE 0
#define K_HOUR 4
#define K_ROUTE 5
#define KD_STOP 9
#define KD_DOOR 13
#define KD_SOURCE 14
#define KL_SOURCE 9

void st_count_val_encode(const uint64_t v[ST_COUNT_VALUES], uint8_t out[ST_COUNT_AGG_VAL_SIZE])
{
	for (int i = 0; i < ST_COUNT_VALUES; i++)
		kp_store_u64le(out + 8 * i, v[i]);
}

void st_count_val_decode(const uint8_t in[ST_COUNT_AGG_VAL_SIZE], uint64_t v[ST_COUNT_VALUES])
{
	for (int i = 0; i < ST_COUNT_VALUES; i++)
		v[i] = kp_load_u64le(in + 8 * i);
}

void st_count_val_combine(enum st_count_table table, uint64_t into[ST_COUNT_VALUES],
                          const uint64_t add[ST_COUNT_VALUES])
{
	int i = 0;

	if (table == ST_COUNT_TABLE_LOAD) {
		if (add[0] > into[0])
			into[0] = add[0];
		i = 1;
	}
	for (; i < ST_COUNT_VALUES; i++)
		into[i] += add[i];
}

static void door_key_decode(const uint8_t *in, struct st_door_agg_key *k)
{
	k->service_date = kp_load_u32be(in + K_DATE);
	k->hour = in[K_HOUR];
	k->route_id = kp_load_u32be(in + K_ROUTE);
	k->stop_id = kp_load_u32be(in + KD_STOP);
	k->door = in[KD_DOOR];
	k->source = in[KD_SOURCE];
}

static void load_key_decode(const uint8_t *in, struct st_load_agg_key *k)
{
	k->service_date = kp_load_u32be(in + K_DATE);
	k->hour = in[K_HOUR];
	k->route_id = kp_load_u32be(in + K_ROUTE);
	k->source = in[KL_SOURCE];
}

void st_count_cell_describe(const struct st_count_cell *cell, char *buf, size_t cap)
{
	if (cell->table == ST_COUNT_TABLE_DOOR) {
		struct st_door_agg_key k;

		door_key_decode(cell->key, &k);
		snprintf(buf, cap, "%u h%u route %u stop %u door %u source %u", k.service_date, k.hour,
		         k.route_id, k.stop_id, k.door, k.source);
	} else {
		struct st_load_agg_key k;

		load_key_decode(cell->key, &k);
		snprintf(buf, cap, "%u h%u route %u source %u", k.service_date, k.hour, k.route_id, k.source);
	}
}

int st_count_cell_of(const struct kp_count *c, uint8_t source, const struct st_zone *zone, int start_hour,
                     struct st_count_cell *cell)
{
	struct st_when when;

	*cell = (struct st_count_cell){ST_COUNT_TABLE_NONE, {0}, 0, {0}};
	if (st_service_day(zone, c->observed_at, start_hour, &when) != 0)
		return -1;
	if (c->kind == KP_COUNT_KIND_OCCUPANCY && c->occupancy == KP_OCCUPANCY_UNKNOWN)
		return 0;
	kp_store_u32be(cell->key + K_DATE, when.service_date);
	cell->key[K_HOUR] = when.hour;
	kp_store_u32be(cell->key + K_ROUTE, c->route_id);
	if (c->kind == KP_COUNT_KIND_DOOR_CYCLE) {
		cell->table = ST_COUNT_TABLE_DOOR;
		cell->key_size = ST_DOOR_AGG_KEY_SIZE;
		kp_store_u32be(cell->key + KD_STOP, c->stop_id);
		cell->key[KD_DOOR] = c->door;
		cell->key[KD_SOURCE] = source;
		cell->v[0] = c->boardings;
		cell->v[1] = c->alightings;
		cell->v[2] = 1;
	} else if (c->kind == KP_COUNT_KIND_OCCUPANCY) {
		cell->table = ST_COUNT_TABLE_LOAD;
		cell->key_size = ST_LOAD_AGG_KEY_SIZE;
		cell->key[KL_SOURCE] = source;
		cell->v[0] = c->occupancy;
		cell->v[1] = c->occupancy;
		cell->v[2] = 1;
	}
	return 0;
}

void st_door_cell_make(const struct st_door_agg_key *k, const uint64_t v[ST_COUNT_VALUES],
                       struct st_count_cell *cell)
{
	*cell = (struct st_count_cell){ST_COUNT_TABLE_DOOR, {0}, ST_DOOR_AGG_KEY_SIZE, {v[0], v[1], v[2]}};
	kp_store_u32be(cell->key + K_DATE, k->service_date);
	cell->key[K_HOUR] = k->hour;
	kp_store_u32be(cell->key + K_ROUTE, k->route_id);
	kp_store_u32be(cell->key + KD_STOP, k->stop_id);
	cell->key[KD_DOOR] = k->door;
	cell->key[KD_SOURCE] = k->source;
}

uint8_t st_count_key_source(enum st_count_table table, const uint8_t *key)
{
	return table == ST_COUNT_TABLE_DOOR ? key[KD_SOURCE] : key[KL_SOURCE];
}

MDB_dbi st_count_table_dbi(const struct st_dbis *dbi, enum st_count_table table)
{
	return table == ST_COUNT_TABLE_DOOR ? dbi->door_agg : dbi->load_agg;
}

int st_count_cell_add(MDB_txn *txn, const struct st_dbis *dbis, const struct st_count_cell *cell)
{
	uint8_t vb[ST_COUNT_AGG_VAL_SIZE];
	MDB_val key = {cell->key_size, (void *)cell->key};
	MDB_val val;
	MDB_dbi dbi;
	uint64_t sum[ST_COUNT_VALUES] = {0};
	int rc;

	if (cell->table == ST_COUNT_TABLE_NONE)
		return ST_OK;
	dbi = st_count_table_dbi(dbis, cell->table);
	rc = st_status(mdb_get(txn, dbi, &key, &val));
	if (rc == ST_OK && val.mv_size != ST_COUNT_AGG_VAL_SIZE)
		return ST_ECORRUPT;
	if (rc == ST_OK)
		st_count_val_decode(val.mv_data, sum);
	else if (rc != ST_ENOTFOUND)
		return rc;
	st_count_val_combine(cell->table, sum, cell->v);
	st_count_val_encode(sum, vb);
	val = (MDB_val){sizeof vb, vb};
	return st_status(mdb_put(txn, dbi, &key, &val, 0));
}

/* One walk over a count table from date_from, ending after date_to. */
struct count_visit {
	enum st_count_table table;
	uint32_t date_to;
	int (*door)(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v);
	int (*load)(void *ctx, const struct st_load_agg_key *k, const struct st_load_agg_val *v);
	void *ctx;
};

static int visit_count_cell(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val)
{
	const struct count_visit *cv = ctx;
	size_t key_size = cv->table == ST_COUNT_TABLE_DOOR ? ST_DOOR_AGG_KEY_SIZE : ST_LOAD_AGG_KEY_SIZE;
	uint64_t v[ST_COUNT_VALUES];
	int rc;

	if (key->mv_size != key_size || val->mv_size != ST_COUNT_AGG_VAL_SIZE)
		return ST_ECORRUPT;
	if (kp_load_u32be((const uint8_t *)key->mv_data + K_DATE) > cv->date_to)
		return ST_WALK_DONE;
	st_count_val_decode(val->mv_data, v);
	if (cv->table == ST_COUNT_TABLE_DOOR) {
		struct st_door_agg_key k;
		struct st_door_agg_val dv = {v[0], v[1], v[2]};

		door_key_decode(key->mv_data, &k);
		rc = cv->door(cv->ctx, &k, &dv);
	} else {
		struct st_load_agg_key k;
		struct st_load_agg_val lv = {v[0], v[1], v[2]};

		load_key_decode(key->mv_data, &k);
		rc = cv->load(cv->ctx, &k, &lv);
	}
	return rc != 0 ? ST_ESTOP : ST_OK;
}

static int count_foreach(struct st_read *r, uint32_t date_from, struct count_visit *cv)
{
	uint8_t kb[ST_DOOR_AGG_KEY_SIZE] = {0};
	MDB_val from = {cv->table == ST_COUNT_TABLE_DOOR ? ST_DOOR_AGG_KEY_SIZE : ST_LOAD_AGG_KEY_SIZE, kb};

	kp_store_u32be(kb + K_DATE, date_from);
	return st_walk(r->txn, st_count_table_dbi(&r->db->dbi, cv->table), &from, visit_count_cell, cv);
}

int st_door_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                        int (*fn)(void *ctx, const struct st_door_agg_key *k,
                                  const struct st_door_agg_val *v),
                        void *ctx)
{
	struct count_visit cv = {ST_COUNT_TABLE_DOOR, date_to, fn, NULL, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return count_foreach(r, date_from, &cv);
}

int st_load_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                        int (*fn)(void *ctx, const struct st_load_agg_key *k,
                                  const struct st_load_agg_val *v),
                        void *ctx)
{
	struct count_visit cv = {ST_COUNT_TABLE_LOAD, date_to, NULL, fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return count_foreach(r, date_from, &cv);
}
