/*
 * intake_mqtt.c — Paho MQTTAsync callbacks feeding the intake ring.
 *
 * The topic set is a table so that later streams (counts, Frigate events)
 * are one row each. Paho runs every callback on its receive thread with its
 * global lock held: the callbacks here do no I/O and call no Paho function
 * except the subscribe issued from the connected callback, which Paho allows
 * (it recognises its own receive thread and does not take its lock again).
 */
#include "ingest/intake_mqtt.h"

#include "ingest/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *filter;
	const char *suffix;
	uint8_t stream;
} subscriptions[] = {
	{ "komposter/v1/dev/+/taps", "/taps", KP_STREAM_TAPS },
};
#define N_SUBS (sizeof(subscriptions) / sizeof(subscriptions[0]))
#define TOPIC_PREFIX "komposter/v1/dev/"

struct kp_intake {
	MQTTAsync client;
	atomic_int connecting;
	atomic_int connected;      /* subscribed with QoS 1 granted: ready */
	atomic_int ever_connected;
	atomic_int online;         /* MQTT session up, subscribed or not */
	atomic_int subscribing;    /* a SUBSCRIBE is in flight */
	int ticks_unsubscribed;    /* loop thread only */
};

/* An item's bytes are the Paho message's payload: give the message back. */
static void release_message(struct kp_inbound *in)
{
	MQTTAsync_message *msg = in->owner;
	MQTTAsync_freeMessage(&msg);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int kp_topic_parse(const char *topic, size_t len, uint64_t *device_id, uint8_t *stream)
{
	const size_t plen = sizeof(TOPIC_PREFIX) - 1;
	uint64_t id = 0;

	if (len < plen + 16 || memcmp(topic, TOPIC_PREFIX, plen) != 0)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		int v = hex_digit(topic[plen + i]);
		if (v < 0)
			return -1;
		id = id << 4 | (uint64_t)v;
	}
	const char *rest = topic + plen + 16;
	size_t rest_len = len - plen - 16;
	for (size_t i = 0; i < N_SUBS; i++) {
		if (strlen(subscriptions[i].suffix) == rest_len &&
		    memcmp(rest, subscriptions[i].suffix, rest_len) == 0) {
			*device_id = id;
			*stream = subscriptions[i].stream;
			return 0;
		}
	}
	return -1;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct kp_daemon *d = ctx;
	struct kp_inbound in = {
		.frame = msg->payload,
		.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		.received_at = kp_now_ms(),
		.release = release_message,
		.owner = msg,
	};
	size_t len = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	int parsed = kp_topic_parse(topic, len, &in.topic_device, &in.stream);

	MQTTAsync_free(topic); /* parsed into the item; nothing later reads it */
	atomic_fetch_add_explicit(&d->metrics.frames_in, 1, memory_order_relaxed);
	if (atomic_load(&d->stopping))
		goto drop;
	if (parsed != 0) {
		atomic_fetch_add_explicit(&d->metrics.rejected[0], 1, memory_order_relaxed);
		goto drop;
	}
	if (kp_ring_push(&d->intake, &in) != 0)
		goto drop; /* closed while we waited: shutting down, the device re-sends */
	atomic_store_explicit(&d->metrics.ring_depth, (int_fast64_t)kp_ring_depth(&d->intake),
	                      memory_order_relaxed);
	return 1;
drop:
	kp_inbound_free(&in);
	return 1;
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct kp_daemon *d = ctx;

	/* For several topics Paho reports the granted QoS list in alt.qosList. */
	for (size_t i = 0; resp && i < N_SUBS; i++) {
		int granted = N_SUBS == 1 ? resp->alt.qos : resp->alt.qosList[i];
		if (granted != 1) {
			fprintf(stderr, "komposterd: mqtt: broker granted %s QoS %d, not 1 (ACL?); not ready\n",
			        subscriptions[i].filter, granted);
			atomic_store(&d->mqtt->subscribing, 0);
			return;
		}
	}
	atomic_store(&d->mqtt->connected, 1);
	atomic_store(&d->mqtt->subscribing, 0);
	atomic_store(&d->metrics.mqtt_connected, 1);
	fprintf(stderr, "komposterd: mqtt: subscribed\n");
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_daemon *d = ctx;
	atomic_store(&d->mqtt->subscribing, 0);
	fprintf(stderr, "komposterd: mqtt: subscribe failed (%d); retrying\n", resp ? resp->code : 0);
}

/* Subscribes to the whole topic set at QoS 1. Called from the connected
 * callback and, when that did not work out, again from the tick. */
static void subscribe_all(struct kp_daemon *d)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	char *filters[N_SUBS];
	int qos[N_SUBS];

	atomic_store(&d->mqtt->subscribing, 1);
	for (size_t i = 0; i < N_SUBS; i++) {
		filters[i] = (char *)subscriptions[i].filter;
		qos[i] = 1;
	}
	opts.onSuccess = on_subscribed;
	opts.onFailure = on_subscribe_failed;
	opts.context = d;
	int rc = MQTTAsync_subscribeMany(d->mqtt->client, (int)N_SUBS, filters, qos, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_store(&d->mqtt->subscribing, 0);
		fprintf(stderr, "komposterd: mqtt: subscribe: %s\n", MQTTAsync_strerror(rc));
	}
}

