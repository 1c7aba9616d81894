/*
 * Description: the operator API on a real komposterd after a small fleet
 * run: without a token, with a wrong one and with a revoked one /v1/ is
 * 401 with WWW-Authenticate: Bearer; a token in the query string is 400;
 * a read token reads /v1/ridership, whose body is byte for byte what
 * `komposter stats --json` prints for the same range and grouping; bad
 * parameters are 400 naming what is wrong; /v1/devices lists exactly the
 * enrolled fleet with each device's traffic (last_seen > 0, gaps 0, frames
 * equal to the watermark, rejects by reason), the same document as
 * `device list --json` prints, /v1/devices/{id} shows one and is 404 for an unknown id;
 * a closed date answers with an ETag and a cacheable Cache-Control, and
 * If-None-Match with that ETag is 304; today is no-store; an unknown path
 * is 404 JSON. Every error is {"error": ...} as application/json.
 * /v1/live (token needed) gives the live panel's counters, each equal to
 * the same sample of /metrics read while the fleet is still. /v1/cameras
 * (token needed) lists a camera mapped with `komposter camera add`.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "firmware-proto/frame.h"
#include "tests/e2e/fleet.h"
#include "tests/e2e/harness.h"

#define DEVICES 4
#define TAPS_PER_DEVICE 50

static struct kp_broker broker;
static struct kp_daemon_proc d;
static struct kp_fleet fleet;
static char read_token[64], revoked_token[64];

struct answer {
	int status;
	char *head; /* status line and headers */
	char *body;
};

static void answer_free(struct answer *a)
{
	free(a->head);
	free(a->body);
}

/* GET path with the given extra header lines (each ending in CRLF, or NULL). */
static void get(const char *path, const char *headers, struct answer *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.http_port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval patience = { .tv_sec = 30 };
	char req[2048], chunk[4096], *buf = NULL, *sep;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;
	ssize_t got;

	cr_assert(fd >= 0 && f != NULL);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Read to the end below: the server must close, not keep alive. */
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", path,
	             headers ? headers : "");
	cr_assert_eq(write(fd, req, (size_t)n), n);
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)got, f);
	close(fd);
	cr_assert_eq(fclose(f), 0);
	sep = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(sep, "no end of headers: %s", buf);
	*sep = '\0';
	a->head = strdup(buf);
	a->body = strdup(sep + 4);
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &a->status), 1);
	free(buf);
}

static void get_auth(const char *path, const char *token, struct answer *a)
{
	char h[256];

	snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n", token);
	get(path, h, a);
}

/* The value of header name in a->head (case-insensitive name), or "" when absent. */
static const char *header(const struct answer *a, const char *name, char out[256])
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = strstr(a->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, 256, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
			break;
		}
	}
	return out;
}

/* A JSON error answer with status, and the message containing needle. */
static void expect_error(const struct answer *a, int status, const char *needle, const char *what)
{
	char v[256];
	cJSON *doc = cJSON_Parse(a->body);
	cJSON *e = cJSON_GetObjectItem(doc, "error");

	cr_expect_eq(a->status, status, "%s: status %d, body %s", what, a->status, a->body);
	cr_expect_str_eq(header(a, "Content-Type", v), "application/json", "%s", what);
	cr_expect(cJSON_IsString(e), "%s: not an error document: %s", what, a->body);
	if (cJSON_IsString(e) && needle != NULL)
		cr_expect_not_null(strstr(e->valuestring, needle), "%s: %s", what, e->valuestring);
	cJSON_Delete(doc);
}

static void token_add(char out[64])
{
	char *o = NULL;

	cr_assert_eq(kp_komposter(&d, &o, "token", "add", "--scope", "read", "--name", "test", NULL), 0);
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
	char *o = NULL, id[16];
	cJSON *list;
	pid_t sim;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init(&fleet, &d, DEVICES), 0);
	sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--timeout", "100", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	/* The first token made is revoked: it is the only one listed then. */
	token_add(revoked_token);
	cr_assert_eq(kp_komposter(&d, &o, "token", "list", "--json", NULL), 0);
	list = cJSON_Parse(o);
	free(o);
	cr_assert_eq(cJSON_GetArraySize(list), 1);
	snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring);
	cr_assert_eq(kp_komposter(&d, NULL, "token", "revoke", id, NULL), 0);
	token_add(read_token);
	cJSON_Delete(list);
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

TestSuite(api, .init = start, .fini = stop, .timeout = 200);

