/*
 * cameras.c — the camera registry (cameras.h).
 *
 * Why it is built this way: a camera is keyed by its name's bytes (no NUL),
 * so LMDB's bytewise order is the listing order and a lookup by the name in
 * a Frigate event is one mdb_get. The value is a fixed-size little-endian
 * layout written field by field, as devices.c does, so the file does not
 * depend on struct padding. Each write is one short write transaction of
 * its own (st_write_run grows the map if it must), visible to every read
 * begun after it returns.
 *
 * cameras value (152 bytes): place u8, door u8, reserved u16 = 0,
 *   vehicle_id u32, stop_id u32, reserved u32 = 0, created_at i64,
 *   boarding_zone[64], alighting_zone[64] (NUL-padded).
 */
#include "storage/cameras.h"

#include "storage/db_internal.h"

#define CAM_VAL_SIZE 152
#define CAM_PLACE 0
#define CAM_DOOR 1
#define CAM_RESERVED 2
#define CAM_RESERVED_SIZE 2
#define CAM_VEHICLE 4
#define CAM_STOP 8
#define CAM_RESERVED2 12
#define CAM_RESERVED2_SIZE 4
#define CAM_CREATED 16
#define CAM_BOARDING 24
#define CAM_ALIGHTING (CAM_BOARDING + ST_CAMERA_ZONE_MAX + 1)

_Static_assert(CAM_ALIGHTING + ST_CAMERA_ZONE_MAX + 1 == CAM_VAL_SIZE, "camera value layout");

/* ---- validation ---- */

/* The length of a NUL-terminated string within cap bytes, or -1. */
static long bounded_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, 0, cap);

	return nul ? (long)(nul - s) : -1;
}

/* A name travels in MQTT topics and in command lines: printable ASCII
 * without spaces or the topic wildcards and separator. */
static bool name_char_ok(char ch)
{
	return ch > ' ' && ch < 0x7f && ch != '/' && ch != '+' && ch != '#';
}

/* Zones are kept ','-joined in NVR rows (nvr.h), so a ',' would split one. */
static bool zone_char_ok(char ch)
{
	return ch >= ' ' && ch < 0x7f && ch != ',';
}

static bool string_ok(const char *s, size_t cap, bool (*char_ok)(char), bool may_be_empty)
{
	long len = bounded_len(s, cap);

	if (len < 0 || (len == 0 && !may_be_empty))
		return false;
	for (long i = 0; i < len; i++) {
		if (!char_ok(s[i]))
			return false;
	}
	return true;
}

static bool place_ok(const struct st_camera *c)
{
	if (c->place == ST_CAMERA_ONBOARD)
		return c->vehicle_id != 0 && c->stop_id == 0;
	if (c->place == ST_CAMERA_STREET)
		return c->stop_id != 0 && c->vehicle_id == 0 && c->door == 0;
	return false;
}

bool st_camera_valid(const struct st_camera *c)
{
	if (!c || !string_ok(c->name, sizeof c->name, name_char_ok, false) || !place_ok(c))
		return false;
	if (!string_ok(c->boarding_zone, sizeof c->boarding_zone, zone_char_ok, true) ||
	    !string_ok(c->alighting_zone, sizeof c->alighting_zone, zone_char_ok, true))
		return false;
	return c->boarding_zone[0] != 0 || c->alighting_zone[0] != 0;
}

/* ---- encoding ---- */

static void camera_encode(const struct st_camera *c, uint8_t out[CAM_VAL_SIZE])
{
	memset(out, 0, CAM_VAL_SIZE);
	out[CAM_PLACE] = c->place;
	out[CAM_DOOR] = c->door;
	kp_store_u32le(out + CAM_VEHICLE, c->vehicle_id);
	kp_store_u32le(out + CAM_STOP, c->stop_id);
	kp_store_u64le(out + CAM_CREATED, (uint64_t)c->created_at);
	memcpy(out + CAM_BOARDING, c->boarding_zone, strlen(c->boarding_zone));
	memcpy(out + CAM_ALIGHTING, c->alighting_zone, strlen(c->alighting_zone));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Decodes a stored record and checks it as st_camera_add would have. */
static int camera_decode(const MDB_val *k, const MDB_val *v, struct st_camera *c)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size == 0 || k->mv_size > ST_CAMERA_NAME_MAX || v->mv_size != CAM_VAL_SIZE ||
	    !all_zero(p + CAM_RESERVED, CAM_RESERVED_SIZE) || !all_zero(p + CAM_RESERVED2, CAM_RESERVED2_SIZE) ||
	    p[CAM_BOARDING + ST_CAMERA_ZONE_MAX] != 0 || p[CAM_ALIGHTING + ST_CAMERA_ZONE_MAX] != 0)
		return ST_ECORRUPT;
	memset(c, 0, sizeof *c);
	memcpy(c->name, k->mv_data, k->mv_size);
	c->place = p[CAM_PLACE];
	c->door = p[CAM_DOOR];
	c->vehicle_id = kp_load_u32le(p + CAM_VEHICLE);
	c->stop_id = kp_load_u32le(p + CAM_STOP);
	c->created_at = (int64_t)kp_load_u64le(p + CAM_CREATED);
	memcpy(c->boarding_zone, p + CAM_BOARDING, ST_CAMERA_ZONE_MAX + 1);
	memcpy(c->alighting_zone, p + CAM_ALIGHTING, ST_CAMERA_ZONE_MAX + 1);
	return st_camera_valid(c) ? ST_OK : ST_ECORRUPT;
}

