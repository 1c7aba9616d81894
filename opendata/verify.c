/*
 * verify.c — checks an open-data package (verify.h).
 *
 * Every check goes on after a problem, so one run lists them all. Files
 * are read whole (a day's package is megabytes); CSV is parsed with
 * libcsv in strict mode, JSON with cJSON, and both become a grid of cell
 * texts that one set of checks reads, so the CSV and the JSON of a table
 * are held to the same rules and compared cell by cell. The numbers the
 * package derives from its published cells are checked on the same grids
 * in verify_derived.c (verify_internal.h).
 */
#define _GNU_SOURCE
#include "opendata/verify.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <csv.h>
#include <sodium.h>

#include "opendata/package.h"
#include "opendata/verify_internal.h"
#include "opendata/tables.h"
#include "storage/gtfs.h"
#include "storage/service_day.h"

#define FILE_MAX ((size_t)1 << 30)
#define HEX_SHA256_SIZE (2 * crypto_hash_sha256_BYTES + 1)

void vf_problem(struct verify *v, const char *fmt, ...)
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

static int listed_has(const struct listed *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 1;
	return 0;
}

static int listed_add(struct listed *l, const char *name)
{
	char **p = realloc(l->names, (l->n + 1) * sizeof(*p));

	if (p == NULL)
		return -1;
	l->names = p;
	if ((l->names[l->n] = strdup(name)) == NULL)
		return -1;
	l->n++;
	return 0;
}

static void listed_free(struct listed *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

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

	if (strlen(line) < 67 || !is_hex64(line) || line[64] != ' ' || line[65] != ' ' || !plain_name(line + 66)) {
		vf_problem(v, OD_SUMS ":%zu: not a line of 64 lower-case hex digits, two spaces and a file name", lineno);
		return;
	}
	name = line + 66;
	if (strcmp(name, OD_SUMS) == 0 || strcmp(name, OD_SIGNATURE) == 0 || listed_has(l, name)) {
		vf_problem(v, "%s: listed in " OD_SUMS " twice, or not one of the files it lists (the manifest's "
		           "resources, the manifest, " OD_PUBKEY ")", name);
		return;
	}
	if (listed_add(l, name) != 0)
		vf_problem(v, OD_SUMS ": out of memory");
	if (sha256_of(v, name, hex) != 0)
		vf_problem(v, "%s: listed in " OD_SUMS " but cannot be read: %s", name, strerror(errno));
	else if (memcmp(hex, line, 64) != 0)
		vf_problem(v, "%s: SHA-256 does not match " OD_SUMS " (the file was changed)", name);
}

/* Whether name is a file the package holds: a resource of its manifest,
 * or one of the files export writes beside them (package.h). */
static int package_file(const struct listed *resources, const char *name)
{
	return strcmp(name, OD_MANIFEST) == 0 || strcmp(name, OD_SUMS) == 0 || strcmp(name, OD_SIGNATURE) == 0 ||
	       strcmp(name, OD_PUBKEY) == 0 || listed_has(resources, name);
}

/* Every file of the folder is the package's (SHA256SUMS is not signed:
 * listing a file there vouches for nothing), and SHA256SUMS lists each
 * but itself and the signature; with check_sum_line's, SHA256SUMS lists
 * exactly the files the manifest vouches for. resources NULL: the
 * manifest could not be read (a problem already), only the listing is
 * checked. */
