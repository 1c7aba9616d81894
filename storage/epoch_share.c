/*
 * epoch_share.c — exporting and importing the pseudonym epoch keys.
 *
 * Why it is built this way: the instances of a deployment need the same
 * key per epoch before their first tap of it, and no instance may make its
 * own (that would split the epoch's riders). So one instance makes the keys
 * ahead of time, through the same storage path as the writer, and the
 * others take them as they are: importing never replaces a key nor
 * revives a destroyed epoch, so destroying an epoch's key on every
 * instance still makes its pseudonyms unlinkable, and an import that
 * disagrees with what is held stops with the epoch named instead of
 * half-applying (one transaction).
 *
 * The settings travel in the file because an epoch date only means the
 * same days under the same zone, service-day start and period.
 */
#include "storage/epoch_share.h"

#include <sodium.h>
#include <stdlib.h>

#include "storage/db_internal.h"
#include "storage/epoch_keys.h"
#include "storage/service_day.h"

#define MAGIC "KPEPKEY1"
#define MAGIC_SIZE 8
#define REC_SIZE (4 + ST_EPOCH_KEY_SIZE + 8)
#define SUM_SIZE 32
#define TZ_MAX 255

/* ------------------------------------------------------------ the file */

static size_t head_size(const struct st_db *db)
{
	return MAGIC_SIZE + 3 + strlen(db->opts.timezone) + 4;
}

static void put_head(const struct st_db *db, uint8_t *p, uint32_t count)
{
	size_t tz = strlen(db->opts.timezone);

	memcpy(p, MAGIC, MAGIC_SIZE);
	p += MAGIC_SIZE;
	*p++ = (uint8_t)db->opts.epoch_period;
	*p++ = (uint8_t)db->opts.service_day_start_hour;
	*p++ = (uint8_t)tz;
	memcpy(p, db->opts.timezone, tz);
	kp_store_u32le(p + tz, count);
}

/* Checks the header and checksum against db's settings; *recs and *count
 * say where the records are. */
static int check_file(const struct st_db *db, const uint8_t *buf, size_t len, const uint8_t **recs,
                      uint32_t *count)
{
	uint8_t sum[SUM_SIZE];
	size_t tz, head;

	if (len < MAGIC_SIZE + 3 + 4 + SUM_SIZE || memcmp(buf, MAGIC, MAGIC_SIZE) != 0)
		return ST_EINVAL;
	tz = buf[MAGIC_SIZE + 2];
	head = MAGIC_SIZE + 3 + tz + 4;
	if (len < head + SUM_SIZE)
		return ST_EINVAL;
	*count = kp_load_u32le(buf + head - 4);
	if (*count > ST_EPOCH_SHARE_MAX_DAYS + 1 || len != head + (size_t)*count * REC_SIZE + SUM_SIZE)
		return ST_EINVAL;
	crypto_generichash(sum, sizeof sum, buf, len - SUM_SIZE, NULL, 0);
	if (sodium_memcmp(sum, buf + len - SUM_SIZE, SUM_SIZE) != 0)
		return ST_EINVAL;
	if (buf[MAGIC_SIZE] != db->opts.epoch_period || buf[MAGIC_SIZE + 1] != db->opts.service_day_start_hour ||
	    tz != strlen(db->opts.timezone) || memcmp(buf + MAGIC_SIZE + 3, db->opts.timezone, tz) != 0)
		return ST_EMISMATCH;
	*recs = buf + head;
	return ST_OK;
}

/* Each record's epoch is the start of a real epoch, after the one before. */
static int check_records(const struct st_db *db, const uint8_t *recs, uint32_t count)
{
	uint32_t prev = 0, e;

	for (uint32_t i = 0; i < count; i++) {
		e = kp_load_u32be(recs + (size_t)i * REC_SIZE);
		if (!st_epoch_date_valid(e) || st_epoch_start(e, db->opts.epoch_period) != e || e <= prev)
			return ST_EINVAL;
		prev = e;
	}
	return ST_OK;
}

void st_epoch_key_file_free(struct st_epoch_key_file *f)
{
	if (f == NULL)
		return;
	if (f->buf != NULL) {
		sodium_memzero(f->buf, f->len);
		free(f->buf);
	}
	*f = (struct st_epoch_key_file){0};
}

/* -------------------------------------------------------------- export */

struct export {
	struct st_db *db;
	uint32_t from, through; /* from is an epoch start */
	int64_t now_ms;
	struct st_epoch_key_file *f;
	size_t head;
};