int st_camera_check_record(const MDB_val *k, const MDB_val *v)
{
	struct st_camera c;

	return camera_decode(k, v, &c);
}

/* The key of a name: its bytes without the NUL; ST_EINVAL over the bound. */
static int name_key(const char *name, MDB_val *k)
{
	long len;

	if (!name)
		return ST_EINVAL;
	len = bounded_len(name, ST_CAMERA_NAME_MAX + 1);
	if (len <= 0)
		return ST_EINVAL;
	*k = (MDB_val){(size_t)len, (void *)name};
	return ST_OK;
}

/* ---- writes ---- */

struct add_camera {
	MDB_dbi dbi;
	const struct st_camera *cam;
};

static int add_txn(void *ctx, MDB_txn *txn)
{
	const struct add_camera *a = ctx;
	uint8_t vb[CAM_VAL_SIZE];
	MDB_val k;
	MDB_val v = {sizeof vb, vb};
	int rc = name_key(a->cam->name, &k);

	if (rc != ST_OK)
		return rc;
	camera_encode(a->cam, vb);
	return st_status(mdb_put(txn, a->dbi, &k, &v, MDB_NOOVERWRITE));
}

int st_camera_add(struct st_db *db, const struct st_camera *c)
{
	struct add_camera a;

	if (!db || !st_camera_valid(c))
		return ST_EINVAL;
	a = (struct add_camera){db->dbi.cameras, c};
	return st_write_run(db, add_txn, &a, NULL);
}

struct remove_camera {
	MDB_dbi dbi;
	MDB_val key;
};

static int remove_txn(void *ctx, MDB_txn *txn)
{
	struct remove_camera *rm = ctx;

	return st_status(mdb_del(txn, rm->dbi, &rm->key, NULL));
}

int st_camera_remove(struct st_db *db, const char *name)
{
	struct remove_camera rm;
	int rc;

	if (!db)
		return ST_EINVAL;
	rc = name_key(name, &rm.key);
	if (rc != ST_OK)
		return rc;
	rm.dbi = db->dbi.cameras;
	return st_write_run(db, remove_txn, &rm, NULL);
}

/* ---- reads ---- */

int st_camera_get(struct st_read *r, const char *name, struct st_camera *out)
{
	MDB_val k, v;
	int rc;

	if (!r || !r->txn || !out)
		return ST_EINVAL;
	rc = name_key(name, &k);
	if (rc == ST_OK)
		rc = st_status(mdb_get(r->txn, r->db->dbi.cameras, &k, &v));
	if (rc == ST_OK)
		rc = camera_decode(&k, &v, out);
	return rc;
}

struct camera_visit {
	int (*fn)(void *ctx, const struct st_camera *c);
	void *ctx;
};

static int visit_camera(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct camera_visit *cv = ctx;
	struct st_camera c;
	int rc = camera_decode(k, v, &c);

	(void)cur;
	if (rc == ST_OK && cv->fn(cv->ctx, &c) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_camera_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_camera *c), void *ctx)
{
	struct camera_visit cv = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.cameras, NULL, visit_camera, &cv);
}

/* ---- places ---- */

const char *st_camera_place_name(uint8_t place)
{
	switch (place) {
	case ST_CAMERA_ONBOARD:
		return "onboard";
	case ST_CAMERA_STREET:
		return "street";
	default:
		return "unknown";
	}
}

int st_camera_place_parse(const char *name)
{
	for (uint8_t place = ST_CAMERA_ONBOARD; place <= ST_CAMERA_STREET; place++) {
		if (name && strcmp(name, st_camera_place_name(place)) == 0)
			return place;
	}
	return -1;
}
