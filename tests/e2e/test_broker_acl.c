/*
 * Description: the production broker config (etc/mosquitto-production.conf.in
 * with etc/mosquitto.acl) keeps each device to its own topics and its own
 * session. A device cannot publish frames for another device, cannot read
 * another's replies, and cannot knock komposterd or another device off the
 * broker by connecting with their client id; a client without the right
 * password gets no connection. The reference validator-sim logs in with its
 * passwords, and a device gets in over TLS. Frigate's topics reach komposterd
 * from the frigate user only. Real mosquitto with a password
 * file made by mosquitto_passwd, real komposterd logging in as komposterd.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware-proto/keyfile.h"
#include "firmware-proto/topic.h"
#include "tests/e2e/probe.h"

#define DEV_A 0x00000000000000aaULL
#define DEV_B 0x00000000000000bbULL
#define USER_A "00000000000000aa"
#define USER_B "00000000000000bb"
#define PASSWORD_A "a-secret"
#define PASSWORD_B "b-secret"
#define DAEMON_USER "komposterd"
#define DAEMON_PASSWORD "daemon-secret"
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x) /* a number as a command-line argument */
#define FLEET_FIRST "5101"
#define FLEET_SIZE 3
#define FLEET_TAPS 40
#define REPLY_WAIT_MS 10000
#define STORE_WAIT_MS 15000
#define CONNACK_BAD_LOGIN 4 /* MQTT 3.1.1: bad user name or password */
#define CONNACK_NOT_AUTHORISED 5

/* The broker's password file: komposterd, A, B and Frigate, then from
 * FIRST_FLEET_USER the simulated fleet (validator-sim init --first-id FLEET_FIRST). */
#define FIRST_FLEET_USER 4
#define FRIGATE_USER "frigate"
#define FRIGATE_PASSWORD "nvr-secret"
static const struct kp_broker_user users[] = {
	{ DAEMON_USER, DAEMON_PASSWORD },
	{ USER_A, PASSWORD_A },
	{ USER_B, PASSWORD_B },
	{ FRIGATE_USER, FRIGATE_PASSWORD },
	{ "0000000000005101", "sim-1" },
	{ "0000000000005102", "sim-2" },
	{ "0000000000005103", "sim-3" },
};

static struct kp_broker broker;
static struct kp_daemon_proc daemon_proc;
static struct kp_probe probe_a, probe_b;
static uint8_t frame[KP_FRAME_MAX];

static const struct kp_mqtt_login login_a = { .username = USER_A, .password = PASSWORD_A };
/* B as the reference client names itself; the broker makes it "<B's id>". */
static const struct kp_mqtt_login login_b = { .client_id = "kpdev-" USER_B, .username = USER_B,
	                                      .password = PASSWORD_B };

static void start(void)
{
	cr_assert_eq(kp_broker_start_production(&broker, users, sizeof(users) / sizeof(users[0])), 0);
	/* komposterd's real client id, "komposterd", is what a thief would borrow. */
	cr_assert_eq(kp_daemon_setup(&daemon_proc, &broker,
	                             "mqtt.client_id=" DAEMON_USER "\n"
	                             "mqtt.username=" DAEMON_USER "\n"
	                             "mqtt.password=" DAEMON_PASSWORD "\n"), 0);
	cr_assert_eq(kp_daemon_start(&daemon_proc), 0, "komposterd did not log in and subscribe");
}

static void stop(void)
{
	kp_probe_close(&probe_a);
	kp_probe_close(&probe_b);
	cr_expect_eq(kp_daemon_stop(&daemon_proc, SIGTERM), 0, "komposterd must exit 0 after SIGTERM");
	kp_broker_stop(&broker);
}

TestSuite(broker_acl, .init = start, .fini = stop, .timeout = 120);

static double metric(const char *name)
{
	double v = kp_daemon_metric(&daemon_proc, name);
	cr_assert_geq(v, 0, "no %s in komposterd's /metrics", name);
	return v;
}

