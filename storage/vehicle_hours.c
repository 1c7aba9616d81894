/*
 * vehicle_hours.c — accepted taps and camera counts per (service date,
 * hour, route, vehicle) (vehicle_hours.h).
 *
 * Why it is built this way: a cell travels as its encoded key and seven u64
 * counters (accepted; signed boardings, alightings, records; NVR the same),
 * so the writer's read-add-write, the NVR commit and st_check's recount all
 * add with one rule (sum every counter). The writer sums consecutive
 * records of one frame that fall in the same cell first (a run, as for the
 * tap aggregates) and adds them once: a frame is mostly one vehicle in one
 * hour.
 *
 * vehicle_hours: key date BE4 ‖ hour 1 ‖ route BE4 ‖ vehicle BE4; value
 *   seven LE8 in the order above.
 */
#include "storage/vehicle_hours.h"

#include "storage/db_internal.h"

#define K_DATE 0
#define K_HOUR 4
#define K_ROUTE 5
#define K_VEHICLE 9

void st_vhour_key_encode(const struct st_vehicle_hour_key *k, uint8_t out[ST_VHOUR_KEY_SIZE])
{
	kp_store_u32be(out + K_DATE, k->service_date);
	out[K_HOUR] = k->hour;
	kp_store_u32be(out + K_ROUTE, k->route_id);
	kp_store_u32be(out + K_VEHICLE, k->vehicle_id);
}

void st_vhour_key_decode(const uint8_t in[ST_VHOUR_KEY_SIZE], struct st_vehicle_hour_key *k)
{
	k->service_date = kp_load_u32be(in + K_DATE);
	k->hour = in[K_HOUR];
	k->route_id = kp_load_u32be(in + K_ROUTE);
	k->vehicle_id = kp_load_u32be(in + K_VEHICLE);
}

void st_vhour_val_decode(const uint8_t in[ST_VHOUR_VAL_SIZE], uint64_t v[ST_VHOUR_VALUES])
{
	for (int i = 0; i < ST_VHOUR_VALUES; i++)
		v[i] = kp_load_u64le(in + 8 * i);
}

int st_vhour_add(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[ST_VHOUR_KEY_SIZE],
                 const uint64_t add[ST_VHOUR_VALUES])
{
	uint8_t vb[ST_VHOUR_VAL_SIZE];
	MDB_val k = {ST_VHOUR_KEY_SIZE, (void *)key};
	MDB_val v;
	uint64_t sum[ST_VHOUR_VALUES] = {0};
	int rc;

	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc == ST_OK && v.mv_size != ST_VHOUR_VAL_SIZE)
		return ST_ECORRUPT;
	if (rc == ST_OK)
		st_vhour_val_decode(v.mv_data, sum);
	else if (rc != ST_ENOTFOUND)
		return rc;
	for (int i = 0; i < ST_VHOUR_VALUES; i++) {
		sum[i] += add[i];
		kp_store_u64le(vb + 8 * i, sum[i]);
	}
	v = (MDB_val){sizeof vb, vb};
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

int st_vhour_run_flush(MDB_txn *txn, MDB_dbi dbi, struct st_vhour_run *run)
{
	int rc = ST_OK;

	if (run->open)
		rc = st_vhour_add(txn, dbi, run->key, run->v);
	run->open = 0;
	return rc;
}

int st_vhour_run_add(MDB_txn *txn, MDB_dbi dbi, struct st_vhour_run *run, const struct st_vehicle_hour_key *k,
                     const uint64_t add[ST_VHOUR_VALUES])
{
	uint8_t key[ST_VHOUR_KEY_SIZE];
	int rc;

	st_vhour_key_encode(k, key);
	if (run->open && memcmp(run->key, key, sizeof key) == 0) {
		for (int i = 0; i < ST_VHOUR_VALUES; i++)
			run->v[i] += add[i];
		return ST_OK;
	}
	rc = st_vhour_run_flush(txn, dbi, run);
	if (rc != ST_OK)
		return rc;
	run->open = 1;
	memcpy(run->key, key, sizeof key);
	memcpy(run->v, add, sizeof run->v);
	return ST_OK;
}

struct vhour_visit {
	uint32_t date_to;
	int (*fn)(void *ctx, const struct st_vehicle_hour_key *k, const struct st_vehicle_hour_val *v);
	void *ctx;
};

static int visit_vhour(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val)
{
	const struct vhour_visit *vv = ctx;
	struct st_vehicle_hour_key k;
	struct st_vehicle_hour_val v;
	uint64_t c[ST_VHOUR_VALUES];

	(void)cur;
	if (key->mv_size != ST_VHOUR_KEY_SIZE || val->mv_size != ST_VHOUR_VAL_SIZE)
		return ST_ECORRUPT;
	st_vhour_key_decode(key->mv_data, &k);
	if (k.service_date > vv->date_to)
		return ST_WALK_DONE;
	st_vhour_val_decode(val->mv_data, c);
	v.accepted = c[ST_VHOUR_ACCEPTED];
	for (int s = 0; s < 2; s++) {
		const uint64_t *p = c + ST_VHOUR_SOURCE(s + 1);

		v.source[s] = (struct st_vehicle_hour_counts){p[0], p[1], p[2]};
	}
	return vv->fn(vv->ctx, &k, &v) != 0 ? ST_ESTOP : ST_OK;
}

int st_vehicle_hours_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                             int (*fn)(void *ctx, const struct st_vehicle_hour_key *k,
                                       const struct st_vehicle_hour_val *v),
                             void *ctx)
{
	struct vhour_visit vv = {date_to, fn, ctx};
	uint8_t kb[ST_VHOUR_KEY_SIZE] = {0};
	MDB_val from = {sizeof kb, kb};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	kp_store_u32be(kb + K_DATE, date_from);
	return st_walk(r->txn, r->db->dbi.vehicle_hours, &from, visit_vhour, &vv);
}
