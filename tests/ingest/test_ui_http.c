/*
 * Description: /ui/ through the router (kp_http_respond), the body drained
 * as the loop drains it: each page, script and style byte-identical to
 * the file, with its content type and caching (HTML no-cache, the rest a
 * short max-age), an ETag and 304 for it; uPlot from
 * node_modules/uplot/dist/; HEAD without a body; 404 JSON for every other
 * path (`..`, `%2e%2e`, a file of the folder not in the table, symbolic
 * links to a page or to the vendor folder) and when no folder is set;
 * kp_ui_dir_usable names the missing uPlot.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/http.h"
#include "ingest/ui_http.h"

static char root[64];
static struct kp_metrics metrics;
static struct kp_http_ctx ctx;

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static void sub(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

static void setup(void)
{
	static const char *const names[] = { "public.html", "operator.html", "style.css", "i18n.js",
		                             "common.js", "operator.js", "live.js", "public.js" };
	char text[64];

	snprintf(root, sizeof(root), "/tmp/kp-ui-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	kp_metrics_init(&metrics);
	ctx = (struct kp_http_ctx){ .m = &metrics, .ui_dir = root };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text), "the file %s\n", names[i]);
		put(names[i], text);
	}
	sub("node_modules");
	sub("node_modules/uplot");
	sub("node_modules/uplot/dist");
	put("node_modules/uplot/dist/uPlot.iife.min.js", "var uPlot=1;\n");
	put("node_modules/uplot/dist/uPlot.min.css", ".uplot{}\n");
	put("secret.txt", "not a page\n");
	put("package.json", "{}\n");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(ui_http, .init = setup, .fini = teardown);

struct answer {
	int status;
	char *head, *body;
	int has_body;
};

static void ask(const char *method, const char *url, const char *extra_headers, struct answer *a)
{
	struct kp_http_request req;
	struct kp_http_response out;
	char text[1024], piece[512];
	size_t len = 0;
	ssize_t n;
	FILE *f;

	snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, url,
	         extra_headers ? extra_headers : "");
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, text, strlen(text)), 1);
	cr_assert_eq(kp_http_respond(&ctx, &req, &out), 0);
	memset(a, 0, sizeof(*a));
	a->head = strndup(out.head, out.len);
	cr_assert_eq(sscanf(a->head, "HTTP/1.1 %d", &a->status), 1);
	a->has_body = out.body != NULL;
	f = open_memstream(&a->body, &len);
	cr_assert_not_null(f);
	while (out.body && (n = out.body->read(out.body, piece, 5)) > 0)
		fwrite(piece, 1, (size_t)n, f);
	cr_assert_eq(fclose(f), 0);
	kp_http_response_free(&out);
}

static void answer_free(struct answer *a)
{
	free(a->head);
	free(a->body);
}

static int has_header(const struct answer *a, const char *line)
{
	return strstr(a->head, line) != NULL;
}

static void expect_file(const char *url, const char *text, const char *type, const char *cache)
{
	struct answer a;
	char line[128];

	ask("GET", url, NULL, &a);
	cr_expect_eq(a.status, 200, "%s: %s", url, a.head);
	cr_expect_str_eq(a.body, text, "%s", url);
	snprintf(line, sizeof(line), "\r\nContent-Type: %s\r\n", type);
	cr_expect(has_header(&a, line), "%s: %s", url, a.head);
	snprintf(line, sizeof(line), "\r\nCache-Control: %s\r\n", cache);
	cr_expect(has_header(&a, line), "%s: %s", url, a.head);
	cr_expect(has_header(&a, "\r\nX-Content-Type-Options: nosniff\r\n"));
	answer_free(&a);
}

Test(ui_http, each_file_with_its_type_and_caching)
{
	expect_file("/ui/", "the file public.html\n", "text/html; charset=utf-8", "no-cache");
	expect_file("/ui/public.html", "the file public.html\n", "text/html; charset=utf-8", "no-cache");
	expect_file("/ui/operator.html?x=1", "the file operator.html\n", "text/html; charset=utf-8", "no-cache");
	expect_file("/ui/style.css", "the file style.css\n", "text/css; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/i18n.js", "the file i18n.js\n", "text/javascript; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/common.js", "the file common.js\n", "text/javascript; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/operator.js", "the file operator.js\n", "text/javascript; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/live.js", "the file live.js\n", "text/javascript; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/public.js", "the file public.js\n", "text/javascript; charset=utf-8", KP_UI_ASSET_CACHE);
	expect_file("/ui/vendor/uPlot.iife.min.js", "var uPlot=1;\n", "text/javascript; charset=utf-8",
	            KP_UI_ASSET_CACHE);
	expect_file("/ui/vendor/uPlot.min.css", ".uplot{}\n", "text/css; charset=utf-8", KP_UI_ASSET_CACHE);
}

Test(ui_http, etag_gives_304_and_head_no_body)
{
	struct answer a, b;
	char *etag, *end, header[160];

	ask("GET", "/ui/style.css", NULL, &a);
	etag = strstr(a.head, "\r\nETag: ");
	cr_assert_not_null(etag);
	etag += 8;
	end = strstr(etag, "\r\n");
	snprintf(header, sizeof(header), "If-None-Match: %.*s\r\n", (int)(end - etag), etag);
	ask("GET", "/ui/style.css", header, &b);
	cr_expect_eq(b.status, 304);
	cr_expect_not(b.has_body);
	answer_free(&b);
	ask("HEAD", "/ui/operator.html", NULL, &b);
	cr_expect_eq(b.status, 200);
	cr_expect_not(b.has_body);
	cr_expect(has_header(&b, "\r\nContent-Length: 23\r\n"), "%s", b.head);
	answer_free(&b);
	answer_free(&a);
}

static void expect_404(const char *url)
{
	struct answer a;

	ask("GET", url, NULL, &a);
	cr_expect_eq(a.status, 404, "%s: %s", url, a.head);
	cr_expect(has_header(&a, "\r\nContent-Type: application/json\r\n"), "%s: %s", url, a.head);
	cr_expect_not_null(strstr(a.head, "\r\n\r\n{\"error\""), "%s: %s", url, a.head); /* a whole answer */
	answer_free(&a);
}

