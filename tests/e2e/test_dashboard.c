/*
 * Description: the dashboards in a real browser. mosquitto, komposterd
 * and a small fleet run for real, and the database also holds a closed
 * date (filled before the daemon starts, tests/tools/fill.c) that the
 * daemon publishes: route 10 with 20 taps (published) and route 20 with
 * 3 (below k = 10: suppressed). tests/e2e/browser/dashboard.mjs drives
 * Debian's Chromium (headless, playwright-core) over /ui/ and prints what
 * the pages showed; this test compares it with /v1/ridership, with what
 * the fleet sent, and with the published package: a wrong token shows the
 * message and no chart, a range of dates without taps the empty state;
 * the live panel's counters (GET /v1/live, two reads: one point of its
 * frames/s and taps/s chart) equal the test's own /v1/live read after the
 * fleet stopped, and its rates are 0; the chart of counted boardings and
 * taps per hour holds the with_cameras rows summed per source and hour;
 * sorting the devices by vehicle orders the rows, and filtering by kind,
 * operator (a device of another operator is enrolled) and a flag (it is
 * also silent) leaves exactly the devices that match; the cameras table
 * shows the camera mapped with `komposter camera add` as /v1/cameras
 * gives it (no event: silent) and the NVR's state; the public page shows route 10's published
 * number and "—" (no number) for route 20, with the package's public key.
 * Screenshots: BUILD/tests/e2e/dashboard-operator.png (and -tablet.png, 768
 * px wide, where the page must not be wider than the screen), dashboard-public.png.
 * Without node, Chromium or the npm packages the test fails, naming what
 * is missing (scripts/setup.sh installs them).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../tools/fill.h"
#include "tests/e2e/fleet.h"
#include "tests/e2e/harness.h"

#define DEVICES 3
#define APCS 1 /* a passenger counter on the first vehicle: the validation rate */
#define TAPS_PER_DEVICE 40
#define SILENT_ID "77" /* a validator enrolled but never heard from */
#define REGISTRY (DEVICES + APCS + 1)
#define NODE "/usr/bin/node"
#define CHROMIUM "/usr/bin/chromium"

static struct kp_broker broker;
static struct kp_daemon_proc d;
static struct kp_fleet fleet;
static char token[64], published_date[16];

/* n accepted taps two days ago at 12:00 UTC on route, from device. */
static void add_old_taps(uint64_t device, uint32_t route, int n)
{
	time_t t = time(NULL) - 2 * 86400;
	struct tm tm;
	struct kp_tap taps[32];
	char db[320];

	gmtime_r(&t, &tm);
	memset(taps, 0, sizeof(taps));
	for (int i = 0; i < n; i++) {
		taps[i].tapped_at = fill_utc_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 12, i);
		memset(taps[i].card_token, (int)device, KP_CARD_TOKEN_SIZE);
		taps[i].card_token[0] = (uint8_t)i;
		taps[i].route_id = route;
		taps[i].stop_id = 100 + route;
		taps[i].fare_product = 1;
		taps[i].result = KP_TAP_ACCEPTED;
		taps[i].amount = 800;
	}
	snprintf(db, sizeof(db), "%s/data", d.dir);
	cr_assert_eq(fill_taps(db, device, taps, (size_t)n, 10), 0);
	strftime(published_date, sizeof(published_date), "%Y-%m-%d", &tm);
}

static cJSON *get_json(const char *path, const char *auth)
{
	char *body = NULL, cmd[512];
	cJSON *doc;
	int status;

	if (auth == NULL) {
		status = kp_http_get(d.http_port, path, &body);
		cr_assert_eq(status, 200, "GET %s: %d", path, status);
	} else {
		/* curl sends the header kp_http_get cannot. */
		char url[256];
		char *argv[] = { "/usr/bin/curl", "-sf", "-H", cmd, url, NULL };

		snprintf(cmd, sizeof(cmd), "Authorization: Bearer %s", auth);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d.http_port, path);
		cr_assert_eq(kp_run(argv, &body), 0, "curl %s failed", url);
	}
	doc = cJSON_Parse(body);
	cr_assert_not_null(doc, "%s: not JSON: %s", path, body);
	free(body);
	return doc;
}

