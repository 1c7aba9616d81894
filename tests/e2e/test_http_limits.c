/*
 * Description: the daemon's HTTP side over real sockets: a client that
 * sends nothing is cut off after request_timeout_ms; beyond max_connections
 * the connection that has waited longest for its request is cut off, so
 * /healthz and /metrics answer however many idle clients there are; and the
 * daemon still answers /healthz, /readyz and /metrics (and 404 otherwise).
 * Clients that pipeline large answers and read them slowly, holding every
 * slot, are cut off after request_timeout_ms without the progress it asks
 * for, and meanwhile a newcomer gets a 503, never nothing.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
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

/* Slow readers: each pipelines large static answers (a uPlot file of
 * BIG_FILE bytes in a ui_dir of the test's own) and reads SLOW_BYTES every
 * SLOW_EVERY_MS (2 KB/s), far below what request_timeout_ms = 500 asks
 * (32 KiB per 500 ms). */
#define SLOW_READERS 4
#define PIPELINED 64
#define BIG_FILE (256 * 1024)
#define SLOW_BYTES 200
#define SLOW_EVERY_MS 100
#define BIG_PATH "/ui/vendor/uPlot.iife.min.js"

static char ui_dir[64];

static void write_file(const char *name, const char *data, size_t len)
{
	char path[192];
	int fd;

	snprintf(path, sizeof path, "%s/%s", ui_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "create %s", path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
}

/* Every file the daemon wants in a ui_dir (ui_http.h), uPlot's of
 * BIG_FILE bytes. */
static void make_ui_dir(void)
{
	static const char *const dirs[] = { "node_modules", "node_modules/uplot", "node_modules/uplot/dist" };
	static const char *const small[] = { "public.html", "operator.html", "style.css", "i18n.js", "common.js",
		                             "operator.js", "live.js", "public.js",
		                             "node_modules/uplot/dist/uPlot.min.css" };
	static char js[BIG_FILE];
	char path[192];

	snprintf(ui_dir, sizeof ui_dir, "/tmp/kp-ui-XXXXXX");
	cr_assert_not_null(mkdtemp(ui_dir));
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", ui_dir, dirs[i]);
		cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s", path);
	}
	for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
		write_file(small[i], "\n", 1);
	memset(js, ';', sizeof js);
	write_file("node_modules/uplot/dist/uPlot.iife.min.js", js, sizeof js);
}

static void start_slow_readers(void)
{
	char extra[256];

	make_ui_dir();
	snprintf(extra, sizeof extra,
	         "http.request_timeout_ms = 500\nhttp.max_connections = %d\nhttp.ui_dir = %s\n", SLOW_READERS,
	         ui_dir);
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, extra), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
}

static void stop_slow_readers(void)
{
	char *out = NULL;
	char *const rm[] = { "/bin/rm", "-rf", ui_dir, NULL };

	stop();
	cr_expect_eq(kp_run(rm, &out), 0);
	free(out);
}

TestSuite(http_slow_readers, .init = start_slow_readers, .fini = stop_slow_readers, .timeout = 90);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A connection with a small receive buffer (set before connect, so that
 * the window it offers stays small) that has asked for PIPELINED big files
 * at once; non-blocking, to be read a little at a time. */
static int slow_reader(void)
{
	static const char get[] = "GET " BIG_PATH " HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.http_port) };
	char reqs[PIPELINED * sizeof get];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
	size_t len = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	for (int i = 0; i < PIPELINED; i++, len += sizeof get - 1)
		memcpy(reqs + len, get, sizeof get - 1);
	cr_assert_eq(send(fd, reqs, len, MSG_NOSIGNAL), (ssize_t)len);
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* Reads at most SLOW_BYTES from each open fd; one whose server end closed
 * (EOF or reset) is closed and set to -1. Returns how many are open. */
static int read_slowly(int fds[SLOW_READERS])
{
	char buf[SLOW_BYTES];
	int open_left = 0;

	for (int i = 0; i < SLOW_READERS; i++) {
		if (fds[i] < 0)
			continue;
		ssize_t n = recv(fds[i], buf, sizeof buf, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open_left++;
	}
	return open_left;
}

/* Until the first bytes of an answer arrive: the server is sending to it. */
static void wait_answer_begins(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 5000), 1, "no answer began within 5 s");
}

Test(http_slow_readers, slow_readers_holding_every_slot_are_cut_off_and_a_newcomer_is_always_answered)
{
	double timed_out = kp_daemon_metric(&d, "komposter_http_timed_out_total");
	int slow[SLOW_READERS], open_left = SLOW_READERS, status = 0, probes = 0, refused = 0;
	uint64_t give_up = 0;

	for (int i = 0; i < SLOW_READERS; i++)
		slow[i] = slow_reader();
	for (int i = 0; i < SLOW_READERS; i++)
		wait_answer_begins(slow[i]);
	/* Generous: the cut comes within a second or two of a 500 ms timeout. */
	give_up = now_ms() + 30000;
	while (now_ms() < give_up && (open_left > 0 || status != 200)) {
		int fd = open_connection();

		status = answer_status(fd);
		close(fd);
		cr_expect(status == 200 || status == 503, "newcomer %d: closed without an answer", probes);
		refused += status == 503;
		probes++;
		usleep(SLOW_EVERY_MS * 1000);
		open_left = read_slowly(slow);
	}
	cr_expect_eq(open_left, 0, "%d slow readers still connected after 30 s", open_left);
	cr_expect_eq(status, 200, "/healthz once the slow readers are cut off: %d", status);
	cr_expect_geq(refused, 1, "the newcomers while every slot was taken got 503");
	cr_expect_geq(kp_daemon_metric(&d, "komposter_http_timed_out_total") - timed_out, SLOW_READERS);
	for (int i = 0; i < SLOW_READERS; i++)
		if (slow[i] >= 0)
			close(slow[i]);
}
