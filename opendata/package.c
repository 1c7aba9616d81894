/*
 * package.c — writes an open-data package (package.h).
 *
 * Every file is first built in memory (outbuf.h), hashed there with
 * libsodium's SHA-256, then written once: the hash in the manifest and in
 * SHA256SUMS is the hash of exactly the bytes written. Order: the tables,
 * the public key, the manifest (which holds the tables' hashes), the sums,
 * the signature last, so a folder without a signature is an unfinished
 * package, never a wrong one.
 */
#define _GNU_SOURCE
#include "opendata/package.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "opendata/minisign.h"
#include "storage/service_day.h"

#define FILES_MAX (2 * OD_TABLES_MAX + 2)
#define NAME_SIZE 64
#define HEX_SHA256_SIZE (2 * crypto_hash_sha256_BYTES + 1)
#define PREVIOUS_MAX (16 << 20)

struct written {
	char name[NAME_SIZE];
	char sha256[HEX_SHA256_SIZE];
	size_t bytes;
};

struct pkg {
	const struct od_package_options *o;
	const struct od_tables *t;
	char *err;
	struct written files[FILES_MAX + 1];
	size_t n;
	size_t form_at[OD_TABLES_MAX][2]; /* files[] of each table's CSV, JSON (SIZE_MAX: none) */
};

