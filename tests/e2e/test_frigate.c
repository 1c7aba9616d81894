/*
 * Description: Frigate's events and availability, published on frigate/events
 * and frigate/available through a real mosquitto to komposterd, as Frigate
 * publishes them (the payloads of tests/data/frigate-events.jsonl and a few
 * more): cameras mapped in the registry by a second process while the daemon
 * runs; each tracked object counted at most once per direction, at the
 * street camera's stop or at the onboard camera's vehicle position; every
 * refusal and outcome exact in /metrics; taps still answered; an NVR offline
 * for offline_alarm_s raises the alarm and "online" clears it; a
 * komposterd killed with SIGKILL mid-stream counts no object twice; a
 * configured topic prefix replaces Frigate's default one, and a disabled
 * adapter takes nothing.
 */
#include <criterion/criterion.h>
#include <MQTTClient.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "firmware-proto/topic.h"
#include "storage/cameras.h"
#include "storage/count_agg.h"
#include "storage/db.h"
#include "storage/nvr.h"
#include "tests/e2e/probe.h"
#include "tests/ingest/frigate_fixtures.h"

#define APC 0x00000000000f1701ULL
#define VALIDATOR 0x00000000000f1702ULL
#define VEHICLE 4217
#define ROUTE 27
#define STOP_OF_VEHICLE 300
#define STREET_STOP 501
#define EVENTS "frigate/events"
#define AVAILABLE "frigate/available"
/* mosquitto's max_packet_size (etc/mosquitto.d) is 1 MiB, topic included. */
#define BIG_PAYLOAD ((1 << 20) - 1024)
#define DEADLINE_MS 30000

static const char *const reasons[] = {
	"too_large", "malformed_json", "missing_field", "wrong_type", "unknown_type", "bad_value",
	"too_long", "too_many_zones", "out_of_window", "bad_available",
};
static const char *const outcomes[] = {
	"counted", "unmapped_camera", "not_person", "false_positive", "no_zone_mapped",
	"zone_not_entered", "already_counted", "no_vehicle_position",
};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))
#define N_OUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void publish(MQTTClient c, const char *topic, const void *payload, size_t len, int retained)
{
	MQTTClient_deliveryToken token;

	cr_assert_eq(MQTTClient_publish(c, topic, (int)len, payload, 1, retained, &token), MQTTCLIENT_SUCCESS,
	             "publish on %s", topic);
	cr_assert_eq(MQTTClient_waitForCompletion(c, token, 10000), MQTTCLIENT_SUCCESS);
}

static void publish_fixture(MQTTClient c, const char *name)
{
	size_t len;
	char *p = frigate_fixture(name, &len);

	publish(c, EVENTS, p, len, 0);
	free(p);
}

/* The fixture `name` with every `from` replaced by `to`, published. */
static void publish_edited(MQTTClient c, const char *name, const char *from, const char *to)
{
	size_t len, flen = strlen(from), tlen = strlen(to), n = 0;
	char *p = frigate_fixture(name, &len);
	char *out = malloc(len * (tlen > flen ? tlen / flen + 1 : 1) + 1);
	int replaced = 0;

	cr_assert_not_null(out);
	for (size_t i = 0; i < len;) {
		if (i + flen <= len && memcmp(p + i, from, flen) == 0) {
			memcpy(out + n, to, tlen);
			n += tlen;
			i += flen;
			replaced++;
			continue;
		}
		out[n++] = p[i++];
	}
	cr_assert_gt(replaced, 0, "%s holds no %s", name, from);
	publish(c, EVENTS, out, n, 0);
	free(out);
	free(p);
}

static char *metrics(const struct kp_daemon_proc *d)
{
	char *body = NULL;

	cr_assert_eq(kp_http_get(d->http_port, "/metrics", &body), 200);
	return body;
}

static double rejected(const char *body, const char *reason)
{
	char name[128];

	snprintf(name, sizeof(name), "komposter_frigate_rejected_total{reason=\"%s\"}", reason);
	return kp_metric(body, name);
}

