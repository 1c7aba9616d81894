/*
 * vehicle_pos.c — where each vehicle was last seen (vehicle_pos.h).
 *
 * Why it is built this way: a commit group may hold hundreds of records of
 * one bus; a put per record would rewrite the same page hundreds of times
 * in the writer's transaction. So the group gathers the newest record per
 * vehicle in a small open-addressed table owned by the db (the writer is
 * the only user) and writes each vehicle once, at the end of the group,
 * after comparing with the stored position: a record older than it (a
 * validator re-sending last week's taps) moves nothing. The table lives in
 * the transaction's run only: it is cleared whenever the group runs again
 * after a map growth, so nothing of an aborted run is written. A stored
 * record that does not decode (wrong size) is overwritten by the new
 * position, never an error for the group: it is a cache, and the taps that
 * place the bus matter more than the place (st_check still reports one).
 *
 * vehicle_pos: key vehicle_id BE4 (LMDB's order is the numeric order);
 *   value (16 bytes) route_id LE4, stop_id LE4, at LE8 (ms).
 */
#include "storage/vehicle_pos.h"

#include "storage/db_internal.h"

#define VPOS_ROUTE 0
#define VPOS_STOP 4
#define VPOS_AT 8

_Static_assert((ST_VPOS_SLOTS & (ST_VPOS_SLOTS - 1)) == 0, "slots a power of two");
_Static_assert(ST_VPOS_FILL < ST_VPOS_SLOTS, "the table always keeps a free slot");

static void pos_decode(uint32_t vehicle_id, const uint8_t *p, struct st_vehicle_pos *out)
{
	out->vehicle_id = vehicle_id;
	out->route_id = kp_load_u32le(p + VPOS_ROUTE);
	out->stop_id = kp_load_u32le(p + VPOS_STOP);
	out->at = (int64_t)kp_load_u64le(p + VPOS_AT);
}

/* The stored position of a vehicle (ST_ENOTFOUND when never seen). */
static int pos_read(MDB_txn *txn, MDB_dbi dbi, uint32_t vehicle_id, struct st_vehicle_pos *out)
{
	uint8_t kb[ST_VPOS_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	kp_store_u32be(kb, vehicle_id);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc != ST_OK)
		return rc;
	if (v.mv_size != ST_VPOS_VAL_SIZE)
		return ST_ECORRUPT;
	pos_decode(vehicle_id, v.mv_data, out);
	return ST_OK;
}

static int pos_write(MDB_txn *txn, MDB_dbi dbi, const struct st_vpos_slot *s)
{
	uint8_t kb[ST_VPOS_KEY_SIZE];
	uint8_t vb[ST_VPOS_VAL_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	kp_store_u32be(kb, s->vehicle_id);
	kp_store_u32le(vb + VPOS_ROUTE, s->route_id);
	kp_store_u32le(vb + VPOS_STOP, s->stop_id);
	kp_store_u64le(vb + VPOS_AT, (uint64_t)s->at);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

int st_vehicle_pos_check_record(const MDB_val *k, const MDB_val *v)
{
	return k->mv_size == ST_VPOS_KEY_SIZE && v->mv_size == ST_VPOS_VAL_SIZE &&
	               kp_load_u32be(k->mv_data) != 0
	           ? ST_OK
	           : ST_ECORRUPT;
}

/* ---- the group's batch ---- */

void st_vpos_batch_clear(struct st_vpos_batch *b)
{
	memset(b->slot, 0, sizeof b->slot);
	b->used = 0;
}

/* The slot of vehicle_id: its own, or the empty one where it would go. */
static struct st_vpos_slot *slot_of(struct st_vpos_batch *b, uint32_t vehicle_id)
{
	/* Knuth's multiplicative hash: vehicle ids are often consecutive. */
	unsigned i = (unsigned)((vehicle_id * 2654435761u) >> 23) & (ST_VPOS_SLOTS - 1);

	while (b->slot[i].vehicle_id != 0 && b->slot[i].vehicle_id != vehicle_id)
		i = (i + 1) & (ST_VPOS_SLOTS - 1);
	return &b->slot[i];
}

int st_vpos_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_vpos_batch *b)
{
	struct st_vehicle_pos stored;
	int rc = ST_OK;

	for (unsigned i = 0; i < ST_VPOS_SLOTS && rc == ST_OK; i++) {
		const struct st_vpos_slot *s = &b->slot[i];

		if (s->vehicle_id == 0)
			continue;
		rc = pos_read(txn, dbi, s->vehicle_id, &stored);
		if (rc == ST_OK && s->at <= stored.at)
			continue; /* older (or as old) as what is stored: the bus stays */
		/* A stored record that does not decode is overwritten: the table
		 * is only a cache of positions, and failing the whole group (the
		 * taps and counts that came with it) for it would be far worse. */
		if (rc == ST_OK || rc == ST_ENOTFOUND || rc == ST_ECORRUPT)
			rc = pos_write(txn, dbi, s);
	}
	if (rc == ST_OK)
		st_vpos_batch_clear(b);
	return rc;
}

int st_vpos_batch_note(MDB_txn *txn, MDB_dbi dbi, struct st_vpos_batch *b, uint32_t vehicle_id,
                       uint32_t route_id, uint32_t stop_id, int64_t at)
{
	struct st_vpos_slot *s;
	int rc;

	if (vehicle_id == 0) /* a record that names no vehicle places none */
		return ST_OK;
	s = slot_of(b, vehicle_id);
	if (s->vehicle_id == 0 && b->used >= ST_VPOS_FILL) {
		rc = st_vpos_batch_flush(txn, dbi, b);
		if (rc != ST_OK)
			return rc;
		s = slot_of(b, vehicle_id);
	}
	if (s->vehicle_id == 0) {
		b->used++;
		*s = (struct st_vpos_slot){vehicle_id, route_id, stop_id, at};
	} else if (at > s->at) {
		*s = (struct st_vpos_slot){vehicle_id, route_id, stop_id, at};
	}
	return ST_OK;
}

/* ---- reads ---- */

int st_vehicle_pos_get(struct st_read *r, uint32_t vehicle_id, struct st_vehicle_pos *out)
{
	if (!r || !r->txn || !out)
		return ST_EINVAL;
	return pos_read(r->txn, r->db->dbi.vehicle_pos, vehicle_id, out);
}
