/*
 * publish_index.c — see publish_index.h. The folder is the only state: a
 * restart reads it again, so the index and the chain's tip can never
 * disagree with the packages on disk.
 */
#include "ingest/publish_index.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opendata/package.h"
#include "storage/service_day.h"

#define PATH_SIZE 4096
#define MANIFEST_MAX (16 << 20)

/* snprintf into a path or name: paths are bounded by the config's
 * (KP_CONFIG_STR_SIZE), far below PATH_SIZE. */
__attribute__((format(printf, 3, 4))) static void say(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static int fail(char err[KP_PUBLISH_ERR_SIZE], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, KP_PUBLISH_ERR_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

void kp_published_free(struct kp_published_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int read_all(const char *path, char **buf, size_t *len, char err[KP_PUBLISH_ERR_SIZE])
{
	FILE *f = fopen(path, "rb");
	long size;

	if (f == NULL)
		return fail(err, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > MANIFEST_MAX || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return fail(err, "%s: cannot size it (or larger than %d bytes)", path, MANIFEST_MAX);
	}
	*buf = malloc((size_t)size + 1);
	if (*buf == NULL || fread(*buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return fail(err, "%s: cannot read it", path);
	}
	fclose(f);
	(*buf)[size] = '\0';
	*len = (size_t)size;
	return 0;
}

int kp_published_read_manifest(const char *dir, uint32_t date, uint32_t version, char **buf, size_t *len,
                               char err[KP_PUBLISH_ERR_SIZE])
{
	char path[PATH_SIZE];

	say(path, sizeof(path), "%s/%08u/v%u/" OD_MANIFEST, dir, (unsigned)date, (unsigned)version);
	return read_all(path, buf, len, err);
}

/* "created" only when it looks like one (it goes into HTML unescaped). */
static void copy_created(const cJSON *doc, char out[32])
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "created"));

	out[0] = '\0';
	if (s == NULL || strlen(s) >= 32 || strspn(s, "0123456789-:TZ") != strlen(s))
		return;
	snprintf(out, 32, "%s", s);
}

static void copy_previous(const cJSON *doc, char out[KP_SHA256_HEX_SIZE])
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "komposter");
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "previous_manifest_sha256"));

	out[0] = '\0';
	if (s != NULL && strlen(s) == KP_SHA256_HEX_SIZE - 1)
		snprintf(out, KP_SHA256_HEX_SIZE, "%s", s);
}

static int read_package(const char *dir, struct kp_published *p, char err[KP_PUBLISH_ERR_SIZE])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char *buf = NULL;
	size_t len = 0;
	cJSON *doc;

	if (kp_published_read_manifest(dir, p->date, p->version, &buf, &len, err) != 0)
		return -1;
	crypto_hash_sha256(digest, (const unsigned char *)buf, len);
	sodium_bin2hex(p->sha256, sizeof(p->sha256), digest, sizeof(digest));
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (doc == NULL)
		return fail(err, "%s/%08u/v%u/" OD_MANIFEST ": not JSON", dir, (unsigned)p->date, (unsigned)p->version);
	copy_created(doc, p->created);
	copy_previous(doc, p->previous);
	cJSON_Delete(doc);
	return 0;
}

static int push(struct kp_published_list *l, const struct kp_published *p, char err[KP_PUBLISH_ERR_SIZE])
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct kp_published *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return fail(err, "out of memory listing the packages");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

/* Every vN of one date folder holding a manifest. */
static int scan_date(const char *dir, uint32_t date, struct kp_published_list *out, char err[KP_PUBLISH_ERR_SIZE])
{
	char path[PATH_SIZE];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	say(path, sizeof(path), "%s/%08u", dir, (unsigned)date);
	d = opendir(path);
	if (d == NULL)
		return fail(err, "%s: %s", path, strerror(errno));
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		struct kp_published p = { .date = date };
		char manifest[PATH_SIZE];

		if (!od_package_version_name(e->d_name, &p.version))
			continue;
		say(manifest, sizeof(manifest), "%s/%s/" OD_MANIFEST, path, e->d_name);
		if (access(manifest, F_OK) != 0)
			continue;
		rc = read_package(dir, &p, err) == 0 ? push(out, &p, err) : -1;
	}
	if (rc == 0 && errno != 0)
		rc = fail(err, "%s: %s", path, strerror(errno));
	closedir(d);
	return rc;
}

