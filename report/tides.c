/*
 * tides.c — TIDES fare_transactions and passenger_events rows (tides.h).
 *
 * Rows are made into a staging buffer, one short read transaction at a
 * time, and handed out from it in whatever pieces the caller asks for: the
 * place moves only when a record's rows are staged whole, so the output is
 * the same bytes for any sequence of buffer sizes. A refill stops when the
 * record budget is spent or the stage has less room than the longest rows
 * one record can make (ROWS_MAX), so a row is never cut.
 *
 * The frames come from the index by service date (storage/date_frames.h),
 * in (date, seq) order; a frame indexed under two dates is visited twice,
 * each time for its records of that date only, so every row is made once.
 *
 * Why the rows are written by hand: snprintf and strftime per field held
 * the export to about 300,000 rows a second. Numbers are written digit by
 * digit, a timestamp from its day's text (computed once per day, through
 * st_date_of_days) and its time of day, and what is the same for a whole
 * frame (device id, transaction id prefix) or date once. The one field
 * that can need quoting, a GTFS stop_id, is looked up, quoted by libcsv
 * when it holds ',', '"', CR or LF, and kept in a small cache by stop
 * number for the rest of the export.
 */
#include "report/tides.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"
#include "storage/date_frames.h"
#include "storage/derive.h"
#include "storage/gtfs.h"
#include "storage/log.h"
#include "storage/service_day.h"

#define STAGE_SIZE 65536
/* The rows of one record: a GTFS stop id (at most 255 bytes, twice that
 * quoted) and short fields, twice for a door cycle; far below this. */
#define ROWS_MAX 4096
#define STOP_TEXT_MAX (2 * ST_GTFS_TEXT_MAX + 2)
#define STOP_SLOTS 64 /* a power of two */
#define PREFIX_MAX 64
#define DATE_TEXT_LEN 10
#define MS_PER_S 1000
#define S_PER_DAY 86400
#define CRLF "\r\n"

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

/* A GTFS stop_id as written in a row (quoted when it must be). */
struct stop_slot {
	uint32_t stop; /* 0: empty */
	uint16_t len;
	char text[STOP_TEXT_MAX];
};

struct kp_tides {
	struct st_db *db;
	enum kp_tides_table table;
	uint32_t to;
	uint64_t last_seq; /* the snapshot: the log's last seq at open, or the derived trees' mark */
	/* The place: the index key (date, seq) of the first frame not wholly
	 * staged, and its first record not staged. */
	uint32_t date;
	uint64_t seq;
	uint16_t rec;
	int done, error;
	char stage[STAGE_SIZE];
	size_t len, off; /* staged bytes, and how many of them were handed out */
	/* What the rows of one date, day or frame share. */
	uint32_t date_of_text;
	char date_text[DATE_TEXT_LEN + 1];
	int64_t day_of_text; /* UTC days since 1970 of day_text */
	char day_text[DATE_TEXT_LEN + 1];
	uint64_t frame_of_text; /* the seq whose device and prefix are below */
	char device[KP_DEVICE_ID_TEXT_SIZE];
	char prefix[PREFIX_MAX]; /* device-batch_seq- */
	size_t prefix_len;
	struct stop_slot stops[STOP_SLOTS];
};

/* One refill's walk through the index. */
struct walk {
	struct kp_tides *t;
	struct st_read *r;
	size_t budget; /* records (and frames) left to look at */
	int rc;
};

/* ------------------------------------------------------------- fields */

