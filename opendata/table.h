/*
 * table.h — one open-data table in memory, and its two published forms.
 *
 * A table is a fixed list of fields (a Table Schema: name, type, whether the
 * field is a published count) and rows of cells. A cell holds a number, a
 * short static string, or nothing: a count that disclosure control
 * suppressed (disclosure.h), or a rate that cannot be computed. Cells are
 * formatted once (od_cell_text), so the CSV and the JSON of a table carry
 * the same text for every value, noisy or not.
 *
 * CSV is RFC 4180: a header row, CRLF line ends. Every value is a number,
 * a date, a time or a lowercase word and needs no quoting, except free
 * text (OD_TEXT: GTFS ids and names from the imported feed), which is
 * quoted when it holds a comma, a quote or a line break, and escaped in
 * JSON (by cJSON). A suppressed cell is empty. JSON is an array of
 * objects keyed by field name, with null for a suppressed cell.
 *
 * A table has a file stem (NAME.csv and NAME.json) or, for a file of a
 * standard (GTFS-ride's ridership.txt, TIDES' station_activities.csv), the
 * standard's exact file name and no JSON form.
 *
 * Memory: od_table_add_row grows the rows with realloc; od_table_free
 * releases them. Strings in cells are borrowed and must be static.
 */
#ifndef OD_TABLE_H
#define OD_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "opendata/outbuf.h"

enum od_type {
	OD_DATE,    /* service date yyyymmdd, written YYYY-MM-DD */
	OD_INTEGER, /* an identifier or an hour */
	OD_COUNT,   /* a published count: integer, >= k, or suppressed */
	OD_NUMBER,  /* a rate: decimal with 4 places, or missing */
	OD_STRING,  /* one of a few lowercase words */
	OD_BOOLEAN, /* true | false */
	OD_TEXT,    /* free UTF-8 text (a GTFS id or name); empty allowed */
	OD_GTFS_DATE, /* service date yyyymmdd, written YYYYMMDD (GTFS) */
	OD_GTFS_TIME, /* seconds of the service day, written HH:MM:SS (GTFS: may pass 24:00:00) */
	OD_DATETIME,  /* local time: u = yyyymmdd * 100 + hour, written YYYY-MM-DDTHH:00:00 */
};

struct od_field {
	const char *name;
	enum od_type type;
	const char *description;
	int key; /* part of the primary key */
};

struct od_cell {
	int null;       /* suppressed (OD_COUNT) or missing (OD_NUMBER) */
	uint64_t u;     /* OD_DATE, OD_INTEGER, OD_COUNT, OD_BOOLEAN */
	double d;       /* OD_NUMBER */
	const char *s;  /* OD_STRING, OD_TEXT: static, or owned by the tables (tables.h) */
};

#define OD_FIELDS_MAX 16
/* Room for the longest cell: a GTFS text of 255 bytes, quoted and doubled. */
#define OD_CELL_TEXT_SIZE 1024

struct od_table {
	const char *name;  /* file stem and resource name */
	const char *file;  /* a standard's file name (CSV only), or NULL: NAME.csv and NAME.json */
	const char *title;
	const struct od_field *fields;
	size_t nfields;
	struct od_cell *cells; /* nrows * nfields */
	size_t nrows, cap;
};

void od_table_init(struct od_table *t, const char *name, const char *title,
                   const struct od_field *fields, size_t nfields);
/* Appends a row of t->nfields cells (copied). 0, or -1 out of memory. */
int od_table_add_row(struct od_table *t, const struct od_cell *row);
void od_table_free(struct od_table *t);

/* The text of a cell as both forms publish it; "" for null. */
void od_cell_text(const struct od_field *f, const struct od_cell *c, char out[OD_CELL_TEXT_SIZE]);

/* Writes the CSV or the JSON form to f. 0, or -1 when writing failed
 * (ferror) or out of memory. */
int od_table_write_csv(const struct od_table *t, FILE *f);
int od_table_write_json(const struct od_table *t, FILE *f);
/* The same bytes appended to b (outbuf.h), for a caller that hashes and
 * writes them itself. 0, or -1 out of memory (or a cell that would need
 * quoting and may not, as above). */
int od_table_print_csv(const struct od_table *t, struct outbuf *b);
int od_table_print_json(const struct od_table *t, struct outbuf *b);

/* Whether text is a value of type (not empty): what verify holds a cell to. */
int od_text_valid(enum od_type type, const char *text);

/* The Table Schema type name of a field type ("integer", "date", ...). */
const char *od_type_name(enum od_type type);

#endif
