/*
 * verify.c — checks an open-data package (verify.h).
 *
 * Every check goes on after a problem, so one run lists them all. Files
 * are read whole (a day's package is megabytes); CSV is parsed with
 * libcsv in strict mode, JSON with cJSON, and both become a grid of cell
 * texts that one set of checks reads, so the CSV and the JSON of a table
 * are held to the same rules and compared cell by cell.
 */
#define _GNU_SOURCE
#include "opendata/verify.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <csv.h>
#include <sodium.h>

#include "opendata/package.h"
#include "opendata/tables.h"
#include "storage/gtfs.h"
#include "storage/service_day.h"

#define FILE_MAX ((size_t)1 << 30)
#define LINE_SIZE 512
#define HEX_SHA256_SIZE (2 * crypto_hash_sha256_BYTES + 1)

struct verify {
	const char *dir;
	void (*problem)(void *ctx, const char *line);
	void *ctx;
	size_t problems;
	uint64_t k;
	int noisy; /* komposter.disclosure.epsilon is a number: counts are noisy */
};

__attribute__((format(printf, 2, 3))) static void problem(struct verify *v, const char *fmt, ...)
{
	char line[LINE_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->problem(v->ctx, line);
	v->problems++;
}

/* A plain file name of the package: no path, no hidden file. */
static int plain_name(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL && strlen(name) < 256;
}

/* Reads dir/name whole (NUL-terminated); NULL with errno set. */
static char *read_whole(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	char *buf = NULL;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > FILE_MAX) {
		fclose(f);
		errno = EINVAL;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, (size_t)st.st_size, f);
		buf[*len] = '\0';
		if (ferror(f) || *len != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
			errno = EIO;
		}
	}
	fclose(f);
	return buf;
}

static int sha256_of(struct verify *v, const char *name, char hex[HEX_SHA256_SIZE])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	size_t len;
	char *buf = read_whole(v->dir, name, &len);

	if (buf == NULL)
		return -1;
	crypto_hash_sha256(h, (const uint8_t *)buf, len);
	sodium_bin2hex(hex, HEX_SHA256_SIZE, h, sizeof(h));
	free(buf);
	return 0;
}

/* ------------------------------------------------------------ SHA256SUMS */

struct listed {
	char **names;
	size_t n;
};

static int is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void check_sum_line(struct verify *v, const char *line, size_t lineno, struct listed *l)
{
	char hex[HEX_SHA256_SIZE];
	const char *name;
	char **p;

	if (strlen(line) < 67 || !is_hex64(line) || line[64] != ' ' || line[65] != ' ' || !plain_name(line + 66)) {
		problem(v, OD_SUMS ":%zu: not a line of 64 lower-case hex digits, two spaces and a file name", lineno);
		return;
	}
	name = line + 66;
	p = realloc(l->names, (l->n + 1) * sizeof(*p));
	if (p != NULL)
		l->names = p;
	if (p == NULL || (l->names[l->n] = strdup(name)) == NULL)
		problem(v, OD_SUMS ": out of memory");
	else
		l->n++;
	if (sha256_of(v, name, hex) != 0)
		problem(v, "%s: listed in " OD_SUMS " but cannot be read: %s", name, strerror(errno));
	else if (memcmp(hex, line, 64) != 0)
		problem(v, "%s: SHA-256 does not match " OD_SUMS " (the file was changed)", name);
}

static int listed_has(const struct listed *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 1;
	return 0;
}

static void check_unlisted(struct verify *v, const struct listed *l)
{
	DIR *d = opendir(v->dir);
	struct dirent *e;

	if (d == NULL) {
		problem(v, "%s: %s", v->dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, OD_SUMS) == 0 ||
		    strcmp(e->d_name, OD_SIGNATURE) == 0)
			continue;
		if (!listed_has(l, e->d_name))
			problem(v, "%s: not listed in " OD_SUMS, e->d_name);
	}
	closedir(d);
}

static void check_sums(struct verify *v)
{
	struct listed l = { 0 };
	size_t len, lineno = 0;
	char *buf = read_whole(v->dir, OD_SUMS, &len), *line, *save = NULL;

	if (buf == NULL) {
		problem(v, OD_SUMS ": cannot be read: %s", strerror(errno));
		return;
	}
	if (len == 0 || buf[len - 1] != '\n')
		problem(v, OD_SUMS ": does not end with a newline");
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		check_sum_line(v, line, ++lineno, &l);
	check_unlisted(v, &l);
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	free(buf);
}

/* ------------------------------------------------------------- signature */

static void check_signature(struct verify *v, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id)
{
	char why[OD_MINISIGN_WHY_SIZE];
	size_t mlen, slen;
	char *manifest = read_whole(v->dir, OD_MANIFEST, &mlen);
	char *sig = manifest ? read_whole(v->dir, OD_SIGNATURE, &slen) : NULL;

	if (manifest == NULL)
		problem(v, OD_MANIFEST ": cannot be read: %s", strerror(errno));
	else if (sig == NULL)
		problem(v, OD_SIGNATURE ": cannot be read: %s", strerror(errno));
	else if (od_minisign_verify(pk, id, (const uint8_t *)manifest, mlen, sig, why) != 0)
		problem(v, OD_SIGNATURE ": %s", why);
	free(manifest);
	free(sig);
}

/* ----------------------------------------------------------------- grids */

