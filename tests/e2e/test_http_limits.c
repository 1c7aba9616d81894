/*
 * Description: the daemon's HTTP side over real sockets: a client that
 * sends nothing is cut off after request_timeout_ms; beyond max_connections
 * the connection that has waited longest for its request is cut off, so
 * /healthz and /metrics answer however many idle clients there are; and the
 * daemon still answers /healthz, /readyz and /metrics (and 404 otherwise).
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
	cr_assert_eq(kp_daemon_setup(&d, &broker, "http.request_timeout_ms = 300\nhttp.max_connections = 4\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

TestSuite(http_limits, .init = start, .fini = stop, .timeout = 60);

static int open_connection(void)
{
	int fd = kp_connect_port(d.http_port);

	cr_assert_geq(fd, 0, "connect to komposterd's HTTP port");
	return fd;
}

/* 1 when the server closed the connection within timeout_ms. */
static int closed_by_server(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	return read(fd, buf, sizeof(buf)) <= 0;
}

Test(http_limits, a_silent_client_is_cut_off_after_the_request_timeout)
{
	int fd = open_connection();
	cr_expect_not(closed_by_server(fd, 100), "closed before the timeout");
	cr_expect(closed_by_server(fd, 5000), "still open 5 s after a 300 ms timeout");
	close(fd);

	char *body = NULL;
	cr_expect_eq(kp_http_get(d.http_port, "/healthz", &body), 200);
	free(body);
}

/* The status of the answer to a request sent on fd, 0 when the server
 * closed the connection without one. */
static int answer_status(int fd)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[512];
	size_t got = 0;
	int status = 0;

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
		return 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no answer and no close within 5 s");
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (got > 0)
		cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1, "not an HTTP answer: %s", buf);
	return status;
}

Test(http_limits, over_the_limit_a_client_is_answered_or_cut_off_while_waiting_never_ignored)
{
	enum { N = 64 };
	int fds[N];
	int answered = 0;

	/* A burst: the oldest waiting connections are cut off to make room,
	 * and when even the reserve is taken the newcomer gets a 503. */
	for (int i = 0; i < N; i++)
		fds[i] = open_connection();
	for (int i = N - 1; i >= 0; i--) {
		int status = answer_status(fds[i]);
		cr_expect(status == 0 || status == 200 || status == 503, "connection %d: status %d", i, status);
		answered += status != 0;
		close(fds[i]);
	}
	cr_expect_geq(answered, 4, "the %d newest connections keep their slots", 4);

	char *body = NULL;
	cr_expect_eq(kp_http_get(d.http_port, "/readyz", &body), 200);
	cr_expect_str_eq(body, "ready\n");
	free(body);
}

Test(http_limits, endpoints_answer_with_the_right_status)
{
	char *body = NULL;
	cr_expect_eq(kp_http_get(d.http_port, "/healthz", &body), 200);
	free(body);
	cr_expect_eq(kp_http_get(d.http_port, "/metrics?x=1", &body), 200);
	cr_expect(strstr(body, "komposter_mqtt_connected 1") != NULL);
	free(body);
	cr_expect_eq(kp_http_get(d.http_port, "/admin", &body), 404);
	free(body);
}

/* Idle clients that would outlast any test: only making room cuts them off. */
static void start_crowd(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "http.request_timeout_ms = 600000\nhttp.max_connections = 4\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
}

TestSuite(http_crowd, .init = start_crowd, .fini = stop, .timeout = 60);

/* GETs path until the answer is not a 503 (which a burst may rightly get),
 * and returns that status; -1 when the server closed without answering. */
static int get_through_503(const char *path, char **body)
{
	int status = 503;

	for (int tries = 0; tries < 200 && status == 503; tries++) {
		if (tries > 0)
			usleep(20000);
		free(*body);
		*body = NULL;
		status = kp_http_get(d.http_port, path, body);
	}
	return status;
}

Test(http_crowd, health_and_metrics_answer_while_idle_clients_hold_every_slot)
{
	enum { N = 300 };
	int fds[N];
	char *body = NULL;

	for (int i = 0; i < N; i++)
		fds[i] = open_connection();
	int status = get_through_503("/healthz", &body);
	cr_expect_eq(status, 200, "/healthz with %d idle connections: %d %s", N, status, body);
	status = get_through_503("/metrics", &body);
	cr_expect_eq(status, 200, "/metrics with %d idle connections: %d", N, status);
	cr_expect_geq(kp_metric(body, "komposter_http_connections_evicted_total"), 1);
	free(body);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}
