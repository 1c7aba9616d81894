/*
 * date_frames.c — the log's frames by service date (date_frames.h). The
 * writer notes the dates of a frame's records in a small per-frame batch
 * and puts each once after the frame; a frame of more distinct dates than
 * the batch holds has its extra dates put at once (a put of a key that is
 * there already changes nothing).
 */
#include "storage/date_frames.h"

#include "storage/db_internal.h"
#include "storage/service_day.h"

static void key_encode(uint8_t out[ST_DATE_FRAMES_KEY_SIZE], uint8_t type, uint32_t date, uint64_t seq)
{
	out[0] = type;
	kp_store_u32be(out + 1, date);
	kp_store_u64be(out + 5, seq);
}

int st_date_frames_of(const uint8_t *frame, uint8_t type, uint16_t i, const struct st_zone *zone,
                      int start_hour, uint32_t *date)
{
	struct st_when w;
	struct kp_tap t;
	struct kp_count c;
	int64_t at;

	if (type == KP_TYPE_TAPS) {
		kp_frame_get_tap(frame, i, &t);
		at = t.tapped_at;
	} else if (type == KP_TYPE_COUNTS) {
		kp_frame_get_count(frame, i, &c);
		if (c.kind != KP_COUNT_KIND_DOOR_CYCLE || (c.boardings == 0 && c.alightings == 0))
			return 0;
		at = c.observed_at;
	} else {
		return 0;
	}
	if (st_service_day(zone, at, start_hour, &w) != 0)
		return 0;
	*date = w.service_date;
	return 1;
}

static int put_key(MDB_txn *txn, MDB_dbi dbi, uint8_t type, uint32_t date, uint64_t seq)
{
	uint8_t kb[ST_DATE_FRAMES_KEY_SIZE];
	MDB_val k = {sizeof kb, kb}, v = {0, kb};

	key_encode(kb, type, date, seq);
	return st_status(mdb_put(txn, dbi, &k, &v, 0));
}

void st_frame_dates_begin(struct st_frame_dates *b, uint8_t type, uint64_t seq)
{
	b->type = type;
	b->seq = seq;
	b->n = 0;
}

int st_frame_dates_note(MDB_txn *txn, MDB_dbi dbi, struct st_frame_dates *b, uint32_t date)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->dates[i] == date)
			return ST_OK;
	if (b->n == ST_FRAME_DATES_MAX)
		return put_key(txn, dbi, b->type, date, b->seq);
	b->dates[b->n++] = date;
	return ST_OK;
}

int st_frame_dates_flush(MDB_txn *txn, MDB_dbi dbi, struct st_frame_dates *b)
{
	int rc = ST_OK;

	for (size_t i = 0; i < b->n && rc == ST_OK; i++)
		rc = put_key(txn, dbi, b->type, b->dates[i], b->seq);
	b->n = 0;
	return rc;
}

int st_date_frames_walk(struct st_read *r, uint8_t type, uint32_t date, uint64_t seq, uint32_t to,
                        uint64_t max_seq, int (*fn)(void *ctx, uint32_t date, uint64_t seq), void *ctx)
{
	uint8_t kb[ST_DATE_FRAMES_KEY_SIZE];
	MDB_val k, v;
	MDB_cursor *cur;
	int rc = st_status(mdb_cursor_open(r->txn, r->db->dbi.date_frames, &cur));

	if (rc != ST_OK)
		return rc;
	key_encode(kb, type, date, seq);
	k = (MDB_val){sizeof kb, kb};
	for (rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)); rc == ST_OK;) {
		const uint8_t *p = k.mv_data;

		if (k.mv_size != ST_DATE_FRAMES_KEY_SIZE) {
			rc = ST_ECORRUPT;
			break;
		}
		if (p[0] != type || kp_load_u32be(p + 1) > to)
			break;
		date = kp_load_u32be(p + 1);
		seq = kp_load_u64be(p + 5);
		if (seq > max_seq) { /* written after the snapshot: on to the next date */
			key_encode(kb, type, date + 1, 0); /* yyyymmdd + 1 sorts after the date, valid or not */
			k = (MDB_val){sizeof kb, kb};
			rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE));
			continue;
		}
		if (fn(ctx, date, seq) != 0) {
			rc = ST_ESTOP;
			break;
		}
		rc = st_status(mdb_cursor_get(cur, &k, &v, MDB_NEXT));
	}
	mdb_cursor_close(cur);
	return rc == ST_ENOTFOUND ? ST_OK : rc;
}
