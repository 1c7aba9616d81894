/*
 * devices.c — the device registry and enrolled keys.
 *
 * Why it is built this way: records are fixed-size little-endian byte
 * layouts written and read field by field (never a struct dump), so the
 * file does not depend on the compiler's padding and mdb_dump output is
 * stable. Devices are keyed by the big-endian id, keys by id ‖ key_id, so
 * one device's keys are adjacent and in key_id order: one cursor walk lists
 * them. Each write call is one short write transaction of its own (through
 * st_write_run, which grows the map if it must); a revocation is therefore
 * durable and visible to every read transaction begun after it returns.
 * Revoking a device also revokes its keys, so a verifier that only looks at
 * the key still refuses the device.
 *
 * devices value (56 bytes): kind u8, state u8, reserved u16 = 0,
 *   vehicle_id u32, created_at i64, revoked_at i64, operator_name[32] (NUL-padded).
 * device_keys value (56 bytes): state u8, reserved[7] = 0, added_at i64,
 *   revoked_at i64, public_key[32].
 */
#include "storage/devices.h"

#include "storage/db_internal.h"

#define DEV_VAL_SIZE 56
#define DEV_KIND 0
#define DEV_STATE 1
#define DEV_RESERVED 2
#define DEV_RESERVED_SIZE 2
#define DEV_VEHICLE 4
#define DEV_CREATED 8
#define DEV_REVOKED 16
#define DEV_OPERATOR 24

#define KEY_VAL_SIZE 56
#define KEY_STATE 0
#define KEY_RESERVED 1
#define KEY_RESERVED_SIZE 7
#define KEY_ADDED 8
#define KEY_REVOKED 16
#define KEY_PUBLIC 24

#define KEY_ID_MAX 255

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

static int valid_state(uint8_t s)
{
	return s == ST_STATE_ACTIVE || s == ST_STATE_REVOKED;
}

/* ---- encoding ---- */

static void device_encode(const struct st_device *d, uint8_t out[DEV_VAL_SIZE])
{
	size_t len = strnlen(d->operator_name, ST_OPERATOR_SIZE - 1);

	memset(out, 0, DEV_VAL_SIZE);
	out[DEV_KIND] = d->kind;
	out[DEV_STATE] = d->state;
	kp_store_u32le(out + DEV_VEHICLE, d->vehicle_id);
	kp_store_u64le(out + DEV_CREATED, (uint64_t)d->created_at);
	kp_store_u64le(out + DEV_REVOKED, (uint64_t)d->revoked_at);
	memcpy(out + DEV_OPERATOR, d->operator_name, len);
}

static int device_decode(uint64_t id, const MDB_val *v, struct st_device *d)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != DEV_VAL_SIZE || !all_zero(p + DEV_RESERVED, DEV_RESERVED_SIZE) ||
	    !valid_state(p[DEV_STATE]) || p[DEV_OPERATOR + ST_OPERATOR_SIZE - 1] != 0)
		return ST_ECORRUPT;
	d->id = id;
	d->kind = p[DEV_KIND];
	d->state = p[DEV_STATE];
	d->vehicle_id = kp_load_u32le(p + DEV_VEHICLE);
	d->created_at = (int64_t)kp_load_u64le(p + DEV_CREATED);
	d->revoked_at = (int64_t)kp_load_u64le(p + DEV_REVOKED);
	memcpy(d->operator_name, p + DEV_OPERATOR, ST_OPERATOR_SIZE);
	return ST_OK;
}

static void key_encode(const struct st_device_key *k, uint8_t out[KEY_VAL_SIZE])
{
	memset(out, 0, KEY_VAL_SIZE);
	out[KEY_STATE] = k->state;
	kp_store_u64le(out + KEY_ADDED, (uint64_t)k->added_at);
	kp_store_u64le(out + KEY_REVOKED, (uint64_t)k->revoked_at);
	memcpy(out + KEY_PUBLIC, k->public_key, sizeof k->public_key);
}

static int key_decode(const MDB_val *kv, const MDB_val *v, struct st_device_key *k)
{
	const uint8_t *p = v->mv_data;

	if (kv->mv_size != ST_DEVICE_KEY_KEY_SIZE || v->mv_size != KEY_VAL_SIZE ||
	    !all_zero(p + KEY_RESERVED, KEY_RESERVED_SIZE) || !valid_state(p[KEY_STATE]))
		return ST_ECORRUPT;
	k->device_id = kp_load_u64be(kv->mv_data);
	k->key_id = ((const uint8_t *)kv->mv_data)[8];
	k->state = p[KEY_STATE];
	k->added_at = (int64_t)kp_load_u64le(p + KEY_ADDED);
	k->revoked_at = (int64_t)kp_load_u64le(p + KEY_REVOKED);
	memcpy(k->public_key, p + KEY_PUBLIC, sizeof k->public_key);
	return ST_OK;
}