static char *put_text(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_text((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *put_2digits(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* "YYYY-MM-DD" of a yyyymmdd date (years 1..9999). */
static void date_text(uint32_t date, char out[DATE_TEXT_LEN + 1])
{
	char *p = out;

	p = put_2digits(p, date / 1000000 % 100);
	p = put_2digits(p, date / 10000 % 100);
	*p++ = '-';
	p = put_2digits(p, date / 100 % 100);
	*p++ = '-';
	p = put_2digits(p, date % 100);
	*p = '\0';
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* YYYY-MM-DDTHH:MM:SSZ of a UTC time in ms. */
static char *put_timestamp(struct kp_tides *t, char *p, int64_t ms)
{
	int64_t secs = floor_div(ms, MS_PER_S);
	int64_t days = floor_div(secs, S_PER_DAY);
	unsigned in_day = (unsigned)(secs - days * S_PER_DAY);

	if (days != t->day_of_text) {
		date_text(st_date_of_days(days), t->day_text);
		t->day_of_text = days;
	}
	p = put_text(p, t->day_text, DATE_TEXT_LEN);
	*p++ = 'T';
	p = put_2digits(p, in_day / 3600);
	*p++ = ':';
	p = put_2digits(p, in_day / 60 % 60);
	*p++ = ':';
	p = put_2digits(p, in_day % 60);
	*p++ = 'Z';
	return p;
}

/* The service date's text, made once per date. */
static char *put_date(struct kp_tides *t, char *p, uint32_t date)
{
	if (date != t->date_of_text) {
		date_text(date, t->date_text);
		t->date_of_text = date;
	}
	return put_text(p, t->date_text, DATE_TEXT_LEN);
}

static char *put_u32_or_empty(char *p, uint32_t v)
{
	return v == 0 ? p : put_u64(p, v);
}

/* The device id and the transaction id prefix of a frame, once per frame. */
static void frame_texts(struct kp_tides *t, uint64_t seq, const struct kp_header *h)
{
	char *p = t->prefix;

	if (seq == t->frame_of_text)
		return;
	kp_device_id_format(h->device_id, t->device);
	p = put_text(p, t->device, KP_DEVICE_ID_DIGITS);
	*p++ = '-';
	p = put_u64(p, h->batch_seq);
	*p++ = '-';
	t->prefix_len = (size_t)(p - t->prefix);
	t->frame_of_text = seq;
}

/* The GTFS stop_id of a stop number when the feed has it, else the number,
 * quoted when it must be; cached by number. */
static int stop_slot(struct kp_tides *t, struct st_read *r, uint32_t stop, const struct stop_slot **out)
{
	struct stop_slot *s = &t->stops[stop & (STOP_SLOTS - 1)];
	struct st_gtfs_stop g;
	size_t n;
	int rc;

	*out = s;
	if (s->stop == stop)
		return ST_OK;
	rc = st_gtfs_stop_get(r, stop, &g);
	if (rc == ST_ENOTFOUND) {
		s->len = (uint16_t)(put_u64(s->text, stop) - s->text);
	} else if (rc != ST_OK) {
		s->stop = 0;
		return rc;
	} else {
		n = strlen(g.gtfs_id);
		if (strcspn(g.gtfs_id, ",\"\r\n") == n)
			s->len = (uint16_t)(put_text(s->text, g.gtfs_id, n) - s->text);
		else
			s->len = (uint16_t)csv_write(s->text, sizeof s->text, g.gtfs_id, n);
	}
	s->stop = stop;
	return ST_OK;
}

static int put_stop(struct kp_tides *t, struct st_read *r, char **p, uint32_t stop)
{
	const struct stop_slot *s;
	int rc;

	if (stop == 0)
		return ST_OK;
	rc = stop_slot(t, r, stop, &s);
	if (rc == ST_OK)
		*p = put_text(*p, s->text, s->len);
	return rc;
}

/* What the tap did, in the spec's fare_action terms. */
static const char *fare_action(const struct kp_tap *tap)
{
	if (tap->result != KP_TAP_ACCEPTED)
		return "Other"; /* refused: no action of the list */
	return (tap->flags & KP_TAP_FLAG_TRANSFER) ? "Transfer entrance" : "Enter";
}

/* --------------------------------------------------------------- rows */

/* One row of 24 columns; the caller made sure of ROWS_MAX bytes of room. */
static int fare_row(struct kp_tides *t, struct st_read *r, const struct kp_tap *tap, uint16_t i, uint32_t date)
{
	char *p = t->stage + t->len;
	const char *action = fare_action(tap);
	int rc;

	p = put_text(p, t->prefix, t->prefix_len);
	p = put_u64(p, i);
	*p++ = ',';
	p = put_date(t, p, date);
	*p++ = ',';
	p = put_timestamp(t, p, tap->tapped_at);
	p = PUT_LIT(p, ",,");
	p = put_u64(p, tap->amount / MINOR_PER_MAJOR);
	*p++ = '.';
	p = put_2digits(p, tap->amount % MINOR_PER_MAJOR);
	p = PUT_LIT(p, "," CURRENCY ",");
	p = put_text(p, action, strlen(action));
	p = PUT_LIT(p, ",,,,,,");
	p = put_u32_or_empty(p, tap->vehicle_id);
	*p++ = ',';
	p = put_text(p, t->device, KP_DEVICE_ID_DIGITS);
	p = PUT_LIT(p, ",,");
	rc = put_stop(t, r, &p, tap->stop_id);
	if (rc != ST_OK)
		return rc;
	p = tap->result == KP_TAP_ACCEPTED ? PUT_LIT(p, ",1,") : PUT_LIT(p, ",0,");
	p = PUT_LIT(p, FARE_MEDIA ",,");
	p = put_u64(p, tap->fare_product);
	p = PUT_LIT(p, ",,,");
	/* card_token holds the stored pseudonym (log.h), never a token. */
	kp_hex_encode(tap->card_token, ST_PSEUDONYM_SIZE, p);
	p += 2 * ST_PSEUDONYM_SIZE;
	p = PUT_LIT(p, "," CRLF);
	t->len = (size_t)(p - t->stage);
	return ST_OK;
}

/* The boarded and the alighted row (15 columns) of a door cycle, each
 * when its count is not 0. */
static int event_rows(struct kp_tides *t, struct st_read *r, const struct kp_count *c, uint16_t i, uint32_t date)
{
	static const char *const types[2] = { "Passenger boarded", "Passenger alighted" };
	static const char suffix[2] = { 'b', 'a' };
	const struct stop_slot *stop = NULL;
	char *p = t->stage + t->len;
	int rc;

	if (c->stop_id != 0) {
		rc = stop_slot(t, r, c->stop_id, &stop);
		if (rc != ST_OK)
			return rc;
	}
	for (int k = 0; k < 2; k++) {
		uint16_t n = k == 0 ? c->boardings : c->alightings;

		if (n == 0)
			continue;
		p = put_text(p, t->prefix, t->prefix_len);
		p = put_u64(p, i);
		*p++ = '-';
		*p++ = suffix[k];
		*p++ = ',';
		p = put_date(t, p, date);
		*p++ = ',';
		p = put_timestamp(t, p, c->observed_at);
		p = PUT_LIT(p, ",,,,,,");
		p = put_text(p, types[k], strlen(types[k]));
		*p++ = ',';
		p = put_u32_or_empty(p, c->vehicle_id);
		*p++ = ',';
		/* The door's sensor of the APC: the spec has no door column. */
		p = put_text(p, t->device, KP_DEVICE_ID_DIGITS);
		p = PUT_LIT(p, "-d");
		p = put_u64(p, c->door);
		p = PUT_LIT(p, ",,");
		if (stop != NULL)
			p = put_text(p, stop->text, stop->len);
		p = PUT_LIT(p, ",,");
		p = put_u64(p, n);
		p = PUT_LIT(p, CRLF);
	}
	t->len = (size_t)(p - t->stage);
	return ST_OK;
}

/* The rows of record i when it is indexed under date (the index's rule,
 * st_date_frames_of), else nothing. */
static int record_rows(struct kp_tides *t, struct st_read *r, const uint8_t *frame, uint8_t type, uint16_t i,
                       uint32_t date)
{
	const struct st_options *o = st_db_options(t->db);
	struct kp_tap tap;
	struct kp_count c;
	uint32_t d;

	if (!st_date_frames_of(frame, type, i, st_db_zone(t->db), o->service_day_start_hour, &d) || d != date)
		return ST_OK;
	if (type == KP_TYPE_TAPS) {
		kp_frame_get_tap(frame, i, &tap);
		return fare_row(t, r, &tap, i, date);
	}
	kp_frame_get_count(frame, i, &c);
	return event_rows(t, r, &c, i, date);
}

/* -------------------------------------------------------------- walk */

static uint8_t wanted_type(enum kp_tides_table table)
{
	return table == KP_TIDES_FARE_TRANSACTIONS ? KP_TYPE_TAPS : KP_TYPE_COUNTS;
}

/* Stages the rows of date of frame seq from t->rec on, while the budget
 * and the stage allow; returns nonzero to stop the walk. */
static int walk_frame(void *ctx, uint32_t date, uint64_t seq)
{
	struct walk *w = ctx;
	struct kp_tides *t = w->t;
	struct st_log_entry e;
	struct kp_header h;

	if (date != t->date || seq != t->seq) {
		t->date = date;
		t->seq = seq;
		t->rec = 0;
	}
	w->rc = st_log_get(w->r, seq, &e);
	if (w->rc == ST_ENOTFOUND)
		w->rc = ST_ECORRUPT; /* indexed, but not in the log */
	if (w->rc == ST_OK && (kp_frame_decode(e.frame, e.frame_len, &h) != KP_OK || h.type != wanted_type(t->table)))
		w->rc = ST_ECORRUPT;
	if (w->rc != ST_OK)
		return 1;
	frame_texts(t, seq, &h);
	w->budget -= w->budget > 0;
	for (uint16_t i = t->rec; i < h.count; i++) {
		if (w->budget == 0 || sizeof t->stage - t->len < ROWS_MAX) {
			t->rec = i;
			return 1;
		}
		w->budget--;
		w->rc = record_rows(t, w->r, e.frame, h.type, i, date);
		if (w->rc != ST_OK) {
			t->rec = i;
			return 1;
		}
	}
	t->seq = seq + 1;
	t->rec = 0;
	return w->budget == 0;
}

/* Stages more rows: one read transaction. */
static int refill(struct kp_tides *t)
{
	struct walk w = { .t = t, .budget = KP_TIDES_RECORDS_PER_READ, .rc = ST_OK };
	struct st_read r;
	int rc;

	t->len = t->off = 0;
	rc = st_read_begin(t->db, &r);
	if (rc != ST_OK)
		return rc;
	w.r = &r;
	rc = st_date_frames_walk(&r, wanted_type(t->table), t->date, t->seq, t->to, t->last_seq, walk_frame, &w);
	st_read_end(&r);
	if (w.rc != ST_OK)
		return w.rc;
	if (rc == ST_OK)
		t->done = 1; /* the range ended before the budget did */
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
	uint64_t last;

	/* The date index holds the log up to the derived trees' mark
	 * (storage/derive.h): the snapshot ends there, or a frame derived
	 * between two of its read transactions would be read or not by chance. */
	rc = st_derive_behind(r, &t->last_seq, &last);
	if (rc != ST_OK) {
		free(t);
		return rc;
	}
	t->db = r->db;
	t->table = table;
	t->to = to;
	t->date = from;
	t->seq = 0;
	t->day_of_text = INT64_MIN;
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