/* pr publishes its own frame batch_seq of n taps, and the next frame it
 * reads must be the signed ACK of it. NULL if so, else what went wrong. */
static const char *deliver(struct kp_probe *pr, uint64_t batch_seq, uint16_t n)
{
	static char why[160];
	unsigned long long id = pr->device_id;
	struct kp_reply_seen r;
	size_t len = kp_probe_frame(pr, batch_seq, n, frame, 27, (uint8_t)pr->device_id);

	if (len == 0)
		snprintf(why, sizeof(why), "device %016llx: cannot make a frame", id);
	else if (kp_probe_publish(pr, pr->device_id, frame, len) != 0)
		snprintf(why, sizeof(why), "device %016llx cannot publish: knocked off the broker?", id);
	else if (kp_probe_reply(pr, REPLY_WAIT_MS, &r) != 0)
		snprintf(why, sizeof(why), "device %016llx: no reply within %d ms, or its connection failed", id,
		         REPLY_WAIT_MS);
	else if (r.h.device_id != pr->device_id)
		snprintf(why, sizeof(why), "device %016llx read a frame (type %u) of device %016llx", id,
		         r.h.type, (unsigned long long)r.h.device_id);
	else if (r.h.type != KP_TYPE_ACK || r.h.batch_seq != batch_seq || !r.signature_ok)
		snprintf(why, sizeof(why), "device %016llx: type %u batch %llu aux %llu signature %s, "
		         "not the ACK of batch %llu", id, r.h.type, (unsigned long long)r.h.batch_seq,
		         (unsigned long long)r.h.aux, r.signature_ok ? "good" : "bad",
		         (unsigned long long)batch_seq);
	else
		return NULL;
	return why;
}

static void deliver_own_frame(struct kp_probe *pr, uint64_t batch_seq, uint16_t n)
{
	const char *why = deliver(pr, batch_seq, n);
	cr_assert_null(why, "%s", why);
}

/* Whether komposter dump lists taps of the device (16 hex). */
static int dump_has(const char *device_hex)
{
	char *out = NULL;
	cr_assert_eq(kp_komposter(&daemon_proc, &out, "dump", NULL), 0);
	int found = strstr(out, device_hex) != NULL;
	free(out);
	return found;
}

static int refused_by_broker(int rc)
{
	return rc == CONNACK_BAD_LOGIN || rc == CONNACK_NOT_AUTHORISED;
}

Test(broker_acl, a_device_cannot_publish_on_another_devices_topic)
{
	cr_assert_eq(kp_probe_open_login(&probe_b, &broker, &daemon_proc, DEV_B, 1, 0, &login_b), 0);
	cr_assert_eq(kp_probe_open_login(&probe_a, &broker, &daemon_proc, DEV_A, 1, 0, &login_a), 0);
	double received = metric("komposter_frames_received_total");

	/* A frame B really signed (captured, say), published by A on B's topic:
	 * the daemon would store it for B if it ever got there. */
	size_t len = kp_probe_frame(&probe_b, 1, 3, frame, 27, 0xbb);
	cr_assert_gt(len, 0);
	cr_assert_eq(kp_probe_publish(&probe_a, DEV_B, frame, len), 0,
	             "the broker should take the publish at the MQTT level and drop it");
	/* A's own frame, after it on the same connection: once it is ACKed,
	 * anything the broker passed on before it has reached the daemon. */
	deliver_own_frame(&probe_a, 1, 2);

	cr_expect_eq(metric("komposter_frames_received_total"), received + 1,
	             "the frame A published on B's topic reached komposterd");
	cr_expect(dump_has(USER_A), "A's own frame was not stored");
	cr_expect_not(dump_has(USER_B), "a frame was stored for B that B never sent");
}

