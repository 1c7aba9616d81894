/*
 * table.c — an open-data table and its CSV and JSON forms (table.h).
 *
 * Both forms are printed from od_cell_text, so a value (noisy or not) is
 * one string in both. Every value is a number, a date or a lowercase word:
 * neither form needs quoting or escaping, and the writers refuse a string
 * that would (a programming error, never data).
 */
#include "opendata/table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
	}
	out[0] = '\0';
}

/* Whether text can stand in CSV unquoted and in a JSON string unescaped. */
static int plain(const char *text)
{
	for (const char *p = text; *p; p++)
		if (*p == ',' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
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
			if (!plain(text))
				return -1;
			fprintf(f, "%s%s", c ? "," : "", text);
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
			int quote = fd->type == OD_DATE || fd->type == OD_STRING;

			od_cell_text(fd, cell, text);
			if (!plain(text))
				return -1;
			fprintf(f, "%s\"%s\": ", c ? ", " : "", fd->name);
			if (cell->null)
				fputs("null", f);
			else
				fprintf(f, quote ? "\"%s\"" : "%s", text);
		}
		fputs("}", f);
	}
	fputs(t->nrows ? "\n]\n" : "]\n", f);
	return ferror(f) ? -1 : 0;
}