static double outcome(const char *body, const char *direction, const char *what)
{
	char name[160];

	snprintf(name, sizeof(name), "komposter_frigate_outcomes_total{direction=\"%s\",outcome=\"%s\"}",
	         direction, what);
	return kp_metric(body, name);
}

/* Events the Frigate stage has finished with: each is refused or has one
 * boarding outcome. */
static double handled(const char *body)
{
	double n = 0;

	for (size_t i = 0; i < N_REASONS; i++)
		n += rejected(body, reasons[i]);
	for (size_t i = 0; i < N_OUTCOMES; i++)
		n += outcome(body, "boarding", outcomes[i]);
	return n;
}

static char *wait_handled(const struct kp_daemon_proc *d, double n)
{
	for (int waited = 0; waited < DEADLINE_MS; waited += 50) {
		char *body = metrics(d);
		if (handled(body) >= n)
			return body;
		free(body);
		pause_ms(50);
	}
	cr_assert_fail("the Frigate stage never handled %.0f messages", n);
	return NULL;
}

static void wait_metric(const struct kp_daemon_proc *d, const char *name, double want)
{
	double v = -1;

	for (int waited = 0; waited < DEADLINE_MS; waited += 50) {
		v = kp_daemon_metric(d, name);
		if (v == want)
			return;
		pause_ms(50);
	}
	cr_assert_fail("%s stayed %g, never %g", name, v, want);
}

static struct st_db *open_db(const struct kp_daemon_proc *d, int read_only)
{
	struct kp_config cfg;
	struct st_options opts;
	struct st_db *db = NULL;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&cfg);
	cr_assert_eq(kp_config_load(d->config, &cfg, err), 0, "%s", err);
	kp_config_storage_options(&cfg, &opts);
	opts.read_only = read_only;
	opts.adopt_settings = !read_only;
	int rc = st_db_open(&db, &opts);
	cr_assert_eq(rc, ST_OK, "open %s: %s", opts.path, st_strerror(rc));
	return db;
}

static struct st_camera camera(const char *name, uint8_t place, uint32_t vehicle, uint8_t door, uint32_t stop,
                               const char *boarding, const char *alighting)
{
	struct st_camera c = { .place = place, .vehicle_id = vehicle, .door = door, .stop_id = stop };

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.boarding_zone, sizeof(c.boarding_zone), "%s", boarding);
	snprintf(c.alighting_zone, sizeof(c.alighting_zone), "%s", alighting);
	return c;
}

/* Maps cameras as `komposter camera add` will: a second process opens the
 * database read-write beside the running daemon (only komposterd takes the
 * directory lock, dir_lock.h) and the daemon sees them at once. */
static void map_cameras(const struct kp_daemon_proc *d, const struct st_camera *cams, size_t n)
{
	struct st_db *db = open_db(d, 0);

	for (size_t i = 0; i < n; i++) {
		int rc = st_camera_add(db, &cams[i]);
		cr_assert_eq(rc, ST_OK, "camera %s: %s", cams[i].name, st_strerror(rc));
	}
	st_db_close(db);
}

struct nvr_sums {
	double boardings, alightings;
	double onboard_boardings, onboard_alightings; /* at the vehicle's route, stop and door 1 */
	double street_boardings;                      /* at the street stop, route 0, door 0 */
	int other_cells;
};

static int sum_cell(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct nvr_sums *s = ctx;

	if (k->source != ST_COUNT_SOURCE_NVR)
		return 0;
	s->boardings += (double)v->boardings;
	s->alightings += (double)v->alightings;
	if (k->route_id == ROUTE && k->stop_id == STOP_OF_VEHICLE && k->door == 1) {
		s->onboard_boardings += (double)v->boardings;
		s->onboard_alightings += (double)v->alightings;
	} else if (k->route_id == 0 && k->stop_id == STREET_STOP && k->door == 0) {
		s->street_boardings += (double)v->boardings;
	} else {
		s->other_cells++;
	}
	return 0;
}