/* One line in p->err; returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(struct pkg *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, OD_ERR_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

static void sha256_hex(const void *buf, size_t len, char out[HEX_SHA256_SIZE])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, buf, len);
	sodium_bin2hex(out, HEX_SHA256_SIZE, h, sizeof(h));
}

/* Creates dir/name (never replacing one), writes buf, syncs it. */
static int write_new_file(struct pkg *p, const char *name, const void *buf, size_t len)
{
	char path[4096];
	const char *at = buf;
	size_t left = len;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->o->dir, name) >= sizeof(path))
		return fail(p, "%s: path too long", p->o->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(p, "%s: %s", path, strerror(errno));
	while (left > 0) {
		ssize_t w = write(fd, at, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fail(p, "writing %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		at += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		fail(p, "syncing %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return fail(p, "closing %s: %s", path, strerror(errno));
	return 0;
}

/* Writes a file and records its name, size and hash for the sums. */
static int publish(struct pkg *p, const char *name, const void *buf, size_t len)
{
	struct written *w = &p->files[p->n];

	if (p->n == FILES_MAX + 1 || write_new_file(p, name, buf, len) != 0)
		return p->n == FILES_MAX + 1 ? fail(p, "too many files") : -1;
	snprintf(w->name, sizeof(w->name), "%s", name);
	sha256_hex(buf, len, w->sha256);
	w->bytes = len;
	p->n++;
	return 0;
}

/* A table's form: NAME.csv or NAME.json, or a standard's file (CSV). */
static int write_table(struct pkg *p, size_t i, int json)
{
	const struct od_table *t = &p->t->t[i];
	char name[NAME_SIZE];
	struct outbuf b = { 0 };
	int rc;

	if ((json ? od_table_print_json(t, &b) : od_table_print_csv(t, &b)) != 0) {
		ob_free(&b);
		return fail(p, "out of memory building %s", t->name);
	}
	if (t->file != NULL)
		snprintf(name, sizeof(name), "%s", t->file);
	else
		snprintf(name, sizeof(name), "%s.%s", t->name, json ? "json" : "csv");
	p->form_at[i][json] = p->n;
	rc = publish(p, name, b.p, b.n);
	ob_free(&b);
	return rc;
}

/* ----------------------------------------------------------- manifest */

static cJSON *field_json(const struct od_field *f, uint64_t k)
{
	cJSON *o = cJSON_CreateObject(), *c;

	if (o == NULL || !cJSON_AddStringToObject(o, "name", f->name) ||
	    !cJSON_AddStringToObject(o, "type", od_type_name(f->type)) ||
	    !cJSON_AddStringToObject(o, "description", f->description))
		goto err;
	if (f->type == OD_DATE && !cJSON_AddStringToObject(o, "format", "default"))
		goto err;
	if (f->type == OD_GTFS_DATE && !cJSON_AddStringToObject(o, "format", "%Y%m%d"))
		goto err;
	if (f->type == OD_DATETIME && !cJSON_AddStringToObject(o, "format", "%Y-%m-%dT%H:%M:%S"))
		goto err;
	c = cJSON_AddObjectToObject(o, "constraints");
	if (c == NULL)
		goto err;
	if (f->key && !cJSON_AddBoolToObject(c, "required", 1))
		goto err;
	if (f->type == OD_COUNT && !cJSON_AddNumberToObject(c, "minimum", (double)k))
		goto err;
	if (f->type == OD_INTEGER && !cJSON_AddNumberToObject(c, "minimum", 0))
		goto err;
	if (f->type == OD_GTFS_TIME && !cJSON_AddStringToObject(c, "pattern", "[0-9][0-9]:[0-5][0-9]:[0-5][0-9]"))
		goto err;
	if (f->type == OD_STRING) {
		const char *level[] = { "route", "stop" }, *source[] = { "signed", "nvr" };
		cJSON *e = cJSON_CreateStringArray(strcmp(f->name, "level") == 0 ? level : source, 2);

		if (e == NULL || !cJSON_AddItemToObject(c, "enum", e)) {
			cJSON_Delete(e);
			goto err;
		}
	}
	return o;
err:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *schema_json(const struct od_table *t, uint64_t k)
{
	cJSON *s = cJSON_CreateObject(), *fields, *pk, *missing;

	if (s == NULL || (fields = cJSON_AddArrayToObject(s, "fields")) == NULL)
		goto err;
	for (size_t i = 0; i < t->nfields; i++) {
		cJSON *f = field_json(&t->fields[i], k);

		if (f == NULL || !cJSON_AddItemToArray(fields, f)) {
			cJSON_Delete(f);
			goto err;
		}
	}
	if ((pk = cJSON_AddArrayToObject(s, "primaryKey")) == NULL)
		goto err;
	for (size_t i = 0; i < t->nfields; i++) {
		cJSON *name = t->fields[i].key ? cJSON_CreateString(t->fields[i].name) : NULL;

		if (t->fields[i].key && (name == NULL || !cJSON_AddItemToArray(pk, name))) {
			cJSON_Delete(name);
			goto err;
		}
	}
	missing = cJSON_AddArrayToObject(s, "missingValues");
	if (missing == NULL || !cJSON_AddItemToArray(missing, cJSON_CreateString(OD_SUPPRESSED_MARKER)))
		goto err;
	return s;
err:
	cJSON_Delete(s);
	return NULL;
}

static cJSON *resource_json(const struct pkg *p, const struct od_table *t, const struct written *w, int json)
{
	cJSON *r = cJSON_CreateObject(), *schema;
	char name[NAME_SIZE], hash[8 + HEX_SHA256_SIZE];

	snprintf(name, sizeof(name), "%s%s", t->name, json ? "-json" : "");
	snprintf(hash, sizeof(hash), "sha256:%s", w->sha256);
	if (r == NULL || !cJSON_AddStringToObject(r, "name", name) || !cJSON_AddStringToObject(r, "path", w->name) ||
	    !cJSON_AddStringToObject(r, "title", t->title) ||
	    !cJSON_AddStringToObject(r, "profile", "tabular-data-resource") ||
	    !cJSON_AddStringToObject(r, "format", json ? "json" : "csv") ||
	    !cJSON_AddStringToObject(r, "mediatype", json ? "application/json" : "text/csv") ||
	    !cJSON_AddStringToObject(r, "encoding", "utf-8") || !cJSON_AddStringToObject(r, "hash", hash) ||
	    !cJSON_AddNumberToObject(r, "bytes", (double)w->bytes))
		goto err;
	if (!json) {
		cJSON *dialect = cJSON_AddObjectToObject(r, "dialect");

		if (dialect == NULL || !cJSON_AddStringToObject(dialect, "delimiter", ",") ||
		    !cJSON_AddStringToObject(dialect, "lineTerminator", "\r\n") ||
		    !cJSON_AddBoolToObject(dialect, "header", 1))
			goto err;
	}
	schema = schema_json(t, p->o->disclosure->k);
	if (schema == NULL || !cJSON_AddItemToObject(r, "schema", schema)) {
		cJSON_Delete(schema);
		goto err;
	}
	return r;
err:
	cJSON_Delete(r);
	return NULL;
}

/* SHA-256 of the previous manifest, or NULL in *hex when there is none. */
static int previous_hash(struct pkg *p, char hex[HEX_SHA256_SIZE], int *have)
{
	FILE *f;
	char *buf;
	size_t len;

	*have = 0;
	if (p->o->previous == NULL)
		return 0;
	f = fopen(p->o->previous, "rb");
	if (f == NULL)
		return fail(p, "--previous %s: %s", p->o->previous, strerror(errno));
	buf = malloc(PREVIOUS_MAX);
	len = buf ? fread(buf, 1, PREVIOUS_MAX, f) : 0;
	if (buf == NULL || ferror(f) || len == PREVIOUS_MAX) {
		fclose(f);
		free(buf);
		return fail(p, "--previous %s: %s", p->o->previous,
		            buf == NULL ? "out of memory" : len == PREVIOUS_MAX ? "larger than 16 MiB" : "read error");
	}
	fclose(f);
	sha256_hex(buf, len, hex);
	free(buf);
	*have = 1;
	return 0;
}

static int add_komposter(struct pkg *p, cJSON *doc)
{
	const struct od_disclosure *d = p->o->disclosure;
	char date[11], head[2 * ST_CHAIN_HEAD_SIZE + 1], prev[HEX_SHA256_SIZE];
	cJSON *k = cJSON_AddObjectToObject(doc, "komposter"), *dc, *chain;
	int have_prev;

	if (previous_hash(p, prev, &have_prev) != 0)
		return -1;
	st_date_format(p->t->service_date, date);
	sodium_bin2hex(head, sizeof(head), p->t->chain_head, ST_CHAIN_HEAD_SIZE);
	if (k == NULL || !cJSON_AddStringToObject(k, "service_date", date) ||
	    (dc = cJSON_AddObjectToObject(k, "disclosure")) == NULL ||
	    !cJSON_AddNumberToObject(dc, "k", (double)d->k) ||
	    !(d->epsilon > 0 ? cJSON_AddNumberToObject(dc, "epsilon", d->epsilon) : cJSON_AddNullToObject(dc, "epsilon")) ||
	    !cJSON_AddStringToObject(dc, "suppressed_marker", OD_SUPPRESSED_MARKER) ||
	    !cJSON_AddStringToObject(dc, "totals", "computed from published cells only") ||
	    (chain = cJSON_AddObjectToObject(k, "chain")) == NULL ||
	    !cJSON_AddStringToObject(chain, "hash", "BLAKE2b-256") ||
	    !cJSON_AddNumberToObject(chain, "seq", (double)p->t->chain_seq) ||
	    !cJSON_AddStringToObject(chain, "head", head) ||
	    !(have_prev ? cJSON_AddStringToObject(k, "previous_manifest_sha256", prev)
	                : cJSON_AddNullToObject(k, "previous_manifest_sha256")) ||
	    !(p->o->version > 0 ? cJSON_AddNumberToObject(k, "version", p->o->version)
	                        : cJSON_AddNullToObject(k, "version")))
		return fail(p, "out of memory");
	return 0;
}

static int add_header(struct pkg *p, cJSON *doc)
{
	char date[11], name[64], title[64], created[32];
	time_t secs = (time_t)(p->o->now_ms / 1000);
	struct tm tm;
	cJSON *licenses, *lic, *temporal;

	st_date_format(p->t->service_date, date);
	snprintf(name, sizeof(name), "komposter-ridership-%s", date);
	snprintf(title, sizeof(title), "Public transport ridership, %s", date);
	if (gmtime_r(&secs, &tm) == NULL || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return fail(p, "cannot format the time");
	if (!cJSON_AddStringToObject(doc, "profile", "tabular-data-package") ||
	    !cJSON_AddStringToObject(doc, "name", name) || !cJSON_AddStringToObject(doc, "title", title) ||
	    !cJSON_AddStringToObject(doc, "description",
	                             "Validator taps and passenger counts of one service date, aggregated; "
	                             "counts below k are suppressed (empty in CSV, null in JSON)") ||
	    !cJSON_AddStringToObject(doc, "created", created) ||
	    (licenses = cJSON_AddArrayToObject(doc, "licenses")) == NULL ||
	    (lic = cJSON_CreateObject()) == NULL)
		return fail(p, "out of memory");
	if (!cJSON_AddItemToArray(licenses, lic)) {
		cJSON_Delete(lic);
		return fail(p, "out of memory");
	}
	if (!cJSON_AddStringToObject(lic, "name", "CC-BY-4.0") ||
	    !cJSON_AddStringToObject(lic, "title", "Creative Commons Attribution 4.0") ||
	    !cJSON_AddStringToObject(lic, "path", "https://creativecommons.org/licenses/by/4.0/") ||
	    (temporal = cJSON_AddObjectToObject(doc, "temporal")) == NULL ||
	    !cJSON_AddStringToObject(temporal, "start", date) || !cJSON_AddStringToObject(temporal, "end", date))
		return fail(p, "out of memory");
	return 0;
}

static int write_manifest(struct pkg *p)
{
	cJSON *doc = cJSON_CreateObject(), *resources;
	char *text = NULL;
	int rc = -1;

	if (doc == NULL) {
		fail(p, "out of memory");
		goto out;
	}
	if (add_header(p, doc) != 0 || add_komposter(p, doc) != 0)
		goto out;
	if ((resources = cJSON_AddArrayToObject(doc, "resources")) == NULL) {
		fail(p, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->t->n; i++) {
		for (int json = 0; json < 2; json++) {
			if (p->form_at[i][json] == SIZE_MAX)
				continue;
			cJSON *r = resource_json(p, &p->t->t[i], &p->files[p->form_at[i][json]], json);

			if (r == NULL || !cJSON_AddItemToArray(resources, r)) {
				cJSON_Delete(r);
				fail(p, "out of memory");
				goto out;
			}
		}
	}
	text = cJSON_Print(doc);
	if (text == NULL) {
		fail(p, "out of memory");
		goto out;
	}
	rc = publish(p, OD_MANIFEST, text, strlen(text));
out:
	cJSON_free(text);
	cJSON_Delete(doc);
	return rc;
}

/* ------------------------------------------------------ sums, signature */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct written *)a)->name, ((const struct written *)b)->name);
}

static int write_sums(struct pkg *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct written sorted[FILES_MAX + 1];
	int rc;

	if (f == NULL)
		return fail(p, "out of memory");
	memcpy(sorted, p->files, p->n * sizeof(*sorted));
	qsort(sorted, p->n, sizeof(*sorted), name_cmp);
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "%s  %s\n", sorted[i].sha256, sorted[i].name);
	rc = ferror(f);
	if (fclose(f) != 0 || rc) {
		free(buf);
		return fail(p, "out of memory");
	}
	rc = write_new_file(p, OD_SUMS, buf, len);
	free(buf);
	return rc;
}

static int write_signature(struct pkg *p)
{
	char path[4096], comment[OD_MINISIGN_COMMENT_MAX], sig[OD_MINISIGN_SIG_TEXT_SIZE];
	char *buf;
	size_t len;
	FILE *f;

	/* Sign the manifest as it is on disk, read back. */
	snprintf(path, sizeof(path), "%s/" OD_MANIFEST, p->o->dir);
	f = fopen(path, "rb");
	if (f == NULL)
		return fail(p, "%s: %s", path, strerror(errno));
	buf = malloc(p->files[p->n - 1].bytes + 1);
	len = buf ? fread(buf, 1, p->files[p->n - 1].bytes + 1, f) : 0;
	fclose(f);
	if (buf == NULL || len != p->files[p->n - 1].bytes) {
		free(buf);
		return fail(p, "%s: changed while it was written", path);
	}
	snprintf(comment, sizeof(comment), "timestamp:%" PRId64 "\tfile:" OD_MANIFEST "\tprehashed",
	         p->o->now_ms / 1000);
	if (od_minisign_sign(p->o->sk, (const uint8_t *)buf, len, comment, sig) != 0) {
		free(buf);
		return fail(p, "signing the manifest failed (is the server key a valid Ed25519 key?)");
	}
	free(buf);
	return write_new_file(p, OD_SIGNATURE, sig, strlen(sig));
}

static int write_pubkey(struct pkg *p)
{
	uint8_t pk[OD_MINISIGN_PK_SIZE];
	char text[OD_MINISIGN_PUB_TEXT_SIZE];

	if (crypto_sign_ed25519_sk_to_pk(pk, p->o->sk) != 0)
		return fail(p, "the server key is not an Ed25519 secret key");
	od_minisign_pub_text(pk, text);
	return publish(p, OD_PUBKEY, text, strlen(text));
}

static int make_dir(struct pkg *p)
{
	char path[4096];
	struct stat st;

	if (mkdir(p->o->dir, 0755) != 0 && errno != EEXIST)
		return fail(p, "%s: %s", p->o->dir, strerror(errno));
	if (stat(p->o->dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail(p, "%s: not a directory", p->o->dir);
	snprintf(path, sizeof(path), "%s/" OD_MANIFEST, p->o->dir);
	if (access(path, F_OK) == 0)
		return fail(p, "%s already holds a package (packages are never rewritten: give a new folder)",
		            p->o->dir);
	return 0;
}

static int sync_dir(struct pkg *p)
{
	int fd = open(p->o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return fail(p, "%s: %s", p->o->dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? 0 : fail(p, "syncing %s: %s", p->o->dir, strerror(errno));
}

int od_package_write(const struct od_tables *t, const struct od_package_options *o, char err[OD_ERR_SIZE])
{
	struct pkg p = { .o = o, .t = t, .err = err };

	if (sodium_init() < 0)
		return fail(&p, "libsodium failed to start");
	if (make_dir(&p) != 0)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		p.form_at[i][1] = SIZE_MAX;
		if (write_table(&p, i, 0) != 0 || (t->t[i].file == NULL && write_table(&p, i, 1) != 0))
			return -1;
	}
	if (write_pubkey(&p) != 0 || write_manifest(&p) != 0 || write_sums(&p) != 0 || write_signature(&p) != 0)
		return -1;
	return sync_dir(&p);
}

static int all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int od_package_date_name(const char *name, uint32_t *out)
{
	char text[11];

	if (strlen(name) != 8 || !all_digits(name))
		return 0;
	*out = (uint32_t)strtoul(name, NULL, 10);
	st_date_format(*out, text);
	return st_date_parse(text, out) == 0;
}

int od_package_version_name(const char *name, uint32_t *out)
{
	size_t len = strlen(name);
	unsigned long n;

	if (len < 2 || len > 10 || name[0] != 'v' || name[1] == '0' || !all_digits(name + 1))
		return 0;
	n = strtoul(name + 1, NULL, 10);
	if (n > UINT32_MAX)
		return 0;
	*out = (uint32_t)n;
	return 1;
}