/* A table's cells as text, CSV or JSON alike; "" for empty or null. */
struct grid {
	size_t ncols, nrows; /* rows after the header */
	char **cells;        /* (nrows + 1) * ncols: row 0 is the header */
	size_t cap, row_fill;
	int bad; /* a row of the wrong width was met (reported once) */
};

static void grid_free(struct grid *g)
{
	for (size_t i = 0; i < (g->nrows + 1) * g->ncols + g->row_fill && g->cells; i++)
		free(g->cells[i]);
	free(g->cells);
	memset(g, 0, sizeof(*g));
}

static int grid_push(struct grid *g, const char *text, size_t len)
{
	size_t at = (g->nrows + (g->ncols ? 1 : 0)) * g->ncols + g->row_fill;

	if (at == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		char **p = realloc(g->cells, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		g->cells = p;
		g->cap = cap;
	}
	g->cells[at] = strndup(text ? text : "", len);
	if (g->cells[at] == NULL)
		return -1;
	g->row_fill++;
	return 0;
}

static int grid_push_str(struct grid *g, const char *text)
{
	return grid_push(g, text, text ? strlen(text) : 0);
}

/* Ends a row: the first fixes the width; a later one of another width marks bad. */
static void grid_end_row(struct grid *g)
{
	if (g->ncols == 0) {
		g->ncols = g->row_fill;
		g->row_fill = 0;
		return;
	}
	if (g->row_fill != g->ncols) {
		g->bad = 1;
		for (size_t i = 0; i < g->row_fill; i++)
			free(g->cells[(g->nrows + 1) * g->ncols + i]);
	} else {
		g->nrows++;
	}
	g->row_fill = 0;
}

static const char *cell(const struct grid *g, size_t row, size_t col)
{
	return g->cells[row * g->ncols + col];
}

struct csv_ctx {
	struct grid *g;
	int oom;
};

static void csv_field(void *s, size_t len, void *data)
{
	struct csv_ctx *c = data;

	if (grid_push(c->g, s, len) != 0)
		c->oom = 1;
}

static void csv_row(int term, void *data)
{
	(void)term;
	grid_end_row(((struct csv_ctx *)data)->g);
}

static int read_csv(struct verify *v, const char *name, struct grid *g)
{
	struct csv_parser p;
	struct csv_ctx c = { .g = g };
	size_t len;
	char *buf = read_whole(v->dir, name, &len);
	int rc = -1;

	if (buf == NULL) {
		problem(v, "%s: cannot be read: %s", name, strerror(errno));
		return -1;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		problem(v, "%s: out of memory", name);
		free(buf);
		return -1;
	}
	if (csv_parse(&p, buf, len, csv_field, csv_row, &c) != len || csv_fini(&p, csv_field, csv_row, &c) != 0)
		problem(v, "%s: not CSV (RFC 4180): %s", name, csv_strerror(csv_error(&p)));
	else if (c.oom)
		problem(v, "%s: out of memory", name);
	else if (g->bad)
		problem(v, "%s: a row has not as many cells as the header", name);
	else
		rc = 0;
	csv_free(&p);
	free(buf);
	return rc;
}

/* A JSON value as the text its CSV cell would hold, for the field's type. */
static int json_cell_text(const cJSON *x, const char *type, char out[OD_CELL_TEXT_SIZE])
{
	if (cJSON_IsNull(x)) {
		out[0] = '\0';
		return 0;
	}
	if (cJSON_IsString(x) && (strcmp(type, "string") == 0 || strcmp(type, "date") == 0 ||
	                          strcmp(type, "datetime") == 0)) {
		snprintf(out, OD_CELL_TEXT_SIZE, "%s", x->valuestring);
		return 0;
	}
	if (cJSON_IsBool(x) && strcmp(type, "boolean") == 0) {
		snprintf(out, OD_CELL_TEXT_SIZE, "%s", cJSON_IsTrue(x) ? "true" : "false");
		return 0;
	}
	if (cJSON_IsNumber(x) && strcmp(type, "integer") == 0 && x->valuedouble >= 0 && x->valuedouble < 9007199254740992.0 &&
	    x->valuedouble == (double)(uint64_t)x->valuedouble) {
		snprintf(out, OD_CELL_TEXT_SIZE, "%" PRIu64, (uint64_t)x->valuedouble);
		return 0;
	}
	if (cJSON_IsNumber(x) && strcmp(type, "number") == 0) {
		snprintf(out, OD_CELL_TEXT_SIZE, "%.4f", x->valuedouble);
		return 0;
	}
	return -1;
}

/* The JSON form: an array of objects keyed by the schema's field names. */
static int read_json(struct verify *v, const char *name, const cJSON *fields, struct grid *g)
{
	char text[OD_CELL_TEXT_SIZE];
	size_t len, row = 0;
	char *buf = read_whole(v->dir, name, &len);
	cJSON *doc, *obj, *f;
	int rc = -1;

	if (buf == NULL) {
		problem(v, "%s: cannot be read: %s", name, strerror(errno));
		return -1;
	}
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsArray(doc)) {
		problem(v, "%s: not a JSON array of rows", name);
		goto out;
	}
	cJSON_ArrayForEach(f, fields)
		if (grid_push_str(g, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"))) != 0)
			goto oom;
	grid_end_row(g);
	cJSON_ArrayForEach(obj, doc) {
		row++;
		if (!cJSON_IsObject(obj) || (size_t)cJSON_GetArraySize(obj) != g->ncols) {
			problem(v, "%s: row %zu is not an object of the %zu fields", name, row, g->ncols);
			goto out;
		}
		cJSON_ArrayForEach(f, fields) {
			const char *fname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type"));
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, fname);

			if (x == NULL || type == NULL || json_cell_text(x, type, text) != 0) {
				problem(v, "%s: row %zu: %s is missing or not of type %s", name, row, fname, type ? type : "?");
				goto out;
			}
			if (grid_push_str(g, text) != 0)
				goto oom;
		}
		grid_end_row(g);
	}
	rc = 0;
	goto out;
oom:
	problem(v, "%s: out of memory", name);
out:
	cJSON_Delete(doc);
	return rc;
}

/* ---------------------------------------------------------------- schemas */

/* The Table Schema's view of a field, checked against the vocabulary. */
struct field_rule {
	const char *name;
	const struct od_field *known;
	int key;
	uint64_t minimum;
};

#define FIELDS_MAX OD_FIELDS_MAX

static int check_schema(struct verify *v, const char *res, const char *table, const cJSON *schema,
                        struct field_rule *rules, size_t *n)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(schema, "fields"), *f, *pk, *p;

	*n = 0;
	if (!cJSON_IsArray(fields) || cJSON_GetArraySize(fields) == 0 || cJSON_GetArraySize(fields) > FIELDS_MAX) {
		problem(v, "%s: the schema has no list of fields", res);
		return -1;
	}
	cJSON_ArrayForEach(f, fields) {
		struct field_rule *r = &rules[(*n)++];
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(f, "constraints");
		const cJSON *min = cJSON_GetObjectItemCaseSensitive(c, "minimum");
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type"));

		*r = (struct field_rule){ .name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name")) };
		r->known = r->name ? od_tables_known_field(table, r->name) : NULL;
		if (r->known == NULL) {
			problem(v, "%s: field '%s' is not an open-data field of %s (a record-level column?)", res,
			        r->name ? r->name : "?", table);
			return -1;
		}
		if (type == NULL || strcmp(type, od_type_name(r->known->type)) != 0) {
			problem(v, "%s: field %s has type %s, not %s", res, r->name, type ? type : "?",
			        od_type_name(r->known->type));
			return -1;
		}
		if (r->known->type == OD_COUNT) {
			if (!cJSON_IsNumber(min) || min->valuedouble < (double)v->k) {
				problem(v, "%s: count field %s allows values below k %" PRIu64 " (no minimum constraint of k)",
				        res, r->name, v->k);
				return -1;
			}
			r->minimum = (uint64_t)min->valuedouble;
		}
	}
	pk = cJSON_GetObjectItemCaseSensitive(schema, "primaryKey");
	if (!cJSON_IsArray(pk) || cJSON_GetArraySize(pk) == 0) {
		problem(v, "%s: the schema has no primary key", res);
		return -1;
	}
	cJSON_ArrayForEach(p, pk) {
		size_t i;

		for (i = 0; i < *n; i++)
			if (cJSON_IsString(p) && strcmp(p->valuestring, rules[i].name) == 0)
				break;
		if (i == *n || rules[i].known->type == OD_COUNT || rules[i].known->type == OD_NUMBER) {
			problem(v, "%s: primary key field %s is not a dimension of the table", res,
			        cJSON_IsString(p) ? p->valuestring : "?");
			return -1;
		}
		rules[i].key = 1;
	}
	return 0;
}

/* Whether text is a value of the field's type (not empty). */
static int cell_valid(const struct od_field *f, const char *text)
{
	uint32_t date;
	char *end;

	switch (f->type) {
	case OD_DATE:
		return st_date_parse(text, &date) == 0;
	case OD_INTEGER:
	case OD_COUNT:
		if (text[0] < '0' || text[0] > '9' || (text[0] == '0' && text[1] != '\0'))
			return 0;
		for (const char *p = text; *p; p++)
			if (*p < '0' || *p > '9')
				return 0;
		return strlen(text) <= 19;
	case OD_NUMBER:
		errno = 0;
		(void)strtod(text, &end);
		return errno == 0 && end != text && *end == '\0' && (text[0] >= '0' && text[0] <= '9');
	case OD_STRING:
		return strcmp(text, "route") == 0 || strcmp(text, "stop") == 0 || strcmp(text, "signed") == 0 ||
		       strcmp(text, "nvr") == 0;
	case OD_BOOLEAN:
		return strcmp(text, "true") == 0 || strcmp(text, "false") == 0;
	case OD_TEXT:
		return st_gtfs_text_ok(text, strlen(text)) && strlen(text) <= ST_GTFS_TEXT_MAX;
	case OD_GTFS_DATE:
	case OD_GTFS_TIME:
	case OD_DATETIME:
		return od_text_valid(f->type, text);
	}
	return 0;
}

struct keyed_row {
	char key[LINE_SIZE];
	size_t row;
};

static int keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed_row *)a)->key, ((const struct keyed_row *)b)->key);
}

