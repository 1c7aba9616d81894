/*
 * Description: the daemon's HTTP side over real sockets: a client that
 * sends nothing is cut off after request_timeout_ms, connections beyond
 * max_connections are closed at once, and after both the daemon still
 * answers /healthz, /readyz and /metrics (and 404 for anything else).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
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
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.http_port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
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

Test(http_limits, connections_beyond_the_limit_are_refused_and_service_goes_on)
{
	int fds[8];
	int refused = 0;

	for (int i = 0; i < 8; i++)
		fds[i] = open_connection();
	for (int i = 0; i < 8; i++)
		refused += closed_by_server(fds[i], 100);
	cr_expect_geq(refused, 4, "only %d of 8 connections refused with a limit of 4", refused);
	for (int i = 0; i < 8; i++)
		close(fds[i]);

	char *body = NULL;
	for (int tries = 0; tries < 50; tries++) { /* slots free as the server sees the closes */
		free(body);
		body = NULL;
		if (kp_http_get(d.http_port, "/readyz", &body) == 200)
			break;
		usleep(20000);
	}
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
