/*
 * csv_rows.h — a CSV text read back with libcsv (strict mode) into rows of
 * NUL-terminated fields, for the tests of the TIDES exports.
 */
#ifndef KP_TESTS_CSV_ROWS_H
#define KP_TESTS_CSV_ROWS_H

#include <stddef.h>

struct csv_rows {
	size_t n;          /* rows, the header included */
	size_t *nfields;   /* per row */
	char ***fields;    /* [row][field] */
};

/* 0, or -1 when text does not parse as CSV. */
int csv_rows_parse(const char *text, size_t len, struct csv_rows *out);
void csv_rows_free(struct csv_rows *rows);
/* The index of the column named name in row 0, or -1. */
int csv_rows_column(const struct csv_rows *rows, const char *name);

#endif
