/*
 * date_rev.c — the revisions of service dates (date_rev.h). The commit
 * group notes the dates it touches in a small batch and writes each once
 * at the group's end; a batch that fills up is written early, which only
 * repeats a put of the same value.
 */
#include "storage/date_rev.h"

#include "firmware-proto/bytes.h"
#include "storage/db_internal.h"

void st_date_batch_clear(struct st_date_batch *b)
{
	b->n = 0;
}

int st_date_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_date_batch *b)
{
	uint8_t kb[4], vb[8];
	MDB_val k = {sizeof kb, kb}, v = {sizeof vb, vb};
	int rc = ST_OK;

	kp_store_u64le(vb, (uint64_t)mdb_txn_id(txn));
	for (size_t i = 0; i < b->n && rc == ST_OK; i++) {
		kp_store_u32be(kb, b->dates[i]);
		rc = st_status(mdb_put(txn, dbi, &k, &v, 0));
	}
	b->n = 0;
	return rc;
}

int st_date_batch_note(MDB_txn *txn, MDB_dbi dbi, struct st_date_batch *b, uint32_t date)
{
	int rc;

	for (size_t i = 0; i < b->n; i++)
		if (b->dates[i] == date)
			return ST_OK;
	if (b->n == ST_DATE_BATCH_MAX) {
		rc = st_date_batch_flush(txn, dbi, b);
		if (rc != ST_OK)
			return rc;
	}
	b->dates[b->n++] = date;
	return ST_OK;
}

struct rev_scan {
	uint32_t to;
	uint64_t max;
};

static int rev_of(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	(void)cur;
	struct rev_scan *s = ctx;

	if (k->mv_size != 4 || v->mv_size != 8)
		return ST_ECORRUPT;
	if (kp_load_u32be(k->mv_data) > s->to)
		return ST_WALK_DONE;
	uint64_t rev = kp_load_u64le(v->mv_data);
	if (rev > s->max)
		s->max = rev;
	return ST_OK;
}

int st_date_rev_max(struct st_read *r, uint32_t from, uint32_t to, uint64_t *rev)
{
	uint8_t kb[4];
	MDB_val k = {sizeof kb, kb};
	struct rev_scan s = {to, 0};

	if (from > to)
		return ST_EINVAL;
	kp_store_u32be(kb, from);
	int rc = st_walk(r->txn, r->db->dbi.date_rev, &k, rev_of, &s);
	if (rc != ST_OK && rc != ST_WALK_DONE)
		return rc;
	*rev = s.max;
	return ST_OK;
}