static int count_row(void *ctx, const struct st_nvr_event *ev)
{
	(*(int *)ctx)++;
	return 0;
}

static int count_outage(void *ctx, const struct st_nvr_outage *o)
{
	int *n = ctx;
	n[0]++;
	n[1] += o->end != 0;
	return 0;
}

/* What the database holds, read as the tools read it. */
static void read_stored(const struct kp_daemon_proc *d, struct nvr_sums *sums, const char *camera, int *rows,
                        int outages[2])
{
	struct st_db *db = open_db(d, 1);
	struct st_read r;

	memset(sums, 0, sizeof(*sums));
	cr_assert_eq(st_read_begin(db, &r), ST_OK);
	cr_assert_eq(st_door_agg_foreach(&r, 20000101, 29991231, sum_cell, sums), ST_OK);
	if (camera) {
		*rows = 0;
		cr_assert_eq(st_nvr_event_foreach(&r, camera, 0, INT64_MAX, count_row, rows), ST_OK);
	}
	if (outages) {
		outages[0] = outages[1] = 0;
		cr_assert_eq(st_nvr_outage_foreach(&r, 0, INT64_MAX, count_outage, outages), ST_OK);
	}
	st_read_end(&r);
	st_db_close(db);
}

/* The APC's counts put the bus at ROUTE / STOP_OF_VEHICLE (vehicle_pos.h)
 * a second after the fixtures' objects started (position_max_age_s). */
#define FIXTURES_START_MS 1717400000123LL
static void place_vehicle(struct kp_probe *apc)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_count rec = { .observed_at = FIXTURES_START_MS + 1000, .route_id = ROUTE, .stop_id = STOP_OF_VEHICLE,
		                .vehicle_id = VEHICLE, .door = 1, .kind = KP_COUNT_KIND_DOOR_CYCLE,
		                .boardings = 1, .occupancy = KP_OCCUPANCY_UNKNOWN, .confidence = 95 };
	struct kp_reply_seen reply;
	size_t len = kp_probe_count_frame(apc, 1, &rec, 1, frame);

	cr_assert_gt(len, 0);
	cr_assert_eq(kp_probe_publish_stream(apc, APC, KP_STREAM_COUNTS, frame, len), 0);
	cr_assert_eq(kp_probe_reply(apc, 10000, &reply), 0, "no reply to the APC");
	cr_assert_eq(reply.h.type, KP_TYPE_ACK);
}

static void expect_taps_answered(struct kp_probe *validator)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_reply_seen reply;
	size_t len = kp_probe_frame(validator, 1, 3, frame, ROUTE, 9);

	cr_assert_eq(kp_probe_publish(validator, VALIDATOR, frame, len), 0);
	cr_assert_eq(kp_probe_reply(validator, 10000, &reply), 0, "no reply to the validator's taps");
	cr_expect_eq(reply.h.type, KP_TYPE_ACK);
	cr_expect(reply.signature_ok);
}

static void expect_reason(const char *body, const char *reason, double want)
{
	cr_expect_eq(rejected(body, reason), want, "rejected{%s} %g, expected %g", reason, rejected(body, reason), want);
}

static void expect_outcome(const char *body, const char *direction, const char *what, double want)
{
	cr_expect_eq(outcome(body, direction, what), want, "outcome{%s,%s} %g, expected %g", direction, what,
	             outcome(body, direction, what), want);
}

