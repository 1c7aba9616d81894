/*
 * Description: validator-sim with street cameras over a real broker and
 * daemon: a subscriber on frigate/# sees "online" on frigate/available
 * first and "offline" last, and between them exactly the summary's
 * frigate_events messages on frigate/events; every one parses as a Frigate
 * event, and replayed through the counting rule with the summary's camera
 * mapping they count per (stop, hour of start_time) exactly the summary's
 * stop_hours boardings and alightings; `validator-sim cameras`, run
 * before, listed those very cameras. The devices' taps and counts are
 * stored as without cameras (the daemon's totals are the fleet's). And the
 * cameras change no device frame: two runs of one seed on a broker with no
 * daemon, without cameras and with them, leave the same records in the
 * outboxes, times aside (they are the wall clock's).
 *
 * Mapped with the real tools (`validator-sim cameras` into `komposter
 * camera add`, the daemon running), the street cameras are counted by the
 * daemon: `komposter stats --with-cameras --by stop` has, per (stop, hour),
 * exactly the summary's stop_hours as nvr rows (boardings, alightings and
 * accepted taps), and `komposter camera events --stop S` lists each person
 * the cameras of S published once (only people's events are kept).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/frigate_count.h"
#include "ingest/frigate_event.h"
#include "tests/e2e/fleet.h"
#include "tests/e2e/probe.h"
#include "firmware-proto/hex.h"
#include "validators/fleet.h"
#include "validators/outbox.h"
#include "validators/sim.h"

#define DEVICES 4
#define APCS 2 /* vehicles with and without a counter */
#define TAPS_PER_DEVICE 300
#define CAMERAS "6"
#define RECEIVE_TIMEOUT_MS 100
#define RECEIVE_DEADLINE_MS 60000
#define CELLS_MAX 512
#define RECORDS 8192

struct received {
	char *topic;
	char *payload;
	size_t len;
};

struct subscriber {
	MQTTClient client;
	pthread_t thread;
	struct received *msgs;
	size_t n, cap;
	int saw_offline;
	int failed;
};

/* Reads until "offline" on frigate/available (the cameras' last word), or
 * the deadline. Only this thread uses the client. */
static void *receive_all(void *arg)
{
	struct subscriber *s = arg;

	for (int waited = 0; !s->saw_offline && waited < RECEIVE_DEADLINE_MS;) {
		char *topic = NULL;
		int topic_len = 0;
		MQTTClient_message *m = NULL;
		if (MQTTClient_receive(s->client, &topic, &topic_len, &m, RECEIVE_TIMEOUT_MS) != MQTTCLIENT_SUCCESS) {
			s->failed = 1;
			break;
		}
		if (!m) {
			waited += RECEIVE_TIMEOUT_MS;
			continue;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 1024;
			struct received *v = realloc(s->msgs, cap * sizeof *v);
			if (!v) {
				s->failed = 1;
				break;
			}
			s->msgs = v;
			s->cap = cap;
		}
		struct received *r = &s->msgs[s->n++];
		r->topic = strdup(topic);
		r->payload = malloc((size_t)m->payloadlen + 1);
		if (!r->topic || !r->payload) {
			s->failed = 1;
			break;
		}
		memcpy(r->payload, m->payload, (size_t)m->payloadlen);
		r->payload[m->payloadlen] = '\0';
		r->len = (size_t)m->payloadlen;
		s->saw_offline = !strcmp(topic, "frigate/available") && !strcmp(r->payload, "offline");
		MQTTClient_freeMessage(&m);
		MQTTClient_free(topic);
	}
	return NULL;
}

struct cell {
	uint32_t stop_id;
	int64_t hour_s;
	double boardings, alightings;
};

static struct cell *cell(struct cell *c, size_t *n, uint32_t stop_id, int64_t hour_s)
{
	for (size_t i = 0; i < *n; i++) {
		if (c[i].stop_id == stop_id && c[i].hour_s == hour_s)
			return &c[i];
	}
	cr_assert_lt(*n, CELLS_MAX);
	c[*n] = (struct cell){.stop_id = stop_id, .hour_s = hour_s};
	return &c[(*n)++];
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsNumber(v), "summary: no number %s", key);
	return v->valuedouble;
}

/* The stop of a camera named in the summary's street_cameras, 0 if none. */
static uint32_t camera_stop(const cJSON *cams, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cams) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "camera");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return (uint32_t)number(c, "stop_id");
	}
	return 0;
}