static void check_unlisted(struct verify *v, const struct listed *l, const struct listed *resources)
{
	DIR *d = opendir(v->dir);
	struct dirent *e;

	if (d == NULL) {
		vf_problem(v, "%s: %s", v->dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (resources != NULL && !package_file(resources, e->d_name))
			vf_problem(v, "%s: not a file of the package (no resource of " OD_MANIFEST ")", e->d_name);
		else if (strcmp(e->d_name, OD_SUMS) != 0 && strcmp(e->d_name, OD_SIGNATURE) != 0 &&
		         !listed_has(l, e->d_name))
			vf_problem(v, "%s: not listed in " OD_SUMS, e->d_name);
	}
	closedir(d);
}

static void check_sums(struct verify *v, const struct listed *resources)
{
	struct listed l = { 0 };
	size_t len, lineno = 0;
	char *buf = read_whole(v->dir, OD_SUMS, &len), *line, *save = NULL;

	if (buf == NULL) {
		vf_problem(v, OD_SUMS ": cannot be read: %s", strerror(errno));
		return;
	}
	if (len == 0 || buf[len - 1] != '\n')
		vf_problem(v, OD_SUMS ": does not end with a newline");
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		check_sum_line(v, line, ++lineno, &l);
	check_unlisted(v, &l, resources);
	listed_free(&l);
	free(buf);
}

/* ------------------------------------------------------------- signature */

/* 0 when the signature verifies with the key. */
static int check_signature(struct verify *v, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id)
{
	char why[OD_MINISIGN_WHY_SIZE];
	size_t mlen, slen;
	char *manifest = read_whole(v->dir, OD_MANIFEST, &mlen);
	char *sig = manifest ? read_whole(v->dir, OD_SIGNATURE, &slen) : NULL;
	int rc = -1;

	if (manifest == NULL)
		vf_problem(v, OD_MANIFEST ": cannot be read: %s", strerror(errno));
	else if (sig == NULL)
		vf_problem(v, OD_SIGNATURE ": cannot be read: %s", strerror(errno));
	else if (od_minisign_verify(pk, id, (const uint8_t *)manifest, mlen, sig, why) != 0)
		vf_problem(v, OD_SIGNATURE ": %s", why);
	else
		rc = 0;
	free(manifest);
	free(sig);
	return rc;
}

/* minisign.pub travels with the package outside the signature: whoever
 * can change the package can put another key there, which `minisign -p
 * minisign.pub` would then trust. When the package has one, it is the key
 * the package is checked with (the same key id too). Checked once the
 * signature verified with that key: else the signature's problem says it. */
static void check_pubkey(struct verify *v, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id)
{
	uint8_t file_pk[OD_MINISIGN_PK_SIZE], file_id[OD_MINISIGN_KEYID_SIZE], ours[OD_MINISIGN_KEYID_SIZE];
	size_t len;
	char *text = read_whole(v->dir, OD_PUBKEY, &len);

	if (text == NULL) {
		if (errno != ENOENT)
			vf_problem(v, OD_PUBKEY ": cannot be read: %s", strerror(errno));
		return;
	}
	if (id == NULL) {
		od_minisign_keyid(pk, ours);
		id = ours;
	}
	if (od_minisign_pub_parse(text, file_pk, file_id) != 0)
		vf_problem(v, OD_PUBKEY ": not a minisign public key");
	else if (memcmp(file_pk, pk, sizeof(file_pk)) != 0 || memcmp(file_id, id, sizeof(file_id)) != 0)
		vf_problem(v, OD_PUBKEY ": not the key the package is checked with (another key or key id): a replaced key "
		           "file, which `minisign -p " OD_PUBKEY "` would trust");
	free(text);
}

/* ----------------------------------------------------------------- grids */

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

const char *vf_cell(const struct grid *g, size_t row, size_t col)
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
		vf_problem(v, "%s: cannot be read: %s", name, strerror(errno));
		return -1;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		vf_problem(v, "%s: out of memory", name);
		free(buf);
		return -1;
	}
	if (csv_parse(&p, buf, len, csv_field, csv_row, &c) != len || csv_fini(&p, csv_field, csv_row, &c) != 0)
		vf_problem(v, "%s: not CSV (RFC 4180): %s", name, csv_strerror(csv_error(&p)));
	else if (c.oom)
		vf_problem(v, "%s: out of memory", name);
	else if (g->bad)
		vf_problem(v, "%s: a row has not as many cells as the header", name);
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
		vf_problem(v, "%s: cannot be read: %s", name, strerror(errno));
		return -1;
	}
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsArray(doc)) {
		vf_problem(v, "%s: not a JSON array of rows", name);
		goto out;
	}
	cJSON_ArrayForEach(f, fields)
		if (grid_push_str(g, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"))) != 0)
			goto oom;
	grid_end_row(g);
	cJSON_ArrayForEach(obj, doc) {
		row++;
		if (!cJSON_IsObject(obj) || (size_t)cJSON_GetArraySize(obj) != g->ncols) {
			vf_problem(v, "%s: row %zu is not an object of the %zu fields", name, row, g->ncols);
			goto out;
		}
		cJSON_ArrayForEach(f, fields) {
			const char *fname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type"));
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, fname);

			if (x == NULL || type == NULL || json_cell_text(x, type, text) != 0) {
				vf_problem(v, "%s: row %zu: %s is missing or not of type %s", name, row, fname, type ? type : "?");
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
	vf_problem(v, "%s: out of memory", name);
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
		vf_problem(v, "%s: the schema has no list of fields", res);
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
			vf_problem(v, "%s: field '%s' is not an open-data field of %s (a record-level column?)", res,
			        r->name ? r->name : "?", table);
			return -1;
		}
		if (type == NULL || strcmp(type, od_type_name(r->known->type)) != 0) {
			vf_problem(v, "%s: field %s has type %s, not %s", res, r->name, type ? type : "?",
			        od_type_name(r->known->type));
			return -1;
		}
		if (r->known->type == OD_COUNT) {
			if (!cJSON_IsNumber(min) || min->valuedouble < (double)v->k) {
				vf_problem(v, "%s: count field %s allows values below k %" PRIu64 " (no minimum constraint of k)",
				        res, r->name, v->k);
				return -1;
			}
			r->minimum = (uint64_t)min->valuedouble;
		}
	}
	pk = cJSON_GetObjectItemCaseSensitive(schema, "primaryKey");
	if (!cJSON_IsArray(pk) || cJSON_GetArraySize(pk) == 0) {
		vf_problem(v, "%s: the schema has no primary key", res);
		return -1;
	}
	cJSON_ArrayForEach(p, pk) {
		size_t i;

		for (i = 0; i < *n; i++)
			if (cJSON_IsString(p) && strcmp(p->valuestring, rules[i].name) == 0)
				break;
		if (i == *n || rules[i].known->type == OD_COUNT || rules[i].known->type == OD_NUMBER) {
			vf_problem(v, "%s: primary key field %s is not a dimension of the table", res,
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
		vf_problem(v, "%s: out of memory", name);
		return;
	}
	for (size_t r = 0; r < g->nrows; r++) {
		size_t at = 0;

		k[r].row = r + 1;
		for (size_t c = 0; c < g->ncols; c++)
			if (rules[c].key && at < sizeof(k[r].key))
				at += (size_t)snprintf(k[r].key + at, sizeof(k[r].key) - at, "%s,", vf_cell(g, r + 1, c));
	}
	qsort(k, g->nrows, sizeof(*k), keyed_cmp);
	for (size_t r = 1; r < g->nrows; r++)
		if (strcmp(k[r - 1].key, k[r].key) == 0)
			vf_problem(v, "%s: rows %zu and %zu have the same key (%s): not aggregate cells", name, k[r - 1].row,
			        k[r].row, k[r].key);
	free(k);
}

static void check_cells(struct verify *v, const char *name, const struct grid *g, const struct field_rule *rules,
                        size_t n)
{
	if (g->ncols != n) {
		vf_problem(v, "%s: %zu columns, the schema has %zu fields", name, g->ncols, n);
		return;
	}
	for (size_t c = 0; c < n; c++)
		if (strcmp(vf_cell(g, 0, c), rules[c].name) != 0) {
			vf_problem(v, "%s: column %zu is '%s', the schema says %s", name, c + 1, vf_cell(g, 0, c), rules[c].name);
			return;
		}
	for (size_t r = 1; r <= g->nrows; r++) {
		for (size_t c = 0; c < n; c++) {
			const char *text = vf_cell(g, r, c);
			const struct od_field *f = rules[c].known;

			if (text[0] == '\0') {
				if (rules[c].key || (f->type != OD_COUNT && f->type != OD_NUMBER && f->type != OD_TEXT))
					vf_problem(v, "%s: row %zu: %s is empty", name, r, f->name);
				continue;
			}
			if (!cell_valid(f, text))
				vf_problem(v, "%s: row %zu: %s '%s' is not a %s", name, r, f->name, text, od_type_name(f->type));
			else if (f->type == OD_COUNT && strtoull(text, NULL, 10) < v->k)
				vf_problem(v, "%s: row %zu: %s %s is below k %" PRIu64 " and should be suppressed", name, r,
				        f->name, text, v->k);
		}
	}
	check_unique(v, name, g, rules);
}

/* ------------------------------------------------------------- resources */

#define TABLES_MAX 16

/* Every field the format gives the table (tables.h) is in the schema: a
 * check of a missing column would pass unseen. */
static void check_all_fields(struct verify *v, const char *res, const char *table, const struct field_rule *rules,
                             size_t n)
{
	const struct od_table_format *f = od_tables_format_named(table);

	for (size_t i = 0; f != NULL && i < f->nfields; i++) {
		size_t r = 0;

		while (r < n && strcmp(rules[r].name, f->fields[i].name) != 0)
			r++;
		if (r == n)
			vf_problem(v, "%s: no field %s (the format's table %s has it)", res, f->fields[i].name, table);
	}
}

/* The table of that stem, made when new; NULL when there are too many. */
static struct table_forms *table_slot(struct table_forms *tables, size_t *ntables, const char *stem)
{
	for (size_t i = 0; i < *ntables; i++)
		if (strcmp(tables[i].name, stem) == 0)
			return &tables[i];
	if (*ntables == TABLES_MAX)
		return NULL;
	snprintf(tables[*ntables].name, sizeof(tables[*ntables].name), "%s", stem);
	return &tables[(*ntables)++];
}

static void check_resource(struct verify *v, const cJSON *res, struct table_forms *tables, size_t *ntables,
                           struct listed *paths)
{
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "path"));
	const char *hash = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "hash"));
	const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "format"));
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(res, "schema");
	struct field_rule rules[FIELDS_MAX];
	struct table_forms *t;
	char hex[HEX_SHA256_SIZE], stem[128];
	size_t n;
	int json;

	if (path == NULL || !plain_name(path) || format == NULL ||
	    (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)) {
		vf_problem(v, OD_MANIFEST ": a resource without a plain path or a csv or json format");
		return;
	}
	if (listed_add(paths, path) != 0)
		vf_problem(v, OD_MANIFEST ": out of memory");
	json = strcmp(format, "json") == 0;
	snprintf(stem, sizeof(stem), "%.*s", (int)strcspn(path, "."), path);
	t = table_slot(tables, ntables, stem);
	if (t == NULL || t->listed[json]) {
		vf_problem(v, "%s: a second %s resource of table %s (or too many tables)", path, format, stem);
		return;
	}
	t->listed[json] = 1;
	if (sha256_of(v, path, hex) != 0) {
		vf_problem(v, "%s: in " OD_MANIFEST " but cannot be read: %s", path, strerror(errno));
		return;
	}
	if (hash == NULL || strncmp(hash, "sha256:", 7) != 0 || strcmp(hash + 7, hex) != 0)
		vf_problem(v, "%s: SHA-256 does not match its hash in " OD_MANIFEST, path);
	if (check_schema(v, path, stem, schema, rules, &n) != 0)
		return;
	check_all_fields(v, path, stem, rules, n);
	if (json ? read_json(v, path, cJSON_GetObjectItemCaseSensitive(schema, "fields"), &t->json)
	         : read_csv(v, path, &t->csv)) {
		return;
	}
	check_cells(v, path, json ? &t->json : &t->csv, rules, n);
	*(json ? &t->have_json : &t->have_csv) = 1;
}