static void wait_published(void)
{
	for (int waited = 0; waited < 15000; waited += 100) {
		if (kp_daemon_metric(&d, "komposter_open_data_published_total") >= 1)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("the closed date %s was not published", published_date);
}

static void start(void)
{
	char *o = NULL;
	pid_t sim;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "storage.timezone = " FILL_TIMEZONE "\nstorage.service_day_start_hour = 3\n"
	                             "open_data.publish_grace_s = 0\nopen_data.publish_interval_s = 1\n"),
	             0);
	add_old_taps(0xe1, 10, 20);
	add_old_taps(0xe2, 20, 3);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init_apcs(&fleet, &d, DEVICES, APCS), 0);
	sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--timeout", "100", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	/* Enrolled, never heard from, another operator's: silent, and the operator filter has two choices. */
	cr_assert_eq(kp_komposter(&d, NULL, "device", "add", "--id", SILENT_ID, "--key-id", "1", "--public-key",
	                          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "--operator",
	                          "another", "--vehicle", "999", NULL),
	             0);
	cr_assert_eq(kp_komposter(&d, NULL, "camera", "add", "dash-cam", "--stop", "7", "--boarding-zone", "in", NULL), 0);
	cr_assert_eq(kp_komposter(&d, &o, "token", "add", "--scope", "read", "--name", "dashboard", NULL), 0);
	cr_assert_eq(strlen(o), 48, "token output: %s", o);
	memcpy(token, o, 47);
	free(o);
	wait_published();
}

static void stop(void)
{
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

TestSuite(dashboard, .init = start, .fini = stop, .timeout = 90);

/* Runs dashboard.mjs; what the pages showed. */
static cJSON *drive_browser(void)
{
	char url[64], script[512], shots[512], modules[512], *out = NULL;
	cJSON *doc;

	snprintf(script, sizeof(script), "%s/tests/e2e/browser/dashboard.mjs", KP_SOURCE_DIR);
	snprintf(modules, sizeof(modules), "%s/tests/e2e/browser/node_modules/playwright-core", KP_SOURCE_DIR);
	snprintf(shots, sizeof(shots), "%s/tests/e2e", KP_BUILD_DIR);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.http_port);
	cr_assert_eq(access(NODE, X_OK), 0, NODE " is missing: scripts/setup.sh installs nodejs");
	cr_assert_eq(access(CHROMIUM, X_OK), 0, CHROMIUM " is missing: scripts/setup.sh installs chromium");
	cr_assert_eq(access(modules, F_OK), 0, "%s is missing: scripts/setup.sh runs npm ci there", modules);
	char *argv[] = { NODE, script, url, token, shots, NULL };
	int rc = kp_run(argv, &out);

	cr_assert_eq(rc, 0, "dashboard.mjs failed (%d); its stderr is above", rc);
	doc = cJSON_Parse(out);
	cr_assert_not_null(doc, "dashboard.mjs printed no JSON: %s", out);
	free(out);
	return doc;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(v), "no number %s", name);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(v), "no string %s", name);
	return v->valuestring;
}

/* The page's rows [{key, accepted}] equal the API's rows by key. */
static void expect_same_rows(const cJSON *page, const cJSON *api, const char *key)
{
	const cJSON *row;

	cr_expect_eq(cJSON_GetArraySize(page), cJSON_GetArraySize(api), "%s: row count", key);
	cJSON_ArrayForEach(row, api) {
		const cJSON *p;
		int found = 0;

		cJSON_ArrayForEach(p, page)
			if (num(p, key) == num(row, key)) {
				cr_expect_eq(num(p, "accepted"), num(row, "accepted"), "%s %g", key, num(row, key));
				found = 1;
			}
		cr_expect(found, "%s %g is not on the page", key, num(row, key));
	}
}

/* The page's rates: per route and source, the API's hours summed, lowest
 * rate first. */