Test(fleet_cameras, events_replayed_count_the_summary_stop_hours, .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	static struct subscriber sub;
	static struct kp_frigate_counted_record records[RECORDS];
	static struct cell cells[CELLS_MAX];
	struct kp_frigate_counted set;
	struct kp_frigate_camera_zones zones = {"boarding", "alighting"};
	double accepted, denied, amount, boardings, alightings;
	size_t ncells = 0, events = 0;
	uint8_t *text;
	size_t len;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init_apcs(&fleet, &d, DEVICES, APCS), 0);
	char *listing = NULL;
	char *list_argv[] = {strdup(kp_bin("validators/validator-sim")), "cameras", "--state", fleet.state,
	                     "--street-cameras", CAMERAS, NULL};
	cr_assert_eq(kp_run(list_argv, &listing), 0);
	free(list_argv[0]);
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){.client_id = "kp-e2e-frigate"},
	                             &sub.client), MQTTCLIENT_SUCCESS);
	cr_assert_eq(MQTTClient_subscribe(sub.client, "frigate/#", 1), MQTTCLIENT_SUCCESS);
	cr_assert_eq(pthread_create(&sub.thread, NULL, receive_all, &sub), 0);

	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--evasion-rate", "0.2",
	                           "--street-cameras", CAMERAS, "--timeout", "200", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim failed; see %s", fleet.log);
	cr_assert_eq(pthread_join(sub.thread, NULL), 0);
	cr_assert(!sub.failed && sub.saw_offline, "the cameras' \"offline\" never came");

	cr_assert_eq(kp_file_read(fleet.summary, &text, &len), 0);
	cJSON *j = cJSON_Parse((const char *)text);
	free(text);
	cr_assert_not_null(j);
	const cJSON *cams = cJSON_GetObjectItemCaseSensitive(j, "street_cameras");
	const cJSON *hours = cJSON_GetObjectItemCaseSensitive(j, "stop_hours");
	cr_assert_eq(cJSON_GetArraySize(cams), atoi(CAMERAS));
	cr_assert(cJSON_GetArraySize(hours) >= 1);
	const cJSON *cam;
	char *line = listing;
	cJSON_ArrayForEach(cam, cams) {
		char expect[128];
		size_t n = (size_t)snprintf(expect, sizeof expect, "%s %.0f boarding alighting\n",
		                            cJSON_GetObjectItemCaseSensitive(cam, "camera")->valuestring,
		                            number(cam, "stop_id"));
		cr_assert_eq(strncmp(line, expect, n), 0, "listed %.40s, ran %s", line, expect);
		line += n;
	}
	cr_assert_str_eq(line, "", "listed more cameras than ran");
	free(listing);

	cr_assert_str_eq(sub.msgs[0].topic, "frigate/available");
	cr_assert_str_eq(sub.msgs[0].payload, "online");
	cr_assert_eq(kp_frigate_counted_init(&set, records, RECORDS), 0);
	for (size_t i = 1; i + 1 < sub.n; i++) {
		struct kp_frigate_event ev;
		struct kp_frigate_decision dec;
		cr_assert_str_eq(sub.msgs[i].topic, "frigate/events");
		cr_assert_eq(kp_frigate_event_parse(sub.msgs[i].payload, sub.msgs[i].len, &ev), KP_FRIGATE_OK,
		             "%.200s", sub.msgs[i].payload);
		uint32_t stop = camera_stop(cams, ev.camera);
		cr_assert_neq(stop, 0, "camera %s is not in the summary", ev.camera);
		cr_assert_eq(kp_frigate_count_apply(&set, &zones, &ev, &dec), 0);
		int64_t start_s = (int64_t)floor(ev.start_time);
		struct cell *c = cell(cells, &ncells, stop, start_s - start_s % 3600);
		c->boardings += dec.boarding == KP_FRIGATE_COUNTED;
		c->alightings += dec.alighting == KP_FRIGATE_COUNTED;
		events++;
	}
	cr_assert_eq((double)events, number(j, "frigate_events"));

	const cJSON *h;
	double seen_boardings = 0;
	cJSON_ArrayForEach(h, hours) {
		struct cell *c = cell(cells, &ncells, (uint32_t)number(h, "stop_id"), (int64_t)number(h, "hour_s"));
		cr_expect_eq(c->boardings, number(h, "boardings"), "stop %u", c->stop_id);
		cr_expect_eq(c->alightings, number(h, "alightings"), "stop %u", c->stop_id);
		cr_assert_leq(number(h, "accepted"), number(h, "taps"));
		cr_assert_leq(number(h, "taps"), number(h, "boardings"), "a tap without its boarding");
		seen_boardings += c->boardings;
	}
	cr_assert_eq((int)ncells, cJSON_GetArraySize(hours), "counts in an hour the summary lacks");
	cr_assert_gt(seen_boardings, 50, "about one rider in ten boards at a camera stop");

	/* the devices' frames are what they are without cameras */
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);
	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted);
	cr_expect_eq(accepted + denied, sum.taps);
	cr_assert_eq(kp_count_totals(&d, &boardings, &alightings), 0);
	cr_assert_gt(boardings, 0);

	cJSON_Delete(j);
	for (size_t i = 0; i < sub.n; i++) {
		free(sub.msgs[i].topic);
		free(sub.msgs[i].payload);
	}
	free(sub.msgs);
	MQTTClient_disconnect(sub.client, 1000);
	MQTTClient_destroy(&sub.client);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