/* Every table of the format is in the package, in each of its forms (the
 * optional one when it is there at all): a check of a missing table would
 * pass unseen, and a package is the whole format or not one. */
static void check_complete(struct verify *v, const struct table_forms *tables, size_t n)
{
	const struct od_table_format *f;

	for (size_t i = 0; (f = od_tables_format(i)) != NULL; i++) {
		const struct table_forms *t = NULL;

		for (size_t j = 0; j < n && t == NULL; j++)
			if (strcmp(tables[j].name, f->name) == 0)
				t = &tables[j];
		if (t == NULL && f->optional)
			continue;
		if (t == NULL || !t->listed[0])
			vf_problem(v, OD_MANIFEST ": no resource %s (a table of the format, CSV)", f->name);
		if (f->json && (t == NULL || !t->listed[1]))
			vf_problem(v, OD_MANIFEST ": no resource %s-json (a table of the format, JSON)", f->name);
	}
}

/* The JSON of a table holds the CSV's values. */
static void check_same(struct verify *v, const struct table_forms *t)
{
	if (!t->have_csv || !t->have_json)
		return;
	if (t->csv.nrows != t->json.nrows || t->csv.ncols != t->json.ncols) {
		vf_problem(v, "%s.json: %zu rows, %s.csv has %zu", t->name, t->json.nrows, t->name, t->csv.nrows);
		return;
	}
	for (size_t r = 1; r <= t->csv.nrows; r++)
		for (size_t c = 0; c < t->csv.ncols; c++)
			if (strcmp(vf_cell(&t->csv, r, c), vf_cell(&t->json, r, c)) != 0) {
				vf_problem(v, "%s.json: row %zu: %s is '%s', %s.csv has '%s'", t->name, r, vf_cell(&t->csv, 0, c),
				        vf_cell(&t->json, r, c), t->name, vf_cell(&t->csv, r, c));
				return;
			}
}