/* Primary keys are unique: one row per aggregate cell, never a record. */
static void check_unique(struct verify *v, const char *name, const struct grid *g, const struct field_rule *rules)
{
	struct keyed_row *k = calloc(g->nrows ? g->nrows : 1, sizeof(*k));

	if (k == NULL) {
		problem(v, "%s: out of memory", name);
		return;
	}
	for (size_t r = 0; r < g->nrows; r++) {
		size_t at = 0;

		k[r].row = r + 1;
		for (size_t c = 0; c < g->ncols; c++)
			if (rules[c].key && at < sizeof(k[r].key))
				at += (size_t)snprintf(k[r].key + at, sizeof(k[r].key) - at, "%s,", cell(g, r + 1, c));
	}
	qsort(k, g->nrows, sizeof(*k), keyed_cmp);
	for (size_t r = 1; r < g->nrows; r++)
		if (strcmp(k[r - 1].key, k[r].key) == 0)
			problem(v, "%s: rows %zu and %zu have the same key (%s): not aggregate cells", name, k[r - 1].row,
			        k[r].row, k[r].key);
	free(k);
}

static void check_cells(struct verify *v, const char *name, const struct grid *g, const struct field_rule *rules,
                        size_t n)
{
	if (g->ncols != n) {
		problem(v, "%s: %zu columns, the schema has %zu fields", name, g->ncols, n);
		return;
	}
	for (size_t c = 0; c < n; c++)
		if (strcmp(cell(g, 0, c), rules[c].name) != 0) {
			problem(v, "%s: column %zu is '%s', the schema says %s", name, c + 1, cell(g, 0, c), rules[c].name);
			return;
		}
	for (size_t r = 1; r <= g->nrows; r++) {
		for (size_t c = 0; c < n; c++) {
			const char *text = cell(g, r, c);
			const struct od_field *f = rules[c].known;

			if (text[0] == '\0') {
				if (rules[c].key || (f->type != OD_COUNT && f->type != OD_NUMBER && f->type != OD_TEXT))
					problem(v, "%s: row %zu: %s is empty", name, r, f->name);
				continue;
			}
			if (!cell_valid(f, text))
				problem(v, "%s: row %zu: %s '%s' is not a %s", name, r, f->name, text, od_type_name(f->type));
			else if (f->type == OD_COUNT && strtoull(text, NULL, 10) < v->k)
				problem(v, "%s: row %zu: %s %s is below k %" PRIu64 " and should be suppressed", name, r,
				        f->name, text, v->k);
		}
	}
	check_unique(v, name, g, rules);
}

