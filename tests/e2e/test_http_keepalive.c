/*
 * Description: HTTP keep-alive on the daemon's loop, over real sockets:
 * pipelined requests on one connection are answered in order and the
 * connection's last allowed request says Connection: close; curl's two URLs
 * share one connection; Connection: close is honoured; a kept connection
 * with no request is closed after idle_timeout_ms; a client that never
 * finishes its head is cut off after request_timeout_ms while others are
 * answered; and an idle kept connection is the first cut off to make room.
 */
#include <arpa/inet.h>
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

static struct kp_broker broker;
static struct kp_daemon_proc d;

static void start(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "http.request_timeout_ms = 500\nhttp.idle_timeout_ms = 500\n"
	                             "http.max_requests_per_connection = 3\n"),
	             0);
	cr_assert_eq(kp_daemon_start(&d), 0);
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

TestSuite(http_keepalive, .init = start, .fini = stop, .timeout = 30);

static int open_connection(void)
{
	int fd = kp_connect_port(d.http_port);

	cr_assert_geq(fd, 0, "connect to komposterd's HTTP port");
	return fd;
}

static void send_all(int fd, const char *text)
{
	size_t len = strlen(text);
	cr_assert_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads into buf (NUL-terminated) until the server closes; 5 s at most
 * between reads, so that a server that never closes fails the test. */
static size_t read_to_close(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no close within 5 s; read so far: %.*s", (int)got, buf);
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* The length of the first whole answer in text (head and Content-Length
 * bytes of body), 0 when it is not all there. */
static size_t answer_len(const char *text, size_t len)
{
	const char *end = strstr(text, "\r\n\r\n"), *cl = strstr(text, "\r\nContent-Length: ");
	if (end == NULL || cl == NULL || cl > end)
		return 0;
	size_t total = (size_t)(end + 4 - text) + strtoul(cl + 18, NULL, 10);
	return total <= len ? total : 0;
}

/* Reads one whole answer, leaving the connection open. */
static void read_answer(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (answer_len(buf, got) == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no answer within 5 s");
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		cr_assert_gt(n, 0, "closed before the whole answer: %.*s", (int)got, buf);
		got += (size_t)n;
		buf[got] = '\0';
	}
}

/* 1 when the server closed the connection within 5 s, sending nothing. */
static int closed_silently(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	return poll(&p, 1, 5000) == 1 && read(fd, &c, 1) <= 0;
}

static double metric(const char *name)
{
	double v = kp_daemon_metric(&d, name);
	cr_assert_geq(v, 0, "no %s in /metrics", name);
	return v;
}

Test(http_keepalive, pipelined_requests_are_answered_in_order_up_to_the_limit)
{
	static char buf[16384];
	static const int statuses[] = { 200, 404, 405 };
	static const char *const connection[] = { "keep-alive", "keep-alive", "close" };
	int fd = open_connection();
	double reuses = metric("komposter_http_keepalive_reuses_total");

	/* One send: the three requests reach the server together. */
	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	             "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
	             "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd");
	size_t len = read_to_close(fd, buf, sizeof buf), off = 0;
	close(fd);
	for (int i = 0; i < 3; i++) {
		size_t n = answer_len(buf + off, len - off);
		int status = 0;
		char header[64];

		cr_assert_gt(n, 0, "answer %d missing in: %s", i, buf);
		cr_assert_eq(sscanf(buf + off, "HTTP/1.1 %d", &status), 1);
		cr_expect_eq(status, statuses[i], "answer %d: %.*s", i, (int)n, buf + off);
		snprintf(header, sizeof header, "\r\nConnection: %s\r\n", connection[i]);
		cr_expect(strstr(buf + off, header) != NULL && strstr(buf + off, header) < buf + off + n,
		          "answer %d lacks %s: %.*s", i, header + 2, (int)n, buf + off);
		off += n;
	}
	cr_expect_eq(off, len, "nothing after the third answer (max_requests_per_connection = 3)");
	cr_expect_eq(metric("komposter_http_keepalive_reuses_total") - reuses, 2);
}

Test(http_keepalive, curl_reuses_the_connection_for_two_urls)
{
	char url1[64], url2[64], *out = NULL;
	double reuses = metric("komposter_http_keepalive_reuses_total");
	double conns = metric("komposter_http_connections_total");

	snprintf(url1, sizeof url1, "http://127.0.0.1:%d/healthz", d.http_port);
	snprintf(url2, sizeof url2, "http://127.0.0.1:%d/metrics", d.http_port);
	char *const argv[] = { "/usr/bin/curl", "-sf", "-o", "/dev/null", "-o", "/dev/null", url1, url2, NULL };
	cr_assert_eq(kp_run(argv, &out), 0, "curl failed");
	free(out);
	/* Each metric reading is a connection of its own, closed, not reused:
	 * after conns was read, curl's one connection and two readings. */
	cr_expect_eq(metric("komposter_http_keepalive_reuses_total") - reuses, 1);
	cr_expect_eq(metric("komposter_http_connections_total") - conns, 3);
}

Test(http_keepalive, connection_close_is_honoured)
{
	static char buf[4096];
	int fd = open_connection();
	double idle_closed = metric("komposter_http_idle_closed_total");

	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	size_t len = read_to_close(fd, buf, sizeof buf);
	close(fd);
	cr_expect_eq(answer_len(buf, len), len, "one answer: %s", buf);
	cr_expect(strstr(buf, "\r\nConnection: close\r\n") != NULL, "%s", buf);
	cr_expect_eq(metric("komposter_http_idle_closed_total"), idle_closed, "closed for the header, not idleness");
}

Test(http_keepalive, an_idle_kept_connection_is_closed_after_idle_timeout)
{
	static char buf[4096];
	int fd = open_connection();
	double idle_closed = metric("komposter_http_idle_closed_total");

	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	read_answer(fd, buf, sizeof buf);
	cr_expect(strstr(buf, "\r\nConnection: keep-alive\r\n") != NULL, "%s", buf);
	cr_expect(closed_silently(fd), "a kept connection with no request stays open past idle_timeout_ms");
	close(fd);
	cr_expect_eq(metric("komposter_http_idle_closed_total") - idle_closed, 1);
}

Test(http_keepalive, a_client_that_never_finishes_its_head_is_cut_off_while_others_are_answered)
{
	int slow = open_connection();
	double timed_out = metric("komposter_http_timed_out_total");
	char *body = NULL;

	/* Slowloris: a head begun and then fed a byte at a time, never ended. */
	send_all(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	cr_expect_eq(kp_http_get(d.http_port, "/healthz", &body), 200, "others wait for the slow client");
	free(body);
	for (int i = 0; i < 3 && send(slow, "X", 1, MSG_NOSIGNAL) == 1; i++)
		usleep(100000);
	cr_expect(closed_silently(slow), "a head unfinished past request_timeout_ms is not cut off");
	close(slow);
	cr_expect_eq(metric("komposter_http_timed_out_total") - timed_out, 1);
}

/* Four slots, and no timeout within the test: only making room cuts off. */
static void start_room(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "http.request_timeout_ms = 600000\nhttp.idle_timeout_ms = 600000\n"
	                             "http.max_connections = 4\n"),
	             0);
	cr_assert_eq(kp_daemon_start(&d), 0);
}

TestSuite(http_keepalive_room, .init = start_room, .fini = stop, .timeout = 30);

Test(http_keepalive_room, an_idle_kept_connection_is_cut_off_for_room_before_an_older_waiting_one)
{
	static char buf[4096];
	int waiting[3], kept, newcomer;

	for (int i = 0; i < 3; i++)
		waiting[i] = open_connection();
	kept = open_connection();
	send_all(kept, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	read_answer(kept, buf, sizeof buf);
	newcomer = open_connection(); /* the fifth: one of the four must go */
	cr_expect(closed_silently(kept), "the idle kept-alive connection was not the one cut off");
	send_all(waiting[0], "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	size_t len = read_to_close(waiting[0], buf, sizeof buf);
	cr_expect(len > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "the oldest waiting connection lost: %s", buf);
	close(kept);
	close(newcomer);
	for (int i = 0; i < 3; i++)
		close(waiting[i]);
}
