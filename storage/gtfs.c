/*
 * gtfs.c — the GTFS routes and stops tables (gtfs.h).
 *
 * Why it is built this way: a record is keyed by its number big-endian, so
 * LMDB's byte order is the numeric order and an exporter's lookup is one
 * mdb_get. Values are a small fixed little-endian head and the texts'
 * bytes one after another (lengths in the head), read and written field by
 * field. An import empties both tables (mdb_drop with del 0) and loads the
 * new rows with MDB_NOOVERWRITE inside one st_write_run, so a number used
 * twice is found by LMDB itself and a failure anywhere aborts everything.
 *
 * gtfs_routes value: type LE2, id_len u8, short_len u8, long_len u8,
 *   reserved[3] = 0, then the three texts without NULs.
 * gtfs_stops value: lat_e7 LE4, lon_e7 LE4, flags u8 (bit 0: position),
 *   location_type u8, id_len u8, name_len u8, then the two texts.
 */
#include "storage/gtfs.h"

#include "storage/db_internal.h"

#define ROUTE_HEAD 8
#define STOP_HEAD 12
#define STOP_HAS_POSITION 0x01
#define LOCATION_TYPE_MAX 4
#define LAT_MAX_E7 900000000
#define LON_MAX_E7 1800000000

/* ---- validation ---- */