/* ------------------------------------------------------------- resources */

struct table_forms {
	char name[128];
	struct grid csv, json;
	int have_csv, have_json;
};

#define TABLES_MAX 16

static void check_resource(struct verify *v, const cJSON *res, struct table_forms *tables, size_t *ntables)
{
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path"));
	const char *hash = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "hash"));
	const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "format"));
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(res, "schema");
	struct field_rule rules[FIELDS_MAX];
	struct table_forms *t = NULL;
	char hex[HEX_SHA256_SIZE], stem[128];
	size_t n;
	int json;

	if (path == NULL || !plain_name(path) || format == NULL ||
	    (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)) {
		problem(v, OD_MANIFEST ": a resource without a plain path or a csv or json format");
		return;
	}
	json = strcmp(format, "json") == 0;
	if (sha256_of(v, path, hex) != 0) {
		problem(v, "%s: in " OD_MANIFEST " but cannot be read: %s", path, strerror(errno));
		return;
	}
	if (hash == NULL || strncmp(hash, "sha256:", 7) != 0 || strcmp(hash + 7, hex) != 0)
		problem(v, "%s: SHA-256 does not match its hash in " OD_MANIFEST, path);
	snprintf(stem, sizeof(stem), "%.*s", (int)strcspn(path, "."), path);
	if (check_schema(v, path, stem, schema, rules, &n) != 0)
		return;
	for (size_t i = 0; i < *ntables; i++)
		if (strcmp(tables[i].name, stem) == 0)
			t = &tables[i];
	if (t == NULL && *ntables < TABLES_MAX) {
		t = &tables[(*ntables)++];
		snprintf(t->name, sizeof(t->name), "%s", stem);
	}
	if (t == NULL || (json ? t->have_json : t->have_csv)) {
		problem(v, "%s: a second %s resource of table %s (or too many tables)", path, format, stem);
		return;
	}
	if (json ? read_json(v, path, cJSON_GetObjectItemCaseSensitive(schema, "fields"), &t->json)
	         : read_csv(v, path, &t->csv)) {
		return;
	}
	check_cells(v, path, json ? &t->json : &t->csv, rules, n);
	*(json ? &t->have_json : &t->have_csv) = 1;
}

/* The JSON of a table holds the CSV's values. */
static void check_same(struct verify *v, const struct table_forms *t)
{
	if (!t->have_csv || !t->have_json)
		return;
	if (t->csv.nrows != t->json.nrows || t->csv.ncols != t->json.ncols) {
		problem(v, "%s.json: %zu rows, %s.csv has %zu", t->name, t->json.nrows, t->name, t->csv.nrows);
		return;
	}
	for (size_t r = 1; r <= t->csv.nrows; r++)
		for (size_t c = 0; c < t->csv.ncols; c++)
			if (strcmp(cell(&t->csv, r, c), cell(&t->json, r, c)) != 0) {
				problem(v, "%s.json: row %zu: %s is '%s', %s.csv has '%s'", t->name, r, cell(&t->csv, 0, c),
				        cell(&t->json, r, c), t->name, cell(&t->csv, r, c));
				return;
			}
}

static const struct table_forms *find_table(const struct table_forms *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0 && t[i].have_csv)
			return &t[i];
	return NULL;
}