Test(frigate, events_are_counted_once_refusals_and_outcomes_exact_taps_still_answered, .timeout = 240)
{
	static const char *const in_file_order[] = {
		"a_new", "a_update_door_in", "a_update_aisle", "a_update_clip", "a_end",
		"b_update_without_new", "b_end", "c_update_both_zones", "fp_update", "car_new",
		"extra_keys_update", "unmapped_update",
		"missing_after_id", "missing_after", "missing_type", "missing_entered_zones", "missing_has_clip",
		"wrong_type_id_number", "wrong_type_zones_string", "wrong_type_zone_number",
		"wrong_type_false_positive_string", "wrong_type_start_time_string", "wrong_type_end_time_bool",
		"wrong_type_after_array", "wrong_type_type_number", "wrong_type_not_object",
		"unknown_type_delete", "unknown_type_upper_case",
		"bad_value_empty_camera", "bad_value_negative_start", "bad_value_infinite_end",
		"too_long_camera", "too_many_zones",
		"malformed_truncated", "malformed_trailing_garbage", "malformed_docs_comment", "malformed_not_json",
	};
	const struct st_camera cams[] = {
		camera("bus_4217_front", ST_CAMERA_ONBOARD, VEHICLE, 1, 0, "door_in", "door_out"),
		camera("bus_9999_front", ST_CAMERA_ONBOARD, 9999, 2, 0, "door_in", "door_out"),
		camera("stop_teatralna_east", ST_CAMERA_STREET, 0, 0, STREET_STOP, "boarding_area", "alighting_area"),
	};
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe apc, validator;
	struct nvr_sums sums;
	MQTTClient frigate;
	double sent = 0;
	int rows, outages[2];

	cr_assert_eq(kp_broker_start(&broker), 0);
	/* The fixtures are from June 2024: a window of ten years takes them. */
	cr_assert_eq(kp_daemon_setup(&d, &broker, "ingest.accept_past_days = 3650\nfrigate.offline_alarm_s = 1\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	map_cameras(&d, cams, sizeof(cams) / sizeof(cams[0]));
	cr_assert_eq(kp_probe_open_kind(&apc, &broker, &d, APC, "apc"), 0);
	cr_assert_eq(kp_probe_open_kind(&validator, &broker, &d, VALIDATOR, "validator"), 0);
	place_vehicle(&apc);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){ .client_id = "frigate" }, &frigate),
	             MQTTCLIENT_SUCCESS);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frigate_available"), -1);

	for (size_t i = 0; i < sizeof(in_file_order) / sizeof(in_file_order[0]); i++, sent++)
		publish_fixture(frigate, in_file_order[i]);
	/* One object's life again: more updates, and its end twice. */
	for (int i = 0; i < 5; i++, sent++)
		publish_fixture(frigate, "a_update_aisle");
	publish_fixture(frigate, "a_end");
	sent++;
	/* An onboard camera whose vehicle was never seen. */
	publish_edited(frigate, "c_update_both_zones", "bus_4217_front", "bus_9999_front");
	sent++;
	/* An object that started in 2001: outside the window. */
	publish_edited(frigate, "a_update_door_in", "1717400000.123456", "1000000000.123456");
	sent++;
	/* Near 1 MiB: refused as too_large before any parse. */
	char *big = malloc(BIG_PAYLOAD);
	cr_assert_not_null(big);
	memset(big, ' ', BIG_PAYLOAD);
	big[0] = '{';
	big[BIG_PAYLOAD - 1] = '}';
	publish(frigate, EVENTS, big, BIG_PAYLOAD, 0);
	free(big);
	sent++;
	publish(frigate, AVAILABLE, "maybe", 5, 0);
	sent++;

	char *body = wait_handled(&d, sent);
	cr_expect_eq(handled(body), sent, "handled %g of %g", handled(body), sent);
	cr_expect_eq(kp_metric(body, "komposter_frigate_messages_total"), sent);
	expect_reason(body, "too_large", 1);
	expect_reason(body, "malformed_json", 4);
	expect_reason(body, "missing_field", 5);
	expect_reason(body, "wrong_type", 9);
	expect_reason(body, "unknown_type", 2);
	expect_reason(body, "bad_value", 3);
	expect_reason(body, "too_long", 1);
	expect_reason(body, "too_many_zones", 1);
	expect_reason(body, "out_of_window", 1);
	expect_reason(body, "bad_available", 1);
	/* a: boarded once (door_in), then 3 + 5 + 1 messages already counted;
	 * b: alighted once, its end already counted; c: both at once;
	 * extra_keys: boarded at the street stop. */
	expect_outcome(body, "boarding", "counted", 3);
	expect_outcome(body, "alighting", "counted", 2);
	expect_outcome(body, "boarding", "already_counted", 9);
	expect_outcome(body, "alighting", "already_counted", 1);
	/* a's 11 messages and extra_keys never entered door_out / alighting_area,
	 * a_new and b's two never door_in. */
	expect_outcome(body, "boarding", "zone_not_entered", 3);
	expect_outcome(body, "alighting", "zone_not_entered", 12);
	for (int dir = 0; dir < 2; dir++) {
		const char *direction = dir ? "alighting" : "boarding";
		expect_outcome(body, direction, "false_positive", 1);
		expect_outcome(body, direction, "not_person", 1);
		expect_outcome(body, direction, "unmapped_camera", 1);
		expect_outcome(body, direction, "no_vehicle_position", 1);
		expect_outcome(body, direction, "no_zone_mapped", 0);
	}
	cr_expect_eq(kp_metric(body, "komposter_frigate_unmapped_camera_events_total"), 1);
	cr_expect_eq(kp_metric(body, "komposter_frigate_boardings_total"), 3);
	cr_expect_eq(kp_metric(body, "komposter_frigate_alightings_total"), 2);
	free(body);

	read_stored(&d, &sums, "bus_9999_front", &rows, NULL);
	cr_expect_eq(sums.onboard_boardings, 2, "onboard boardings %g", sums.onboard_boardings);
	cr_expect_eq(sums.onboard_alightings, 2, "onboard alightings %g", sums.onboard_alightings);
	cr_expect_eq(sums.street_boardings, 1, "street boardings %g", sums.street_boardings);
	cr_expect_eq(sums.boardings, 3);
	cr_expect_eq(sums.alightings, 2);
	cr_expect_eq(sums.other_cells, 0);
	cr_expect_eq(rows, 1, "the row of the event without a vehicle position: %d rows", rows);
	read_stored(&d, &sums, "depot_gate", &rows, NULL);
	cr_expect_eq(rows, 0, "an unmapped camera's events are not stored: %d rows", rows);

	expect_taps_answered(&validator);

	/* Frigate's last will, retained as Frigate sends it: alarm after a second. */
	publish(frigate, AVAILABLE, "offline", 7, 1);
	wait_metric(&d, "komposter_frigate_available", 0);
	wait_metric(&d, "komposter_frigate_offline_alarm", 1);
	publish(frigate, AVAILABLE, "online", 6, 1);
	wait_metric(&d, "komposter_frigate_available", 1);
	wait_metric(&d, "komposter_frigate_offline_alarm", 0);
	read_stored(&d, &sums, NULL, NULL, outages);
	cr_expect_eq(outages[0], 1, "%d outages stored", outages[0]);
	cr_expect_eq(outages[1], 1, "the outage is closed: %d", outages[1]);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0, "komposter check");

	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	kp_probe_close(&validator);
	kp_probe_close(&apc);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

