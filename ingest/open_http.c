/*
 * open_http.c — see open_http.h. The URL's path comes from http-parser's
 * URL parser; the path is then matched against the only shapes a
 * published file has, and every name is opened relative to the folder
 * before it, so neither "..", nor an absolute path, nor a symbolic link
 * put in the folder can reach anything else.
 */
#include "ingest/open_http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/api.h"
#include "ingest/file_body.h"
#include "ingest/publish_index.h"
#include "ingest/publish_stage.h"
#include "opendata/package.h"

#define OPEN_PREFIX "/open/"
#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* What a path names: an index file, or a package's file. */
struct open_target {
	int versioned;
	char date[9], version[12], file[KP_OPEN_FILE_NAME_MAX + 1];
	int64_t size;
};

static int not_found(const char *msg, int head_only, struct kp_http_response *out)
{
	out->head = kp_api_error(404, msg, NULL, head_only, &out->len);
	return out->head ? 0 : -1;
}

static int file_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > KP_OPEN_FILE_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Splits "DATE/vN/FILE" (rest of the path after /open/) into t. */
static int parse_versioned(const char *rest, size_t len, struct open_target *t)
{
	const char *slash1 = memchr(rest, '/', len), *slash2;
	uint32_t number;

	if (slash1 == NULL || (slash2 = memchr(slash1 + 1, '/', len - (size_t)(slash1 + 1 - rest))) == NULL)
		return 0;
	size_t dlen = (size_t)(slash1 - rest), vlen = (size_t)(slash2 - slash1 - 1), flen = len - (size_t)(slash2 + 1 - rest);

	if (dlen != 8 || vlen == 0 || vlen >= sizeof(t->version) || !file_name_ok(slash2 + 1, flen))
		return 0;
	memcpy(t->date, rest, dlen);
	t->date[dlen] = '\0';
	memcpy(t->version, slash1 + 1, vlen);
	t->version[vlen] = '\0';
	memcpy(t->file, slash2 + 1, flen);
	t->file[flen] = '\0';
	t->versioned = 1;
	return od_package_date_name(t->date, &number) && od_package_version_name(t->version, &number);
}

/* The target of a URL, from its path alone (the query is ignored). */
static int parse_target(const struct kp_http_request *req, struct open_target *t)
{
	struct http_parser_url u;
	const char *path, *rest;
	size_t len, plen = strlen(OPEN_PREFIX);

	memset(t, 0, sizeof(*t));
	http_parser_url_init(&u);
	if (http_parser_parse_url(req->url, req->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
		return 0;
	path = req->url + u.field_data[UF_PATH].off;
	len = u.field_data[UF_PATH].len;
	if (len < plen || memcmp(path, OPEN_PREFIX, plen) != 0)
		return 0;
	rest = path + plen;
	len -= plen;
	if (len == 0 || (len == strlen(KP_PUBLISH_INDEX_HTML) && memcmp(rest, KP_PUBLISH_INDEX_HTML, len) == 0)) {
		snprintf(t->file, sizeof(t->file), KP_PUBLISH_INDEX_HTML);
		return 1;
	}
	if (len == strlen(KP_PUBLISH_INDEX_JSON) && memcmp(rest, KP_PUBLISH_INDEX_JSON, len) == 0) {
		snprintf(t->file, sizeof(t->file), KP_PUBLISH_INDEX_JSON);
		return 1;
	}
	return parse_versioned(rest, len, t);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static const char *content_type(const char *name)
{
	if (ends_with(name, ".csv"))
		return "text/csv; charset=utf-8";
	if (ends_with(name, ".json"))
		return "application/json";
	if (ends_with(name, ".html"))
		return "text/html; charset=utf-8";
	if (strcmp(name, "SHA256SUMS") == 0 || ends_with(name, ".minisig") || ends_with(name, ".pub"))
		return "text/plain; charset=utf-8";
	return "application/octet-stream";
}

/* Opens dir/name as a directory, never through a symbolic link. */
static int open_dir_at(int at, const char *name)
{
	int fd = openat(at, name, DIR_FLAGS);

	close(at);
	return fd;
}

/* The open file t names, or -1 (missing, a link, not a regular file). */
static int open_target(const char *root, struct open_target *t)
{
	struct stat st;
	int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (dir >= 0 && t->versioned)
		dir = open_dir_at(open_dir_at(dir, t->date), t->version);
	if (dir < 0)
		return -1;
	fd = openat(dir, t->file, OPEN_FLAGS);
	close(dir);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	t->size = (int64_t)st.st_size;
	return fd;
}

static int etag_matches(const struct kp_http_request *req, const char *etag)
{
	return req->if_none_match.present && !req->if_none_match.overflow &&
	       strstr(req->if_none_match.v, etag) != NULL;
}

static int answer_file(const struct kp_http_request *req, const struct open_target *t, int fd, int head_only,
                       struct kp_http_response *out)
{
	char etag[64], extra[96];
	int status = 200;

	extra[0] = '\0';
	if (t->versioned) {
		snprintf(etag, sizeof(etag), "\"%s-%s-%" PRId64 "\"", t->date, t->version, t->size);
		snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
		if (etag_matches(req, etag))
			status = 304;
	}
	out->head = kp_http_head(status, content_type(t->file), t->versioned ? KP_OPEN_IMMUTABLE : "no-cache", extra,
	                         t->size, &out->len);
	if (out->head == NULL)
		goto err;
	if (head_only || status == 304 || t->size == 0) {
		close(fd);
		return 0;
	}
	out->body = kp_file_body_new(fd, t->size);
	if (out->body == NULL)
		goto err;
	return 0;
err:
	close(fd);
	free(out->head);
	out->head = NULL;
	return -1;
}

int kp_open_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                    struct kp_http_response *out)
{
	struct open_target t;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!parse_target(req, &t))
		return not_found("no such open-data file; the index is /open/ and /open/index.json", head_only, out);
	if (ctx->open_dir == NULL)
		return not_found("open data is not published here", head_only, out);
	fd = open_target(ctx->open_dir, &t);
	if (fd < 0)
		return not_found(t.versioned ? "no such package or file" : "nothing published yet", head_only, out);
	return answer_file(req, &t, fd, head_only, out);
}