static int by_date_version(const void *a, const void *b);

int kp_published_add(const char *dir, uint32_t date, uint32_t version, struct kp_published_list *l,
                     char err[KP_PUBLISH_ERR_SIZE])
{
	struct kp_published p = { .date = date, .version = version };

	if (read_package(dir, &p, err) != 0 || push(l, &p, err) != 0)
		return -1;
	if (l->n > 1 && by_date_version(&l->v[l->n - 2], &l->v[l->n - 1]) > 0)
		qsort(l->v, l->n, sizeof(l->v[0]), by_date_version);
	return 0;
}

static int by_date_version(const void *a, const void *b)
{
	const struct kp_published *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->version < y->version ? -1 : x->version > y->version;
}

int kp_published_scan(const char *dir, struct kp_published_list *out, char err[KP_PUBLISH_ERR_SIZE])
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return fail(err, "%s: %s", dir, strerror(errno));
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		uint32_t date;

		if (od_package_date_name(e->d_name, &date))
			rc = scan_date(dir, date, out, err);
	}
	if (rc == 0 && errno != 0)
		rc = fail(err, "%s: %s", dir, strerror(errno));
	closedir(d);
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), by_date_version);
	return rc;
}

uint32_t kp_published_last_version(const struct kp_published_list *l, uint32_t date)
{
	uint32_t last = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].date == date && l->v[i].version > last)
			last = l->v[i].version;
	return last;
}

static int named_as_previous(const struct kp_published_list *l, const char *sha256)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].previous, sha256) == 0)
			return 1;
	return 0;
}

const struct kp_published *kp_published_tip(const struct kp_published_list *l)
{
	const struct kp_published *tip = NULL;

	for (size_t i = 0; i < l->n; i++) {
		if (named_as_previous(l, l->v[i].sha256))
			continue;
		if (tip == NULL || strcmp(l->v[i].created, tip->created) >= 0)
			tip = &l->v[i];
	}
	return tip;
}

/* ------------------------------------------------------------- index */