#define OBJECTS 300
#define CRASH_CAMERA "stop_crash"

/* Object i's message: new (no zone yet), update (in the boarding zone) or
 * end, as one line of f. */
static void write_object(FILE *f, int i, int step, double start)
{
	static const char *const types[] = { "new", "update", "end" };
	const char *zones = step == 0 ? "" : "\"boarding_area\"";
	char end[32];

	if (step == 2)
		snprintf(end, sizeof(end), "%.6f", start + 5);
	else
		snprintf(end, sizeof(end), "null");
	fprintf(f,
	        "{\"type\": \"%s\", \"before\": {}, \"after\": {\"id\": \"%.6f-obj%04d\", "
	        "\"camera\": \"%s\", \"label\": \"person\", \"false_positive\": false, "
	        "\"has_clip\": false, \"start_time\": %.6f, \"end_time\": %s, "
	        "\"entered_zones\": [%s], \"current_zones\": [%s]}}\n",
	        types[step], start, i, CRASH_CAMERA, start, end, zones, step == 1 ? zones : "");
}

/* Every object's three messages, published at QoS 1 by mosquitto_pub, one
 * message a line (a synchronous Paho client waits for each PUBACK in turn). */
static void publish_stream(const struct kp_broker *b, const struct kp_daemon_proc *d, double start)
{
	char path[320], port[16], cmd[768];
	FILE *f;

	snprintf(path, sizeof(path), "%s/stream.jsonl", d->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < OBJECTS; i++)
		for (int step = 0; step < 3; step++)
			write_object(f, i, step, start + i * 0.001);
	cr_assert_eq(fclose(f), 0);
	snprintf(port, sizeof(port), "%d", b->port);
	snprintf(cmd, sizeof(cmd), "mosquitto_pub -h 127.0.0.1 -p %s -i frigate-stream -q 1 -t %s -l < %s", port,
	         EVENTS, path);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	cr_assert_eq(kp_run(argv, NULL), 0, "%s", cmd);
}

