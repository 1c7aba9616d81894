/*
 * tides.c — TIDES fare_transactions and passenger_events rows (tides.h).
 *
 * Rows are made into a staging buffer, one short read transaction at a
 * time, and handed out from it in whatever pieces the caller asks for: the
 * place in the log moves only when a record's rows are staged whole, so
 * the output is the same bytes for any sequence of buffer sizes. A refill
 * stops when the record budget is spent or the stage has less room than
 * the longest rows one record can make (ROWS_MAX), so a row is never cut.
 */
#include "report/tides.h"

#include <csv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"
#include "storage/gtfs.h"
#include "storage/log.h"
#include "storage/service_day.h"

#define STAGE_SIZE 65536
/* The rows of one record: a GTFS stop id (at most 255 bytes, twice that
 * quoted) and short numbers, twice for a door cycle; far below this. */
#define ROWS_MAX 4096
#define FIELD_MAX 64 /* every field but a GTFS stop id */
#define CRLF "\r\n"
#define DATE_TEXT_SIZE 11
#define TIMESTAMP_SIZE 32

static const char FARE_HEADER[] =
	"transaction_id,service_date,event_timestamp,location_ping_id,amount,currency_type,fare_action,"
	"trip_id_performed,trip_id_scheduled,pattern_id,trip_stop_sequence,scheduled_stop_sequence,"
	"vehicle_id,device_id,fare_id,stop_id,num_riders,fare_media_id,rider_category,fare_product,"
	"fare_period,fare_capped,token_id,balance" CRLF;

static const char EVENTS_HEADER[] =
	"passenger_event_id,service_date,event_timestamp,location_ping_id,trip_id_performed,"
	"trip_id_scheduled,trip_stop_sequence,scheduled_stop_sequence,event_type,vehicle_id,device_id,"
	"train_car_id,stop_id,pattern_id,event_count" CRLF;

/* The amount is in kopiykas (docs/PROTOCOL.md). */
#define CURRENCY "UAH"
#define MINOR_PER_MAJOR 100
#define FARE_MEDIA "Smart card or ticket"

struct kp_tides {
	struct st_db *db;
	enum kp_tides_table table;
	uint32_t from, to;
	uint64_t last_seq; /* the snapshot: the log's last seq at open */
	uint64_t next_seq; /* the place: the first entry not wholly staged */
	uint16_t next_rec; /* and its first record not staged */
	int done, error;
	char stage[STAGE_SIZE];
	size_t len, off; /* staged bytes, and how many of them were handed out */
};

/* One refill's walk through the log. */
struct walk {
	struct kp_tides *t;
	struct st_read *r;
	size_t budget; /* records left to look at */
	int rc;
};

/* ---------------------------------------------------------------- CSV */

/* Appends one field (after a comma unless it is the row's first). The
 * caller made sure of ROWS_MAX bytes of room for the record's rows. */
static void put(struct kp_tides *t, int first, const char *s)
{
	size_t n = strlen(s), room;

	if (!first)
		t->stage[t->len++] = ',';
	room = sizeof t->stage - t->len;
	if (strcspn(s, ",\"\r\n") == n) {
		memcpy(t->stage + t->len, s, n);
		t->len += n;
		return;
	}
	t->len += csv_write(t->stage + t->len, room, s, n);
}

static void put_row(struct kp_tides *t, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(t, i == 0, fields[i]);
	memcpy(t->stage + t->len, CRLF, 2);
	t->len += 2;
}

/* ------------------------------------------------------------- fields */

