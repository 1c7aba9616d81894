/*
 * Description: attacks on the daemon's HTTP side, over raw sockets to the
 * real daemon, while another client's /healthz and API calls keep being
 * answered: a crowd of slowloris clients (each feeding its head a byte at
 * a time) is cut off at the request timeout; a head over the limit is 431;
 * paths that try to leave the open-data folder (.., %2e%2e, encoded
 * slashes, absolute paths) are 400 or 404 and never serve a file outside
 * it. (One slow client: test_http_keepalive; a token in the query string:
 * test_api; wrong tokens: test_http_auth_limit; the open handler's path
 * rules in isolation: tests/ingest/test_open_http.)
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/e2e/harness.h"

#define SECRET "kp-secret-outside-the-open-folder"
#define SLOW_CLIENTS 16

static struct kp_broker broker;
static struct kp_daemon_proc d;
static char token[64];

static void start(void)
{
	char *out = NULL;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "http.request_timeout_ms = 500\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_komposter(&d, &out, "token", "add", "--scope", "read", "--name", "t", NULL), 0);
	snprintf(token, sizeof token, "%.47s", out);
	free(out);
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0, "komposterd must exit 0 after SIGTERM");
	kp_broker_stop(&broker);
}

TestSuite(http_attacks, .init = start, .fini = stop, .timeout = 60);

static int open_connection(void)
{
	int fd = kp_connect_port(d.http_port);

	cr_assert_geq(fd, 0, "connect to komposterd's HTTP port");
	return fd;
}

/* Sends raw bytes as one request and reads the answer until the server
 * closes (5 s at most between reads); its status, the answer in buf. */
static int raw_request(const char *req, size_t len, char *buf, size_t cap)
{
	int fd = open_connection(), status = 0;
	size_t got = 0;

	cr_assert_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (got + 1 >= cap || poll(&p, 1, 5000) != 1 || (n = read(fd, buf + got, cap - 1 - got)) <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

static int get_status(const char *path, const char *auth, char *buf, size_t cap)
{
	char req[1024];
	int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n", path,
	                   auth ? "Authorization: Bearer " : "", auth ? auth : "", auth ? "\r\n" : "");

	return raw_request(req, (size_t)len, buf, cap);
}

/* Another client is answered: /healthz and an API call. */
static void others_are_answered(void)
{
	static char buf[1 << 16];

	cr_expect_eq(get_status("/healthz", NULL, buf, sizeof buf), 200, "/healthz: %.200s", buf);
	cr_expect_eq(get_status("/v1/devices", token, buf, sizeof buf), 200, "/v1/devices: %.200s", buf);
}

Test(http_attacks, a_crowd_of_slowloris_clients_is_cut_off_while_others_are_answered)
{
	int slow[SLOW_CLIENTS], cut = 0;
	double timed_out = kp_daemon_metric(&d, "komposter_http_timed_out_total");

	for (int i = 0; i < SLOW_CLIENTS; i++) {
		slow[i] = open_connection();
		cr_assert_eq(send(slow[i], "GET /v1/devices HTTP/1.1\r\n", 26, MSG_NOSIGNAL), 26);
	}
	/* A byte of header each, every 100 ms, well past the 500 ms timeout. */
	for (int round = 0; round < 15; round++) {
		for (int i = 0; i < SLOW_CLIENTS; i++)
			send(slow[i], "X", 1, MSG_NOSIGNAL); /* fails once cut off */
		others_are_answered();
		usleep(100 * 1000);
	}
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		struct pollfd p = { .fd = slow[i], .events = POLLIN };
		char c;

		cut += poll(&p, 1, 5000) == 1 && read(slow[i], &c, 1) <= 0;
		close(slow[i]);
	}
	cr_expect_eq(cut, SLOW_CLIENTS, "%d of %d slow clients cut off", cut, SLOW_CLIENTS);
	cr_expect_geq(kp_daemon_metric(&d, "komposter_http_timed_out_total") - timed_out, SLOW_CLIENTS);
}

Test(http_attacks, a_head_over_the_limit_is_431_and_others_are_answered)
{
	static char req[16 * 1024], buf[4096];
	size_t len = (size_t)snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: t\r\n");

	while (len < 12 * 1024)
		len += (size_t)snprintf(req + len, sizeof req - len, "X-Filler-%zu: %0100d\r\n", len, 0);
	len += (size_t)snprintf(req + len, sizeof req - len, "\r\n");
	cr_expect_eq(raw_request(req, len, buf, sizeof buf), 431, "answer: %.200s", buf);
	others_are_answered();
}

/* A file just outside the open folder ([storage] path + /open) and one
 * beside the database. */
static void plant_secrets(void)
{
	char path[512];
	FILE *f;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, i ? "%s/data/secret.txt" : "%s/secret.txt", d.dir);
		cr_assert_not_null(f = fopen(path, "w"));
		fputs(SECRET "\n", f);
		cr_assert_eq(fclose(f), 0);
	}
}

Test(http_attacks, no_path_leaves_the_open_folder)
{
	static const char *const paths[] = {
		"/open/../secret.txt",
		"/open/../../secret.txt",
		"/open/%2e%2e/secret.txt",
		"/open/%2E%2E/%2e%2e/secret.txt",
		"/open/..%2fsecret.txt",
		"/open/%2e%2e%2fsecret.txt",
		"/open/%2e%2e%5csecret.txt",
		"/open/20240615/v1/../../../secret.txt",
		"/open//etc/passwd",
		"/open/%2fetc%2fpasswd",
		"/open/....//secret.txt",
		"/open/%252e%252e/secret.txt",
		"/../data/secret.txt",
		"/etc/passwd",
		"/open/.%00./secret.txt",
	};
	static char buf[1 << 16];

	plant_secrets();
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int status = get_status(paths[i], NULL, buf, sizeof buf);

		cr_expect(status == 400 || status == 404, "%s: %d", paths[i], status);
		cr_expect_null(strstr(buf, SECRET), "%s served the secret", paths[i]);
		cr_expect_null(strstr(buf, "root:"), "%s served /etc/passwd", paths[i]);
	}
	others_are_answered();
}