Test(frigate, sigkill_mid_stream_counts_no_object_twice, .timeout = 300)
{
	const struct st_camera cam = camera(CRASH_CAMERA, ST_CAMERA_STREET, 0, 0, STREET_STOP, "boarding_area", "");
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct nvr_sums sums;
	MQTTClient frigate;
	double start = (double)(now_ms() - 60000) / 1000.0, before_kill = 0;
	static const char sentinel[] =
		"{\"type\": \"new\", \"before\": {}, \"after\": {\"id\": \"1.000000-last00\", \"camera\": \"not_mapped\", "
		"\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.6f, "
		"\"end_time\": null, \"entered_zones\": [], \"current_zones\": []}}";
	char last[512];

	cr_assert_eq(kp_broker_start(&broker), 0);
	/* One event a commit: the kill lands mid-stream. */
	cr_assert_eq(kp_daemon_setup(&d, &broker, "frigate.group_max_events = 1\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	map_cameras(&d, &cam, 1);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){ .client_id = "frigate" }, &frigate),
	             MQTTCLIENT_SUCCESS);

	publish_stream(&broker, &d, start);
	for (int waited = 0; waited < DEADLINE_MS && before_kill < OBJECTS / 10; waited += 10) {
		before_kill = kp_daemon_metric(&d, "komposter_frigate_boardings_total");
		pause_ms(10);
	}
	cr_assert_eq(kp_daemon_stop(&d, SIGKILL), 128 + SIGKILL);
	cr_assert_lt(before_kill, OBJECTS, "the kill came after the stream ended");
	cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after SIGKILL");

	/* What the kill lost was PUBACKed already: Frigate would not send it
	 * again. Here the whole stream comes again, so every object is counted,
	 * and an object counted before the kill must be "already_counted". */
	publish_stream(&broker, &d, start);
	int n = snprintf(last, sizeof(last), sentinel, start);
	publish(frigate, EVENTS, last, (size_t)n, 0);
	wait_metric(&d, "komposter_frigate_unmapped_camera_events_total", 1);

	read_stored(&d, &sums, NULL, NULL, NULL);
	cr_expect_eq(sums.street_boardings, OBJECTS, "%g boardings stored for %d objects", sums.street_boardings,
	             OBJECTS);
	cr_expect_eq(sums.alightings, 0);
	cr_expect_eq(sums.other_cells, 0);
	char *body = metrics(&d);
	double after = kp_metric(body, "komposter_frigate_boardings_total");
	double already = outcome(body, "boarding", "already_counted");
	free(body);
	cr_expect_leq(after, OBJECTS - before_kill, "%g counted after the restart, %g before", after, before_kill);
	/* Each object counted before the kill has its mark: its update in the
	 * second stream is already_counted. */
	cr_expect_geq(already, before_kill, "%g already counted, %g counted before the kill", already, before_kill);
	cr_log_info("%g counted before the kill, %g after, %g already counted", before_kill, after, already);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0, "komposter check");

	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

/* Publishes `text` on topic, then a validator's taps: once their ACK is back,
 * the daemon has had everything published before them (one connection, one
 * subscription order). */
static void publish_then_sync(MQTTClient c, struct kp_probe *validator, uint64_t batch_seq, const char *topic,
                              const char *text)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_reply_seen reply;

	publish(c, topic, text, strlen(text), 0);
	size_t len = kp_probe_frame(validator, batch_seq, 1, frame, ROUTE, 3);
	cr_assert_eq(kp_probe_publish(validator, VALIDATOR, frame, len), 0);
	cr_assert_eq(kp_probe_reply(validator, 10000, &reply), 0);
	cr_assert_eq(reply.h.type, KP_TYPE_ACK);
}

