/*
 * ui_http.c — see ui_http.h. The URL's path (http-parser's URL parser)
 * must equal one entry of the table below; the entry says which folder
 * below ui_dir holds the file, by fixed names opened one by one.
 */
#include "ingest/ui_http.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/api.h"
#include "ingest/file_body.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC)

#define HTML "text/html; charset=utf-8"
#define JS "text/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"

/* Where npm ci puts uPlot's built files, below ui_dir. */
static const char *const vendor_dirs[] = { "node_modules", "uplot", "dist", NULL };
static const char *const no_dirs[] = { NULL };

struct ui_file {
	const char *path; /* the URL's path */
	const char *name; /* the file's name in its folder */
	const char *const *dirs;
	const char *type;
};

static const struct ui_file files[] = {
	{ "/ui/", "public.html", no_dirs, HTML },
	{ "/ui/public.html", "public.html", no_dirs, HTML },
	{ "/ui/operator.html", "operator.html", no_dirs, HTML },
	{ "/ui/style.css", "style.css", no_dirs, CSS },
	{ "/ui/i18n.js", "i18n.js", no_dirs, JS },
	{ "/ui/common.js", "common.js", no_dirs, JS },
	{ "/ui/operator.js", "operator.js", no_dirs, JS },
	{ "/ui/live.js", "live.js", no_dirs, JS },
	{ "/ui/public.js", "public.js", no_dirs, JS },
	{ "/ui/vendor/uPlot.iife.min.js", "uPlot.iife.min.js", vendor_dirs, JS },
	{ "/ui/vendor/uPlot.min.css", "uPlot.min.css", vendor_dirs, CSS },
};

static int not_found(const char *msg, int head_only, struct kp_http_response *out)
{
	out->head = kp_api_error(404, msg, NULL, head_only, &out->len);
	return out->head ? 0 : -1;
}

static const struct ui_file *lookup(const struct kp_http_request *req)
{
	struct http_parser_url u;
	const char *path;
	size_t len;

	http_parser_url_init(&u);
	if (http_parser_parse_url(req->url, req->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
		return NULL;
	path = req->url + u.field_data[UF_PATH].off;
	len = u.field_data[UF_PATH].len;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strlen(files[i].path) == len && memcmp(files[i].path, path, len) == 0)
			return &files[i];
	return NULL;
}

/* The open regular file f names below root (st filled), or -1. */
static int open_file(const char *root, const struct ui_file *f, struct stat *st)
{
	int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	for (const char *const *d = f->dirs; dir >= 0 && *d != NULL; d++) {
		int next = openat(dir, *d, DIR_FLAGS);

		close(dir);
		dir = next;
	}
	if (dir < 0)
		return -1;
	fd = openat(dir, f->name, FILE_FLAGS);
	close(dir);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int etag_matches(const struct kp_http_request *req, const char *etag)
{
	return req->if_none_match.present && !req->if_none_match.overflow &&
	       strstr(req->if_none_match.v, etag) != NULL;
}

static int answer_file(const struct kp_http_request *req, const struct ui_file *f, int fd, const struct stat *st,
                       int head_only, struct kp_http_response *out)
{
	char etag[80], extra[160];
	int status, is_html = strcmp(f->type, HTML) == 0;

	snprintf(etag, sizeof(etag), "\"%" PRId64 "-%" PRId64 "-%ld\"", (int64_t)st->st_size,
	         (int64_t)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
	snprintf(extra, sizeof(extra), "ETag: %s\r\nX-Content-Type-Options: nosniff\r\n", etag);
	status = etag_matches(req, etag) ? 304 : 200;
	out->head = kp_http_head(status, f->type, is_html ? "no-cache" : KP_UI_ASSET_CACHE, extra,
	                         (int64_t)st->st_size, &out->len);
	if (out->head == NULL) {
		close(fd);
		return -1;
	}
	if (head_only || status == 304 || st->st_size == 0) {
		close(fd);
		return 0;
	}
	out->body = kp_file_body_new(fd, (int64_t)st->st_size);
	if (out->body == NULL) {
		close(fd);
		kp_http_response_free(out);
		return -1;
	}
	return 0;
}

int kp_ui_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                  struct kp_http_response *out)
{
	const struct ui_file *f;
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	f = lookup(req);
	if (f == NULL)
		return not_found("no such page; try /ui/operator.html or /ui/public.html", head_only, out);
	if (ctx->ui_dir == NULL)
		return not_found("the dashboards are not served here", head_only, out);
	fd = open_file(ctx->ui_dir, f, &st);
	if (fd < 0)
		return not_found("this dashboard file is not installed ([http] ui_dir)", head_only, out);
	return answer_file(req, f, fd, &st, head_only, out);
}

int kp_ui_dir_usable(const char *dir, char *why, size_t size)
{
	struct stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = open_file(dir, &files[i], &st);

		if (fd < 0) {
			int vendor = files[i].dirs == vendor_dirs;

			snprintf(why, size, "%s/%s%s is missing or not a regular file%s", dir,
			         vendor ? "node_modules/uplot/dist/" : "", files[i].name,
			         vendor ? " (scripts/setup.sh runs npm ci in web/)" : "");
			return -1;
		}
		close(fd);
	}
	return 0;
}