const struct table_forms *vf_find_table(const struct table_forms *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0 && t[i].have_csv)
			return &t[i];
	return NULL;
}

size_t vf_column(const struct grid *g, const char *name)
{
	for (size_t c = 0; c < g->ncols; c++)
		if (strcmp(vf_cell(g, 0, c), name) == 0)
			return c;
	return SIZE_MAX;
}

/* A route's day total is the sum of its published cells (or suppressed
 * when that sum is below k): nothing suppressed hides in the difference. */
static void check_route_totals(struct verify *v, const struct table_forms *tables, size_t n)
{
	const struct table_forms *rsh = vf_find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *day = vf_find_table(tables, n, "ridership_route_day");
	size_t rr, ra, dr, da, dd;

	if (rsh == NULL || day == NULL) /* check_complete named it */
		return;
	rr = vf_column(&rsh->csv, "route_id");
	ra = vf_column(&rsh->csv, "accepted");
	dr = vf_column(&day->csv, "route_id");
	da = vf_column(&day->csv, "accepted");
	dd = vf_column(&day->csv, "riders");
	if (rr == SIZE_MAX || ra == SIZE_MAX || dr == SIZE_MAX || da == SIZE_MAX)
		return;
	for (size_t d = 1; d <= day->csv.nrows; d++) {
		const char *route = vf_cell(&day->csv, d, dr), *total = vf_cell(&day->csv, d, da);
		uint64_t sum = 0;
		int overflow = 0;

		for (size_t r = 1; r <= rsh->csv.nrows; r++)
			if (strcmp(vf_cell(&rsh->csv, r, rr), route) == 0)
				overflow |= vf_add(&sum, strtoull(vf_cell(&rsh->csv, r, ra), NULL, 10));
		if (overflow)
			vf_problem(v, "ridership_route_day.csv: route %s: the sum of its published cells overflows 64 bits",
			        route);
		else if (total[0] == '\0' ? sum >= v->k : strtoull(total, NULL, 10) != sum)
			vf_problem(v, "ridership_route_day.csv: route %s: the total %s is not the sum of its published cells "
			           "(%" PRIu64 "): a suppressed cell could be recovered",
			        route, total[0] ? total : "(suppressed)", sum);
		if (dd != SIZE_MAX && vf_cell(&day->csv, d, dd)[0] != '\0' &&
		    (total[0] == '\0' || strtoull(vf_cell(&day->csv, d, dd), NULL, 10) > strtoull(total, NULL, 10)))
			vf_problem(v, "ridership_route_day.csv: route %s: %s riders beside %s accepted taps would bound the "
			           "suppressed cells",
			        route, vf_cell(&day->csv, d, dd), total[0] ? total : "no published");
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
	const struct table_forms *rsh = vf_find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *fare = vf_find_table(tables, n, "ridership_fare_day");
	uint64_t cells = 0, fares = 0;
	size_t ra, fp, fa, hidden = 0, first = 0;
	int overflow = 0;

	if (rsh == NULL || fare == NULL) /* check_complete named it */
		return;
	ra = vf_column(&rsh->csv, "accepted");
	fp = vf_column(&fare->csv, "fare_product");
	fa = vf_column(&fare->csv, "accepted");
	if (ra == SIZE_MAX || fp == SIZE_MAX || fa == SIZE_MAX)
		return;
	for (size_t r = 1; r <= rsh->csv.nrows; r++)
		overflow |= vf_add(&cells, strtoull(vf_cell(&rsh->csv, r, ra), NULL, 10));
	for (size_t r = 1; r <= fare->csv.nrows; r++) {
		const char *text = vf_cell(&fare->csv, r, fa);

		if (text[0] != '\0') {
			overflow |= vf_add(&fares, strtoull(text, NULL, 10));
		} else if (hidden++ == 0) {
			first = r;
		}
	}
	if (overflow) {
		vf_problem(v, "ridership_fare_day.csv: the sum of the day's published cells or of the published fares "
		           "overflows 64 bits");
		return;
	}
	if (hidden == 1) {
		vf_problem(v, "ridership_fare_day.csv: fare product %s is the only suppressed one: the day's published "
		           "cells minus the published fares would recover it",
		        vf_cell(&fare->csv, first, fp));
		return;
	}
	if (v->noisy)
		return;
	if (fares > cells)
		vf_problem(v, "ridership_fare_day.csv: the published fares (%" PRIu64 ") are more than the day's published "
		           "cells (%" PRIu64 ")",
		        fares, cells);
	else if (hidden == 0 && fares != cells)
		vf_problem(v, "ridership_fare_day.csv: no fare is suppressed, yet the fares (%" PRIu64 ") are not the "
		           "day's published cells (%" PRIu64 ")",
		        fares, cells);
	else if (hidden > 1 && cells - fares < v->k)
		vf_problem(v, "ridership_fare_day.csv: the suppressed fares hold %" PRIu64 " taps (the day's published "
		           "cells minus the published fares), below k %" PRIu64,
		        cells - fares, v->k);
}

/* The signed manifest names the date the caller asked for, and the date
 * and version the folder's path says: an older package served in a newer
 * one's place, or another date's, is otherwise a valid package. */
static void check_origin(struct verify *v, const cJSON *komposter)
{
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(komposter, "version");
	char have[11], want[11];

	if (v->date == 0)
		return; /* no service_date: named already */
	st_date_format(v->date, have);
	if (v->want_date != 0 && v->want_date != v->date) {
		st_date_format(v->want_date, want);
		vf_problem(v, OD_MANIFEST ": service date %s, not %s, the date asked for: another date's package", have,
		        want);
	}
	if (v->folder_version == 0)
		return;
	if (v->folder_date != v->date)
		vf_problem(v, OD_MANIFEST ": service date %s, but the folder is %08" PRIu32 "/v%" PRIu32
		           ": another date's package",
		        have, v->folder_date, v->folder_version);
	if (!cJSON_IsNumber(version))
		vf_problem(v, OD_MANIFEST ": no komposter.version, but the folder is %08" PRIu32 "/v%" PRIu32
		           " (the publishing layout): which version it is cannot be told",
		        v->folder_date, v->folder_version);
	else if (version->valuedouble != (double)v->folder_version)
		vf_problem(v, OD_MANIFEST ": version %g, but the folder is %08" PRIu32 "/v%" PRIu32
		           ": another version's package (an older one served in its place?)",
		        version->valuedouble, v->folder_date, v->folder_version);
}

/* Checks the manifest and its resources, whose paths go to *paths. 0, or
 * -1 when the manifest could not be read or holds no list of resources (a
 * problem reported; *paths is then not the package's files). */
static int check_manifest(struct verify *v, struct listed *paths)
{
	struct table_forms tables[TABLES_MAX];
	size_t len, ntables = 0;
	char *buf = read_whole(v->dir, OD_MANIFEST, &len);
	cJSON *doc, *res, *k;
	int rc = -1;

	if (buf == NULL)
		return -1; /* check_signature named it */
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	memset(tables, 0, sizeof(tables));
	if (doc == NULL) {
		vf_problem(v, OD_MANIFEST ": not JSON");
		return -1;
	}
	k = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	                                             cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "disclosure"),
	                                     "k");
	if (!cJSON_IsNumber(k) || k->valuedouble < 1) {
		vf_problem(v, OD_MANIFEST ": no komposter.disclosure.k (the suppression threshold)");
		goto out;
	}
	v->k = (uint64_t)k->valuedouble;
	if (st_date_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                          cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "service_date")),
	                  &v->date) != 0) {
		vf_problem(v, OD_MANIFEST ": no komposter.service_date (YYYY-MM-DD)");
		v->date = 0;
	}
	check_origin(v, cJSON_GetObjectItemCaseSensitive(doc, "komposter"));
	v->noisy = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "komposter"), "disclosure"),
	        "epsilon"));
	res = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	if (!cJSON_IsArray(res) || cJSON_GetArraySize(res) == 0) {
		vf_problem(v, OD_MANIFEST ": no resources");
		goto out;
	}
	rc = 0;
	cJSON_ArrayForEach(k, res)
		check_resource(v, k, tables, &ntables, paths);
	check_complete(v, tables, ntables);
	for (size_t i = 0; i < ntables; i++)
		check_same(v, &tables[i]);
	check_route_totals(v, tables, ntables);
	check_fare_suppression(v, tables, ntables);
	vf_check_derived(v, tables, ntables);
