/*
 * Description: the record-level export over HTTP on a real komposterd
 * after a small fleet run: with an export token, curl's GET of
 * /v1/export/fare_transactions.csv for a range around today is a 200
 * whose chunked body (well over 64 KiB, so many chunks) has exactly one
 * row per stored tap, as many "1" riders as accepted taps, and none of the
 * fleet's card tokens; a second request on the same connection is answered
 * on it (keep-alive after a chunked body) with the same bytes; HEAD has
 * the head and no body; a read-only token is 403; a client that stops
 * reading mid-body is cut off after request_timeout_ms without the last
 * chunk (komposter_http_timed_out_total counts it) while /healthz answers.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/fleet.h"
#include "tests/e2e/harness.h"

#define DEVICES 4
#define TAPS_PER_DEVICE 400
#define TIMEOUT_MS 1000
#define PATH "/v1/export/fare_transactions.csv"

static struct kp_broker broker;
static struct kp_daemon_proc d;
static struct kp_fleet fleet;
static struct kp_fleet_summary sum;
static char export_token[64], read_token[64], query[64], scratch[340];

static void token_add(const char *scope, char out[64])
{
	char *o = NULL;

	cr_assert_eq(kp_komposter(&d, &o, "token", "add", "--scope", scope, "--name", scope, NULL), 0);
	cr_assert_eq(strlen(o), 48, "token output: %s", o);
	memcpy(out, o, 47);
	out[47] = '\0';
	free(o);
}

static void date_from_today(int days, char out[16])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

static void start(void)
{
	char from[16], to[16];
	pid_t sim;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "http.request_timeout_ms=1000\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init(&fleet, &d, DEVICES), 0);
	sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--timeout", "100", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);
	cr_assert_eq(kp_stored_taps(&d), sum.taps);
	token_add("export", export_token);
	token_add("read", read_token);
	date_from_today(-2, from);
	date_from_today(2, to);
	snprintf(query, sizeof query, "?from=%s&to=%s", from, to);
	snprintf(scratch, sizeof scratch, "%s/export", d.dir);
}

static void stop(void)
{
	kp_daemon_stop(&d, SIGTERM);
	kp_broker_stop(&broker);
}

TestSuite(export_http, .init = start, .fini = stop, .timeout = 60);

/* curl of url into file (NULL: the export file) with token; *out gets
 * what -w printed. Returns curl's exit status. */
static int curl(const char *token, const char *write_out, char **out, const char *url1, const char *file1,
                const char *url2, const char *file2)
{
	char auth[128];
	char *argv[16];
	int n = 0;

	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-sS";
	argv[n++] = "-H";
	argv[n++] = auth;
	argv[n++] = "-w";
	argv[n++] = (char *)write_out;
	argv[n++] = (char *)url1;
	argv[n++] = "-o";
	argv[n++] = (char *)file1;
	if (url2 != NULL) {
		argv[n++] = (char *)url2;
		argv[n++] = "-o";
		argv[n++] = (char *)file2;
	}
	argv[n] = NULL;
	return kp_run(argv, out);
}

static size_t count_of(const char *text, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);

	for (const char *p = memmem(text, len, needle, nl); p != NULL;
	     p = memmem(p + 1, len - (size_t)(p + 1 - text), needle, nl))
		n++;
	return n;
}

/* No card token of the fleet, in hex, anywhere in text. */
static void expect_no_card_token(const char *text)
{
	FILE *f = fopen(fleet.tokens, "r");
	char line[80];
	int checked = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) != 32)
			continue;
		checked++;
		cr_expect_null(strcasestr(text, line), "card token %s is in the export", line);
	}
	fclose(f);
	cr_expect_gt(checked, 0, "no card token listed in %s", fleet.tokens);
}