Test(ui_http, nothing_outside_the_table)
{
	char path[512];

	expect_404("/ui");
	expect_404("/ui/secret.txt");
	expect_404("/ui/package.json");
	expect_404("/ui/../secret.txt");
	expect_404("/ui/%2e%2e/secret.txt");
	expect_404("/ui/vendor/../operator.html");
	expect_404("/ui/vendor/uPlot.js");
	expect_404("/ui/node_modules/uplot/dist/uPlot.min.css");
	expect_404("/ui//operator.html");
	/* A page replaced by a link, and uPlot's folder reached through one. */
	snprintf(path, sizeof(path), "%s/operator.html", root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("secret.txt", path), 0);
	expect_404("/ui/operator.html");
	snprintf(path, sizeof(path), "mv %s/node_modules/uplot %s/uplot-real && ln -s ../uplot-real %s/node_modules/uplot",
	         root, root, root);
	cr_assert_eq(system(path), 0);
	expect_404("/ui/vendor/uPlot.min.css");
	ctx.ui_dir = NULL;
	expect_404("/ui/public.html");
}

Test(ui_http, usable_names_what_is_missing)
{
	char why[512], path[256];

	cr_expect_eq(kp_ui_dir_usable(root, why, sizeof(why)), 0, "%s", why);
	snprintf(path, sizeof(path), "%s/node_modules/uplot/dist/uPlot.iife.min.js", root);
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(kp_ui_dir_usable(root, why, sizeof(why)), -1);
	cr_expect_not_null(strstr(why, "uPlot.iife.min.js"), "%s", why);
	cr_expect_not_null(strstr(why, "npm ci"), "%s", why);
}
