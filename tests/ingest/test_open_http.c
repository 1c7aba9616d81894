/*
 * Description: /open/ answered by kp_open_respond alone, the body drained
 * the way the loop drains it (piece by piece): every file byte-identical
 * to the one on disk, its content type and caching; HEAD without a body;
 * 404 with a JSON error for every path that is not a published file
 * (`..`, `%2e%2e`, absolute paths, symbolic links, hidden and unknown
 * names).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/open_http.h"

static char root[64];
static struct kp_metrics metrics;
static struct kp_http_ctx ctx;

/* A CSV larger than one piece, so that draining takes several reads. */
#define BIG_ROWS 3000

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
	char path[256], line[64], *big = NULL;
	size_t len = 0;
	FILE *m;

	snprintf(root, sizeof(root), "/tmp/kp-open-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	kp_metrics_init(&metrics);
	ctx = (struct kp_http_ctx){ .m = &metrics, .open_dir = root };
	sub("20240615");
	sub("20240615/v1");
	put("index.json", "{\"dates\":[]}\n");
	put("index.html", "<!DOCTYPE html><title>open</title>\n");
	put("20240615/v1/datapackage.json", "{\"name\":\"x\"}\n");
	put("20240615/v1/SHA256SUMS", "00  a.csv\n");
	put("20240615/v1/datapackage.json.minisig", "untrusted comment: x\n");
	put("20240615/v1/minisign.pub", "untrusted comment: key\n");
	put("20240615/v1/.hidden", "secret\n");
	m = open_memstream(&big, &len);
	cr_assert_not_null(m);
	fputs("service_date,route_id,accepted\r\n", m);
	for (int i = 0; i < BIG_ROWS; i++) {
		snprintf(line, sizeof(line), "2024-06-15,%d,%d\r\n", i, 10 + i);
		fputs(line, m);
	}
	cr_assert_eq(fclose(m), 0);
	put("20240615/v1/ridership_route_day.csv", big);
	free(big);
	put("secret.txt", "outside the packages\n");
	snprintf(path, sizeof(path), "%s/20240615/v1/passwd.csv", root);
	cr_assert_eq(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/20240615/v2", root);
	cr_assert_eq(symlink("v1", path), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(open_http, .init = setup, .fini = teardown);

struct answer {
	char *head;
	char *body;
	size_t body_len;
	int has_body;
};

/* Drains b in pieces of at most cap bytes, as the loop does. */
static void drain(struct kp_http_body *b, size_t cap, struct answer *a)
{
	char piece[4096];
	ssize_t n;

	cr_assert_leq(cap, sizeof(piece));
	a->body = NULL;
	a->body_len = 0;
	while ((n = b->read(b, piece, cap)) > 0) {
		cr_assert_leq((size_t)n, cap);
		a->body = realloc(a->body, a->body_len + (size_t)n + 1);
		cr_assert_not_null(a->body);
		memcpy(a->body + a->body_len, piece, (size_t)n);
		a->body_len += (size_t)n;
	}
	cr_assert_eq(n, 0, "the body failed after %zu bytes", a->body_len);
	if (a->body)
		a->body[a->body_len] = '\0';
}

static void ask(const char *method, const char *url, const char *extra_headers, struct answer *a)
{
	struct kp_http_request req;
	struct kp_http_response out;
	char text[1024];

	snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, url,
	         extra_headers ? extra_headers : "");
	kp_http_request_init(&req);
	cr_assert_eq(kp_http_feed(&req, text, strlen(text)), 1);
	cr_assert_eq(req.status, 0, "the request does not parse: %s", url);
	cr_assert_eq(kp_open_respond(&ctx, &req, strcmp(method, "HEAD") == 0, &out), 0);
	cr_assert_not_null(out.head);
	memset(a, 0, sizeof(*a));
	a->head = strndup(out.head, out.len);
	a->has_body = out.body != NULL;
	if (out.body)
		drain(out.body, 777, a);
	kp_http_response_free(&out);
}

static void answer_free(struct answer *a)
{
	free(a->head);
	free(a->body);
}

static char *slurp(const char *rel, size_t *len)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void expect_file(const char *url, const char *rel, const char *type, int immutable)
{
	struct answer a;
	size_t len;
	char *disk = slurp(rel, &len), header[128];

	ask("GET", url, NULL, &a);
	cr_expect(strncmp(a.head, "HTTP/1.1 200 ", 13) == 0, "%s: %s", url, a.head);
	snprintf(header, sizeof(header), "Content-Type: %s\r\n", type);
	cr_expect_not_null(strstr(a.head, header), "%s: %s", url, a.head);
	snprintf(header, sizeof(header), "Content-Length: %zu\r\n", len);
	cr_expect_not_null(strstr(a.head, header), "%s: %s", url, a.head);
	cr_expect_not_null(strstr(a.head, immutable ? "Cache-Control: public, max-age=31536000, immutable\r\n"
	                                            : "Cache-Control: no-cache\r\n"),
	                   "%s: %s", url, a.head);
	cr_expect_eq(strstr(a.head, "ETag: ") != NULL, immutable, "%s: %s", url, a.head);
	cr_assert_eq(a.body_len, len, "%s", url);
	cr_expect_eq(memcmp(a.body, disk, len), 0, "%s is not the file's bytes", url);
	free(disk);
	answer_free(&a);
}

static void expect_404(const char *method, const char *url)
{
	struct answer a;

	ask(method, url, NULL, &a);
	cr_expect(strncmp(a.head, "HTTP/1.1 404 ", 13) == 0, "%s: %s", url, a.head);
	cr_expect_not_null(strstr(a.head, "application/json"), "%s: %s", url, a.head);
	if (strcmp(method, "GET") == 0)
		cr_expect_not_null(strstr(a.head, "{\"error\":"), "%s: %s", url, a.head);
	else
		cr_expect_null(strstr(a.head, "{\"error\":"), "HEAD has no body: %s", a.head);
	cr_expect_not(a.has_body);
	cr_expect_null(strstr(a.head, "outside the packages"));
	cr_expect_null(strstr(a.head, "root:"));
	answer_free(&a);
}

Test(open_http, every_file_is_served_byte_identical_with_its_type)
{
	expect_file("/open/", "index.html", "text/html; charset=utf-8", 0);
	expect_file("/open/index.html", "index.html", "text/html; charset=utf-8", 0);
	expect_file("/open/index.json", "index.json", "application/json", 0);
	expect_file("/open/20240615/v1/ridership_route_day.csv", "20240615/v1/ridership_route_day.csv",
	            "text/csv; charset=utf-8", 1);
	expect_file("/open/20240615/v1/datapackage.json", "20240615/v1/datapackage.json", "application/json", 1);
	expect_file("/open/20240615/v1/SHA256SUMS", "20240615/v1/SHA256SUMS", "text/plain; charset=utf-8", 1);
	expect_file("/open/20240615/v1/datapackage.json.minisig", "20240615/v1/datapackage.json.minisig",
	            "text/plain; charset=utf-8", 1);
	expect_file("/open/20240615/v1/minisign.pub", "20240615/v1/minisign.pub", "text/plain; charset=utf-8", 1);
}

Test(open_http, a_query_string_is_ignored)
{
	expect_file("/open/index.json?t=1", "index.json", "application/json", 0);
}

Test(open_http, head_has_the_length_and_no_body)
{
	struct answer a;
	size_t len;
	char *disk = slurp("20240615/v1/ridership_route_day.csv", &len), header[64];

	ask("HEAD", "/open/20240615/v1/ridership_route_day.csv", NULL, &a);
	cr_expect(strncmp(a.head, "HTTP/1.1 200 ", 13) == 0, "%s", a.head);
	snprintf(header, sizeof(header), "Content-Length: %zu\r\n", len);
	cr_expect_not_null(strstr(a.head, header), "%s", a.head);
	cr_expect_not(a.has_body);
	cr_expect(len > 0);
	free(disk);
	answer_free(&a);
}

Test(open_http, a_matching_etag_is_answered_304_without_a_body)
{
	struct answer a, b;
	char etag[160];
	const char *at, *end;

	ask("GET", "/open/20240615/v1/SHA256SUMS", NULL, &a);
	at = strstr(a.head, "ETag: ");
	cr_assert_not_null(at);
	end = strstr(at, "\r\n");
	snprintf(etag, sizeof(etag), "If-None-Match: %.*s\r\n", (int)(end - at - 6), at + 6);
	ask("GET", "/open/20240615/v1/SHA256SUMS", etag, &b);
	cr_expect(strncmp(b.head, "HTTP/1.1 304 ", 13) == 0, "%s", b.head);
	cr_expect_not(b.has_body);
	answer_free(&a);
	answer_free(&b);
}

Test(open_http, no_path_leaves_the_published_files)
{
	expect_404("GET", "/open/../secret.txt");
	expect_404("GET", "/open/20240615/v1/../../secret.txt");
	expect_404("GET", "/open/20240615/../../secret.txt");
	expect_404("GET", "/open/%2e%2e/secret.txt");
	expect_404("GET", "/open/20240615/v1/%2e%2e%2f%2e%2e%2fsecret.txt");
	expect_404("GET", "/open/20240615/v1/..%2f..%2fsecret.txt");
	expect_404("GET", "/open//etc/passwd");
	expect_404("GET", "/open/20240615/v1//etc/passwd");
	expect_404("GET", "/etc/passwd");
	expect_404("GET", "/open/secret.txt");
	expect_404("GET", "/open/20240615/v1/.hidden");
	expect_404("GET", "/open/20240615/v1/passwd.csv");  /* a symbolic link to /etc/passwd */
	expect_404("GET", "/open/20240615/v2/SHA256SUMS");  /* a version that is a link */
	expect_404("GET", "/open/20240615/v1");
	expect_404("GET", "/open/20240615/v1/");
	expect_404("GET", "/open/20240615/v01/SHA256SUMS");
	expect_404("GET", "/open/2024061/v1/SHA256SUMS");
	expect_404("GET", "/open/20241332/v1/SHA256SUMS");
	expect_404("GET", "/open/20240615/v1/nothing.csv");
	expect_404("GET", "/open/20240615/v1/SHA256SUMS/x");
	expect_404("HEAD", "/open/20240615/v1/passwd.csv");
}

Test(open_http, nothing_is_served_without_a_publish_folder)
{
	ctx.open_dir = NULL;
	expect_404("GET", "/open/");
	expect_404("GET", "/open/index.json");
}