/* Called by Paho after every successful connect, including automatic reconnects. */
static void on_connected(void *ctx, char *cause)
{
	struct kp_daemon *d = ctx;

	atomic_store(&d->mqtt->connecting, 0);
	atomic_store(&d->mqtt->ever_connected, 1);
	atomic_store(&d->mqtt->online, 1);
	subscribe_all(d);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct kp_daemon *d = ctx;
	atomic_store(&d->mqtt->connected, 0);
	atomic_store(&d->mqtt->online, 0);
	atomic_store(&d->mqtt->subscribing, 0);
	atomic_store(&d->metrics.mqtt_connected, 0);
	atomic_fetch_add(&d->metrics.mqtt_reconnects, 1);
	fprintf(stderr, "komposterd: mqtt: connection lost (%s); reconnecting\n", cause ? cause : "no cause");
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_daemon *d = ctx;
	atomic_store(&d->mqtt->connecting, 0);
	fprintf(stderr, "komposterd: mqtt: connect to %s failed (%s); retrying\n", d->cfg.mqtt_uri,
	        resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0));
}

static int connect_now(struct kp_daemon *d)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;

	opts.keepAliveInterval = d->cfg.mqtt_keepalive_s;
	opts.cleansession = 0;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 8;
	opts.maxInflight = 65535;
	opts.onFailure = on_connect_failed;
	opts.context = d;
	if (d->cfg.mqtt_username[0])
		opts.username = d->cfg.mqtt_username;
	if (d->cfg.mqtt_password[0])
		opts.password = d->cfg.mqtt_password;
	atomic_store(&d->mqtt->connecting, 1);
	int rc = MQTTAsync_connect(d->mqtt->client, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_store(&d->mqtt->connecting, 0);
		fprintf(stderr, "komposterd: mqtt: connect: %s\n", MQTTAsync_strerror(rc));
		return -1;
	}
	return 0;
}

int kp_intake_start(struct kp_daemon *d)
{
	MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer;
	struct kp_intake *in = calloc(1, sizeof(*in));
	int rc;

	if (!in)
		return -1;
	d->mqtt = in;
	copts.sendWhileDisconnected = 0;
	/* Paho counts publishes its send thread has not taken yet against this
	 * limit even while connected; the publisher keeps max_inflight inside. */
	copts.maxBufferedMessages = d->cfg.mqtt_max_inflight + 16;
	rc = MQTTAsync_createWithOptions(&in->client, d->cfg.mqtt_uri, d->cfg.mqtt_client_id,
	                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposterd: mqtt: %s: %s\n", d->cfg.mqtt_uri, MQTTAsync_strerror(rc));
		goto err;
	}
	rc = MQTTAsync_setCallbacks(in->client, d, on_connection_lost, on_message, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(in->client, d, on_connected);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposterd: mqtt: callbacks: %s\n", MQTTAsync_strerror(rc));
		MQTTAsync_destroy(&in->client);
		goto err;
	}
	connect_now(d); /* a failure here is retried by kp_intake_tick */
	return 0;
err:
	free(in);
	d->mqtt = NULL;
	return -1;
}

/* Once a second: retry the first connection (Paho's automatic reconnect
 * covers later losses), and a subscription refused or lost while online,
 * every 5 s. */
void kp_intake_tick(struct kp_daemon *d)
{
	struct kp_intake *in = d->mqtt;

	if (!in || atomic_load(&d->stopping))
		return;
	if (!atomic_load(&in->ever_connected) && !atomic_load(&in->connecting)) {
		connect_now(d);
		return;
	}
	if (!atomic_load(&in->online) || atomic_load(&in->connected) || atomic_load(&in->subscribing)) {
		in->ticks_unsubscribed = 0;
		return;
	}
	if (++in->ticks_unsubscribed >= 5) {
		in->ticks_unsubscribed = 0;
		subscribe_all(d);
	}
}

int kp_intake_connected(struct kp_daemon *d)
{
	return d->mqtt && atomic_load(&d->mqtt->connected);
}

MQTTAsync kp_intake_client(struct kp_daemon *d)
{
	return d->mqtt->client;
}

void kp_intake_stop(struct kp_daemon *d)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
	struct kp_intake *in = d->mqtt;

	if (!in)
		return;
	opts.timeout = 2000;
	if (MQTTAsync_isConnected(in->client))
		MQTTAsync_disconnect(in->client, &opts);
	for (int i = 0; i < 40 && MQTTAsync_isConnected(in->client); i++)
		kp_sleep_ms(50);
	MQTTAsync_destroy(&in->client);
	free(in);
	d->mqtt = NULL;
}
