/*
 * Description: the TIDES record-level exports (report/tides.h): every
 * accepted and denied tap is one fare_transactions row, with the stored
 * pseudonym as token_id and no byte of a card token anywhere; each
 * door-cycle record of a COUNTS frame makes its boarded and alighted rows;
 * a date range leaves other dates out; reading in many small pieces gives
 * the same bytes as one big buffer; the export's snapshot ends at the
 * log's last seq when it began; a field that needs quoting is quoted;
 * rows come in (service date, seq) order, and a frame whose taps fall on
 * two dates gives each row once, under its own date.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../storage/helpers.h"
#include "csv_rows.h"
#include "firmware-proto/hex.h"
#include "report/tides.h"
#include "storage/derive.h"
#include "storage/gtfs.h"
#include "storage/log.h"

TestSuite(tides, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000; /* Wednesday 2024-05-15, 12:00 in Kyiv */
static const int64_t day = 86400000;
#define DAY1 20240515u
#define DAY2 20240516u
#define DEVICE 0x00000000000000a1ull

static const char FARE_HEADER[] =
	"transaction_id,service_date,event_timestamp,location_ping_id,amount,currency_type,fare_action,"
	"trip_id_performed,trip_id_scheduled,pattern_id,trip_stop_sequence,scheduled_stop_sequence,"
	"vehicle_id,device_id,fare_id,stop_id,num_riders,fare_media_id,rider_category,fare_product,"
	"fare_period,fare_capped,token_id,balance\r\n";

static const char EVENTS_HEADER[] =
	"passenger_event_id,service_date,event_timestamp,location_ping_id,trip_id_performed,"
	"trip_id_scheduled,trip_stop_sequence,scheduled_stop_sequence,event_type,vehicle_id,device_id,"
	"train_car_id,stop_id,pattern_id,event_count\r\n";

/* The whole export, read cap bytes at a time; malloc'd, *len bytes. */
static char *export_all(enum kp_tides_table table, uint32_t from, uint32_t to, size_t cap, size_t *len)
{
	struct kp_tides *t;
	struct st_read r;
	char *buf = malloc(cap), *out = NULL;
	size_t n = 0, size = 0;
	ssize_t got;

	cr_assert_not_null(buf);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(kp_tides_open(&r, table, from, to, &t), ST_OK);
	st_read_end(&r);
	while ((got = kp_tides_read(t, buf, cap)) > 0) {
		cr_assert_leq((size_t)got, cap);
		if (n + (size_t)got + 1 > size) {
			size = 2 * (n + (size_t)got + 1);
			out = realloc(out, size);
			cr_assert_not_null(out);
		}
		memcpy(out + n, buf, (size_t)got);
		n += (size_t)got;
	}
	cr_assert_eq(got, 0, "read failed: %s", st_strerror(kp_tides_error(t)));
	kp_tides_close(t);
	free(buf);
	out[n] = '\0';
	*len = n;
	return out;
}

/* Taps on DAY1 (cards 1..n), two of them denied and one a transfer,
 * in one frame of batch 1; and n taps on DAY2 (cards 101..) in batch 2. */
static void store_two_days(const struct tdev *d, uint16_t n)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[KP_RECORDS_MAX];
	size_t len;

	for (uint16_t i = 0; i < n; i++)
		taps[i] = t_tap(noon + i * 1000, 7, 100, 1, 800, 1 + i);
	taps[1].result = KP_TAP_DENIED_BALANCE;
	taps[1].amount = 0;
	taps[2].result = KP_TAP_DENIED_BLOCKLISTED;
	taps[2].amount = 0;
	taps[3].flags = KP_TAP_FLAG_TRANSFER;
	len = t_frame(frame, d, 1, taps, n);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	for (uint16_t i = 0; i < n; i++)
		taps[i] = t_tap(noon + day + i * 1000, 8, 200, 2, 1200, 101 + i);
	len = t_frame(frame, d, 2, taps, n);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const char *field(const struct csv_rows *rows, size_t row, const char *name)
{
	int c = csv_rows_column(rows, name);

	cr_assert_geq(c, 0, "no column %s", name);
	cr_assert_lt((size_t)c, rows->nfields[row]);
	return rows->fields[row][c];
}