Test(api, every_v1_path_needs_a_valid_token)
{
	struct answer a;
	char v[256];

	get("/v1/ridership", NULL, &a);
	expect_error(&a, 401, NULL, "no token");
	cr_expect_eq(strncmp(header(&a, "WWW-Authenticate", v), "Bearer", 6), 0, "WWW-Authenticate: %s", v);
	answer_free(&a);
	get_auth("/v1/ridership", "kpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &a);
	expect_error(&a, 401, NULL, "wrong token");
	cr_expect_eq(strncmp(header(&a, "WWW-Authenticate", v), "Bearer", 6), 0);
	answer_free(&a);
	get_auth("/v1/devices", revoked_token, &a);
	expect_error(&a, 401, NULL, "revoked token");
	answer_free(&a);
	get("/v1/devices", "Authorization: Basic dXNlcjpwYXNz\r\n", &a);
	expect_error(&a, 401, NULL, "basic auth");
	answer_free(&a);
	get_auth("/v1/ridership", read_token, &a);
	cr_expect_eq(a.status, 200, "read token on /v1/ridership: %d %s", a.status, a.body);
	answer_free(&a);
}

Test(api, a_token_in_the_query_string_is_refused)
{
	struct answer a;
	char path[128];

	snprintf(path, sizeof path, "/v1/ridership?token=%s", read_token);
	get(path, NULL, &a);
	expect_error(&a, 400, "tokens go in the Authorization header", "token=");
	answer_free(&a);
	snprintf(path, sizeof path, "/v1/devices?access_token=%s", read_token);
	get_auth(path, read_token, &a);
	expect_error(&a, 400, "tokens go in the Authorization header", "access_token=");
	answer_free(&a);
	/* A token pasted bare, under no name, is refused before any part of the
	 * query could be echoed back in an error. */
	snprintf(path, sizeof path, "/v1/ridership?%s", read_token);
	get_auth(path, read_token, &a);
	expect_error(&a, 400, "tokens go in the Authorization header", "bare token");
	cr_expect_null(strstr(a.body, read_token + 4), "the token echoed: %s", a.body);
	answer_free(&a);
}

Test(api, bad_parameters_are_400_naming_the_fault)
{
	static const struct {
		const char *path, *needle;
	} cases[] = {
		{ "/v1/ridership?from=2024-13-01", "from" },
		{ "/v1/ridership?to=yesterday", "to" },
		{ "/v1/ridership?by=route,colour", "colour" },
		{ "/v1/ridership?by=route,route", "twice" },
		{ "/v1/ridership?colour=red", "colour" },
		{ "/v1/ridership?from=2024-06-02&to=2024-06-01", "after" },
		{ "/v1/ridership?from=2023-06-01&to=2024-06-01", "366 days" },
		{ "/v1/ridership?from=1900-01-01&to=2100-12-31&with_cameras=1", "366 days" },
		{ "/v1/ridership?with_cameras=1&by=hour", "with_cameras" },
		{ "/v1/ridership?by", "=" },
		{ "/v1/devices?x=1", "'x'" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct answer a;

		get_auth(cases[i].path, read_token, &a);
		expect_error(&a, 400, cases[i].needle, cases[i].path);
		answer_free(&a);
	}
}

static void expect_same_as_stats(const char *query, const char *from, const char *to, const char *by)
{
	struct answer a;
	char path[256], *out = NULL;

	snprintf(path, sizeof path, "/v1/ridership?%s", query);
	get_auth(path, read_token, &a);
	cr_assert_eq(a.status, 200, "%s: %d %s", path, a.status, a.body);
	cr_assert_eq(kp_komposter(&d, &out, "stats", "--from", from, "--to", to, "--by", by, "--json", NULL), 0);
	cr_expect_str_eq(a.body, out, "%s differs from stats --json", path);
	free(out);
	answer_free(&a);
}

Test(api, ridership_is_stats_json_byte_for_byte)
{
	char from[16], to[16], q[128];
	struct answer a;
	cJSON *doc;

	date_from_today(-2, from);
	date_from_today(2, to);
	snprintf(q, sizeof q, "from=%s&to=%s", from, to);
	expect_same_as_stats(q, from, to, "route");
	snprintf(q, sizeof q, "from=%s&to=%s&by=route,stop,hour,fare", from, to);
	expect_same_as_stats(q, from, to, "route,stop,hour,fare");
	snprintf(q, sizeof q, "from=%s&to=%s&by=fare%%2Chour", from, to);
	expect_same_as_stats(q, from, to, "fare,hour");
	/* And it holds the taps: the run is not empty. */
	snprintf(q, sizeof q, "/v1/ridership?from=%s&to=%s", from, to);
	get_auth(q, read_token, &a);
	doc = cJSON_Parse(a.body);
	cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "rows")), 0, "%s", a.body);
	cJSON_Delete(doc);
	answer_free(&a);
}