Test(export_http, the_csv_has_the_stored_taps_and_a_second_request_reuses_the_connection)
{
	char url[256], f1[400], f2[400], *out = NULL;
	uint8_t *a, *b;
	size_t alen, blen;
	int code1, code2, connects1, connects2;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s%s", d.http_port, PATH, query);
	snprintf(f1, sizeof f1, "%s.1", scratch);
	snprintf(f2, sizeof f2, "%s.2", scratch);
	cr_assert_eq(curl(export_token, "%{http_code} %{num_connects}\n", &out, url, f1, url, f2), 0);
	cr_assert_eq(sscanf(out, "%d %d\n%d %d", &code1, &connects1, &code2, &connects2), 4, "%s", out);
	free(out);
	cr_expect_eq(code1, 200);
	cr_expect_eq(code2, 200);
	cr_expect_eq(connects1, 1);
	cr_expect_eq(connects2, 0, "the second request opened a connection of its own");
	cr_assert_eq(kp_file_read(f1, &a, &alen), 0);
	cr_assert_eq(kp_file_read(f2, &b, &blen), 0);
	cr_expect_gt(alen, 64 * 1024, "only %zu bytes: one chunk", alen);
	cr_expect(alen == blen && memcmp(a, b, alen) == 0, "the two answers differ");
	cr_assert_eq(strncmp((char *)a, "transaction_id,service_date,", 28), 0);
	cr_expect_eq(count_of((char *)a, alen, "\r\n"), 1 + (size_t)sum.taps);
	cr_expect_eq(count_of((char *)a, alen, ",1,Smart card or ticket,"), (size_t)sum.accepted);
	cr_expect_eq(count_of((char *)a, alen, ",0,Smart card or ticket,"), (size_t)sum.denied);
	cr_expect_eq(count_of((char *)a, alen, ","), 23 * (1 + (size_t)sum.taps), "every row has 24 fields");
	a = realloc(a, alen + 1);
	cr_assert_not_null(a);
	a[alen] = '\0';
	expect_no_card_token((char *)a);
	free(a);
	free(b);
}

Test(export_http, a_read_token_is_403)
{
	char url[256], file[400], *out = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s%s", d.http_port, PATH, query);
	snprintf(file, sizeof file, "%s.403", scratch);
	cr_assert_eq(curl(read_token, "%{http_code}", &out, url, file, NULL, NULL), 0);
	cr_expect_str_eq(out, "403");
	free(out);
}

/* A socket to the daemon: small windows when small, so that a client that
 * stops reading stops the server's sends soon. */
static int dial(int small)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.http_port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval patience = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcvbuf = 4096, mss = 536;

	cr_assert(fd >= 0);
	if (small) {
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
		cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss), 0);
	}
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static void send_request(int fd, const char *method, const char *connection)
{
	char req[512];
	int n = snprintf(req, sizeof req,
	                 "%s %s%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s\r\n", method, PATH,
	                 query, export_token, connection);

	cr_assert_eq(write(fd, req, (size_t)n), n);
}

/* Everything until the server closes (or 10 s pass); malloc'd. */
static char *read_all(int fd, size_t *len)
{
	char chunk[4096], *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ssize_t got;

	cr_assert_not_null(f);
	while ((got = read(fd, chunk, sizeof chunk)) > 0)
		fwrite(chunk, 1, (size_t)got, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(export_http, head_has_no_body)
{
	int fd = dial(0);
	size_t len;
	char *got, *end;

	send_request(fd, "HEAD", "Connection: close\r\n");
	got = read_all(fd, &len);
	close(fd);
	cr_assert_eq(strncmp(got, "HTTP/1.1 200", 12), 0, "%s", got);
	cr_expect_not_null(strcasestr(got, "Transfer-Encoding: chunked"), "%s", got);
	end = strstr(got, "\r\n\r\n");
	cr_assert_not_null(end);
	cr_expect_eq((size_t)(end + 4 - got), len, "a body after the head of HEAD: %s", end + 4);
	free(got);
}

Test(export_http, a_client_that_stops_reading_is_cut_off_and_healthz_still_answers)
{
	double before = kp_daemon_metric(&d, "komposter_http_timed_out_total"), after = before;
	int fd = dial(1), status;
	size_t len;
	char *body = NULL, *got;

	cr_assert_geq(before, 0);
	send_request(fd, "GET", "");
	/* Read nothing: the server's sends stall once the windows are full. */
	for (int i = 0; i < 50 && after <= before; i++) {
		status = kp_http_get(d.http_port, "/healthz", &body);
		cr_expect_eq(status, 200, "/healthz while an export stalls");
		free(body);
		usleep(100 * 1000);
		after = kp_daemon_metric(&d, "komposter_http_timed_out_total");
	}
	cr_expect_eq(after, before + 1, "the stalled export was not timed out");
	got = read_all(fd, &len);
	close(fd);
	cr_expect_eq(strncmp(got, "HTTP/1.1 200", 12), 0);
	cr_expect(len < 5 || memcmp(got + len - 5, "0\r\n\r\n", 5) != 0, "the cut answer has its last chunk");
	free(got);
}