Test(frigate, a_configured_prefix_is_taken_and_frigates_default_one_is_not, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe validator;
	MQTTClient frigate;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "frigate.topic_prefix = site/nvr1\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open_kind(&validator, &broker, &d, VALIDATOR, "validator"), 0);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){ .client_id = "frigate" }, &frigate),
	             MQTTCLIENT_SUCCESS);
	publish(frigate, AVAILABLE, "online", 6, 0);
	publish_then_sync(frigate, &validator, 1, "site/nvr1/available", "offline");
	wait_metric(&d, "komposter_frigate_available", 0);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frigate_messages_total"), 1);

	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	kp_probe_close(&validator);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

Test(frigate, disabled_takes_nothing_from_frigate, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe validator;
	MQTTClient frigate;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "frigate.enabled = false\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open_kind(&validator, &broker, &d, VALIDATOR, "validator"), 0);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){ .client_id = "frigate" }, &frigate),
	             MQTTCLIENT_SUCCESS);
	publish_fixture(frigate, "extra_keys_update");
	publish_then_sync(frigate, &validator, 1, AVAILABLE, "offline");
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frigate_messages_total"), 0);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frigate_available"), -1);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frames_rejected_total{reason=\"bad_topic\"}"), 0);

	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	kp_probe_close(&validator);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

struct outage_list {
	int n;
	struct st_nvr_outage o[4];
};

static int list_outage(void *ctx, const struct st_nvr_outage *o)
{
	struct outage_list *l = ctx;

	if (l->n < 4)
		l->o[l->n] = *o;
	l->n++;
	return 0;
}

static struct outage_list stored_outages(const struct kp_daemon_proc *d)
{
	struct outage_list l = { 0 };
	struct st_db *db = open_db(d, 1);
	struct st_read r;

	cr_assert_eq(st_read_begin(db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, 0, INT64_MAX, list_outage, &l), ST_OK);
	st_read_end(&r);
	st_db_close(db);
	return l;
}

/* Paho PUBACKs a Frigate message before it is stored, so a SIGKILL may
 * lose what the stage held: the restart stores an outage over the gap, and
 * the hour reads incomplete. A SIGTERM loses nothing (the broker keeps the
 * persistent session's messages) and stores none. */
