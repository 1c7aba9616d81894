/*
 * gtfs_csv.h — reading a GTFS routes.txt or stops.txt into records of
 * storage/gtfs.h, with libcsv (RFC 4180), fed bytes as they come so that a
 * big feed is never held whole in memory and a fuzzer can drive it.
 *
 * What it accepts: quoted fields with commas, doubled quotes and line
 * breaks; a UTF-8 byte order mark before the header; CRLF or LF line ends;
 * blank lines; the header's columns in any order, unknown columns ignored.
 * Unquoted fields lose leading and trailing spaces and tabs (libcsv's
 * default). Each data row must have as many fields as the header.
 *
 * Columns read (GTFS names; komposter_id is komposter's own, optional, see
 * storage/gtfs.h for the identifier rule):
 *   routes.txt: route_id, route_short_name, route_long_name, route_type,
 *     komposter_id. route_id, route_type and one of the names are required
 *     columns; each row needs route_id, route_type (0..65535) and a short
 *     or a long name.
 *   stops.txt: stop_id, stop_name, stop_lat, stop_lon, location_type,
 *     komposter_id. stop_id is a required column. location_type is 0..4
 *     (empty: 0); stop_name is required for location_type 0, 1 and 2 as
 *     GTFS says; stop_lat and stop_lon are optional, both or neither, in
 *     decimal degrees (at most 7 decimals are kept).
 * Texts (ids and names) are at most ST_GTFS_TEXT_MAX bytes of UTF-8
 * without control characters; an ignored column's field at most
 * KP_GTFS_FIELD_MAX bytes.
 *
 * Errors: the first problem ends the parse with one line in err,
 * "routes.txt:LINE: what", LINE the physical line (1-based, counted by LF
 * as grep -n and sed do) where the row begins (a quoted field may span
 * lines; a lone CR ends a row, as libcsv reads it, but not a line); a libcsv syntax error names the
 * line where it was found. Ownership: the parser owns libcsv's buffer
 * (kp_gtfs_csv_free releases it); rows handed to the callback are borrowed
 * for the call.
 */
#ifndef KP_GTFS_CSV_H
#define KP_GTFS_CSV_H

#include <csv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/gtfs.h"

enum kp_gtfs_file {
	KP_GTFS_ROUTES = 0,
	KP_GTFS_STOPS = 1,
};

#define KP_GTFS_COLUMNS_MAX 128   /* columns of the header */
#define KP_GTFS_FIELD_MAX 65536   /* bytes of any one field, ignored ones too */
#define KP_GTFS_ROLES 6           /* the columns read, per file */
#define KP_GTFS_ERR_SIZE 256

struct kp_gtfs_row {
	unsigned long line; /* where the row begins */
	union {
		struct st_gtfs_route route; /* KP_GTFS_ROUTES */
		struct st_gtfs_stop stop;   /* KP_GTFS_STOPS */
	} u;
};

/* Called with each data row; returns 0 to go on, nonzero to stop the parse
 * (kp_gtfs_csv_feed then fails with stopped set to that value and err
 * empty: the caller says what went wrong). */
typedef int (*kp_gtfs_row_fn)(void *ctx, const struct kp_gtfs_row *row);

struct kp_gtfs_csv {
	struct csv_parser csv;
	enum kp_gtfs_file file;
	kp_gtfs_row_fn fn;
	void *ctx;
	unsigned long line;       /* the physical line being fed, 1-based */
	unsigned long rows;       /* data rows handed to fn */
	unsigned long record_nl;  /* line breaks inside the current row's fields */
	bool header_done;
	unsigned ncols;           /* of the header */
	signed char role[KP_GTFS_COLUMNS_MAX]; /* the column read at each index, -1 none */
	unsigned field;           /* index of the next field of the current row */
	char val[KP_GTFS_ROLES][ST_GTFS_TEXT_MAX + 1];
	bool has[KP_GTFS_ROLES];  /* the header has the column */
	uint8_t head[3];          /* the first bytes, held until the BOM is decided */
	size_t head_len;
	bool head_done;
	bool failed;
	int stopped;              /* fn's nonzero status, 0 otherwise */
	unsigned long err_line;   /* 0 when the error is not at one line */
	char err[KP_GTFS_ERR_SIZE];
};

/* 0, or -1 when libcsv cannot be set up (out of memory). */
int kp_gtfs_csv_init(struct kp_gtfs_csv *p, enum kp_gtfs_file file, kp_gtfs_row_fn fn, void *ctx);
/* Takes the next len bytes of the file. 0 to go on, -1 when the parse has
 * failed (err, err_line, stopped say why; later calls fail at once). */
int kp_gtfs_csv_feed(struct kp_gtfs_csv *p, const void *bytes, size_t len);
/* At the end of the file: the last row without a line break, an
 * unterminated quote, a file without a header. 0 or -1 as feed. */
int kp_gtfs_csv_finish(struct kp_gtfs_csv *p);
void kp_gtfs_csv_free(struct kp_gtfs_csv *p);

/* "routes.txt" or "stops.txt". */
const char *kp_gtfs_file_name(enum kp_gtfs_file file);

#endif