/* Ends a connection of the test's own that the broker has not closed:
 * Paho's synchronous clients share one socket loop, and in 1.3 an error on
 * one client's socket, met while another client waits for a message, can
 * disconnect the waiting client too. So on the production config no client
 * of this process is ever closed by the broker. */
static void hang_up(MQTTClient *c)
{
	cr_expect_eq(MQTTClient_disconnect(*c, 1000), MQTTCLIENT_SUCCESS, "the broker closed A's connection");
	MQTTClient_destroy(c);
}

/* A, with its own valid password, connects under each of the n borrowed
 * client ids, one after the other, and stays connected under the last while
 * B, then A itself, deliver a frame each through komposterd. The broker acts
 * on a borrowed id at the CONNECT: an older connection with that id is
 * closed then (and with clean session its session is dropped). */
static void borrow_client_ids(const char *const *borrowed, int n)
{
	MQTTClient thief = NULL;

	cr_assert_eq(kp_probe_open_login(&probe_b, &broker, &daemon_proc, DEV_B, 1, 0, &login_b), 0);
	double lost = metric("komposter_mqtt_connections_lost_total");
	cr_assert_eq(metric("komposter_mqtt_connected"), 1);

	for (int i = 0; i < n; i++) {
		struct kp_mqtt_login as = login_a;
		as.client_id = borrowed[i];
		if (thief)
			hang_up(&thief);
		int rc = kp_mqtt_connect(&broker, &as, &thief);
		cr_assert_eq(rc, MQTTCLIENT_SUCCESS, "A with client id %s: connect returned %d", borrowed[i], rc);
	}

	/* B is still online, and frames still flow through komposterd. Not
	 * fatal: what the metrics say afterwards tells who was knocked off. */
	const char *why = deliver(&probe_b, 1, 2);
	cr_expect_null(why, "%s", why);
	hang_up(&thief);
	cr_assert_eq(kp_probe_open_login(&probe_a, &broker, &daemon_proc, DEV_A, 1, 0, &login_a), 0);
	why = deliver(&probe_a, 1, 1);
	cr_expect_null(why, "%s", why);

	cr_expect_eq(metric("komposter_mqtt_connections_lost_total"), lost,
	             "komposterd lost its broker connection");
	cr_expect_eq(metric("komposter_mqtt_connected"), 1);
	char *body = NULL;
	cr_expect_eq(kp_http_get(daemon_proc.http_port, "/readyz", &body), 200, "/readyz: %s", body);
	free(body);
}

Test(broker_acl, borrowing_the_daemons_client_id_knocks_nobody_off)
{
	const char *const borrowed[] = { DAEMON_USER };
	borrow_client_ids(borrowed, 1);
}

Test(broker_acl, borrowing_another_devices_client_id_knocks_nobody_off)
{
	/* B's id as the reference client sends it, and as the broker makes it. */
	const char *const borrowed[] = { "kpdev-" USER_B, USER_B };
	borrow_client_ids(borrowed, 2);
}

static void publish_as(MQTTClient c, const char *topic, const char *text)
{
	MQTTClient_deliveryToken token;

	cr_assert_eq(MQTTClient_publish(c, topic, (int)strlen(text), text, 1, 0, &token), MQTTCLIENT_SUCCESS);
	cr_assert_eq(MQTTClient_waitForCompletion(c, token, REPLY_WAIT_MS), MQTTCLIENT_SUCCESS);
}