#define STORED_DEADLINE_MS 30000
#define OBJECTS_MAX 4096

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}


/* Waits, bounded, until the daemon has stored as many boardings and
 * alightings from Frigate as the cameras counted. */
static void wait_for_frigate_counts(const struct kp_daemon_proc *d, double boardings, double alightings)
{
	double b = -1, a = -1;

	for (int waited = 0; waited < STORED_DEADLINE_MS; waited += 50) {
		b = kp_daemon_metric(d, "komposter_frigate_boardings_total");
		a = kp_daemon_metric(d, "komposter_frigate_alightings_total");
		if (b >= boardings && a >= alightings)
			break;
		pause_ms(50);
	}
	cr_assert_eq(b, boardings, "the daemon stored %.0f boardings from Frigate of %.0f", b, boardings);
	cr_assert_eq(a, alightings, "the daemon stored %.0f alightings from Frigate of %.0f", a, alightings);
}

struct object {
	char id[KP_FRIGATE_ID_MAX + 1];
	char label[KP_FRIGATE_NAME_MAX + 1];
	int listed;
};

static void utc_date(int days, char out[16])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The distinct objects `camera` published, against `komposter camera
 * events --stop` over the dates around today: each person listed exactly
 * once, nothing else listed (the daemon keeps rows of people only). */
static void expect_camera_events(const struct kp_daemon_proc *d, const struct subscriber *sub,
                                 const char *camera, uint32_t stop)
{
	static struct object objs[OBJECTS_MAX];
	size_t n = 0, persons = 0;
	char from[16], to[16], stop_text[16];
	char *out = NULL;

	for (size_t i = 1; i + 1 < sub->n; i++) {
		struct kp_frigate_event ev;
		cr_assert_eq(kp_frigate_event_parse(sub->msgs[i].payload, sub->msgs[i].len, &ev), KP_FRIGATE_OK);
		if (strcmp(ev.camera, camera) != 0)
			continue;
		size_t k = 0;
		while (k < n && strcmp(objs[k].id, ev.id) != 0)
			k++;
		if (k < n)
			continue;
		cr_assert_lt(n, OBJECTS_MAX);
		snprintf(objs[n].id, sizeof objs[n].id, "%s", ev.id);
		snprintf(objs[n].label, sizeof objs[n].label, "%s", ev.label);
		objs[n].listed = 0;
		persons += !strcmp(ev.label, "person");
		n++;
	}
	cr_assert_gt(persons, 0, "camera %s saw nobody", camera);

	utc_date(-1, from);
	utc_date(1, to);
	snprintf(stop_text, sizeof stop_text, "%u", stop);
	cr_assert_eq(kp_komposter(d, &out, "camera", "events", "--stop", stop_text, "--from", from, "--to", to,
	                          "--json", NULL), 0);
	cJSON *list = cJSON_Parse(out);
	free(out);
	cr_assert(cJSON_IsArray(list));
	const cJSON *e;
	size_t listed_persons = 0;
	cJSON_ArrayForEach(e, list) {
		const char *id = cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring;
		const char *label = cJSON_GetObjectItemCaseSensitive(e, "label")->valuestring;
		cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "camera")->valuestring, camera);
		size_t k = 0;
		while (k < n && strcmp(objs[k].id, id) != 0)
			k++;
		cr_assert_lt(k, n, "listed %s, which %s never published", id, camera);
		cr_expect_eq(objs[k].listed, 0, "object %s listed twice", id);
		cr_expect_str_eq(label, objs[k].label, "object %s", id);
		objs[k].listed = 1;
		cr_expect_str_eq(label, "person", "object %s: only people's events are kept", id);
		listed_persons += !strcmp(label, "person");
	}
	cr_expect_eq(listed_persons, persons, "listed %zu people, %s published %zu", listed_persons, camera,
	             persons);
	cJSON_Delete(list);
}