bool st_gtfs_text_ok(const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* The length of a NUL-terminated text within its array, or -1 when it is
 * unterminated or not st_gtfs_text_ok. */
static long text_len(const char *s)
{
	const char *nul = memchr(s, 0, ST_GTFS_TEXT_MAX + 1);

	if (!nul || !st_gtfs_text_ok(s, (size_t)(nul - s)))
		return -1;
	return nul - s;
}

bool st_gtfs_route_valid(const struct st_gtfs_route *r)
{
	long id, sn, ln;

	if (!r || r->id == 0)
		return false;
	id = text_len(r->gtfs_id);
	sn = text_len(r->short_name);
	ln = text_len(r->long_name);
	return id > 0 && sn >= 0 && ln >= 0 && sn + ln > 0;
}

bool st_gtfs_stop_valid(const struct st_gtfs_stop *s)
{
	long id, name;

	if (!s || s->id == 0 || s->location_type > LOCATION_TYPE_MAX)
		return false;
	id = text_len(s->gtfs_id);
	name = text_len(s->name);
	if (id <= 0 || name < 0 || (name == 0 && s->location_type < 3))
		return false;
	if (s->has_position)
		return s->lat_e7 >= -LAT_MAX_E7 && s->lat_e7 <= LAT_MAX_E7 && s->lon_e7 >= -LON_MAX_E7 &&
		       s->lon_e7 <= LON_MAX_E7;
	return s->lat_e7 == 0 && s->lon_e7 == 0;
}

/* ---- encoding ---- */

#define ROUTE_VAL_MAX (ROUTE_HEAD + 3 * ST_GTFS_TEXT_MAX)
#define STOP_VAL_MAX (STOP_HEAD + 2 * ST_GTFS_TEXT_MAX)

static size_t put_text(uint8_t *out, const char *s, uint8_t *len_field)
{
	size_t n = strlen(s);

	*len_field = (uint8_t)n;
	memcpy(out, s, n);
	return n;
}

static size_t route_encode(const struct st_gtfs_route *r, uint8_t out[ROUTE_VAL_MAX])
{
	size_t n = ROUTE_HEAD;

	memset(out, 0, ROUTE_HEAD);
	kp_store_u16le(out, r->type);
	n += put_text(out + n, r->gtfs_id, &out[2]);
	n += put_text(out + n, r->short_name, &out[3]);
	n += put_text(out + n, r->long_name, &out[4]);
	return n;
}

static size_t stop_encode(const struct st_gtfs_stop *s, uint8_t out[STOP_VAL_MAX])
{
	size_t n = STOP_HEAD;

	memset(out, 0, STOP_HEAD);
	kp_store_u32le(out, (uint32_t)s->lat_e7);
	kp_store_u32le(out + 4, (uint32_t)s->lon_e7);
	out[8] = s->has_position ? STOP_HAS_POSITION : 0;
	out[9] = s->location_type;
	n += put_text(out + n, s->gtfs_id, &out[10]);
	n += put_text(out + n, s->name, &out[11]);
	return n;
}

static uint32_t key_id(const MDB_val *k)
{
	return k->mv_size == 4 ? kp_load_u32be(k->mv_data) : 0;
}

/* Copies n texts of the given lengths from p (size left) into dst[i]. */
static int take_texts(const uint8_t *p, size_t left, const uint8_t *lens, char *const *dst, int n)
{
	for (int i = 0; i < n; i++) {
		if (lens[i] > left)
			return ST_ECORRUPT;
		memcpy(dst[i], p, lens[i]);
		dst[i][lens[i]] = 0;
		p += lens[i];
		left -= lens[i];
	}
	return left == 0 ? ST_OK : ST_ECORRUPT;
}

static int route_decode(const MDB_val *k, const MDB_val *v, struct st_gtfs_route *r)
{
	const uint8_t *p = v->mv_data;
	char *dst[3];

	memset(r, 0, sizeof *r);
	if (v->mv_size < ROUTE_HEAD || p[5] || p[6] || p[7])
		return ST_ECORRUPT;
	r->id = key_id(k);
	r->type = kp_load_u16le(p);
	dst[0] = r->gtfs_id, dst[1] = r->short_name, dst[2] = r->long_name;
	if (take_texts(p + ROUTE_HEAD, v->mv_size - ROUTE_HEAD, p + 2, dst, 3) != ST_OK)
		return ST_ECORRUPT;
	return st_gtfs_route_valid(r) ? ST_OK : ST_ECORRUPT;
}

static int stop_decode(const MDB_val *k, const MDB_val *v, struct st_gtfs_stop *s)
{
	const uint8_t *p = v->mv_data;
	char *dst[2];

	memset(s, 0, sizeof *s);
	if (v->mv_size < STOP_HEAD || (p[8] & ~STOP_HAS_POSITION))
		return ST_ECORRUPT;
	s->id = key_id(k);
	s->lat_e7 = (int32_t)kp_load_u32le(p);
	s->lon_e7 = (int32_t)kp_load_u32le(p + 4);
	s->has_position = p[8] & STOP_HAS_POSITION;
	s->location_type = p[9];
	dst[0] = s->gtfs_id, dst[1] = s->name;
	if (take_texts(p + STOP_HEAD, v->mv_size - STOP_HEAD, p + 10, dst, 2) != ST_OK)
		return ST_ECORRUPT;
	return st_gtfs_stop_valid(s) ? ST_OK : ST_ECORRUPT;
}

int st_gtfs_route_check_record(const MDB_val *k, const MDB_val *v)
{
	struct st_gtfs_route r;

	return route_decode(k, v, &r);
}

int st_gtfs_stop_check_record(const MDB_val *k, const MDB_val *v)
{
	struct st_gtfs_stop s;

	return stop_decode(k, v, &s);
}

/* ---- import ---- */

struct st_gtfs_load {
	MDB_txn *txn;
	const struct st_dbis *dbi;
};

static int load_put(struct st_gtfs_load *load, MDB_dbi dbi, uint32_t id, void *val, size_t len)
{
	uint8_t kb[4];
	MDB_val k = {sizeof kb, kb};
	MDB_val v = {len, val};

	kp_store_u32be(kb, id);
	return st_status(mdb_put(load->txn, dbi, &k, &v, MDB_NOOVERWRITE));
}

int st_gtfs_load_route(struct st_gtfs_load *load, const struct st_gtfs_route *r)
{
	uint8_t vb[ROUTE_VAL_MAX];

	if (!load || !st_gtfs_route_valid(r))
		return ST_EINVAL;
	return load_put(load, load->dbi->gtfs_routes, r->id, vb, route_encode(r, vb));
}

int st_gtfs_load_stop(struct st_gtfs_load *load, const struct st_gtfs_stop *s)
{
	uint8_t vb[STOP_VAL_MAX];

	if (!load || !st_gtfs_stop_valid(s))
		return ST_EINVAL;
	return load_put(load, load->dbi->gtfs_stops, s->id, vb, stop_encode(s, vb));
}

struct import_run {
	const struct st_dbis *dbi;
	int (*fill)(void *ctx, struct st_gtfs_load *load);
	void *ctx;
};

static int import_txn(void *ctx, MDB_txn *txn)
{
	const struct import_run *run = ctx;
	struct st_gtfs_load load = {txn, run->dbi};
	int rc = st_status(mdb_drop(txn, run->dbi->gtfs_routes, 0));

	if (rc == ST_OK)
		rc = st_status(mdb_drop(txn, run->dbi->gtfs_stops, 0));
	if (rc == ST_OK)
		rc = run->fill(run->ctx, &load);
	return rc;
}

int st_gtfs_import(struct st_db *db, int (*fill)(void *ctx, struct st_gtfs_load *load), void *ctx)
{
	struct import_run run;

	if (!db || !fill)
		return ST_EINVAL;
	run = (struct import_run){&db->dbi, fill, ctx};
	return st_write_run(db, import_txn, &run, NULL);
}

/* ---- reads ---- */

static int get_raw(struct st_read *r, MDB_dbi dbi, uint32_t id, MDB_val *k, MDB_val *v, uint8_t kb[4])
{
	kp_store_u32be(kb, id);
	*k = (MDB_val){4, kb};
	return st_status(mdb_get(r->txn, dbi, k, v));
}

int st_gtfs_route_get(struct st_read *r, uint32_t id, struct st_gtfs_route *out)
{
	uint8_t kb[4];
	MDB_val k, v;
	int rc;

	if (!r || !r->txn || !out)
		return ST_EINVAL;
	rc = get_raw(r, r->db->dbi.gtfs_routes, id, &k, &v, kb);
	return rc == ST_OK ? route_decode(&k, &v, out) : rc;
}

int st_gtfs_stop_get(struct st_read *r, uint32_t id, struct st_gtfs_stop *out)
{
	uint8_t kb[4];
	MDB_val k, v;
	int rc;

	if (!r || !r->txn || !out)
		return ST_EINVAL;
	rc = get_raw(r, r->db->dbi.gtfs_stops, id, &k, &v, kb);
	return rc == ST_OK ? stop_decode(&k, &v, out) : rc;
}

struct route_visit {
	int (*fn)(void *ctx, const struct st_gtfs_route *route);
	void *ctx;
};

static int visit_route(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct route_visit *rv = ctx;
	struct st_gtfs_route route;
	int rc = route_decode(k, v, &route);

	(void)cur;
	if (rc == ST_OK && rv->fn(rv->ctx, &route) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_gtfs_route_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_gtfs_route *route), void *ctx)
{
	struct route_visit rv = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.gtfs_routes, NULL, visit_route, &rv);
}

struct stop_visit {
	int (*fn)(void *ctx, const struct st_gtfs_stop *stop);
	void *ctx;
};

static int visit_stop(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct stop_visit *sv = ctx;
	struct st_gtfs_stop stop;
	int rc = stop_decode(k, v, &stop);

	(void)cur;
	if (rc == ST_OK && sv->fn(sv->ctx, &stop) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_gtfs_stop_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_gtfs_stop *stop), void *ctx)
{
	struct stop_visit sv = {fn, ctx};

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.gtfs_stops, NULL, visit_stop, &sv);
}