Test(broker_acl, frigates_topics_reach_komposterd_from_the_frigate_user_only)
{
	static const struct kp_mqtt_login frigate_login = { .client_id = FRIGATE_USER, .username = FRIGATE_USER,
		                                            .password = FRIGATE_PASSWORD };
	MQTTClient device, frigate;

	/* A device's "events" are acknowledged and dropped by the broker... */
	cr_assert_eq(kp_mqtt_connect(&broker, &login_a, &device), MQTTCLIENT_SUCCESS);
	publish_as(device, "frigate/available", "offline");
	MQTTClient_disconnect(device, 1000);
	MQTTClient_destroy(&device);
	/* ...Frigate's reach the daemon, in order after the device's. */
	cr_assert_eq(kp_mqtt_connect(&broker, &frigate_login, &frigate), MQTTCLIENT_SUCCESS);
	publish_as(frigate, "frigate/available", "online");
	MQTTClient_disconnect(frigate, 1000);
	MQTTClient_destroy(&frigate);
	for (int waited = 0; waited < STORE_WAIT_MS && metric("komposter_frigate_available") != 1; waited += 50) {
		struct timespec pause = { 0, 50 * 1000000L };
		nanosleep(&pause, NULL);
	}
	cr_expect_eq(metric("komposter_frigate_available"), 1);
	cr_expect_eq(metric("komposter_frigate_messages_total"), 1, "the device's message got through");
}

Test(broker_acl, clients_without_the_right_password_are_refused)
{
	MQTTClient c;
	const struct kp_mqtt_login wrong[] = {
		{ .client_id = "anonymous" },
		{ .client_id = "no-password", .username = USER_A },
		{ .username = USER_A, .password = PASSWORD_B },
		{ .username = DAEMON_USER, .password = PASSWORD_A },
		{ .username = "00000000000000cc", .password = PASSWORD_A },
	};

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		int rc = kp_mqtt_connect(&broker, &wrong[i], &c);
		cr_expect(refused_by_broker(rc), "user %s password %s: connect returned %d, not a refusal",
		          wrong[i].username ? wrong[i].username : "(none)",
		          wrong[i].password ? wrong[i].password : "(none)", rc);
		if (rc == MQTTCLIENT_SUCCESS) {
			(void)MQTTClient_disconnect(c, 0); /* the test has failed already */
			MQTTClient_destroy(&c);
		}
	}
	cr_assert_eq(kp_mqtt_connect(&broker, &login_a, &c), MQTTCLIENT_SUCCESS, "A's right password");
	cr_expect_eq(MQTTClient_disconnect(c, 1000), MQTTCLIENT_SUCCESS);
	MQTTClient_destroy(&c);
}

Test(broker_acl, a_device_reads_neither_another_devices_acks_nor_anything_else)
{
	char topic_b[KP_TOPIC_MAX];

	cr_assert_eq(kp_probe_open_login(&probe_b, &broker, &daemon_proc, DEV_B, 1, 0, &login_b), 0);
	cr_assert_eq(kp_probe_open_login(&probe_a, &broker, &daemon_proc, DEV_A, 1, 0, &login_a), 0);
	cr_assert_gt(kp_topic_build(topic_b, sizeof(topic_b), DEV_B, KP_STREAM_ACK), 0);
	/* mosquitto 2.0 grants these and filters each message on delivery; a
	 * broker that refuses them outright (SUBACK 0x80) is as good. */
	const char *filters[] = { topic_b, "#" };
	for (int i = 0; i < 2; i++) {
		int rc = MQTTClient_subscribe(probe_a.client, filters[i], 1);
		cr_assert(rc == MQTTCLIENT_SUCCESS || rc == MQTT_BAD_SUBSCRIBE, "subscribe %s: %d", filters[i], rc);
	}

	/* B's frame and its ACK pass through the broker before A publishes, so
	 * had A been let to read them they would reach A before A's own ACK. */
	deliver_own_frame(&probe_b, 1, 2);
	deliver_own_frame(&probe_a, 1, 1);
}

/* komposter_mqtt_awake_received_total once it has grown by `more` from
 * `from`, or what it was after five seconds. */
static double awake_back(double from, double more)
{
	double back = from;

	for (int waited = 0; waited < 5000 && back < from + more; waited += 100) {
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
		back = kp_daemon_metric(&daemon_proc, "komposter_mqtt_awake_received_total");
	}
	return back;
}