/* The live record of epoch e, made when missing; ST_ECONFLICT if destroyed. */
static int export_one(struct export *x, MDB_txn *txn, uint32_t e, uint8_t *rec)
{
	uint8_t kb[ST_EPOCH_DATE_KEY_SIZE], key[ST_EPOCH_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v;
	int one_off, rc;

	kp_store_u32be(kb, e);
	rc = st_status(mdb_get(txn, x->db->dbi.epoch_keys, &k, &v));
	if (rc == ST_ENOTFOUND) {
		rc = st_epoch_key_get_or_create(txn, x->db->dbi.epoch_keys, e, x->now_ms, 1, key, &one_off);
		sodium_memzero(key, sizeof key);
		x->f->made++;
		if (rc == ST_OK)
			rc = st_status(mdb_get(txn, x->db->dbi.epoch_keys, &k, &v));
	}
	if (rc != ST_OK)
		return rc;
	if (v.mv_size == ST_EPOCH_TOMBSTONE_SIZE)
		return ST_ECONFLICT;
	if (v.mv_size != ST_EPOCH_KEY_RECORD_SIZE)
		return ST_ECORRUPT;
	kp_store_u32be(rec, e);
	memcpy(rec + 4, v.mv_data, ST_EPOCH_KEY_RECORD_SIZE);
	return ST_OK;
}

static int export_txn(void *ctx, MDB_txn *txn)
{
	struct export *x = ctx;
	uint32_t horizon, e, last = 0;
	int rc;

	x->f->count = x->f->made = 0;
	rc = st_epoch_horizon_get(txn, x->db->dbi.meta, &horizon);
	if (rc == ST_OK && x->from < horizon)
		rc = ST_ECONFLICT;
	for (int64_t d = st_date_days(x->from); rc == ST_OK && d <= st_date_days(x->through); d++) {
		e = st_epoch_start(st_date_of_days(d), x->db->opts.epoch_period);
		if (e == last)
			continue;
		last = e;
		rc = export_one(x, txn, e, x->f->buf + x->head + (size_t)x->f->count * REC_SIZE);
		if (rc == ST_OK)
			x->f->count++;
	}
	return rc;
}

int st_epoch_keys_export(struct st_db *db, uint32_t from, uint32_t through, int64_t now_ms,
                         struct st_epoch_key_file *out)
{
	struct export x = {.db = db, .through = through, .now_ms = now_ms, .f = out};
	size_t cap;
	int rc;

	if (!db || !out || !st_epoch_date_valid(from) || !st_epoch_date_valid(through) || from > through ||
	    st_date_days(through) - st_date_days(from) > ST_EPOCH_SHARE_MAX_DAYS || db->opts.read_only ||
	    strlen(db->opts.timezone) > TZ_MAX)
		return ST_EINVAL;
	*out = (struct st_epoch_key_file){0};
	x.from = st_epoch_start(from, db->opts.epoch_period);
	x.head = head_size(db);
	/* One record per day at most (daily epochs), whatever the period. */
	cap = x.head + (size_t)(ST_EPOCH_SHARE_MAX_DAYS + 1) * REC_SIZE + SUM_SIZE;
	out->buf = malloc(cap);
	if (out->buf == NULL)
		return ST_EIO;
	out->len = cap;
	rc = st_write_run(db, export_txn, &x, NULL);
	if (rc != ST_OK) {
		st_epoch_key_file_free(out);
		return rc;
	}
	put_head(db, out->buf, out->count);
	out->len = x.head + (size_t)out->count * REC_SIZE + SUM_SIZE;
	crypto_generichash(out->buf + out->len - SUM_SIZE, SUM_SIZE, out->buf, out->len - SUM_SIZE, NULL, 0);
	return ST_OK;
}

/* -------------------------------------------------------------- import */

struct import {
	struct st_db *db;
	const uint8_t *recs;
	struct st_epoch_imported *out;
};

static int import_one(struct import *im, MDB_txn *txn, uint32_t horizon, const uint8_t *rec)
{
	uint32_t e = kp_load_u32be(rec);
	MDB_val k = {ST_EPOCH_DATE_KEY_SIZE, (void *)rec}, v;
	int rc;

	im->out->epoch = e;
	if (e < horizon) {
		im->out->destroyed = 1;
		return ST_ECONFLICT;
	}
	rc = st_status(mdb_get(txn, im->db->dbi.epoch_keys, &k, &v));
	if (rc == ST_ENOTFOUND) {
		v = (MDB_val){ST_EPOCH_KEY_RECORD_SIZE, (void *)(rec + 4)};
		rc = st_status(mdb_put(txn, im->db->dbi.epoch_keys, &k, &v, MDB_NOOVERWRITE));
		im->out->added += rc == ST_OK;
		return rc;
	}
	if (rc != ST_OK)
		return rc;
	if (v.mv_size == ST_EPOCH_TOMBSTONE_SIZE) {
		im->out->destroyed = 1;
		return ST_ECONFLICT;
	}
	if (v.mv_size != ST_EPOCH_KEY_RECORD_SIZE)
		return ST_ECORRUPT;
	if (sodium_memcmp(v.mv_data, rec + 4, ST_EPOCH_KEY_SIZE) != 0)
		return ST_ECONFLICT;
	im->out->same++;
	return ST_OK;
}

static int import_txn(void *ctx, MDB_txn *txn)
{
	struct import *im = ctx;
	uint32_t horizon;
	int rc;

	im->out->added = im->out->same = 0;
	im->out->epoch = 0;
	im->out->destroyed = 0;
	rc = st_epoch_horizon_get(txn, im->db->dbi.meta, &horizon);
	for (uint32_t i = 0; rc == ST_OK && i < im->out->count; i++)
		rc = import_one(im, txn, horizon, im->recs + (size_t)i * REC_SIZE);
	if (rc == ST_OK)
		im->out->epoch = 0;
	return rc;
}

int st_epoch_keys_import(struct st_db *db, const uint8_t *buf, size_t len, struct st_epoch_imported *out)
{
	struct import im = {.db = db, .out = out};
	int rc;

	if (!db || !buf || !out || db->opts.read_only)
		return ST_EINVAL;
	*out = (struct st_epoch_imported){0};
	rc = check_file(db, buf, len, &im.recs, &out->count);
	if (rc == ST_OK)
		rc = check_records(db, im.recs, out->count);
	if (rc == ST_OK)
		rc = st_write_run(db, import_txn, &im, NULL);
	/* A key this process cached is never wrong (imports add, never
	 * replace), but the next group reads the new ones from the database. */
	st_epoch_cache_clear(db);
	return rc;
}
