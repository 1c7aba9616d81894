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

void od_cell_text(const struct od_field *f, const struct od_cell *c, char out[OD_CELL_TEXT_SIZE])
{
	if (c->null) {
		out[0] = '\0';
		return;
	}
	switch (f->type) {
	case OD_DATE:
		st_date_format((uint32_t)c->u, out);
		return;
	case OD_INTEGER:
	case OD_COUNT:
		snprintf(out, OD_CELL_TEXT_SIZE, "%" PRIu64, c->u);
		return;
	case OD_NUMBER:
		snprintf(out, OD_CELL_TEXT_SIZE, "%.4f", c->d);
		return;
	case OD_STRING:
		snprintf(out, OD_CELL_TEXT_SIZE, "%s", c->s);
		return;
	case OD_BOOLEAN:
		snprintf(out, OD_CELL_TEXT_SIZE, "%s", c->u ? "true" : "false");
		return;
	case OD_TEXT:
		snprintf(out, OD_CELL_TEXT_SIZE, "%s", c->s ? c->s : "");
		return;
	case OD_GTFS_DATE:
		snprintf(out, OD_CELL_TEXT_SIZE, "%08" PRIu64, c->u);
		return;
	case OD_GTFS_TIME:
		snprintf(out, OD_CELL_TEXT_SIZE, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, c->u / 3600, c->u / 60 % 60,
		         c->u % 60);
		return;
	case OD_DATETIME:
		st_date_format((uint32_t)(c->u / 100), out);
		snprintf(out + 10, OD_CELL_TEXT_SIZE - 10, "T%02" PRIu64 ":00:00", c->u % 100);
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
static void write_csv_text(const char *text, FILE *f)
{
	if (strpbrk(text, ",\"\r\n") == NULL) {
		fputs(text, f);
		return;
	}
	fputc('"', f);
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

/* A JSON string of text, escaped by cJSON. */
static int write_json_text(const char *text, FILE *f)
{
	cJSON *s = cJSON_CreateString(text);
	char *out = s ? cJSON_PrintUnformatted(s) : NULL;

	cJSON_Delete(s);
	if (out == NULL)
		return -1;
	fputs(out, f);
	cJSON_free(out);
	return 0;
}

int od_table_write_csv(const struct od_table *t, FILE *f)
{
	char text[OD_CELL_TEXT_SIZE];

	for (size_t c = 0; c < t->nfields; c++)
		fprintf(f, "%s%s", c ? "," : "", t->fields[c].name);
	fputs("\r\n", f);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->nfields; c++) {
			od_cell_text(&t->fields[c], &t->cells[r * t->nfields + c], text);
			if (c > 0)
				fputc(',', f);
			if (t->fields[c].type == OD_TEXT) {
				write_csv_text(text, f);
				continue;
			}
			if (!plain(text))
				return -1;
			fputs(text, f);
		}
		fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}

int od_table_write_json(const struct od_table *t, FILE *f)
{
	char text[OD_CELL_TEXT_SIZE];

	fputs("[", f);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(r ? ",\n  {" : "\n  {", f);
		for (size_t c = 0; c < t->nfields; c++) {
			const struct od_field *fd = &t->fields[c];
			const struct od_cell *cell = &t->cells[r * t->nfields + c];
			int quote = fd->type != OD_INTEGER && fd->type != OD_COUNT && fd->type != OD_NUMBER &&
			            fd->type != OD_BOOLEAN;

			od_cell_text(fd, cell, text);
			fprintf(f, "%s\"%s\": ", c ? ", " : "", fd->name);
			if (cell->null) {
				fputs("null", f);
			} else if (fd->type == OD_TEXT) {
				if (write_json_text(text, f) != 0)
					return -1;
			} else {
				if (!plain(text))
					return -1;
				fprintf(f, quote ? "\"%s\"" : "%s", text);
			}
		}
		fputs("}", f);
	}
	fputs(t->nrows ? "\n]\n" : "]\n", f);
	return ferror(f) ? -1 : 0;
}