static void expect_rates(const cJSON *page, const cJSON *api)
{
	const cJSON *p, *row;
	double last = -1;

	cr_expect_gt(cJSON_GetArraySize(page), 0, "no validation rate with a passenger counter");
	cJSON_ArrayForEach(p, page) {
		double boardings = 0, accepted = 0;

		cJSON_ArrayForEach(row, api)
			if (num(row, "route_id") == num(p, "route_id") && strcmp(str(row, "source"), str(p, "source")) == 0) {
				boardings += num(row, "boardings");
				accepted += num(row, "accepted");
			}
		cr_expect_eq(num(p, "boardings"), boardings, "route %g", num(p, "route_id"));
		cr_expect_eq(num(p, "accepted"), accepted, "route %g", num(p, "route_id"));
		if (boardings > 0) {
			cr_expect(fabs(num(p, "rate") - accepted / boardings) < 1e-9);
			cr_expect_geq(num(p, "rate"), last, "not lowest first");
			last = num(p, "rate");
		}
	}
}

/* The fleet had stopped before the browser started: the page's last
 * /v1/live equals ours, and the rates it charted are 0. */
static void expect_live(const cJSON *live)
{
	static const char *const names[] = { "komposter_frames_received_total", "komposter_taps_stored_total",
		                             "komposter_storage_full_total", NULL };
	cJSON *now = get_json("/v1/live", token);
	const cJSON *page = cJSON_GetObjectItem(live, "doc"), *r;

	for (size_t i = 0; names[i] != NULL; i++)
		cr_expect_eq(num(page, names[i]), num(now, names[i]), "live %s", names[i]);
	cr_expect_eq(num(page, "komposter_taps_stored_total"), kp_stored_taps(&d), "the live panel's taps stored");
	cr_expect_eq(atof(str(live, "stored_tile")), num(now, "komposter_taps_stored_total"));
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(now, "komposter_frames_rejected_total"))
		cr_expect_eq(num(cJSON_GetObjectItem(page, "komposter_frames_rejected_total"), r->string), r->valuedouble,
		             "live rejects %s", r->string);
	cr_expect_eq(num(cJSON_GetObjectItem(page, "komposter_commit_seconds"), "count"),
	             num(cJSON_GetObjectItem(now, "komposter_commit_seconds"), "count"));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(page, "ready"), "subscribed")));
	cr_expect_eq(num(live, "frames_per_s"), 0, "frames per second with the fleet stopped");
	cr_expect_eq(num(live, "taps_per_s"), 0, "taps per second with the fleet stopped");
	cr_expect_geq(num(live, "points"), 1, "no point on the live chart");
	cr_expect_eq(num(live, "charts"), 1, "no live chart");
	cr_expect_eq(num(live, "shown"), 6);
	cJSON_Delete(now);
}

/* The cameras table holds /v1/cameras' one camera: its name, its place,
 * no last event (the NVR never spoke) and so silent; the NVR online. */
static void expect_camera_list(const cJSON *op)
{
	cJSON *api = get_json("/v1/cameras", token);
	const cJSON *cam = cJSON_GetArrayItem(cJSON_GetObjectItem(api, "cameras"), 0);
	const cJSON *rows = cJSON_GetObjectItem(op, "camlist"), *cell;
	const char *want[][2] = {{"name", str(cam, "name")}, {"place", NULL}, {"last_event", NULL}, {"status", "silent"}};
	int i = 0;

	cr_assert_eq(cJSON_GetArraySize(rows), 1, "cameras table rows");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(api, "cameras")), 1);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cam, "last_event")));
	cJSON_ArrayForEach(cell, cJSON_GetArrayItem(rows, 0)) {
		cr_assert_lt(i, 4, "cameras table columns");
		cr_expect_str_eq(str(cell, "key"), want[i][0]);
		if (i == 1)
			cr_expect_not_null(strstr(str(cell, "value"), "7"), "place %s", str(cell, "value"));
		else if (want[i][1] == NULL)
			cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cell, "value")), "%s", want[i][0]);
		else
			cr_expect_str_eq(str(cell, "value"), want[i][1]);
		i++;
	}
	cr_expect_str_eq(str(op, "nvr_online"),
	                 cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(api, "nvr"), "online")) ? "true" : "false");
	cJSON_Delete(api);
}