Test(api, devices_lists_the_enrolled_fleet)
{
	struct answer a, one;
	char *out = NULL, path[64];
	cJSON *mine, *theirs, *devs, *dev;

	get_auth("/v1/devices", read_token, &a);
	cr_assert_eq(a.status, 200, "%d %s", a.status, a.body);
	mine = cJSON_Parse(a.body);
	devs = cJSON_GetObjectItem(mine, "devices");
	cr_assert_eq(kp_komposter(&d, &out, "device", "list", "--json", NULL), 0);
	theirs = cJSON_Parse(out);
	free(out);
	cr_assert_eq(cJSON_GetArraySize(devs), cJSON_GetArraySize(theirs));
	cr_assert_eq(cJSON_GetArraySize(devs), DEVICES);
	/* The CLI and the API print the same documents, field for field. */
	for (int i = 0; i < DEVICES; i++)
		cr_expect(cJSON_Compare(cJSON_GetArrayItem(devs, i), cJSON_GetArrayItem(theirs, i), 1),
		          "device %d differs between /v1/devices and device list --json", i);
	cJSON_ArrayForEach(dev, devs) {
		const char *id = cJSON_GetObjectItem(dev, "id")->valuestring;
		cJSON *wm = cJSON_GetObjectItem(dev, "watermark");

		cJSON *rej = cJSON_GetObjectItem(dev, "rejects");

		cr_expect(cJSON_IsNumber(wm) && wm->valuedouble > 0, "device %s has no watermark", id);
		cr_expect_gt(cJSON_GetNumberValue(cJSON_GetObjectItem(dev, "last_seen")), 0, "%s last_seen", id);
		cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(dev, "gaps")), 0, "%s gaps", id);
		cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(dev, "frames")), wm->valuedouble,
		             "%s: frames equal the watermark when nothing is missing", id);
		cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(dev, "clock_skew_ms")), "%s clock_skew_ms", id);
		cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(dev, "last_sent_at")), "%s last_sent_at", id);
		cr_expect(cJSON_IsObject(rej) && cJSON_GetArraySize(rej) == KP_NACK_REASON_MAX, "%s rejects", id);
		cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(rej, "bad_signature")), 0, "%s", id);
		cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItem(dev, "keys")), 0);
		snprintf(path, sizeof path, "/v1/devices/%s", id);
		get_auth(path, read_token, &one);
		cr_expect_eq(one.status, 200, "%s: %d", path, one.status);
		cr_expect_not_null(strstr(one.body, id));
		answer_free(&one);
	}
	cJSON_Delete(mine);
	cJSON_Delete(theirs);
	answer_free(&a);
	get_auth("/v1/devices/00000000deadbeef", read_token, &a);
	expect_error(&a, 404, "00000000deadbeef", "unknown device");
	answer_free(&a);
	get_auth("/v1/devices/xyz", read_token, &a);
	expect_error(&a, 404, NULL, "not a device id");
	answer_free(&a);
}

/* A camera mapped with the CLI while the daemon runs is listed; the NVR
 * never said anything, so the camera has no event and the NVR no outage. */
Test(api, cameras_lists_a_camera_added_with_the_cli)
{
	struct answer a;
	cJSON *doc, *cams, *cam, *nvr;

	get("/v1/cameras", NULL, &a);
	expect_error(&a, 401, NULL, "/v1/cameras without a token");
	answer_free(&a);
	get_auth("/v1/cameras?x=1", read_token, &a);
	expect_error(&a, 400, "'x'", "/v1/cameras with a parameter");
	answer_free(&a);
	cr_assert_eq(kp_komposter(&d, NULL, "camera", "add", "door-cam", "--vehicle", "42", "--door", "2",
	                          "--boarding-zone", "in", "--alighting-zone", "out", NULL), 0);
	get_auth("/v1/cameras", read_token, &a);
	cr_assert_eq(a.status, 200, "%d %s", a.status, a.body);
	doc = cJSON_Parse(a.body);
	cr_assert_not_null(doc, "/v1/cameras is not JSON: %s", a.body);
	cams = cJSON_GetObjectItem(doc, "cameras");
	cr_assert_eq(cJSON_GetArraySize(cams), 1, "%s", a.body);
	cam = cJSON_GetArrayItem(cams, 0);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cam, "name")), "door-cam");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cam, "place")), "onboard");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(cam, "vehicle_id")), 42);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(cam, "door")), 2);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(cam, "stop_id")), 0);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cam, "boarding_zone")), "in");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cam, "alighting_zone")), "out");
	cr_expect_gt(cJSON_GetNumberValue(cJSON_GetObjectItem(cam, "created_at")), 0);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cam, "last_event")), "%s", a.body);
	nvr = cJSON_GetObjectItem(doc, "nvr");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(nvr, "online")), "%s", a.body);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(nvr, "since")), "%s", a.body);
	cJSON_Delete(doc);
	answer_free(&a);
}