static size_t column(const struct grid *g, const char *name)
{
	for (size_t c = 0; c < g->ncols; c++)
		if (strcmp(cell(g, 0, c), name) == 0)
			return c;
	return SIZE_MAX;
}

/* A route's day total is the sum of its published cells (or suppressed
 * when that sum is below k): nothing suppressed hides in the difference. */
static void check_route_totals(struct verify *v, const struct table_forms *tables, size_t n)
{
	const struct table_forms *rsh = find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *day = find_table(tables, n, "ridership_route_day");
	size_t rr, ra, dr, da, dd;

	if (rsh == NULL || day == NULL)
		return;
	rr = column(&rsh->csv, "route_id");
	ra = column(&rsh->csv, "accepted");
	dr = column(&day->csv, "route_id");
	da = column(&day->csv, "accepted");
	dd = column(&day->csv, "riders");
	if (rr == SIZE_MAX || ra == SIZE_MAX || dr == SIZE_MAX || da == SIZE_MAX)
		return;
	for (size_t d = 1; d <= day->csv.nrows; d++) {
		const char *route = cell(&day->csv, d, dr), *total = cell(&day->csv, d, da);
		uint64_t sum = 0;

		for (size_t r = 1; r <= rsh->csv.nrows; r++)
			if (strcmp(cell(&rsh->csv, r, rr), route) == 0)
				sum += strtoull(cell(&rsh->csv, r, ra), NULL, 10);
		if (total[0] == '\0' ? sum >= v->k : strtoull(total, NULL, 10) != sum)
			problem(v, "ridership_route_day.csv: route %s: the total %s is not the sum of its published cells "
			           "(%" PRIu64 "): a suppressed cell could be recovered",
			        route, total[0] ? total : "(suppressed)", sum);
		if (dd != SIZE_MAX && cell(&day->csv, d, dd)[0] != '\0' &&
		    (total[0] == '\0' || strtoull(cell(&day->csv, d, dd), NULL, 10) > strtoull(total, NULL, 10)))
			problem(v, "ridership_route_day.csv: route %s: %s riders beside %s accepted taps would bound the "
			           "suppressed cells",
			        route, cell(&day->csv, d, dd), total[0] ? total : "no published");
	}
}

/* The fare table's secondary suppression (tables.h): the day's taps by
 * routes (the published route × stop × hour cells) minus the published
 * fares is what the suppressed fares hold, so a single suppressed fare
 * would be recovered. Without noise that difference is exact too: 0 when
 * no fare is suppressed, at least k when some are. With noise the fares'
 * noise differs from the cells', so only the count of suppressed fares is
 * checked. */
static void check_fare_suppression(struct verify *v, const struct table_forms *tables, size_t n)
{
	const struct table_forms *rsh = find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *fare = find_table(tables, n, "ridership_fare_day");
	uint64_t cells = 0, fares = 0;
	size_t ra, fp, fa, hidden = 0, first = 0;

	if (rsh == NULL || fare == NULL)
		return;
	ra = column(&rsh->csv, "accepted");
	fp = column(&fare->csv, "fare_product");
	fa = column(&fare->csv, "accepted");
	if (ra == SIZE_MAX || fp == SIZE_MAX || fa == SIZE_MAX)
		return;
	for (size_t r = 1; r <= rsh->csv.nrows; r++)
		cells += strtoull(cell(&rsh->csv, r, ra), NULL, 10);
	for (size_t r = 1; r <= fare->csv.nrows; r++) {
		const char *text = cell(&fare->csv, r, fa);

		if (text[0] != '\0') {
			fares += strtoull(text, NULL, 10);
		} else if (hidden++ == 0) {
			first = r;
		}
	}
	if (hidden == 1) {
		problem(v, "ridership_fare_day.csv: fare product %s is the only suppressed one: the day's published "
		           "cells minus the published fares would recover it",
		        cell(&fare->csv, first, fp));
		return;
	}
	if (v->noisy)
		return;
	if (fares > cells)
		problem(v, "ridership_fare_day.csv: the published fares (%" PRIu64 ") are more than the day's published "
		           "cells (%" PRIu64 ")",
		        fares, cells);
	else if (hidden == 0 && fares != cells)
		problem(v, "ridership_fare_day.csv: no fare is suppressed, yet the fares (%" PRIu64 ") are not the "
		           "day's published cells (%" PRIu64 ")",
		        fares, cells);
	else if (hidden > 1 && cells - fares < v->k)
		problem(v, "ridership_fare_day.csv: the suppressed fares hold %" PRIu64 " taps (the day's published "
		           "cells minus the published fares), below k %" PRIu64,
		        cells - fares, v->k);
}

/* ------------------------------------------- standards and day totals */

/* A cell of ridership_route_stop_hour (or a sum of them) under a text key. */
struct keyed {
	char *key;
	uint64_t sum;     /* of the published cells under the key */
	const char *text; /* the cell's own text (one cell per key) */
	size_t cells, hidden; /* cells under the key, suppressed ones */
};

static int keyed_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static void keyed_free(struct keyed *k, size_t n)
{
	for (size_t i = 0; i < n && k != NULL; i++)
		free(k[i].key);
	free(k);
}

/* The id a standard file joins on: the GTFS id, else komposter's number. */
static const char *join_id(const struct grid *g, size_t r, size_t gtfs, size_t number)
{
	return cell(g, r, gtfs)[0] != '\0' ? cell(g, r, gtfs) : cell(g, r, number);
}