/* Per source and hour: the chart's boardings and taps are the API's rows summed. */
static void expect_cameras(const cJSON *cams, const char *from, const char *to)
{
	char q[128];
	const cJSON *data = cJSON_GetObjectItem(cams, "data"), *row;
	double boardings = 0;

	snprintf(q, sizeof(q), "/v1/ridership?with_cameras=1&by=route&from=%s&to=%s", from, to);
	cJSON *rate = get_json(q, token);
	double want_b[2][24] = { { 0 } }, want_a[2][24] = { { 0 } };
	static const char *const sources[2] = { "signed", "nvr" };

	cJSON_ArrayForEach(row, cJSON_GetObjectItem(rate, "rows")) {
		int s = strcmp(str(row, "source"), "nvr") == 0, h = (int)num(row, "hour");

		want_b[s][h] += num(row, "boardings");
		want_a[s][h] += num(row, "accepted");
		boardings += num(row, "boardings");
	}
	cr_expect_gt(boardings, 0, "the passenger counter counted no boarding");
	for (int s = 0; s < 2; s++) {
		const cJSON *src = cJSON_GetObjectItem(data, sources[s]);

		for (int h = 0; h < 24 && src != NULL; h++) {
			cr_expect_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(src, "boardings"), h)->valuedouble, want_b[s][h],
			             "%s boardings at %d", sources[s], h);
			cr_expect_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(src, "accepted"), h)->valuedouble, want_a[s][h],
			             "%s taps at %d", sources[s], h);
		}
	}
	cr_expect_not_null(cJSON_GetObjectItem(data, "signed"), "no series of the passenger counter");
	cr_expect_eq(num(cams, "charts"), 1);
	cr_expect_eq(num(cams, "series"), 1 + 2 * cJSON_GetArraySize(data), "hour and two series per source");
	cJSON_Delete(rate);
}

static int array_has(const cJSON *arr, const char *s)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, arr)
		if (strcmp(v->valuestring, s) == 0)
			return 1;
	return 0;
}

/* The ids of the registry (as the page saw it) whose field is value, or
 * whose flags hold it; each is in rows and rows hold nothing else. */
static void expect_filtered(const cJSON *registry, const cJSON *rows, const char *field, const char *value)
{
	const cJSON *dev;
	int n = 0;

	cJSON_ArrayForEach(dev, registry) {
		int in = strcmp(field, "flags") == 0 ? array_has(cJSON_GetObjectItem(dev, "flags"), value)
		                                     : strcmp(str(dev, field), value) == 0;

		cr_expect_eq(array_has(rows, str(dev, "id")), in, "device %s, filter %s=%s", str(dev, "id"), field, value);
		n += in;
	}
	cr_expect_eq(cJSON_GetArraySize(rows), n, "filter %s=%s: rows", field, value);
}

static void expect_device_filters(const cJSON *f)
{
	const cJSON *reg = cJSON_GetObjectItem(f, "registry"), *v;
	const char *last = "";

	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "all")), REGISTRY);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "by_vehicle_up")), REGISTRY);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(f, "by_vehicle_up")) {
		cr_expect_geq(strcmp(v->valuestring, last), 0, "vehicles not ascending after one click");
		last = v->valuestring;
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(f, "by_vehicle_down")) {
		cr_expect_leq(strcmp(v->valuestring, last), 0, "vehicles not descending after two clicks");
		last = v->valuestring;
	}
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "apc")), APCS);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "validator")), DEVICES + 1);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "operators")), 2, "the operators to choose from");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "operator")), 1, "the other operator's devices");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "silent")), 1, "the silent devices");
	expect_filtered(reg, cJSON_GetObjectItem(f, "silent"), "flags", "silent");
	expect_filtered(reg, cJSON_GetObjectItem(f, "apc"), "kind", "apc");
	expect_filtered(reg, cJSON_GetObjectItem(f, "validator"), "kind", "validator");
	expect_filtered(reg, cJSON_GetObjectItem(f, "operator"), "operator",
	                cJSON_GetArrayItem(cJSON_GetObjectItem(f, "operators"), 0)->valuestring);
	expect_filtered(reg, cJSON_GetObjectItem(f, "skew"), "flags", "skew");
}

