/*
 * nvr_session.c — the Frigate stage's run marker (nvr_session.h).
 *
 * Why it is built this way: the marker is one meta record, key
 * "nvr_session", value the last alive time LE8 (ms), so no new table and no
 * schema change: a binary that does not know it ignores it. The gap a crash
 * left is stored as an ordinary closed outage, so everything that already
 * reads outages (stats --with-cameras, check) reads that hour as incomplete
 * without knowing why. The outage is written here rather than through
 * st_nvr_set_available because it is closed at once and must not reopen or
 * close an outage the NVR itself reported.
 */
#include "storage/nvr_session.h"

#include "storage/db_internal.h"

#define SESSION_KEY "nvr_session"

static int marker_get(MDB_txn *txn, MDB_dbi meta, int64_t *at)
{
	MDB_val k = {sizeof SESSION_KEY - 1, (void *)SESSION_KEY};
	MDB_val v;
	int rc = st_status(mdb_get(txn, meta, &k, &v));

	if (rc != ST_OK)
		return rc;
	if (v.mv_size != ST_U64_SIZE)
		return ST_ECORRUPT;
	*at = (int64_t)kp_load_u64le(v.mv_data);
	return *at > 0 ? ST_OK : ST_ECORRUPT;
}

static int marker_put(MDB_txn *txn, MDB_dbi meta, int64_t at)
{
	uint8_t vb[ST_U64_SIZE];
	MDB_val k = {sizeof SESSION_KEY - 1, (void *)SESSION_KEY};
	MDB_val v = {sizeof vb, vb};

	kp_store_u64le(vb, (uint64_t)at);
	return st_status(mdb_put(txn, meta, &k, &v, 0));
}

/* Stores the closed outage [start, end) after the last one, unless one is
 * open; *stored its start, or 0 when nothing was stored. */
static int gap_put(MDB_txn *txn, MDB_dbi dbi, int64_t start, int64_t end, int64_t *stored)
{
	struct st_nvr_outage last;
	uint8_t kb[ST_NVR_OUTAGE_SIZE], vb[ST_NVR_OUTAGE_SIZE];
	MDB_val k, v;
	int rc = st_get_last(txn, dbi, &k, &v);

	*stored = 0;
	if (rc == ST_OK) {
		rc = st_nvr_outage_check_record(&k, &v, &last);
		if (rc != ST_OK)
			return rc;
		if (last.end == 0)
			return ST_OK; /* the NVR's own open outage covers the gap */
		if (start <= last.start)
			start = last.start + 1; /* keys stay increasing and distinct */
		if (start < last.end)
			start = last.end;
	} else if (rc != ST_ENOTFOUND) {
		return rc;
	}
	if (end <= start)
		return ST_OK;
	st_time_key(kb, start);
	kp_store_u64le(vb, (uint64_t)end);
	k = (MDB_val){sizeof kb, kb};
	v = (MDB_val){sizeof vb, vb};
	rc = st_status(mdb_put(txn, dbi, &k, &v, 0));
	if (rc == ST_OK)
		*stored = start;
	return rc;
}

struct session {
	struct st_db *db;
	int64_t now;
	int64_t gap_start;
};

static int begin_txn(void *ctx, MDB_txn *txn)
{
	struct session *s = ctx;
	int64_t marker;
	int rc = marker_get(txn, s->db->dbi.meta, &marker);

	s->gap_start = 0;
	if (rc == ST_OK)
		rc = gap_put(txn, s->db->dbi.nvr_outages, marker, s->now, &s->gap_start);
	else if (rc == ST_ENOTFOUND)
		rc = ST_OK;
	if (rc != ST_OK)
		return rc;
	return marker_put(txn, s->db->dbi.meta, s->now);
}

static int alive_txn(void *ctx, MDB_txn *txn)
{
	struct session *s = ctx;

	return marker_put(txn, s->db->dbi.meta, s->now);
}

static int end_txn(void *ctx, MDB_txn *txn)
{
	struct session *s = ctx;
	MDB_val k = {sizeof SESSION_KEY - 1, (void *)SESSION_KEY};
	int rc = st_status(mdb_del(txn, s->db->dbi.meta, &k, NULL));

	return rc == ST_ENOTFOUND ? ST_OK : rc;
}

int st_nvr_session_begin(struct st_db *db, int64_t now, int64_t *gap_start)
{
	struct session s = {db, now, 0};
	int rc;

	if (gap_start)
		*gap_start = 0;
	if (!db || now <= 0)
		return ST_EINVAL;
	rc = st_write_run(db, begin_txn, &s, NULL);
	if (rc == ST_OK && gap_start)
		*gap_start = s.gap_start;
	return rc;
}

int st_nvr_session_alive(struct st_db *db, int64_t now)
{
	struct session s = {db, now, 0};

	if (!db || now <= 0)
		return ST_EINVAL;
	return st_write_run(db, alive_txn, &s, NULL);
}

int st_nvr_session_end(struct st_db *db)
{
	struct session s = {db, 0, 0};

	if (!db)
		return ST_EINVAL;
	return st_write_run(db, end_txn, &s, NULL);
}

int st_nvr_session_get(struct st_read *r, int64_t *at)
{
	if (!r || !r->txn || !at)
		return ST_EINVAL;
	return marker_get(r->txn, r->db->dbi.meta, at);
}
