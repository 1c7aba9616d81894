/*
 * csv_rows.c — csv_rows.h, with libcsv.
 */
#include "csv_rows.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

struct builder {
	struct csv_rows *r;
	size_t cur; /* fields of the row being read */
	char **row;
	int oom;
};

static void on_field(void *s, size_t len, void *ctx)
{
	struct builder *b = ctx;
	char **row = realloc(b->row, (b->cur + 1) * sizeof *row);
	char *f = malloc(len + 1);

	if (row == NULL || f == NULL) {
		free(f);
		b->row = row ? row : b->row;
		b->oom = 1;
		return;
	}
	b->row = row;
	memcpy(f, s, len);
	f[len] = '\0';
	b->row[b->cur++] = f;
}

static void on_row(int c, void *ctx)
{
	struct builder *b = ctx;
	struct csv_rows *r = b->r;
	size_t *nf = realloc(r->nfields, (r->n + 1) * sizeof *nf);
	char ***rows = nf ? realloc(r->fields, (r->n + 1) * sizeof *rows) : NULL;

	(void)c;
	if (nf != NULL)
		r->nfields = nf;
	if (rows == NULL) {
		b->oom = 1;
		return;
	}
	r->fields = rows;
	r->nfields[r->n] = b->cur;
	r->fields[r->n] = b->row;
	r->n++;
	b->row = NULL;
	b->cur = 0;
}

int csv_rows_parse(const char *text, size_t len, struct csv_rows *out)
{
	struct csv_parser p;
	struct builder b = { .r = out };
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -1;
	if (csv_parse(&p, text, len, on_field, on_row, &b) != len || csv_fini(&p, on_field, on_row, &b) != 0 || b.oom)
		rc = -1;
	csv_free(&p);
	for (size_t i = 0; i < b.cur; i++)
		free(b.row[i]);
	free(b.row);
	return rc;
}

void csv_rows_free(struct csv_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		for (size_t j = 0; j < rows->nfields[i]; j++)
			free(rows->fields[i][j]);
		free(rows->fields[i]);
	}
	free(rows->fields);
	free(rows->nfields);
	memset(rows, 0, sizeof *rows);
}

int csv_rows_column(const struct csv_rows *rows, const char *name)
{
	if (rows->n == 0)
		return -1;
	for (size_t j = 0; j < rows->nfields[0]; j++)
		if (strcmp(rows->fields[0][j], name) == 0)
			return (int)j;
	return -1;
}