static void expect_operator(const cJSON *op, const struct kp_fleet_summary *sent)
{
	const cJSON *dash = cJSON_GetObjectItem(op, "dash"), *wrong = cJSON_GetObjectItem(op, "wrong_token"), *row;
	cJSON *hour = get_json("/v1/ridership?by=hour", token);
	char q[128];

	cr_expect_str_eq(str(wrong, "status"), "auth.401");
	cr_expect(strlen(str(wrong, "text")) > 10, "no message for a wrong token");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(wrong, "chart_shown")), "a chart beside the wrong-token message");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(op, "token_kept")));
	cr_expect_leq(num(op, "tablet_overflow"), 0, "the page is wider than a tablet");
	cr_expect_str_eq(str(dash, "from"), str(hour, "from"), "the page shows the API's today");
	cr_expect_str_eq(str(dash, "to"), str(hour, "to"), "the page shows the API's today");
	/* Every hour of the chart: the API's row, or 0 where it has none. */
	double chart[24] = { 0 }, sum = 0;
	int h = 0;
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(dash, "hourly")) {
		cr_assert(h < 24);
		chart[h++] = row->valuedouble;
	}
	cr_expect_eq(h, 24);
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(hour, "rows")) {
		cr_expect_eq(chart[(int)num(row, "hour")], num(row, "accepted"), "hour %g", num(row, "hour"));
		sum += num(row, "accepted");
	}
	for (int i = 0; i < 24; i++)
		sum -= chart[i];
	cr_expect_eq(sum, 0, "the chart holds taps the API does not");
	cr_expect_eq(atof(str(op, "total")), num(cJSON_GetObjectItem(hour, "total"), "accepted"));
	cr_expect_eq(atof(str(op, "total")), sent->accepted, "the page's total is not what the fleet sent");
	snprintf(q, sizeof(q), "/v1/ridership?by=route&from=%s&to=%s", str(hour, "from"), str(hour, "to"));
	cJSON *route = get_json(q, token);
	expect_same_rows(cJSON_GetObjectItem(dash, "routes"), cJSON_GetObjectItem(route, "rows"), "route_id");
	snprintf(q, sizeof(q), "/v1/ridership?by=fare&from=%s&to=%s", str(hour, "from"), str(hour, "to"));
	cJSON *fare = get_json(q, token);
	expect_same_rows(cJSON_GetObjectItem(dash, "fares"), cJSON_GetObjectItem(fare, "rows"), "fare_product");
	snprintf(q, sizeof(q), "/v1/ridership?by=stop&from=%s&to=%s", str(hour, "from"), str(hour, "to"));
	cJSON *stop = get_json(q, token);
	expect_same_rows(cJSON_GetObjectItem(dash, "stops"), cJSON_GetObjectItem(stop, "rows"), "stop_id");
	cJSON_Delete(stop);
	snprintf(q, sizeof(q), "/v1/ridership?with_cameras=1&by=route&from=%s&to=%s", str(hour, "from"), str(hour, "to"));
	cJSON *rate = get_json(q, token);
	expect_rates(cJSON_GetObjectItem(dash, "rates"), cJSON_GetObjectItem(rate, "rows"));
	cJSON_Delete(rate);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(op, "devices")), REGISTRY);
	/* A range: the page's total is the API's for it, the closed date's taps too. */
	const cJSON *range = cJSON_GetObjectItem(op, "range");
	snprintf(q, sizeof(q), "/v1/ridership?by=route&from=%s&to=%s", str(range, "from"), str(range, "to"));
	cJSON *ranged = get_json(q, token);
	cr_expect_eq(atof(str(range, "total")), num(cJSON_GetObjectItem(ranged, "total"), "accepted"));
	cr_expect_eq(atof(str(range, "total")), sent->accepted + 23, "the range's total is not the fleet's and the filled");
	cJSON_Delete(ranged);
	expect_live(cJSON_GetObjectItem(op, "live"));
	expect_cameras(cJSON_GetObjectItem(op, "cameras"), str(hour, "from"), str(hour, "to"));
	expect_device_filters(cJSON_GetObjectItem(op, "devices_filter"));
	expect_camera_list(op);
	cr_expect_str_neq(str(op, "title_en"), str(op, "title_uk"), "the language switch changed nothing");
	const cJSON *empty = cJSON_GetObjectItem(op, "empty_day");
	cr_expect_str_eq(str(empty, "state"), "empty");
	cr_expect(strlen(str(empty, "text")) > 5, "an empty date shows no message");
	cr_expect_eq(num(empty, "charts"), 0);
	cJSON_Delete(hour);
	cJSON_Delete(route);
	cJSON_Delete(fare);
}