static void timestamp_text(int64_t ms, char out[TIMESTAMP_SIZE])
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL || strftime(out, TIMESTAMP_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

static void u32_or_empty(uint32_t v, char out[FIELD_MAX])
{
	if (v == 0)
		out[0] = '\0';
	else
		snprintf(out, FIELD_MAX, "%" PRIu32, v);
}

/* The GTFS stop_id of a stop number when the feed has it, else the number. */
static int stop_text(struct st_read *r, uint32_t stop, char *out, size_t size)
{
	struct st_gtfs_stop s;
	int rc;

	if (stop == 0) {
		out[0] = '\0';
		return ST_OK;
	}
	rc = st_gtfs_stop_get(r, stop, &s);
	if (rc == ST_OK)
		snprintf(out, size, "%s", s.gtfs_id);
	else if (rc == ST_ENOTFOUND)
		snprintf(out, size, "%" PRIu32, stop);
	else
		return rc;
	return ST_OK;
}

/* What the tap did, in the spec's fare_action terms. */
static const char *fare_action(const struct kp_tap *tap)
{
	if (tap->result != KP_TAP_ACCEPTED)
		return "Other"; /* refused: no action of the list */
	return (tap->flags & KP_TAP_FLAG_TRANSFER) ? "Transfer entrance" : "Enter";
}

/* --------------------------------------------------------------- rows */

static int fare_row(struct kp_tides *t, struct st_read *r, const struct st_log_entry *e,
                    const struct kp_header *h, uint16_t i, uint32_t date)
{
	char id[FIELD_MAX], day[DATE_TEXT_SIZE], ts[TIMESTAMP_SIZE], amount[FIELD_MAX], vehicle[FIELD_MAX];
	char device[KP_DEVICE_ID_TEXT_SIZE], stop[2 * ST_GTFS_TEXT_MAX], fare[FIELD_MAX];
	char pseudonym[2 * ST_PSEUDONYM_SIZE + 1];
	struct kp_tap tap;
	int rc;

	kp_frame_get_tap(e->frame, i, &tap);
	rc = stop_text(r, tap.stop_id, stop, sizeof stop);
	if (rc != ST_OK)
		return rc;
	snprintf(device, sizeof device, "%016" PRIx64, h->device_id);
	snprintf(id, sizeof id, "%s-%" PRIu64 "-%u", device, h->batch_seq, (unsigned)i);
	st_date_format(date, day);
	timestamp_text(tap.tapped_at, ts);
	snprintf(amount, sizeof amount, "%" PRIu32 ".%02" PRIu32, tap.amount / MINOR_PER_MAJOR,
	         tap.amount % MINOR_PER_MAJOR);
	u32_or_empty(tap.vehicle_id, vehicle);
	snprintf(fare, sizeof fare, "%u", (unsigned)tap.fare_product);
	/* card_token holds the stored pseudonym (log.h), never a token. */
	kp_hex_encode(tap.card_token, ST_PSEUDONYM_SIZE, pseudonym);

	const char *const f[] = {
		id, day, ts, "", amount, CURRENCY, fare_action(&tap), "", "", "", "", "", vehicle, device, "",
		stop, tap.result == KP_TAP_ACCEPTED ? "1" : "0", FARE_MEDIA, "", fare, "", "", pseudonym, "",
	};
	put_row(t, f, sizeof f / sizeof f[0]);
	return ST_OK;
}

static int event_rows(struct kp_tides *t, struct st_read *r, const struct st_log_entry *e,
                      const struct kp_header *h, uint16_t i, uint32_t date)
{
	char id[FIELD_MAX], day[DATE_TEXT_SIZE], ts[TIMESTAMP_SIZE], vehicle[FIELD_MAX], device[FIELD_MAX];
	char stop[2 * ST_GTFS_TEXT_MAX], count[FIELD_MAX];
	static const char *const types[2] = { "Passenger boarded", "Passenger alighted" };
	static const char suffix[2] = { 'b', 'a' };
	struct kp_count c;
	int rc;

	kp_frame_get_count(e->frame, i, &c);
	if (c.kind != KP_COUNT_KIND_DOOR_CYCLE)
		return ST_OK;
	rc = stop_text(r, c.stop_id, stop, sizeof stop);
	if (rc != ST_OK)
		return rc;
	st_date_format(date, day);
	timestamp_text(c.observed_at, ts);
	u32_or_empty(c.vehicle_id, vehicle);
	/* The door's sensor of the APC: the spec has no door column. */
	snprintf(device, sizeof device, "%016" PRIx64 "-d%u", h->device_id, (unsigned)c.door);
	for (int k = 0; k < 2; k++) {
		uint16_t n = k == 0 ? c.boardings : c.alightings;

		if (n == 0)
			continue;
		snprintf(id, sizeof id, "%016" PRIx64 "-%" PRIu64 "-%u-%c", h->device_id, h->batch_seq,
		         (unsigned)i, suffix[k]);
		snprintf(count, sizeof count, "%u", (unsigned)n);
		const char *const f[] = {
			id, day, ts, "", "", "", "", "", types[k], vehicle, device, "", stop, "", count,
		};
		put_row(t, f, sizeof f / sizeof f[0]);
	}
	return ST_OK;
}

/* The service date of record i, 0 when it cannot have one. */
static uint32_t record_date(const struct kp_tides *t, const struct kp_header *h, const uint8_t *frame, uint16_t i)
{
	const struct st_options *o = st_db_options(t->db);
	struct st_when w;
	struct kp_tap tap;
	struct kp_count c;
	int64_t at;

	if (h->type == KP_TYPE_TAPS) {
		kp_frame_get_tap(frame, i, &tap);
		at = tap.tapped_at;
	} else {
		kp_frame_get_count(frame, i, &c);
		at = c.observed_at;
	}
	if (st_service_day(st_db_zone(t->db), at, o->service_day_start_hour, &w) != 0)
		return 0;
	return w.service_date;
}

/* -------------------------------------------------------------- walk */

static uint8_t wanted_type(enum kp_tides_table table)
{
	return table == KP_TIDES_FARE_TRANSACTIONS ? KP_TYPE_TAPS : KP_TYPE_COUNTS;
}

/* Stages the rows of e's records from t->next_rec on, while the budget
 * and the stage allow; returns nonzero to stop the walk. */
static int walk_entry(void *ctx, const struct st_log_entry *e)
{
	struct walk *w = ctx;
	struct kp_tides *t = w->t;
	struct kp_header h;

	if (e->seq > t->last_seq) {
		t->done = 1;
		return 1;
	}
	if (e->seq != t->next_seq) {
		t->next_seq = e->seq;
		t->next_rec = 0;
	}
	if (kp_frame_decode(e->frame, e->frame_len, &h) != KP_OK) {
		w->rc = ST_ECORRUPT;
		return 1;
	}
	if (h.type != wanted_type(t->table)) {
		w->budget -= w->budget < h.count ? w->budget : h.count;
	} else {
		for (uint16_t i = t->next_rec; i < h.count; i++) {
			uint32_t date;

			if (w->budget == 0 || sizeof t->stage - t->len < ROWS_MAX) {
				t->next_rec = i;
				return 1;
			}
			w->budget--;
			date = record_date(t, &h, e->frame, i);
			if (date == 0 || date < t->from || date > t->to)
				continue;
			w->rc = t->table == KP_TIDES_FARE_TRANSACTIONS ? fare_row(t, w->r, e, &h, i, date)
			                                                : event_rows(t, w->r, e, &h, i, date);
			if (w->rc != ST_OK) {
				t->next_rec = i;
				return 1;
			}
		}
	}
	t->next_seq = e->seq + 1;
	t->next_rec = 0;
	return w->budget == 0;
}

/* Stages more rows: one read transaction. */
static int refill(struct kp_tides *t)
{
	struct walk w = { .t = t, .budget = KP_TIDES_RECORDS_PER_READ, .rc = ST_OK };
	struct st_read r;
	int rc;

	t->len = t->off = 0;
	if (t->next_seq > t->last_seq) {
		t->done = 1;
		return ST_OK;
	}
	rc = st_read_begin(t->db, &r);
	if (rc != ST_OK)
		return rc;
	w.r = &r;
	rc = st_log_foreach(&r, t->next_seq, walk_entry, &w);
	st_read_end(&r);
	if (w.rc != ST_OK)
		return w.rc;
	if (rc == ST_OK)
		t->done = 1; /* the log ended before the budget did */
	else if (rc != ST_ESTOP)
		return rc;
	return ST_OK;
}

/* ------------------------------------------------------------ the API */

const char *kp_tides_file_name(enum kp_tides_table table)
{
	switch (table) {
	case KP_TIDES_FARE_TRANSACTIONS: return "fare_transactions.csv";
	case KP_TIDES_PASSENGER_EVENTS: return "passenger_events.csv";
	}
	return NULL;
}

int kp_tides_open(struct st_read *r, enum kp_tides_table table, uint32_t from, uint32_t to,
                  struct kp_tides **out)
{
	const char *header = table == KP_TIDES_FARE_TRANSACTIONS ? FARE_HEADER : EVENTS_HEADER;
	struct kp_tides *t;
	int rc;

	*out = NULL;
	if (kp_tides_file_name(table) == NULL || from > to)
		return ST_EINVAL;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return ST_ESTOP;
	rc = st_log_last_seq(r, &t->last_seq);
	if (rc != ST_OK) {
		free(t);
		return rc;
	}
	t->db = r->db;
	t->table = table;
	t->from = from;
	t->to = to;
	t->next_seq = 1;
	t->len = strlen(header);
	memcpy(t->stage, header, t->len);
	*out = t;
	return ST_OK;
}

ssize_t kp_tides_read(struct kp_tides *t, char *buf, size_t cap)
{
	size_t n;

	if (t->error != ST_OK)
		return -1;
	while (t->off == t->len && !t->done) {
		t->error = refill(t);
		if (t->error != ST_OK)
			return -1;
	}
	n = t->len - t->off;
	if (n > cap)
		n = cap;
	memcpy(buf, t->stage + t->off, n);
	t->off += n;
	return (ssize_t)n;
}

int kp_tides_error(const struct kp_tides *t)
{
	return t->error;
}

void kp_tides_close(struct kp_tides *t)
{
	free(t);
}
