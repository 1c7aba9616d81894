/*
 * version_gap.c — a new version's counts against the version before
 * (version_gap.h).
 *
 * Both sides are compared as the JSON the package holds: the new tables
 * are printed as they would be written (od_table_print_json) and parsed
 * back, the old ones read from their files, so a row's key and counts mean
 * the same on both sides whatever their types. The old rows are sorted by
 * key once and looked up by binary search: a day holds tens of thousands
 * of cells at most.
 */
#include "opendata/version_gap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opendata/outbuf.h"

#define KEY_SIZE 512

struct row {
	char key[KEY_SIZE];
	const cJSON *obj;
};

struct rows {
	struct row *v;
	size_t n;
};

/* The row's primary key as text: each key field's JSON value. -1 when a
 * key field is missing or the key does not fit. */
static int row_key(const struct od_table *tb, const cJSON *obj, char out[KEY_SIZE])
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t f = 0; f < tb->nfields; f++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, tb->fields[f].name);
		char *text;
		int w;

		if (!tb->fields[f].key)
			continue;
		if (x == NULL || (text = cJSON_PrintUnformatted(x)) == NULL)
			return -1;
		w = snprintf(out + n, KEY_SIZE - n, "%s\x1f", text);
		cJSON_free(text);
		if (w < 0 || (size_t)w >= KEY_SIZE - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

/* The rows of a table's JSON array, keyed and sorted. */
static int rows_of(const struct od_table *tb, const cJSON *arr, struct rows *out)
{
	const cJSON *obj;
	size_t i = 0;

	out->n = (size_t)cJSON_GetArraySize(arr);
	out->v = calloc(out->n ? out->n : 1, sizeof(*out->v));
	if (out->v == NULL)
		return -1;
	cJSON_ArrayForEach(obj, arr)
	{
		if (row_key(tb, obj, out->v[i].key) != 0)
			return -1;
		out->v[i++].obj = obj;
	}
	qsort(out->v, out->n, sizeof(*out->v), row_cmp);
	return 0;
}

static char *read_file(const char *path, char why[OD_ERR_SIZE])
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)size + 1)) == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(why, OD_ERR_SIZE, "%.200s: %s", path, errno ? strerror(errno) : "cannot read it");
		free(buf);
		buf = NULL;
	} else {
		buf[size] = '\0';
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* A published count, or -1 for a suppressed one (null). */
static int64_t count_of(const cJSON *obj, const char *field)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, field);

	return cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < 9007199254740992.0 ? (int64_t)x->valuedouble
	                                                                                      : -1;
}

/* A row key as a line shows it: "2024-06-15,10,110,7". */
static void key_shown(const char *key, char out[KEY_SIZE])
{
	size_t n = 0;

	for (const char *c = key; *c != '\0' && n + 1 < KEY_SIZE; c++)
		if (*c != '"') /* the JSON strings' quotes */
			out[n++] = *c == '\x1f' ? ',' : *c;
	out[n > 0 ? n - 1 : 0] = '\0'; /* the last separator */
}

/* 1 when a count of row now moved by 1..k-1 from the same row then. */
static int row_gap(const struct od_table *tb, const cJSON *now, const cJSON *then, uint64_t k, const char *key,
                   char why[OD_ERR_SIZE])
{
	for (size_t f = 0; f < tb->nfields; f++) {
		const char *name = tb->fields[f].name;
		char shown[KEY_SIZE];
		int64_t a, b;
		uint64_t d;

		if (tb->fields[f].type != OD_COUNT || (a = count_of(then, name)) < 0 || (b = count_of(now, name)) < 0)
			continue;
		d = (uint64_t)(a > b ? a - b : b - a);
		if (d == 0 || d >= k)
			continue;
		key_shown(key, shown);
		snprintf(why, OD_ERR_SIZE, "%s %.120s: %s %" PRId64 " -> %" PRId64 ", a change below k = %" PRIu64,
		         tb->name, shown, name, a, b, k);
		return 1;
	}
	return 0;
}

/* The gap of one table: its new rows against prev's by key. */
static int table_gap(const struct od_table *tb, const cJSON *now, const cJSON *then, uint64_t k,
                     char why[OD_ERR_SIZE])
{
	struct rows old = { 0 };
	const cJSON *obj;
	int rc = 0;

	if (rows_of(tb, then, &old) != 0) {
		snprintf(why, OD_ERR_SIZE, "%s: the version before has rows without their key", tb->name);
		free(old.v);
		return -1;
	}
	cJSON_ArrayForEach(obj, now)
	{
		struct row r;
		const struct row *hit;

		if (row_key(tb, obj, r.key) != 0) {
			snprintf(why, OD_ERR_SIZE, "%s: a row's key does not fit", tb->name);
			rc = -1;
			break;
		}
		hit = bsearch(&r, old.v, old.n, sizeof(*old.v), row_cmp);
		if (hit != NULL && (rc = row_gap(tb, obj, hit->obj, k, r.key, why)) != 0)
			break;
	}
	free(old.v);
	return rc;
}

/* tb as the JSON it would be written as, parsed. */
static cJSON *printed(const struct od_table *tb)
{
	struct outbuf b = { 0 };
	cJSON *doc = NULL;

	if (od_table_print_json(tb, &b) == 0 && !ob_failed(&b)) {
		ob_putc(&b, '\0');
		if (!ob_failed(&b))
			doc = cJSON_Parse(b.p);
	}
	ob_free(&b);
	return doc;
}

static int one_table(const struct od_table *tb, const char *prev_dir, uint64_t k, char why[OD_ERR_SIZE])
{
	char path[1024], *text;
	cJSON *then, *now;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.json", prev_dir, tb->name);
	errno = 0;
	if ((text = read_file(path, why)) == NULL)
		return errno == ENOENT ? 0 : -1; /* a table the version before did not have */
	then = cJSON_Parse(text);
	free(text);
	now = printed(tb);
	if (!cJSON_IsArray(then) || !cJSON_IsArray(now)) {
		snprintf(why, OD_ERR_SIZE, "%.200s: %s", path, now == NULL ? "out of memory" : "not a JSON array");
		rc = -1;
	} else {
		rc = table_gap(tb, now, then, k, why);
	}
	cJSON_Delete(then);
	cJSON_Delete(now);
	return rc;
}

int od_version_gap(const struct od_tables *t, const char *prev_dir, uint64_t k, char why[OD_ERR_SIZE])
{
	for (size_t i = 0; i < t->n; i++) {
		int rc;

		if (t->t[i].file != NULL) /* a standard's file: the same cells (version_gap.h) */
			continue;
		if ((rc = one_table(&t->t[i], prev_dir, k, why)) != 0)
			return rc;
	}
	return 0;
}
