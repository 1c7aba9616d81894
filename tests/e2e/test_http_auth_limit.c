/*
 * Description: a burst of requests with wrong bearer tokens from one
 * address is answered 401 up to the limit, then 429 with Retry-After, even
 * for the right token, while the right token from another address is
 * answered 200 and a wrong one from it is a plain 401; /metrics counts the
 * wrong tokens and the throttled requests. The 429's status line says
 * "Too Many Requests".
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/auth_limit.h"
#include "tests/e2e/harness.h"

static struct kp_broker broker;
static struct kp_daemon_proc d;

struct reply {
	int status;
	int retry_after; /* -1: no Retry-After header */
	char status_line[64];
};

/* GET path from the loopback address `from` (127.0.0.x) with token. */
static void get_from(const char *from, const char *path, const char *token, struct reply *r)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	char req[512], buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof src), 0, "bind %s", from);
	dst.sin_port = htons((uint16_t)d.http_port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
	int len = snprintf(req, sizeof req,
	                   "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
	                   path, token);
	cr_assert_eq(write(fd, req, (size_t)len), len);
	while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &r->status), 1, "answer: %s", buf);
	snprintf(r->status_line, sizeof r->status_line, "%.*s", (int)strcspn(buf, "\r"), buf);
	const char *ra = strstr(buf, "\r\nRetry-After: ");
	r->retry_after = ra ? atoi(ra + 15) : -1;
}

static void token_add(char out[64])
{
	char *o = NULL;

	cr_assert_eq(kp_komposter(&d, &o, "token", "add", "--scope", "read", "--name", "t", NULL), 0);
	cr_assert_eq(strlen(o), 48, "token output: %s", o);
	memcpy(out, o, 47);
	out[47] = '\0';
	free(o);
}

Test(http_auth_limit, wrong_tokens_from_one_address_are_throttled_and_others_answered, .timeout = 60)
{
	char right[64], wrong[64];
	struct reply r;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	token_add(right);
	/* A guess that shares all but the last character with a valid token. */
	memcpy(wrong, right, sizeof wrong);
	wrong[46] = wrong[46] == 'A' ? 'B' : 'A';

	for (int i = 0; i < KP_AUTH_LIMIT_BURST; i++) {
		get_from("127.0.0.2", "/v1/devices", wrong, &r);
		cr_assert_eq(r.status, 401, "wrong token %d answered %d", i + 1, r.status);
	}
	get_from("127.0.0.2", "/v1/devices", wrong, &r);
	cr_expect_eq(r.status, 429, "a wrong token past the burst answered %d", r.status);
	cr_expect_geq(r.retry_after, 1, "Retry-After %d", r.retry_after);
	cr_expect_str_eq(r.status_line, "HTTP/1.1 429 Too Many Requests");
	get_from("127.0.0.2", "/v1/devices", right, &r);
	cr_expect_eq(r.status, 429, "the right token from a throttled address answered %d", r.status);

	get_from("127.0.0.3", "/v1/devices", right, &r);
	cr_expect_eq(r.status, 200, "the right token from another address answered %d", r.status);
	get_from("127.0.0.3", "/v1/devices", wrong, &r);
	cr_expect_eq(r.status, 401, "one wrong token from another address answered %d", r.status);
	get_from("127.0.0.3", "/v1/export/fare_transactions.csv", wrong, &r);
	cr_expect_eq(r.status, 401, "the exports share the rule: %d", r.status);

	cr_expect_eq(kp_daemon_metric(&d, "komposter_http_auth_failures_total"), KP_AUTH_LIMIT_BURST + 2);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_http_auth_throttled_total"), 2);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