/* The rows of rsh keyed by the columns cols (SIZE_MAX ends; a pair of a
 * GTFS column and a number column joins as join_id), sorted, equal keys
 * merged: the sum of their published cells. NULL out of memory. */
static struct keyed *keyed_cells(const struct grid *g, const size_t *cols, size_t ncols, size_t *n)
{
	struct keyed *k = calloc(g->nrows ? g->nrows : 1, sizeof(*k));
	size_t ra = column(g, "accepted"), m = 0;

	if (k == NULL)
		return NULL;
	for (size_t r = 1; r <= g->nrows; r++) {
		char key[LINE_SIZE];
		size_t at = 0;

		for (size_t c = 0; c < ncols; c += 2) {
			const char *t = cols[c + 1] == SIZE_MAX ? cell(g, r, cols[c]) : join_id(g, r, cols[c], cols[c + 1]);

			if (at < sizeof(key))
				at += (size_t)snprintf(key + at, sizeof(key) - at, "%s\x1f", t);
		}
		k[r - 1] = (struct keyed){ .key = strdup(key), .sum = strtoull(cell(g, r, ra), NULL, 10),
			                   .text = cell(g, r, ra), .cells = 1, .hidden = cell(g, r, ra)[0] == '\0' };
		if (k[r - 1].key == NULL) {
			keyed_free(k, r - 1);
			return NULL;
		}
	}
	qsort(k, g->nrows, sizeof(*k), keyed_key_cmp);
	for (size_t i = 0; i < g->nrows; i++) {
		if (m > 0 && strcmp(k[m - 1].key, k[i].key) == 0) {
			k[m - 1].sum += k[i].sum;
			k[m - 1].cells++;
			k[m - 1].hidden += k[i].hidden;
			free(k[i].key);
		} else {
			k[m++] = k[i];
		}
	}
	*n = m;
	return k;
}

static const struct keyed *keyed_find(const struct keyed *k, size_t n, const char *key)
{
	const struct keyed probe = { .key = (char *)key };

	return bsearch(&probe, k, n, sizeof(*k), keyed_key_cmp);
}

/* What a sum of published cells is published as: empty below k. */
static void sum_text(const struct verify *v, uint64_t sum, char out[24])
{
	if (sum < v->k)
		out[0] = '\0';
	else
		snprintf(out, 24, "%" PRIu64, sum);
}

/* The local hour of a GTFS time (HH:MM:SS, past 24 after midnight) or of
 * a datetime (YYYY-MM-DDTHH:...), as ridership_route_stop_hour has it. */
static unsigned hour_of(const char *text, int datetime)
{
	return (unsigned)strtoul(text + (datetime ? 11 : 0), NULL, 10) % 24;
}

/* ridership.txt: one row per cell of ridership_route_stop_hour, its
 * total_boardings that cell's published value, no alightings. */
static void check_ridership_txt(struct verify *v, const struct table_forms *rsh, const struct table_forms *ride)
{
	const struct grid *g = &rsh->csv, *t = &ride->csv;
	const size_t cols[] = { column(g, "gtfs_route_id"), column(g, "route_id"), column(g, "gtfs_stop_id"),
		                column(g, "stop_id"), column(g, "hour"), SIZE_MAX };
	size_t tb = column(t, "total_boardings"), ta = column(t, "total_alightings"),
	       st = column(t, "ridership_start_time"), tr = column(t, "route_id"), ts = column(t, "stop_id"), n = 0;
	struct keyed *k;

	for (size_t c = 0; c < 5; c++)
		if (cols[c] == SIZE_MAX)
			return;
	if (tb == SIZE_MAX || ta == SIZE_MAX || st == SIZE_MAX || tr == SIZE_MAX || ts == SIZE_MAX)
		return;
	if (t->nrows != g->nrows)
		problem(v, "ridership.txt: %zu rows, ridership_route_stop_hour.csv has %zu (one per cell)", t->nrows,
		        g->nrows);
	k = keyed_cells(g, cols, 6, &n);
	if (k == NULL) {
		problem(v, "ridership.txt: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE];
		const struct keyed *c;

		snprintf(key, sizeof(key), "%s\x1f%s\x1f%u\x1f", cell(t, r, tr), cell(t, r, ts),
		         hour_of(cell(t, r, st), 0));
		c = keyed_find(k, n, key);
		if (c == NULL)
			problem(v, "ridership.txt: row %zu: route %s, stop %s at %s is no cell of ridership_route_stop_hour",
			        r, cell(t, r, tr), cell(t, r, ts), cell(t, r, st));
		else if (strcmp(c->text, cell(t, r, tb)) != 0)
			problem(v, "ridership.txt: row %zu: total_boardings '%s' is not the published cell of "
			           "ridership_route_stop_hour ('%s')",
			        r, cell(t, r, tb), c->text);
		if (cell(t, r, ta)[0] != '\0')
			problem(v, "ridership.txt: row %zu: total_alightings '%s' is published by no table", r, cell(t, r, ta));
	}
	keyed_free(k, n);
}

/* station_activities.csv: per stop and hour, the sum of the published
 * cells there, empty below k, in both count columns. */
static void check_stations(struct verify *v, const struct table_forms *rsh, const struct table_forms *sa)
{
	const struct grid *g = &rsh->csv, *t = &sa->csv;
	const size_t cols[] = { column(g, "gtfs_stop_id"), column(g, "stop_id"), column(g, "hour"), SIZE_MAX };
	size_t ts = column(t, "stop_id"), tp = column(t, "time_period_start"), te = column(t, "total_entries"),
	       tn = column(t, "number_of_transactions"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[1] == SIZE_MAX || cols[2] == SIZE_MAX || ts == SIZE_MAX || tp == SIZE_MAX ||
	    te == SIZE_MAX || tn == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		problem(v, "station_activities.csv: out of memory");
		return;
	}
	if (t->nrows != n)
		problem(v, "station_activities.csv: %zu rows, ridership_route_stop_hour.csv has %zu stops and hours",
		        t->nrows, n);
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE], want[24];
		const struct keyed *c;

		snprintf(key, sizeof(key), "%s\x1f%u\x1f", cell(t, r, ts), hour_of(cell(t, r, tp), 1));
		c = keyed_find(k, n, key);
		if (c == NULL) {
			problem(v, "station_activities.csv: row %zu: stop %s at %s has no cell in ridership_route_stop_hour", r,
			        cell(t, r, ts), cell(t, r, tp));
			continue;
		}
		sum_text(v, c->sum, want);
		if (strcmp(cell(t, r, te), want) != 0 || strcmp(cell(t, r, tn), want) != 0)
			problem(v, "station_activities.csv: row %zu: total_entries '%s', number_of_transactions '%s' are not "
			           "the sum of the published cells at stop %s and that hour ('%s')",
			        r, cell(t, r, te), cell(t, r, tn), cell(t, r, ts), want);
	}
	keyed_free(k, n);
}