Test(tides, every_accepted_and_denied_tap_is_one_row)
{
	struct tdev d;
	struct csv_rows rows;
	char id[64];
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	store_two_days(&d, 10);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY2, 1 << 16, &len);
	cr_assert_eq(strncmp(csv, FARE_HEADER, strlen(FARE_HEADER)), 0, "header: %.300s", csv);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 20);
	for (size_t r = 0; r < rows.n; r++)
		cr_assert_eq(rows.nfields[r], 24, "row %zu has %zu fields", r, rows.nfields[r]);
	for (unsigned batch = 1; batch <= 2; batch++)
		for (unsigned i = 0; i < 10; i++) {
			snprintf(id, sizeof id, "%016" PRIx64 "-%u-%u,", (uint64_t)DEVICE, batch, i);
			cr_expect_eq(count_of(csv, id), 1, "%s", id);
		}
	cr_expect_str_eq(field(&rows, 1, "service_date"), "2024-05-15");
	cr_expect_str_eq(field(&rows, 1, "event_timestamp"), "2024-05-15T09:00:00Z");
	cr_expect_str_eq(field(&rows, 1, "amount"), "8.00");
	cr_expect_str_eq(field(&rows, 1, "fare_action"), "Enter");
	cr_expect_str_eq(field(&rows, 1, "num_riders"), "1");
	cr_expect_str_eq(field(&rows, 1, "stop_id"), "100");
	cr_expect_str_eq(field(&rows, 1, "vehicle_id"), "4242");
	cr_expect_str_eq(field(&rows, 1, "fare_product"), "1");
	cr_expect_str_eq(field(&rows, 2, "fare_action"), "Other");
	cr_expect_str_eq(field(&rows, 2, "num_riders"), "0");
	cr_expect_str_eq(field(&rows, 3, "fare_action"), "Other");
	cr_expect_str_eq(field(&rows, 4, "fare_action"), "Transfer entrance");
	cr_expect_str_eq(field(&rows, 11, "service_date"), "2024-05-16");
	cr_expect_str_eq(field(&rows, 11, "amount"), "12.00");
	csv_rows_free(&rows);
	free(csv);
}

Test(tides, token_id_is_the_stored_pseudonym_and_no_card_token_is_anywhere)
{
	struct tdev d;
	struct csv_rows rows;
	struct st_read r;
	struct st_log_entry e;
	struct kp_tap tap;
	uint8_t token[KP_CARD_TOKEN_SIZE];
	char hex[2 * KP_CARD_TOKEN_SIZE + 1];
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	store_two_days(&d, 10);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY2, 1 << 16, &len);
	for (uint32_t card = 1; card <= 110; card++) {
		t_token(token, card);
		kp_hex_encode(token, sizeof token, hex);
		cr_expect_null(memmem(csv, len, token, sizeof token), "card %u's token bytes in the export", card);
		cr_expect_null(strcasestr(csv, hex), "card %u's token in hex in the export", card);
	}
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	for (uint64_t seq = 1; seq <= 2; seq++) {
		cr_assert_eq(st_log_get(&r, seq, &e), ST_OK);
		for (uint16_t i = 0; i < 10; i++) {
			kp_frame_get_tap(e.frame, i, &tap);
			kp_hex_encode(tap.card_token, ST_PSEUDONYM_SIZE, hex);
			cr_expect_str_eq(field(&rows, 1 + (seq - 1) * 10 + i, "token_id"), hex);
		}
	}
	st_read_end(&r);
	csv_rows_free(&rows);
	free(csv);
}

Test(tides, small_buffers_give_the_bytes_of_one_big_buffer)
{
	static const size_t caps[] = { 1, 7, 100, 4093 };
	uint8_t frame[KP_FRAME_MAX];
	struct tdev d;
	size_t len_big, len;
	char *big, *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	/* More taps than one read transaction looks at, and than one stage holds. */
	for (uint64_t b = 1; b <= 10; b++) {
		size_t flen = t_frame_simple(frame, &d, b, 500, noon + (int64_t)b * 60000, (uint32_t)b * 1000);

		cr_assert_eq(t_commit1(frame, flen, NULL), ST_OK);
	}
	big = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY1, 1 << 22, &len_big);
	cr_assert_eq(count_of(big, "\r\n"), 1 + 5000);
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY1, caps[i], &len);
		cr_expect_eq(len, len_big, "cap %zu", caps[i]);
		cr_expect(len == len_big && memcmp(csv, big, len) == 0, "cap %zu: other bytes", caps[i]);
		free(csv);
	}
	free(big);
}