/* ingest/paho_awake.h: an idle komposterd publishes to its own awake topic
 * 400 ms after it last heard anything, so that Paho's receive thread never
 * sleeps its 100 ms; the production ACL lets it and lets no device read it,
 * and komposterd counts it apart, never as a frame. */
Test(broker_acl, komposterd_keeps_its_receive_thread_awake_on_its_own_topic)
{
	cr_assert_eq(kp_probe_open_login(&probe_a, &broker, &daemon_proc, DEV_A, 0, 0, &login_a), 0);
	int rc = MQTTClient_subscribe(probe_a.client, "komposter/local/awake/#", 0);
	cr_assert(rc == MQTTCLIENT_SUCCESS || rc == MQTT_BAD_SUBSCRIBE, "subscribe: %d", rc);
	double from = kp_daemon_metric(&daemon_proc, "komposter_mqtt_awake_received_total");
	cr_assert_geq(from, 0, "no komposter_mqtt_awake_received_total in /metrics");

	/* Generous: two more within five seconds where about ten come. */
	double back = awake_back(from, 2);
	cr_expect_geq(back, from + 2, "komposterd got %.0f of its keep-awake messages back", back - from);

	/* The device subscribed before those two were sent, so had the ACL let
	 * it read them they would be waiting for it now. */
	char *topic = NULL;
	int topic_len = 0;
	MQTTClient_message *msg = NULL;
	rc = MQTTClient_receive(probe_a.client, &topic, &topic_len, &msg, 500);
	cr_expect_eq(msg, NULL, "a device read %s", topic ? topic : "?");
	if (msg) {
		MQTTClient_freeMessage(&msg);
		MQTTClient_free(topic);
	}
	cr_expect_eq(kp_daemon_metric(&daemon_proc, "komposter_frames_received_total"), 0);
	cr_expect_eq(kp_daemon_metric(&daemon_proc, "komposter_frames_rejected_total{reason=\"bad_topic\"}"), 0);
}

