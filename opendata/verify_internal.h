/*
 * verify_internal.h — private to opendata/verify*.c: a package being
 * checked (verify.h) and its tables read as grids of cell texts, so that
 * the checks of the derived numbers (verify_derived.c) read the same
 * grids as the schema checks (verify.c).
 */
#ifndef OD_VERIFY_INTERNAL_H
#define OD_VERIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define LINE_SIZE 512

struct verify {
	const char *dir;
	void (*problem)(void *ctx, const char *line);
	void *ctx;
	size_t problems;
	uint64_t k;
	int noisy;     /* komposter.disclosure.epsilon is a number: counts are noisy */
	uint32_t date; /* komposter.service_date (yyyymmdd), 0 when it has none */
	uint32_t want_date; /* the date the caller asked for, 0: any */
	/* The date and version the folder's path names, .../DATE/vN (the
	 * publishing layout, package.h); 0 when it does not follow it. */
	uint32_t folder_date, folder_version;
	/* The first and last hour of the service date the standard files name,
	 * counted from its midnight (verify_derived.c); hour_max -1: none. */
	int hour_min, hour_max;
};

/* A table's cells as text, CSV or JSON alike; "" for empty or null. */
struct grid {
	size_t ncols, nrows; /* rows after the header */
	char **cells;        /* (nrows + 1) * ncols: row 0 is the header */
	size_t cap, row_fill;
	int bad; /* a row of the wrong width was met (reported once) */
};

struct table_forms {
	char name[128];
	struct grid csv, json;
	int listed[2];           /* a csv, a json resource of datapackage.json names it */
	int have_csv, have_json; /* read, and held to its schema */
};

/* *sum += x. 0, or -1 with *sum left at UINT64_MAX when that passes
 * 2^64 - 1: a count cell may hold 19 digits, and two of them wrapped
 * around would sum to a small total that a forged one could match. */
static inline int vf_add(uint64_t *sum, uint64_t x)
{
	if (__builtin_add_overflow(*sum, x, sum)) {
		*sum = UINT64_MAX;
		return -1;
	}
	return 0;
}

/* Reports one problem (one line, formatted) and counts it. */
__attribute__((format(printf, 2, 3))) void vf_problem(struct verify *v, const char *fmt, ...);

const char *vf_cell(const struct grid *g, size_t row, size_t col);
/* The column of that header name, or SIZE_MAX. */
size_t vf_column(const struct grid *g, const char *name);
/* The table of that stem whose CSV was read, or NULL. */
const struct table_forms *vf_find_table(const struct table_forms *t, size_t n, const char *name);

/* The checks of verify_derived.c, on the tables read. */
void vf_check_derived(struct verify *v, const struct table_forms *tables, size_t n);

#endif