Test(fleet_cameras, mapped_street_cameras_count_the_summary_stop_hours, .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	static struct subscriber sub;
	double boardings = 0, alightings = 0;
	int expected_rows = 0;
	uint8_t *text;
	size_t len;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init_apcs(&fleet, &d, DEVICES, APCS), 0);
	cr_assert_eq(kp_fleet_map_cameras(&d, &fleet, CAMERAS), atoi(CAMERAS));
	cr_assert_eq(kp_mqtt_connect(&broker, &(struct kp_mqtt_login){.client_id = "kp-e2e-frigate"},
	                             &sub.client), MQTTCLIENT_SUCCESS);
	cr_assert_eq(MQTTClient_subscribe(sub.client, "frigate/#", 1), MQTTCLIENT_SUCCESS);
	cr_assert_eq(pthread_create(&sub.thread, NULL, receive_all, &sub), 0);

	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--evasion-rate", "0.2",
	                           "--street-cameras", CAMERAS, "--timeout", "200", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim failed; see %s", fleet.log);
	cr_assert_eq(pthread_join(sub.thread, NULL), 0);
	cr_assert(!sub.failed && sub.saw_offline, "the cameras' \"offline\" never came");

	cr_assert_eq(kp_file_read(fleet.summary, &text, &len), 0);
	cJSON *j = cJSON_Parse((const char *)text);
	free(text);
	cr_assert_not_null(j);
	const cJSON *h;
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "stop_hours")) {
		boardings += number(h, "boardings");
		alightings += number(h, "alightings");
	}
	cr_assert_gt(boardings, 0);
	wait_for_frigate_counts(&d, boardings, alightings);

	cJSON *doc = kp_stats_rate(&d, "stop");
	cr_assert_not_null(doc);
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "stop_hours")) {
		uint32_t stop = (uint32_t)number(h, "stop_id");
		struct kp_service_hour when;

		if (number(h, "boardings") == 0 && number(h, "alightings") == 0)
			continue; /* taps only: no door cell, no row */
		cr_assert_eq(kp_service_hour(&d, (int64_t)number(h, "hour_s"), &when), 0);
		const cJSON *row = kp_rate_row(doc, &when, "stop_id", stop, "nvr");
		cr_assert_not_null(row, "stop %u, date %u hour %d: no nvr row", stop, when.service_date, when.hour);
		cr_expect_eq(number(row, "boardings"), number(h, "boardings"), "stop %u hour %d", stop, when.hour);
		cr_expect_eq(number(row, "alightings"), number(h, "alightings"), "stop %u hour %d", stop, when.hour);
		cr_expect_eq(number(row, "accepted"), number(h, "accepted"), "stop %u hour %d", stop, when.hour);
		const cJSON *simulated = cJSON_GetObjectItemCaseSensitive(h, "validation_rate");
		double reported;
		if (cJSON_IsNumber(simulated)) {
			cr_assert_eq(kp_rate_reported(row, &reported), 0, "stop %u hour %d: no rate", stop, when.hour);
			cr_expect(fabs(reported - simulated->valuedouble) < 1e-6, "stop %u hour %d: reported %f, simulated %f",
			          stop, when.hour, reported, simulated->valuedouble);
		}
		expected_rows++;
	}
	cr_expect_eq(kp_rate_rows_of(doc, "nvr"), expected_rows, "nvr rows the summary lacks");
	cr_expect_eq(kp_rate_rows_of(doc, "signed"), 0, "signed rows at a stop");
	cJSON_Delete(doc);

	const cJSON *cam = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "street_cameras"), 0);
	expect_camera_events(&d, &sub, cJSON_GetObjectItemCaseSensitive(cam, "camera")->valuestring,
	                     (uint32_t)number(cam, "stop_id"));

	cJSON_Delete(j);
	for (size_t i = 0; i < sub.n; i++) {
		free(sub.msgs[i].topic);
		free(sub.msgs[i].payload);
	}
	free(sub.msgs);
	MQTTClient_disconnect(sub.client, 1000);
	MQTTClient_destroy(&sub.client);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