/* The cell of the public table of route and date key: its text, value. */
static const cJSON *public_cell(const cJSON *rows, int route, const char *date)
{
	const cJSON *row, *cell;

	cJSON_ArrayForEach(row, rows) {
		const cJSON *first = cJSON_GetArrayItem(row, 0);

		if (cJSON_IsString(cJSON_GetObjectItem(first, "value")) && atoi(str(first, "value")) == route)
			cJSON_ArrayForEach(cell, row)
				if (strcmp(str(cell, "key"), date) == 0)
					return cell;
	}
	cr_assert_fail("no cell for route %d on %s", route, date);
	return NULL;
}

static void expect_public(const cJSON *pub)
{
	const cJSON *rows = cJSON_GetObjectItem(pub, "byroute"), *c10, *c20, *pkg;
	char path[256], *key = NULL, date_dir[16];

	c10 = public_cell(rows, 10, published_date);
	cr_expect_str_eq(str(c10, "value"), "20", "route 10's published count");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(c10, "suppressed")));
	c20 = public_cell(rows, 20, published_date);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(c20, "value")), "a suppressed cell has a value");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(c20, "suppressed")));
	cr_expect_eq(strpbrk(str(c20, "text"), "0123456789"), NULL, "a suppressed cell shows %s", str(c20, "text"));
	/* The trend is the sum of the published cells: 20, not 23. */
	const cJSON *trend = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pub, "open"), "trend"), 0);
	cr_expect(cJSON_IsNumber(trend) && trend->valuedouble == 20, "the trend's first point");
	snprintf(date_dir, sizeof(date_dir), "%.4s%.2s%.2s", published_date, published_date + 5, published_date + 8);
	snprintf(path, sizeof(path), "/open/%s/v1/minisign.pub", date_dir);
	cr_assert_eq(kp_http_get(d.http_port, path, &key), 200);
	cr_expect_str_eq(str(pub, "pubkey"), key, "the page's key is not the package's");
	free(key);
	pkg = cJSON_GetArrayItem(cJSON_GetObjectItem(pub, "packages"), 0);
	snprintf(path, sizeof(path), "/open/%s/v1/datapackage.json", date_dir);
	cr_expect_str_eq(str(pkg, "href"), path);
	cr_expect_not_null(strstr(str(pkg, "commands"), "sha256sum -c SHA256SUMS"));
	cr_expect_not_null(strstr(str(pkg, "commands"), "minisign -Vm datapackage.json -p minisign.pub"));
}

Test(dashboard, the_pages_show_what_the_api_and_the_packages_say)
{
	struct kp_fleet_summary sent;
	cJSON *seen;

	cr_assert_eq(kp_fleet_summary(&fleet, &sent), 0);
	seen = drive_browser();
	expect_operator(cJSON_GetObjectItem(seen, "operator"), &sent);
	expect_public(cJSON_GetObjectItem(seen, "public"));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(seen, "errors")), 0, "script errors on the pages");
	cJSON_Delete(seen);
}