static void key_key(uint8_t out[ST_DEVICE_KEY_KEY_SIZE], uint64_t device_id, uint8_t key_id)
{
	kp_store_u64be(out, device_id);
	out[8] = key_id;
}

/* ---- txn-level get and put ---- */

static int device_read(MDB_txn *txn, MDB_dbi dbi, uint64_t id, struct st_device *d)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	kp_store_u64be(kb, id);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc != ST_OK)
		return rc;
	return device_decode(id, &v, d);
}

static int device_write(MDB_txn *txn, MDB_dbi dbi, const struct st_device *d, unsigned flags)
{
	uint8_t kb[ST_DEVICE_KEY_SIZE];
	uint8_t vb[DEV_VAL_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	kp_store_u64be(kb, d->id);
	device_encode(d, vb);
	return st_status(mdb_put(txn, dbi, &k, &v, flags));
}

static int key_read(MDB_txn *txn, MDB_dbi dbi, uint64_t id, uint8_t key_id, struct st_device_key *out)
{
	uint8_t kb[ST_DEVICE_KEY_KEY_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v;
	int rc;

	key_key(kb, id, key_id);
	rc = st_status(mdb_get(txn, dbi, &k, &v));
	if (rc != ST_OK)
		return rc;
	return key_decode(&k, &v, out);
}

static int key_write(MDB_txn *txn, MDB_dbi dbi, const struct st_device_key *key, unsigned flags)
{
	uint8_t kb[ST_DEVICE_KEY_KEY_SIZE];
	uint8_t vb[KEY_VAL_SIZE];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	key_key(kb, key->device_id, key->key_id);
	key_encode(key, vb);
	return st_status(mdb_put(txn, dbi, &k, &v, flags));
}

struct keys_walk {
	uint64_t id;
	int (*fn)(void *ctx, MDB_cursor *cur, const struct st_device_key *k);
	void *ctx;
};

static int walk_key(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct keys_walk *w = ctx;
	struct st_device_key key;
	int rc;

	if (k->mv_size != ST_DEVICE_KEY_KEY_SIZE || kp_load_u64be(k->mv_data) != w->id)
		return ST_WALK_DONE; /* past the device's keys */
	rc = key_decode(k, v, &key);
	return rc == ST_OK ? w->fn(w->ctx, cur, &key) : rc;
}

/* Calls fn for each key of device id in key_id order, with the cursor. */
static int keys_walk(MDB_txn *txn, MDB_dbi dbi, uint64_t id,
                     int (*fn)(void *ctx, MDB_cursor *cur, const struct st_device_key *k), void *ctx)
{
	uint8_t kb[ST_DEVICE_KEY_KEY_SIZE];
	MDB_val from = {sizeof kb, kb};
	struct keys_walk w = {id, fn, ctx};

	key_key(kb, id, 0);
	return st_walk(txn, dbi, &from, walk_key, &w);
}

/* ---- writes ---- */

struct add_device {
	struct st_db *db;
	const struct st_device *dev;
};

static int add_device_txn(void *ctx, MDB_txn *txn)
{
	const struct add_device *a = ctx;

	return device_write(txn, a->db->dbi.devices, a->dev, MDB_NOOVERWRITE);
}

int st_device_add(struct st_db *db, const struct st_device *dev)
{
	struct add_device a = {db, dev};

	if (!db || !dev || dev->id == 0 || dev->kind < ST_KIND_VALIDATOR || dev->kind > ST_KIND_NVR)
		return ST_EINVAL;
	if (!valid_state(dev->state) || !memchr(dev->operator_name, 0, ST_OPERATOR_SIZE))
		return ST_EINVAL;
	return st_write_run(db, add_device_txn, &a, NULL);
}

struct add_key {
	struct st_db *db;
	const struct st_device_key *key;
};

static int add_key_txn(void *ctx, MDB_txn *txn)
{
	const struct add_key *a = ctx;
	struct st_device dev;
	int rc;

	rc = device_read(txn, a->db->dbi.devices, a->key->device_id, &dev);
	if (rc != ST_OK)
		return rc;
	return key_write(txn, a->db->dbi.device_keys, a->key, MDB_NOOVERWRITE);
}

int st_device_key_add(struct st_db *db, const struct st_device_key *key)
{
	struct add_key a = {db, key};

	if (!db || !key || key->device_id == 0 || !valid_state(key->state))
		return ST_EINVAL;
	return st_write_run(db, add_key_txn, &a, NULL);
}

struct revoke {
	struct st_db *db;
	uint64_t device_id;
	int key_id;
	int64_t now_ms;
};

static int revoke_key_at_cursor(void *ctx, MDB_cursor *cur, const struct st_device_key *k)
{
	const struct revoke *rv = ctx;
	struct st_device_key key = *k;
	uint8_t kb[ST_DEVICE_KEY_KEY_SIZE];
	uint8_t vb[KEY_VAL_SIZE];
	MDB_val kv = {sizeof kb, kb};
	MDB_val v = {sizeof vb, vb};

	if (key.state == ST_STATE_REVOKED)
		return ST_OK;
	key.state = ST_STATE_REVOKED;
	key.revoked_at = rv->now_ms;
	key_key(kb, key.device_id, key.key_id);
	key_encode(&key, vb);
	return st_status(mdb_cursor_put(cur, &kv, &v, MDB_CURRENT));
}

static int revoke_device_txn(struct revoke *rv, MDB_txn *txn)
{
	struct st_device dev;
	int rc;

	rc = device_read(txn, rv->db->dbi.devices, rv->device_id, &dev);
	if (rc != ST_OK)
		return rc;
	if (dev.state != ST_STATE_REVOKED) {
		dev.state = ST_STATE_REVOKED;
		dev.revoked_at = rv->now_ms;
		rc = device_write(txn, rv->db->dbi.devices, &dev, 0);
		if (rc != ST_OK)
			return rc;
	}
	return keys_walk(txn, rv->db->dbi.device_keys, rv->device_id, revoke_key_at_cursor, rv);
}

static int revoke_one_key_txn(struct revoke *rv, MDB_txn *txn)
{
	struct st_device_key key;
	int rc;

	rc = key_read(txn, rv->db->dbi.device_keys, rv->device_id, (uint8_t)rv->key_id, &key);
	if (rc != ST_OK || key.state == ST_STATE_REVOKED)
		return rc;
	key.state = ST_STATE_REVOKED;
	key.revoked_at = rv->now_ms;
	return key_write(txn, rv->db->dbi.device_keys, &key, 0);
}

static int revoke_txn(void *ctx, MDB_txn *txn)
{
	struct revoke *rv = ctx;

	return rv->key_id < 0 ? revoke_device_txn(rv, txn) : revoke_one_key_txn(rv, txn);
}

int st_device_revoke(struct st_db *db, uint64_t device_id, int key_id, int64_t now_ms)
{
	struct revoke rv = {db, device_id, key_id, now_ms};

	if (!db || key_id > KEY_ID_MAX)
		return ST_EINVAL;
	return st_write_run(db, revoke_txn, &rv, NULL);
}

/* ---- reads ---- */

int st_device_get(struct st_read *r, uint64_t device_id, struct st_device *out)
{
	if (!r || !r->txn || !out)
		return ST_EINVAL;
	return device_read(r->txn, r->db->dbi.devices, device_id, out);
}

int st_device_key_get(struct st_read *r, uint64_t device_id, uint8_t key_id, struct st_device_key *out)
{
	if (!r || !r->txn || !out)
		return ST_EINVAL;
	return key_read(r->txn, r->db->dbi.device_keys, device_id, key_id, out);
}

struct device_visit {
	int (*fn)(void *ctx, const struct st_device *dev);
	void *ctx;
};

static int visit_device(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct device_visit *dv = ctx;
	struct st_device dev;
	int rc = k->mv_size == ST_DEVICE_KEY_SIZE ? device_decode(kp_load_u64be(k->mv_data), v, &dev)
	                                          : ST_ECORRUPT;

	if (rc == ST_OK && dv->fn(dv->ctx, &dev) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_device_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_device *dev), void *ctx)
{
	struct device_visit dv = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.devices, NULL, visit_device, &dv);
}

struct key_visit {
	int (*fn)(void *ctx, const struct st_device_key *key);
	void *ctx;
};

static int visit_key(void *ctx, MDB_cursor *cur, const struct st_device_key *k)
{
	const struct key_visit *kv = ctx;

	return kv->fn(kv->ctx, k) != 0 ? ST_ESTOP : ST_OK;
}

int st_device_key_foreach(struct st_read *r, uint64_t device_id,
                          int (*fn)(void *ctx, const struct st_device_key *key), void *ctx)
{
	struct key_visit kv = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return keys_walk(r->txn, r->db->dbi.device_keys, device_id, visit_key, &kv);
}

/* ---- kinds ---- */

const char *st_device_kind_name(uint8_t kind)
{
	switch (kind) {
	case ST_KIND_VALIDATOR:
		return "validator";
	case ST_KIND_APC:
		return "apc";
	case ST_KIND_NVR:
		return "nvr";
	default:
		return "unknown";
	}
}

int st_device_kind_parse(const char *name)
{
	for (uint8_t kind = ST_KIND_VALIDATOR; kind <= ST_KIND_NVR; kind++) {
		if (name && strcmp(name, st_device_kind_name(kind)) == 0)
			return kind;
	}
	return -1;
}