/* Every record of every frame in a state's outboxes, times zeroed. */
struct records {
	uint8_t *bytes;
	size_t n, cap;
};

static void add_bytes(struct records *r, const void *p, size_t len)
{
	if (r->n + len > r->cap) {
		r->cap = 2 * (r->n + len);
		r->bytes = realloc(r->bytes, r->cap);
		cr_assert_not_null(r->bytes);
	}
	memcpy(r->bytes + r->n, p, len);
	r->n += len;
}

static int read_frame(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct records *r = arg;
	struct kp_header h;

	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	add_bytes(r, &seq, sizeof seq);
	for (uint16_t i = 0; i < h.count; i++) {
		if (h.type == KP_TYPE_TAPS) {
			struct kp_tap t;
			kp_frame_get_tap(frame, i, &t);
			t.tapped_at = 0;
			add_bytes(r, &t, sizeof t);
		} else {
			struct kp_count c;
			kp_frame_get_count(frame, i, &c);
			c.observed_at = 0;
			add_bytes(r, &c, sizeof c);
		}
	}
	return 0;
}

static void read_outboxes(const char *state, struct records *r)
{
	char path[512], err[VD_FLEET_ERR_SIZE], id[KP_DEVICE_ID_TEXT_SIZE];
	struct vd_fleet_entry *fleet = NULL;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", state, VD_FLEET_FILE);
	cr_assert_eq(vd_fleet_read(path, &fleet, &n, err), 0, "%s", err);
	for (size_t i = 0; i < n; i++) {
		struct vd_outbox *ob;
		kp_device_id_format(fleet[i].device_id, id);
		snprintf(path, sizeof path, "%s/%s/%s", state, id, VD_SIM_OUTBOX_DIR);
		cr_assert_eq(vd_outbox_open(path, &ob), 0, "%s", path);
		cr_assert_eq(vd_outbox_foreach(ob, 1, read_frame, r), 0);
		vd_outbox_close(ob);
	}
	free(fleet);
}

/* A fleet of one seed in broker->dir/name, run to its 2 s timeout: nothing
 * ACKs, so every frame stays in its outbox. */
static void run_undelivered(const struct kp_broker *b, const char *name, uint64_t cameras,
                            struct records *r)
{
	char state[320], pub[400];
	struct vd_sim_init_opts io = {.devices = DEVICES, .apcs = APCS, .first_id = 1, .seed = 3,
	                              .quiet = 1};
	struct vd_sim_run_opts ro = {.broker = b->uri, .taps_per_device = TAPS_PER_DEVICE, .batch = 32,
	                             .window = 8, .resend_ms = 60000, .publish_timeout_ms = 30000,
	                             .evasion_rate = 0.2, .seed = 3, .timeout_s = 2, .quiet = 1,
	                             .street_cameras = cameras};

	snprintf(state, sizeof state, "%s/%s", b->dir, name);
	io.state = state;
	cr_assert_eq(vd_sim_init(&io), 0);
	snprintf(pub, sizeof pub, "%s/0000000000000001/%s.pub", state, VD_SIM_KEY_FILE);
	ro.state = state;
	ro.server_pub = pub; /* any key: no reply comes */
	cr_assert_eq(vd_sim_run(&ro), 1, "without a daemon the run ends at its timeout");
	read_outboxes(state, r);
}

Test(fleet_cameras, cameras_change_no_device_frame, .timeout = 120)
{
	struct kp_broker broker;
	struct records without = {0}, with = {0};

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(kp_broker_start(&broker), 0);
	run_undelivered(&broker, "without", 0, &without);
	run_undelivered(&broker, "with", 5, &with);
	cr_assert_gt(without.n, (size_t)DEVICES * TAPS_PER_DEVICE * sizeof(struct kp_tap));
	cr_assert_eq(with.n, without.n);
	cr_assert_eq(memcmp(with.bytes, without.bytes, with.n), 0);
	free(without.bytes);
	free(with.bytes);
	kp_broker_stop(&broker);
}