Test(tides, a_date_range_leaves_other_dates_out)
{
	struct tdev d;
	struct csv_rows rows;
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	store_two_days(&d, 10);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY2, DAY2, 1 << 16, &len);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 10);
	for (size_t r = 1; r < rows.n; r++)
		cr_expect_str_eq(field(&rows, r, "service_date"), "2024-05-16");
	cr_expect_eq(count_of(csv, "-1-"), 0, "a row of batch 1 (DAY1)");
	csv_rows_free(&rows);
	free(csv);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, 20240601, 20240630, 1 << 16, &len);
	cr_expect_str_eq(csv, FARE_HEADER);
	free(csv);
}

/* An export of DAY1's fare transactions, begun now. */
static struct kp_tides *open_day1(void)
{
	struct kp_tides *t;
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(kp_tides_open(&r, KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY1, &t), ST_OK);
	st_read_end(&r);
	return t;
}

/* csv (n bytes, malloc'd or NULL) and what t gives to its end, in 64-byte
 * reads, terminated; t is closed. */
static char *read_to_end(struct kp_tides *t, char *csv, size_t n)
{
	char buf[64];
	ssize_t got;

	while ((got = kp_tides_read(t, buf, sizeof buf)) > 0) {
		csv = realloc(csv, n + (size_t)got);
		cr_assert_not_null(csv);
		memcpy(csv + n, buf, (size_t)got);
		n += (size_t)got;
	}
	cr_assert_eq(got, 0);
	kp_tides_close(t);
	csv = realloc(csv, n + 1);
	cr_assert_not_null(csv);
	csv[n] = '\0';
	return csv;
}

Test(tides, the_snapshot_ends_at_the_last_seq_when_the_export_began)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tides *t;
	struct tdev d;
	char *csv = malloc(64);
	size_t flen;
	ssize_t got;

	tdb_open();
	tdev_make(&d, DEVICE);
	flen = t_frame_simple(frame, &d, 1, 3, noon, 1);
	cr_assert_eq(t_commit1(frame, flen, NULL), ST_OK);
	t = open_day1();
	got = kp_tides_read(t, csv, 64);
	cr_assert_gt(got, 0);
	flen = t_frame_simple(frame, &d, 2, 3, noon + 5000, 50);
	cr_assert_eq(t_commit1(frame, flen, NULL), ST_OK);
	csv = read_to_end(t, csv, (size_t)got);
	cr_expect_eq(count_of(csv, "\r\n"), 1 + 3);
	cr_expect_eq(count_of(csv, "-2-"), 0, "a row of the frame stored after the export began");
	free(csv);
}

/* A frame held behind the date index (storage/derive.h) when the export
 * began is not in it, even when it is derived before the export reads on. */
Test(tides, the_snapshot_ends_at_the_date_indexs_mark)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tides *t;
	struct tdev d;
	char *csv;
	size_t flen;

	tdb.opts.derive_defer_ms = 3600 * 1000;
	tdb_open();
	tdev_make(&d, DEVICE);
	flen = t_frame_simple(frame, &d, 1, 3, noon, 1);
	cr_assert_eq(t_commit1(frame, flen, NULL), ST_OK);
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	flen = t_frame_simple(frame, &d, 2, 3, noon + 5000, 50);
	cr_assert_eq(t_commit1(frame, flen, NULL), ST_OK); /* held */
	t = open_day1();
	cr_assert_eq(st_derive_catch_up(tdb.db), ST_OK);
	csv = read_to_end(t, NULL, 0);
	cr_expect_eq(count_of(csv, "\r\n"), 1 + 3);
	cr_expect_eq(count_of(csv, "-2-"), 0, "a row of the frame held when the export began");
	free(csv);
}