out:
	for (size_t i = 0; i < ntables; i++) {
		grid_free(&tables[i].csv);
		grid_free(&tables[i].json);
	}
	cJSON_Delete(doc);
	return rc;
}

/* The date and version of the folder when its path (resolved: "." in a
 * v2 folder is v2) ends in DATE/vN; else left 0. */
static void folder_layout(struct verify *v)
{
	char *path = realpath(v->dir, NULL), *base, *parent;
	uint32_t date, version;

	if (path == NULL)
		return; /* the folder cannot be read: named by the checks */
	base = strrchr(path, '/');
	if (base != NULL && base != path) {
		*base = '\0';
		parent = strrchr(path, '/');
		if (parent != NULL && od_package_version_name(base + 1, &version) &&
		    od_package_date_name(parent + 1, &date)) {
			v->folder_date = date;
			v->folder_version = version;
		}
	}
	free(path);
}

size_t od_verify(const char *dir, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id, uint32_t date,
                 void (*report)(void *ctx, const char *line), void *ctx)
{
	struct verify v = { .dir = dir, .problem = report, .ctx = ctx, .hour_min = INT_MAX, .hour_max = -1,
		            .want_date = date };
	struct listed paths = { 0 };
	int signed_ok, have_paths;

	if (sodium_init() < 0) {
		vf_problem(&v, "libsodium failed to start");
		return v.problems;
	}
	folder_layout(&v);
	signed_ok = check_signature(&v, pk, id) == 0;
	have_paths = check_manifest(&v, &paths) == 0;
	check_sums(&v, have_paths ? &paths : NULL);
	if (signed_ok)
		check_pubkey(&v, pk, id);
	listed_free(&paths);
	return v.problems;
}
