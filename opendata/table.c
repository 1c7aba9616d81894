/*
 * table.c — an open-data table and its CSV and JSON forms (table.h).
 *
 * Both forms are printed from od_cell_text, so a value (noisy or not) is
 * one string in both. Every value but free text is a number, a date, a
 * time or a lowercase word: neither form needs quoting or escaping, and
 * the writers refuse one that would (a programming error, never data).
 * Free text (OD_TEXT) is quoted in CSV as RFC 4180 says and escaped in
 * JSON by cJSON.
 */
#include "opendata/table.h"
#include "opendata/outbuf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "storage/service_day.h"

void od_table_init(struct od_table *t, const char *name, const char *title,
                   const struct od_field *fields, size_t nfields)
{
	*t = (struct od_table){ .name = name, .title = title, .fields = fields, .nfields = nfields };
}

int od_table_add_row(struct od_table *t, const struct od_cell *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct od_cell *p = realloc(t->cells, cap * t->nfields * sizeof(*p));

		if (p == NULL)
			return -1;
		t->cells = p;
		t->cap = cap;
	}
	memcpy(&t->cells[t->nrows * t->nfields], row, t->nfields * sizeof(*row));
	t->nrows++;
	return 0;
}

void od_table_free(struct od_table *t)
{
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

const char *od_type_name(enum od_type type)
{
	switch (type) {
	case OD_DATE: return "date";
	case OD_INTEGER: return "integer";
	case OD_COUNT: return "integer";
	case OD_NUMBER: return "number";
	case OD_STRING: return "string";
	case OD_BOOLEAN: return "boolean";
	case OD_TEXT: return "string";
	case OD_GTFS_DATE: return "date";
	case OD_GTFS_TIME: return "string";
	case OD_DATETIME: return "datetime";
	}
	return "string";
}

/* yyyymmdd as YYYY-MM-DD (st_date_format's text); returns 10. */
static size_t format_date(uint32_t date, char *out)
{
	ob_format_u64(date / 10000 % 10000, 4, out);
	out[4] = '-';
	ob_format_u64(date / 100 % 100, 2, out + 5);
	out[7] = '-';
	ob_format_u64(date % 100, 2, out + 8);
	return 10;
}

/* A string cell, cut as snprintf into OD_CELL_TEXT_SIZE would. */
static void copy_text(const char *s, char out[OD_CELL_TEXT_SIZE])
{
	size_t n = strlen(s);

	if (n > OD_CELL_TEXT_SIZE - 1)
		n = OD_CELL_TEXT_SIZE - 1;

	memcpy(out, s, n);
	out[n] = '\0';
}

/* Numbers are formatted by hand (outbuf.h), not by snprintf: this runs
 * twice per cell of every table, and is most of an export's time. */
void od_cell_text(const struct od_field *f, const struct od_cell *c, char out[OD_CELL_TEXT_SIZE])
{
	size_t n;

	if (c->null) {
		out[0] = '\0';
		return;
	}
	switch (f->type) {
	case OD_DATE:
		format_date((uint32_t)c->u, out);
		return;
	case OD_INTEGER:
	case OD_COUNT:
		ob_format_u64(c->u, 0, out);
		return;
	case OD_NUMBER:
		snprintf(out, OD_CELL_TEXT_SIZE, "%.4f", c->d);
		return;
	case OD_STRING:
		copy_text(c->s, out);
		return;
	case OD_BOOLEAN:
		copy_text(c->u ? "true" : "false", out);
		return;
	case OD_TEXT:
		copy_text(c->s ? c->s : "", out);
		return;
	case OD_GTFS_DATE:
		ob_format_u64(c->u, 8, out);
		return;
	case OD_GTFS_TIME:
		n = ob_format_u64(c->u / 3600, 2, out);
		out[n++] = ':';
		n += ob_format_u64(c->u / 60 % 60, 2, out + n);
		out[n++] = ':';
		ob_format_u64(c->u % 60, 2, out + n);
		return;
	case OD_DATETIME:
		n = format_date((uint32_t)(c->u / 100), out);
		out[n++] = 'T';
		n += ob_format_u64(c->u % 100, 2, out + n);
		memcpy(out + n, ":00:00", 7);
		return;
	}
	out[0] = '\0';
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

int od_text_valid(enum od_type type, const char *text)
{
	size_t n = strlen(text);
	uint32_t date;
	char iso[11];

	switch (type) {
	case OD_GTFS_DATE:
		if (n != 8 || !all_digits(text, 8))
			return 0;
		snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", text, text + 4, text + 6);
		return st_date_parse(iso, &date) == 0;
	case OD_GTFS_TIME:
		return n == 8 && all_digits(text, 2) && text[2] == ':' && all_digits(text + 3, 2) && text[3] < '6' &&
		       text[5] == ':' && all_digits(text + 6, 2) && text[6] < '6';
	case OD_DATETIME:
		if (n != 19 || text[10] != 'T' || strcmp(text + 13, ":00:00") != 0 || !all_digits(text + 11, 2) ||
		    strncmp(text + 11, "24", 2) >= 0)
			return 0;
		snprintf(iso, sizeof(iso), "%.10s", text);
		return st_date_parse(iso, &date) == 0;
	default:
		return 0;
	}
}

/* Whether text can stand in CSV unquoted and in a JSON string unescaped. */
static int plain(const char *text)
{
	for (const char *p = text; *p; p++)
		if (*p == ',' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

/* RFC 4180: quoted, quotes doubled, when the text holds a comma, a quote
 * or a line break. */
static void write_csv_text(const char *text, struct outbuf *b)
{
	if (strpbrk(text, ",\"\r\n") == NULL) {
		ob_puts(b, text);
		return;
	}
	ob_putc(b, '"');
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			ob_putc(b, '"');
		ob_putc(b, *p);
	}
	ob_putc(b, '"');
}

/* A JSON string of text, escaped by cJSON; plain text (no quote, no
 * backslash, no control or non-ASCII byte) is what cJSON would print it
 * as, between quotes, and is copied without it. */
static int write_json_text(const char *text, struct outbuf *b)
{
	if (plain(text)) {
		ob_putc(b, '"');
		ob_puts(b, text);
		ob_putc(b, '"');
		return 0;
	}
	cJSON *s = cJSON_CreateString(text);
	char *out = s ? cJSON_PrintUnformatted(s) : NULL;

	cJSON_Delete(s);
	if (out == NULL)
		return -1;
	ob_puts(b, out);
	cJSON_free(out);
	return 0;
}

/* Writes what b holds to f and frees it; -1 when b ran out of memory or f
 * failed. */
static int flush(struct outbuf *b, int rc, FILE *f)
{
	if (rc == 0 && !ob_failed(b) && b->n > 0 && fwrite(b->p, 1, b->n, f) != b->n)
		rc = -1;
	if (ob_failed(b))
		rc = -1;
	ob_free(b);
	return rc != 0 || ferror(f) ? -1 : 0;
}

int od_table_print_csv(const struct od_table *t, struct outbuf *b)
{
	char text[OD_CELL_TEXT_SIZE];

	for (size_t c = 0; c < t->nfields; c++) {
		if (c > 0)
			ob_putc(b, ',');
		ob_puts(b, t->fields[c].name);
	}
	ob_put(b, "\r\n", 2);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->nfields; c++) {
			od_cell_text(&t->fields[c], &t->cells[r * t->nfields + c], text);
			if (c > 0)
				ob_putc(b, ',');
			if (t->fields[c].type == OD_TEXT) {
				write_csv_text(text, b);
				continue;
			}
			if (!plain(text))
				return -1;
			ob_puts(b, text);
		}
		ob_put(b, "\r\n", 2);
	}
	return ob_failed(b) ? -1 : 0;
}

int od_table_write_csv(const struct od_table *t, FILE *f)
{
	struct outbuf b = { 0 };

	return flush(&b, od_table_print_csv(t, &b), f);
}

static int json_cell(const struct od_field *fd, const struct od_cell *cell, struct outbuf *b)
{
	char text[OD_CELL_TEXT_SIZE];
	int quote = fd->type != OD_INTEGER && fd->type != OD_COUNT && fd->type != OD_NUMBER &&
	            fd->type != OD_BOOLEAN;

	if (cell->null) {
		ob_put(b, "null", 4);
		return 0;
	}
	od_cell_text(fd, cell, text);
	if (fd->type == OD_TEXT)
		return write_json_text(text, b);
	if (!plain(text))
		return -1;
	if (quote)
		ob_putc(b, '"');
	ob_puts(b, text);
	if (quote)
		ob_putc(b, '"');
	return 0;
}

int od_table_print_json(const struct od_table *t, struct outbuf *b)
{
	ob_putc(b, '[');
	for (size_t r = 0; r < t->nrows; r++) {
		ob_puts(b, r ? ",\n  {" : "\n  {");
		for (size_t c = 0; c < t->nfields; c++) {
			if (c > 0)
				ob_put(b, ", ", 2);
			ob_putc(b, '"');
			ob_puts(b, t->fields[c].name);
			ob_put(b, "\": ", 3);
			if (json_cell(&t->fields[c], &t->cells[r * t->nfields + c], b) != 0)
				return -1;
		}
		ob_putc(b, '}');
	}
	ob_puts(b, t->nrows ? "\n]\n" : "]\n");
	return ob_failed(b) ? -1 : 0;
}

int od_table_write_json(const struct od_table *t, FILE *f)
{
	struct outbuf b = { 0 };

	return flush(&b, od_table_print_json(t, &b), f);
}