/* validation_rate, level stop: accepted is the sum of the published cells
 * at the stop and hour (every route), empty below k. */
static void check_stop_rates(struct verify *v, const struct table_forms *rsh, const struct table_forms *vr)
{
	const struct grid *g = &rsh->csv, *t = &vr->csv;
	const size_t cols[] = { column(g, "stop_id"), SIZE_MAX, column(g, "hour"), SIZE_MAX };
	size_t tl = column(t, "level"), tp = column(t, "place_id"), th = column(t, "hour"),
	       ta = column(t, "accepted"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[2] == SIZE_MAX || tl == SIZE_MAX || tp == SIZE_MAX || th == SIZE_MAX ||
	    ta == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		problem(v, "validation_rate.csv: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE], want[24];
		const struct keyed *c;

		if (strcmp(cell(t, r, tl), "stop") != 0)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f", cell(t, r, tp), cell(t, r, th));
		c = keyed_find(k, n, key);
		sum_text(v, c ? c->sum : 0, want);
		if (strcmp(cell(t, r, ta), want) != 0)
			problem(v, "validation_rate.csv: row %zu: stop %s hour %s: accepted '%s' is not the sum of the "
			           "published cells at that stop and hour ('%s')",
			        r, cell(t, r, tp), cell(t, r, th), cell(t, r, ta), want);
	}
	keyed_free(k, n);
}

/* validation_rate, level route: accepted (the taps of the vehicles with
 * counters) only when every cell of the route and hour is published, and
 * without noise the other vehicles' taps (the published cells minus it)
 * are none or at least k. */
static void check_route_rates(struct verify *v, const struct table_forms *rsh, const struct table_forms *vr)
{
	const struct grid *g = &rsh->csv, *t = &vr->csv;
	const size_t cols[] = { column(g, "route_id"), SIZE_MAX, column(g, "hour"), SIZE_MAX };
	size_t tl = column(t, "level"), tp = column(t, "place_id"), th = column(t, "hour"),
	       ta = column(t, "accepted"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[2] == SIZE_MAX || tl == SIZE_MAX || tp == SIZE_MAX || th == SIZE_MAX ||
	    ta == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		problem(v, "validation_rate.csv: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE];
		const struct keyed *c;
		uint64_t accepted, sum;

		if (strcmp(cell(t, r, tl), "route") != 0 || cell(t, r, ta)[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f", cell(t, r, tp), cell(t, r, th));
		c = keyed_find(k, n, key);
		accepted = strtoull(cell(t, r, ta), NULL, 10);
		sum = c ? c->sum : 0;
		if (c != NULL && c->hidden > 0)
			problem(v, "validation_rate.csv: row %zu: route %s hour %s: accepted %s is published beside a "
			           "suppressed cell of that route and hour, which it could recover",
			        r, cell(t, r, tp), cell(t, r, th), cell(t, r, ta));
		else if (!v->noisy && (accepted > sum || (sum > accepted && sum - accepted < v->k)))
			problem(v, "validation_rate.csv: row %zu: route %s hour %s: the published cells (%" PRIu64
			           ") minus accepted %s leave the other vehicles' taps below k",
			        r, cell(t, r, tp), cell(t, r, th), sum, cell(t, r, ta));
	}
	keyed_free(k, n);
}

/* ridership_day: accepted is the sum of every published cell; riders no
 * more than accepted, and never 1..k-1 above a route's published riders. */
static void check_day(struct verify *v, const struct table_forms *rsh, const struct table_forms *day,
                      const struct table_forms *route_day)
{
	size_t ra = column(&rsh->csv, "accepted"), da = column(&day->csv, "accepted"),
	       dr = column(&day->csv, "riders"), rr = route_day ? column(&route_day->csv, "riders") : SIZE_MAX;
	uint64_t sum = 0, riders;
	char want[24];

	if (ra == SIZE_MAX || da == SIZE_MAX || dr == SIZE_MAX || day->csv.nrows != 1) {
		if (day->csv.nrows != 1)
			problem(v, "ridership_day.csv: %zu rows, not one", day->csv.nrows);
		return;
	}
	for (size_t r = 1; r <= rsh->csv.nrows; r++)
		sum += strtoull(cell(&rsh->csv, r, ra), NULL, 10);
	sum_text(v, sum, want);
	if (strcmp(cell(&day->csv, 1, da), want) != 0)
		problem(v, "ridership_day.csv: accepted '%s' is not the sum of the published cells ('%s')",
		        cell(&day->csv, 1, da), want);
	if (cell(&day->csv, 1, dr)[0] == '\0')
		return;
	riders = strtoull(cell(&day->csv, 1, dr), NULL, 10);
	if (cell(&day->csv, 1, da)[0] == '\0' || riders > strtoull(cell(&day->csv, 1, da), NULL, 10))
		problem(v, "ridership_day.csv: %" PRIu64 " riders beside %s accepted taps would bound the suppressed cells",
		        riders, cell(&day->csv, 1, da)[0] ? cell(&day->csv, 1, da) : "no published");
	for (size_t r = 1; rr != SIZE_MAX && r <= route_day->csv.nrows; r++) {
		const char *text = cell(&route_day->csv, r, rr);
		uint64_t route = strtoull(text, NULL, 10);

		if (text[0] != '\0' && riders > route && riders - route < v->k)
			problem(v, "ridership_day.csv: %" PRIu64 " riders minus route row %zu's %" PRIu64
			           " leaves %" PRIu64 " riders, below k %" PRIu64,
			        riders, r, route, riders - route, v->k);
	}
}

/* The standard files and the day table are read from the same published
 * cells: none may hold a number that is not one of them or their sum. */
static void check_derived(struct verify *v, const struct table_forms *tables, size_t n)
{
	static const char *const required[] = { "ridership", "ride_feed_info", "station_activities", "ridership_day" };
	const struct table_forms *rsh = find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *t;

	if (rsh == NULL)
		return;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (find_table(tables, n, required[i]) == NULL)
			problem(v, OD_MANIFEST ": no resource %s (the package's standard files and day table)", required[i]);
	if ((t = find_table(tables, n, "ridership")) != NULL)
		check_ridership_txt(v, rsh, t);
	if ((t = find_table(tables, n, "station_activities")) != NULL)
		check_stations(v, rsh, t);
	if ((t = find_table(tables, n, "ride_feed_info")) != NULL &&
	    (t->csv.nrows != 1 || column(&t->csv, "ride_files") == SIZE_MAX ||
	     strcmp(cell(&t->csv, 1, column(&t->csv, "ride_files")), "2") != 0))
		problem(v, "ride_feed_info.txt: not one row with ride_files 2 (the data is in ridership.txt)");
	if ((t = find_table(tables, n, "validation_rate")) != NULL) {
		check_stop_rates(v, rsh, t);
		check_route_rates(v, rsh, t);
	}
	if ((t = find_table(tables, n, "ridership_day")) != NULL)
		check_day(v, rsh, t, find_table(tables, n, "ridership_route_day"));
}

static void check_manifest(struct verify *v)
{
	struct table_forms tables[TABLES_MAX];
	size_t len, ntables = 0;
	char *buf = read_whole(v->dir, OD_MANIFEST, &len);
	cJSON *doc, *res, *k;

	if (buf == NULL) {
		problem(v, OD_MANIFEST ": cannot be read: %s", strerror(errno));
		return;
	}
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	memset(tables, 0, sizeof(tables));
	if (doc == NULL) {
		problem(v, OD_MANIFEST ": not JSON");
		return;
	}
	k = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	                                             cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "disclosure"),
	                                     "k");
	if (!cJSON_IsNumber(k) || k->valuedouble < 1) {
		problem(v, OD_MANIFEST ": no komposter.disclosure.k (the suppression threshold)");
		goto out;
	}
	v->k = (uint64_t)k->valuedouble;
	v->noisy = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "disclosure"),
	        "epsilon"));
	res = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	if (!cJSON_IsArray(res) || cJSON_GetArraySize(res) == 0) {
		problem(v, OD_MANIFEST ": no resources");
		goto out;
	}
	cJSON_ArrayForEach(k, res)
		check_resource(v, k, tables, &ntables);
	for (size_t i = 0; i < ntables; i++)
		check_same(v, &tables[i]);
	check_route_totals(v, tables, ntables);
	check_fare_suppression(v, tables, ntables);
	check_derived(v, tables, ntables);
out:
	for (size_t i = 0; i < ntables; i++) {
		grid_free(&tables[i].csv);
		grid_free(&tables[i].json);
	}
	cJSON_Delete(doc);
}

size_t od_verify(const char *dir, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id,
                 void (*report)(void *ctx, const char *line), void *ctx)
{
	struct verify v = { .dir = dir, .problem = report, .ctx = ctx };

	if (sodium_init() < 0) {
		problem(&v, "libsodium failed to start");
		return v.problems;
	}
	check_sums(&v);
	check_signature(&v, pk, id);
	check_manifest(&v);
	return v.problems;
}