static cJSON *version_json(const struct kp_published *p)
{
	cJSON *v = cJSON_CreateObject();
	char name[16], path[32];

	snprintf(name, sizeof(name), "v%u", (unsigned)p->version);
	say(path, sizeof(path), "%08u/v%u/", (unsigned)p->date, (unsigned)p->version);
	if (v == NULL || !cJSON_AddStringToObject(v, "version", name) || !cJSON_AddStringToObject(v, "path", path) ||
	    !cJSON_AddStringToObject(v, "created", p->created) ||
	    !cJSON_AddStringToObject(v, "manifest_sha256", p->sha256) ||
	    !(p->previous[0] ? cJSON_AddStringToObject(v, "previous_manifest_sha256", p->previous)
	                     : cJSON_AddNullToObject(v, "previous_manifest_sha256"))) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* Adds l->v[*i] and the versions after it of the same date; *i moves past them. */
static int add_date(cJSON *dates, const struct kp_published_list *l, size_t *i)
{
	cJSON *d = cJSON_CreateObject(), *versions;
	uint32_t date = l->v[*i].date;
	char text[11], dir[16], latest[16];

	st_date_format(date, text);
	snprintf(dir, sizeof(dir), "%08u", (unsigned)date);
	snprintf(latest, sizeof(latest), "v%u", (unsigned)kp_published_last_version(l, date));
	if (d == NULL || !cJSON_AddItemToArray(dates, d))
		return cJSON_Delete(d), -1;
	if (!cJSON_AddStringToObject(d, "date", text) || !cJSON_AddStringToObject(d, "dir", dir) ||
	    !cJSON_AddStringToObject(d, "latest", latest) || (versions = cJSON_AddArrayToObject(d, "versions")) == NULL)
		return -1;
	for (; *i < l->n && l->v[*i].date == date; (*i)++) {
		cJSON *v = version_json(&l->v[*i]);

		if (v == NULL || !cJSON_AddItemToArray(versions, v))
			return cJSON_Delete(v), -1;
	}
	return 0;
}

static char *index_json(const struct kp_published_list *l)
{
	const struct kp_published *tip = kp_published_tip(l);
	cJSON *doc = cJSON_CreateObject(), *dates, *latest;
	char *text = NULL;

	if (doc == NULL || (dates = cJSON_AddArrayToObject(doc, "dates")) == NULL)
		goto out;
	for (size_t i = 0; i < l->n;)
		if (add_date(dates, l, &i) != 0)
			goto out;
	latest = tip ? version_json(tip) : cJSON_CreateNull();
	if (latest == NULL)
		goto out;
	if (tip != NULL) {
		char date[11];

		st_date_format(tip->date, date);
		if (!cJSON_AddStringToObject(latest, "date", date)) {
			cJSON_Delete(latest);
			goto out;
		}
	}
	if (!cJSON_AddItemToObject(doc, "latest", latest)) {
		cJSON_Delete(latest);
		goto out;
	}
	text = cJSON_Print(doc);
out:
	cJSON_Delete(doc);
	return text;
}

/* Every value written comes from the folder's names and checked manifest
 * fields (digits, hex, the created form), so nothing needs escaping. */
static char *index_html(const struct kp_published_list *l, size_t *len)
{
	const struct kp_published *tip = kp_published_tip(l);
	char *out = NULL, date[11];
	FILE *f = open_memstream(&out, len);

	if (f == NULL)
		return NULL;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
	      "<title>Open data: public transport ridership</title></head>\n<body>\n"
	      "<h1>Open data: public transport ridership</h1>\n"
	      "<p>One package per service date, published once the date is closed; a date that late taps changed "
	      "has a new version, and versions are never edited. Each package names the manifest of the package "
	      "published before it. Machine-readable: <a href=\"index.json\">index.json</a>.</p>\n"
	      "<p>To verify a package, download its files into a folder and run there:</p>\n"
	      "<pre>sha256sum -c " OD_SUMS "\nminisign -Vm " OD_MANIFEST " -p " OD_PUBKEY "</pre>\n", f);
	if (tip != NULL) {
		st_date_format(tip->date, date);
		fprintf(f, "<p>Latest: <a href=\"%08u/v%u/" OD_MANIFEST "\">%s v%u</a></p>\n", (unsigned)tip->date,
		        (unsigned)tip->version, date, (unsigned)tip->version);
	} else {
		fputs("<p>Nothing is published yet.</p>\n", f);
	}
	fputs("<table>\n<tr><th>Service date</th><th>Version</th><th>Created</th><th>Files</th>"
	      "<th>Manifest SHA-256</th></tr>\n", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct kp_published *p = &l->v[i];

		st_date_format(p->date, date);
		fprintf(f, "<tr><td>%s</td><td>v%u</td><td>%s</td><td><a href=\"%08u/v%u/" OD_MANIFEST "\">" OD_MANIFEST
		           "</a> <a href=\"%08u/v%u/" OD_SUMS "\">" OD_SUMS "</a></td><td><code>%s</code></td></tr>\n",
		        date, (unsigned)p->version, p->created, (unsigned)p->date, (unsigned)p->version,
		        (unsigned)p->date, (unsigned)p->version, p->sha256);
	}
	fputs("</table>\n</body>\n</html>\n", f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int sync_dir(const char *dir, char err[KP_PUBLISH_ERR_SIZE])
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return fail(err, "%s: %s", dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? 0 : fail(err, "syncing %s: %s", dir, strerror(errno));
}

/* Writes name through name.tmp and a rename: a reader sees the old file or
 * the new one, never a part. */
static int replace_file(const char *dir, const char *name, const char *buf, size_t len,
                        char err[KP_PUBLISH_ERR_SIZE])
{
	char tmp[PATH_SIZE], path[PATH_SIZE];
	int fd;

	say(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	say(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(err, "%s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return fail(err, "writing %s: %s", tmp, strerror(errno));
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return fail(err, "syncing %s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		return fail(err, "renaming %s to %s: %s", tmp, path, strerror(errno));
	return sync_dir(dir, err);
}

int kp_published_write_index(const char *dir, const struct kp_published_list *l, char err[KP_PUBLISH_ERR_SIZE])
{
	size_t html_len = 0;
	char *json = index_json(l), *html = index_html(l, &html_len);
	int rc;

	if (json == NULL || html == NULL)
		rc = fail(err, "out of memory building the index");
	else
		rc = replace_file(dir, "index.json", json, strlen(json), err) == 0 &&
		             replace_file(dir, "index.html", html, html_len, err) == 0
		             ? 0
		             : -1;
	cJSON_free(json);
	free(html);
	return rc;
}