Test(api, a_closed_date_has_an_etag_and_304)
{
	char past[16], q[128], etag[256], cache[256], inm[512];
	struct answer a, b;

	date_from_today(-10, past);
	snprintf(q, sizeof q, "/v1/ridership?from=%s&to=%s", past, past);
	get_auth(q, read_token, &a);
	cr_assert_eq(a.status, 200);
	cr_assert_neq(header(&a, "ETag", etag)[0], '\0', "no ETag: %s", a.head);
	cr_expect_str_eq(header(&a, "Cache-Control", cache), "private, max-age=86400");
	snprintf(inm, sizeof inm, "Authorization: Bearer %s\r\nIf-None-Match: %s\r\n", read_token, etag);
	get(q, inm, &b);
	cr_expect_eq(b.status, 304, "%d %s", b.status, b.head);
	cr_expect_str_eq(b.body, "");
	answer_free(&b);
	snprintf(inm, sizeof inm, "Authorization: Bearer %s\r\nIf-None-Match: \"0000\"\r\n", read_token);
	get(q, inm, &b);
	cr_expect_eq(b.status, 200, "another ETag is not a match");
	answer_free(&b);
	answer_free(&a);
	/* Today is open: never stored. */
	get_auth("/v1/ridership", read_token, &a);
	cr_expect_str_eq(header(&a, "Cache-Control", cache), "no-store");
	answer_free(&a);
}

Test(api, unknown_path_is_404_json)
{
	struct answer a;

	get_auth("/v1/nothing", read_token, &a);
	expect_error(&a, 404, "no such endpoint", "/v1/nothing");
	answer_free(&a);
	get("/admin", NULL, &a);
	expect_error(&a, 404, "no such endpoint", "/admin");
	answer_free(&a);
}

/* The sample name{labels} of metrics equals the number item of live. */
static void expect_sample(const char *metrics, const char *sample, const cJSON *item)
{
	double want = kp_metric(metrics, sample);

	cr_expect(cJSON_IsNumber(item), "/v1/live has no number for %s", sample);
	cr_expect_geq(want, 0, "/metrics has no %s", sample);
	cr_expect(cJSON_IsNumber(item) && item->valuedouble > want - 1e-6 && item->valuedouble < want + 1e-6,
	          "%s: /v1/live %g, /metrics %g", sample, cJSON_IsNumber(item) ? item->valuedouble : -1, want);
}

Test(api, live_counters_equal_metrics)
{
	static const char *const plain[] = { "komposter_frames_received_total", "komposter_frames_stored_total",
		                             "komposter_taps_stored_total", "komposter_storage_full_total",
		                             "komposter_storage_errors_total", NULL };
	char *metrics = NULL, sample[128];
	cJSON *live, *rej, *commit, *ready, *r;
	struct answer a;

	get("/v1/live", NULL, &a);
	expect_error(&a, 401, NULL, "/v1/live without a token");
	answer_free(&a);
	get_auth("/v1/live?since=1", read_token, &a);
	expect_error(&a, 400, "since", "/v1/live with a parameter");
	answer_free(&a);
	/* The fleet has stopped: the counters stand still between the two reads. */
	get_auth("/v1/live", read_token, &a);
	cr_assert_eq(a.status, 200, "%d %s", a.status, a.body);
	cr_assert_eq(kp_http_get(d.http_port, "/metrics", &metrics), 200);
	live = cJSON_Parse(a.body);
	cr_assert_not_null(live, "/v1/live is not JSON: %s", a.body);
	for (size_t i = 0; plain[i] != NULL; i++)
		expect_sample(metrics, plain[i], cJSON_GetObjectItem(live, plain[i]));
	cr_expect_eq(cJSON_GetObjectItem(live, "komposter_taps_stored_total")->valuedouble, DEVICES * TAPS_PER_DEVICE);
	rej = cJSON_GetObjectItem(live, "komposter_frames_rejected_total");
	cr_expect_gt(cJSON_GetArraySize(rej), 1, "rejects by reason: %s", a.body);
	cJSON_ArrayForEach(r, rej) {
		snprintf(sample, sizeof sample, "komposter_frames_rejected_total{reason=\"%s\"}", r->string);
		expect_sample(metrics, sample, r);
	}
	commit = cJSON_GetObjectItem(live, "komposter_commit_seconds");
	expect_sample(metrics, "komposter_commit_seconds_sum", cJSON_GetObjectItem(commit, "sum"));
	expect_sample(metrics, "komposter_commit_seconds_count", cJSON_GetObjectItem(commit, "count"));
	cr_expect_gt(cJSON_GetObjectItem(commit, "count")->valuedouble, 0);
	ready = cJSON_GetObjectItem(live, "ready");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(ready, "subscribed")), "%s", a.body);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(ready, "storage_ok")), "%s", a.body);
	cJSON_Delete(live);
	free(metrics);
	answer_free(&a);
}