/* Writes the broker passwords file of the simulated fleet; returns its path. */
static const char *write_fleet_passwords(void)
{
	static char path[320];

	snprintf(path, sizeof(path), "%s/passwords.txt", daemon_proc.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	for (size_t i = FIRST_FLEET_USER; i < sizeof(users) / sizeof(users[0]); i++)
		cr_assert_gt(fprintf(f, "%s:%s\n", users[i].name, users[i].password), 0);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static int sim_run(const char *state, const char *passwords, const char *timeout_s)
{
	char *argv[] = { strdup(kp_bin("validators/validator-sim")), "run", "--state", (char *)state,
		         "--broker", broker.uri, "--server-pub", daemon_proc.server_pub,
		         "--taps-per-device", TEXT(FLEET_TAPS), "--batch", "10", "--timeout",
		         (char *)timeout_s, "--quiet", passwords ? "--broker-passwords" : NULL,
		         (char *)passwords, NULL };
	char log[320];

	snprintf(log, sizeof(log), "%s/sim.log", daemon_proc.dir);
	pid_t pid = kp_start(argv, log);
	free(argv[0]);
	cr_assert_gt(pid, 0);
	return kp_wait(pid);
}

static void sim_init(const char *state)
{
	char *argv[] = { strdup(kp_bin("validators/validator-sim")), "init", "--state", (char *)state,
		         "--devices", TEXT(FLEET_SIZE), "--first-id", FLEET_FIRST, "--quiet", NULL };
	int rc = kp_run(argv, NULL);
	free(argv[0]);
	cr_assert_eq(rc, 0, "validator-sim init exited %d", rc);
}

Test(broker_acl, the_simulated_fleet_logs_in_with_its_passwords)
{
	char fleet[320], fleet_txt[352];

	snprintf(fleet, sizeof(fleet), "%s/fleet", daemon_proc.dir);
	snprintf(fleet_txt, sizeof(fleet_txt), "%s/fleet.txt", fleet);
	sim_init(fleet);
	cr_assert_eq(kp_enrol_fleet(&daemon_proc, fleet_txt), 0);

	/* Without its passwords the enrolled fleet gets nowhere: the run gives
	 * up after its own short timeout, every frame kept in the outboxes. */
	cr_expect_eq(sim_run(fleet, NULL, "3"), 1, "a fleet without passwords delivered");
	cr_expect_eq(kp_stored_taps(&daemon_proc), 0);

	/* With them, the second run sends what the first left and its own. */
	cr_assert_eq(sim_run(fleet, write_fleet_passwords(), "120"), 0, "see %s/sim.log", daemon_proc.dir);
	cr_expect_eq(kp_stored_taps(&daemon_proc), 2 * FLEET_SIZE * FLEET_TAPS);
}

/* Waits (bounded) until komposterd has stored `taps` taps. */
static int wait_stored(double taps)
{
	for (int waited = 0; waited < STORE_WAIT_MS; waited += 50) {
		if (kp_stored_taps(&daemon_proc) >= taps)
			return 0;
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
	return -1;
}

static int tls_publish(const char *password, const char *frame_path)
{
	char port[16], topic[KP_TOPIC_MAX], log[320];

	snprintf(port, sizeof(port), "%d", broker.tls_port);
	cr_assert_gt(kp_topic_build(topic, sizeof(topic), DEV_A, KP_STREAM_TAPS), 0);
	snprintf(log, sizeof(log), "%s/mosquitto_pub.log", daemon_proc.dir);
	/* --cafile: TLS, checking the broker's certificate and its name 127.0.0.1. */
	char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "--cafile", broker.cafile,
		         "-u", USER_A, "-P", (char *)password, "-i", "kpdev-" USER_A, "-q", "1",
		         "-t", topic, "-f", (char *)frame_path, NULL };
	pid_t pid = kp_start(argv, log);
	cr_assert_gt(pid, 0);
	return kp_wait(pid);
}

Test(broker_acl, a_device_gets_in_over_tls_with_its_password_and_only_so)
{
	char frame_path[320];
	struct kp_broker plain_on_tls = broker;
	MQTTClient c;

	/* The probe makes and enrols A's key and hangs up (see hang_up): the
	 * frame goes out over TLS, logged in as A. */
	cr_assert_eq(kp_probe_open_login(&probe_a, &broker, &daemon_proc, DEV_A, 1, 0, &login_a), 0);
	size_t len = kp_probe_frame(&probe_a, 1, 2, frame, 27, 0xaa);
	cr_assert_gt(len, 0);
	kp_probe_close(&probe_a);
	snprintf(frame_path, sizeof(frame_path), "%s/frame.bin", daemon_proc.dir);
	FILE *f = fopen(frame_path, "wb");
	cr_assert_not_null(f, "%s: %s", frame_path, strerror(errno));
	cr_assert_eq(fwrite(frame, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);

	cr_expect_neq(tls_publish(PASSWORD_B, frame_path), 0, "A got in over TLS with B's password");
	cr_assert_eq(tls_publish(PASSWORD_A, frame_path), 0, "see %s/mosquitto_pub.log", daemon_proc.dir);
	cr_expect_eq(wait_stored(2), 0, "the frame sent over TLS was not stored within %d ms", STORE_WAIT_MS);

	snprintf(plain_on_tls.uri, sizeof(plain_on_tls.uri), "tcp://127.0.0.1:%d", broker.tls_port);
	int rc = kp_mqtt_connect(&plain_on_tls, &login_a, &c);
	cr_expect_neq(rc, MQTTCLIENT_SUCCESS, "plain MQTT was let in on the TLS listener");
	if (rc == MQTTCLIENT_SUCCESS) {
		(void)MQTTClient_disconnect(c, 0); /* the test has failed already */
		MQTTClient_destroy(&c);
	}
}