Test(tides, door_cycles_make_boarded_and_alighted_rows)
{
	uint8_t frame[KP_FRAME_MAX];
	struct kp_count recs[4];
	struct csv_rows rows;
	struct tdev d;
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	recs[0] = t_door_cycle(noon, 7, 100, 1, 3, 2);
	recs[1] = t_door_cycle(noon + 60000, 7, 101, 2, 4, 0);
	recs[2] = t_occupancy(noon + 90000, 7, 40);
	recs[3] = t_door_cycle(noon + day, 7, 102, 1, 1, 1); /* DAY2 */
	len = t_count_frame(frame, &d, 1, recs, 4);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 2, noon, 1); /* taps: not passenger events */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	csv = export_all(KP_TIDES_PASSENGER_EVENTS, DAY1, DAY1, 5, &len);
	cr_assert_eq(strncmp(csv, EVENTS_HEADER, strlen(EVENTS_HEADER)), 0, "header: %.300s", csv);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 3, "%s", csv);
	cr_expect_str_eq(field(&rows, 1, "event_type"), "Passenger boarded");
	cr_expect_str_eq(field(&rows, 1, "event_count"), "3");
	cr_expect_str_eq(field(&rows, 1, "device_id"), "00000000000000a1-d1");
	cr_expect_str_eq(field(&rows, 1, "vehicle_id"), "31");
	cr_expect_str_eq(field(&rows, 1, "stop_id"), "100");
	cr_expect_str_eq(field(&rows, 1, "passenger_event_id"), "00000000000000a1-1-0-b");
	cr_expect_str_eq(field(&rows, 2, "event_type"), "Passenger alighted");
	cr_expect_str_eq(field(&rows, 2, "event_count"), "2");
	cr_expect_str_eq(field(&rows, 3, "event_type"), "Passenger boarded");
	cr_expect_str_eq(field(&rows, 3, "event_count"), "4");
	cr_expect_str_eq(field(&rows, 3, "device_id"), "00000000000000a1-d2");
	for (size_t r = 0; r < rows.n; r++)
		cr_expect_eq(rows.nfields[r], 15);
	csv_rows_free(&rows);
	free(csv);
}

static int load_odd_stop(void *ctx, struct st_gtfs_load *load)
{
	struct st_gtfs_stop s = { .id = 100 };

	(void)ctx;
	snprintf(s.gtfs_id, sizeof s.gtfs_id, "%s", "Kyiv, \"Central\"");
	snprintf(s.name, sizeof s.name, "%s", "Central");
	return st_gtfs_load_stop(load, &s);
}

Test(tides, a_gtfs_stop_id_that_needs_quoting_is_quoted)
{
	struct tdev d;
	struct csv_rows rows;
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	cr_assert_eq(st_gtfs_import(tdb.db, load_odd_stop, NULL), ST_OK);
	store_two_days(&d, 4);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY1, 3, &len);
	cr_expect_neq(strstr(csv, ",\"Kyiv, \"\"Central\"\"\","), NULL, "%s", csv);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 4);
	for (size_t r = 1; r < rows.n; r++) {
		cr_expect_eq(rows.nfields[r], 24);
		cr_expect_str_eq(field(&rows, r, "stop_id"), "Kyiv, \"Central\"");
	}
	csv_rows_free(&rows);
	free(csv);
}

Test(tides, a_frame_across_two_dates_gives_each_row_once_date_by_date)
{
	static const char *const want[] = { "-1-1,", "-1-3,", "-2-0,", "-1-0,", "-1-2," };
	uint8_t frame[KP_FRAME_MAX];
	struct kp_tap taps[4];
	struct csv_rows rows;
	struct tdev d;
	char id[64];
	size_t len;
	char *csv;

	tdb_open();
	tdev_make(&d, DEVICE);
	for (uint16_t i = 0; i < 4; i++)
		taps[i] = t_tap(i % 2 == 0 ? noon + day + 3723123 : noon + i, 7, 100, 1, 800, 1 + i);
	len = t_frame(frame, &d, 1, taps, 4); /* DAY2, DAY1, DAY2, DAY1 */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	len = t_frame_simple(frame, &d, 2, 1, noon + 5000, 9); /* DAY1, stored after */
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY1, DAY2, 1 << 16, &len);
	cr_assert_eq(csv_rows_parse(csv, len, &rows), 0);
	cr_assert_eq(rows.n, 1 + 5, "%s", csv);
	for (size_t r = 0; r < 5; r++) {
		snprintf(id, sizeof id, "%016" PRIx64 "%s", (uint64_t)DEVICE, want[r]);
		cr_expect_eq(strncmp(rows.fields[1 + r][0], id, strlen(id) - 1), 0, "row %zu: %s, want %s", r,
		             rows.fields[1 + r][0], id);
		cr_expect_str_eq(field(&rows, 1 + r, "service_date"), r < 3 ? "2024-05-15" : "2024-05-16");
	}
	cr_expect_str_eq(field(&rows, 4, "event_timestamp"), "2024-05-16T10:02:03Z");
	csv_rows_free(&rows);
	free(csv);
	csv = export_all(KP_TIDES_FARE_TRANSACTIONS, DAY2, DAY2, 7, &len);
	cr_expect_eq(count_of(csv, "\r\n"), 1 + 2, "%s", csv);
	free(csv);
}