Test(frigate, a_sigkill_leaves_an_outage_over_the_gap_and_a_sigterm_none, .timeout = 180)
{
	const struct st_camera cam = camera("gap_cam", ST_CAMERA_STREET, 0, 0, STREET_STOP, "boarding_area", "");
	struct kp_broker broker;
	struct kp_daemon_proc d;
	MQTTClient frigate;
	char event[512];
	int64_t killed_at;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	map_cameras(&d, &cam, 1);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){ .client_id = "frigate" }, &frigate),
	             MQTTCLIENT_SUCCESS);
	int n = snprintf(event, sizeof(event),
	                 "{\"type\": \"update\", \"before\": {}, \"after\": {\"id\": \"gap-1\", \"camera\": \"gap_cam\", "
	                 "\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.3f, "
	                 "\"end_time\": null, \"entered_zones\": [\"boarding_area\"], \"current_zones\": []}}",
	                 (double)(now_ms() - 60000) / 1000.0);
	publish(frigate, EVENTS, event, (size_t)n, 0);
	wait_metric(&d, "komposter_frigate_boardings_total", 1); /* the stage runs: its marker is set */

	killed_at = now_ms();
	cr_assert_eq(kp_daemon_stop(&d, SIGKILL), 128 + SIGKILL);
	cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after SIGKILL");
	/* The marker is read when the stage begins, before readiness or after:
	 * wait for the outage rather than assume. */
	struct outage_list l = { 0 };
	for (int waited = 0; waited < DEADLINE_MS && l.n == 0; waited += 50) {
		l = stored_outages(&d);
		if (l.n == 0)
			pause_ms(50);
	}
	cr_assert_eq(l.n, 1, "%d outages after a SIGKILL", l.n);
	cr_expect_leq(l.o[0].start, killed_at, "the outage starts before the kill");
	cr_expect_geq(l.o[0].end, killed_at, "and ends after it");
	cr_expect_neq(l.o[0].end, 0, "closed");
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0, "komposter check");

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	/* A message taken after the restart: the stage has begun its session. */
	n = snprintf(event, sizeof(event),
	             "{\"type\": \"update\", \"before\": {}, \"after\": {\"id\": \"gap-2\", \"camera\": \"gap_cam\", "
	             "\"label\": \"person\", \"false_positive\": false, \"has_clip\": false, \"start_time\": %.3f, "
	             "\"end_time\": null, \"entered_zones\": [\"boarding_area\"], \"current_zones\": []}}",
	             (double)(now_ms() - 60000) / 1000.0);
	publish(frigate, EVENTS, event, (size_t)n, 0);
	wait_metric(&d, "komposter_frigate_boardings_total", 1);
	l = stored_outages(&d);
	cr_expect_eq(l.n, 1, "a SIGTERM left %d outages, not the one of the SIGKILL", l.n);

	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

/* How many lines of path contain text. */
static int lines_with(const char *path, const char *text)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

/* The development broker, restarted with mosquitto's dynamic security
 * plugin refusing every SUBSCRIBE under frigate/ (SUBACK 0x80): an ACL
 * written for another prefix. */
static void start_broker_refusing_frigate(struct kp_broker *b)
{
	char path[400];
	FILE *f;

	cr_assert_eq(kp_broker_start(b), 0);
	kp_broker_stop(b);
	snprintf(path, sizeof(path), "%s/dynamic-security.json", b->dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{\"defaultACLAccess\": {\"publishClientSend\": true, \"publishClientReceive\": true, "
	           "\"subscribe\": true, \"unsubscribe\": true}, \"clients\": [], "
	           "\"groups\": [{\"groupname\": \"anon\", \"roles\": [{\"rolename\": \"no_frigate\"}]}], "
	           "\"roles\": [{\"rolename\": \"no_frigate\", \"acls\": [{\"acltype\": \"subscribePattern\", "
	           "\"topic\": \"frigate/#\", \"priority\": 0, \"allow\": false}]}], \"anonymousGroup\": \"anon\"}\n");
	cr_assert_eq(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/mosquitto.conf", b->dir);
	cr_assert_not_null(f = fopen(path, "a"));
	fprintf(f, "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
	           "plugin_opt_config_file %s/dynamic-security.json\n", b->dir);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(kp_broker_restart(b), 0);
}

Test(frigate, a_broker_refusing_frigates_topics_leaves_komposterd_ready_and_retrying, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe validator;
	char log[400];

	start_broker_refusing_frigate(&broker);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0, "a refused Frigate filter kept /readyz at 503");
	snprintf(log, sizeof(log), "%s/komposterd.log", d.dir);
	/* Refused, then retried (and refused) again. */
	for (int waited = 0; waited < DEADLINE_MS && lines_with(log, "frigate/events QoS 128") < 2; waited += 50)
		pause_ms(50);
	cr_expect_geq(lines_with(log, "frigate/events QoS 128"), 2, "refused once and retried");
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frigate_subscribed"), 0);
	/* The taps flow: the device topics are subscribed. */
	cr_assert_eq(kp_probe_open_kind(&validator, &broker, &d, VALIDATOR, "validator"), 0);
	expect_taps_answered(&validator);
	kp_probe_close(&validator);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
