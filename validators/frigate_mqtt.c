/*
 * frigate_mqtt.c — the street cameras' Paho client.
 *
 * Design: the owner publishes and waits; Paho's callbacks only move
 * counters under one mutex and signal one condition variable (on
 * CLOCK_MONOTONIC). A window bounds what Paho holds for us, so the
 * simulator never queues more than VD_FRIGATE_MQTT_WINDOW payloads in
 * memory however fast it boards riders.
 */
#include "validators/frigate_mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "validators/frigate_sim.h"

#define FM_QOS 1
#define FM_KEEPALIVE_S 20
#define FM_CONNECT_TIMEOUT_S 10
#define FM_DISCONNECT_TIMEOUT_MS 1000
#define FM_CLIENT_ID_SIZE 64

struct vd_frigate_mqtt {
	MQTTAsync client;
	int created;
	int64_t timeout_ms;
	char available_topic[VD_FRIGATE_TOPIC_SIZE];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	/* under lock */
	int connect_done; /* 1 connected, -1 refused or unreachable */
	int connect_rc;
	unsigned inflight;
	uint64_t failed;
	int lost;
};

static int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, VD_FRIGATE_MQTT_ERR_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void changed(struct vd_frigate_mqtt *c)
{
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_connected(void *ctx, MQTTAsync_successData *resp)
{
	struct vd_frigate_mqtt *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->connect_done = 1;
	changed(c);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct vd_frigate_mqtt *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->connect_done = -1;
	c->connect_rc = resp ? resp->code : 0;
	changed(c);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct vd_frigate_mqtt *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->lost = 1;
	changed(c);
}

static void on_published(void *ctx, MQTTAsync_successData *resp)
{
	struct vd_frigate_mqtt *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->inflight--;
	changed(c);
}

static void on_publish_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct vd_frigate_mqtt *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->inflight--;
	c->failed++;
	changed(c);
}

/* Waits under c->lock until done(c) or the deadline; returns 0 or -1 (timeout). */
static int wait_until(struct vd_frigate_mqtt *c, int (*done)(const struct vd_frigate_mqtt *),
                      int64_t deadline_ms)
{
	while (!done(c)) {
		struct timespec ts = {deadline_ms / 1000, (deadline_ms % 1000) * 1000000};
		if (monotonic_ms() >= deadline_ms)
			return -1;
		(void)pthread_cond_timedwait(&c->changed, &c->lock, &ts);
	}
	return 0;
}

static int connect_finished(const struct vd_frigate_mqtt *c)
{
	return c->connect_done != 0;
}

/* A lost link or a failed publish ends the wait too: link_error says so. */
static int window_has_room(const struct vd_frigate_mqtt *c)
{
	return c->inflight < VD_FRIGATE_MQTT_WINDOW || c->failed || c->lost;
}

static int all_acked(const struct vd_frigate_mqtt *c)
{
	return c->inflight == 0 || c->failed || c->lost;
}

/* The state of the link as one error, or 0 when all is well; under lock. */
static int link_error(const struct vd_frigate_mqtt *c, char *err)
{
	if (c->failed)
		return fail(err, "street cameras: %" PRIu64 " Frigate events not delivered%s", c->failed,
		            c->lost ? " (connection to the broker lost)" : "");
	if (c->lost)
		return fail(err, "street cameras: connection to the broker lost");
	return 0;
}

static int publish(struct vd_frigate_mqtt *c, const char *topic, const void *payload, size_t len,
                int retained, char *err)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = wait_until(c, window_has_room, monotonic_ms() + c->timeout_ms);
	if (rc != 0)
		fail(err, "street cameras: no PUBACK for %u Frigate events in %" PRId64 " ms", c->inflight,
		     c->timeout_ms);
	else
		rc = link_error(c, err);
	if (rc == 0)
		c->inflight++;
	pthread_mutex_unlock(&c->lock);
	if (rc != 0)
		return -1;
	opts.onSuccess = on_published;
	opts.onFailure = on_publish_failed;
	opts.context = c;
	msg.payload = (void *)payload; /* Paho copies it before MQTTAsync_sendMessage returns */
	msg.payloadlen = (int)len;
	msg.qos = FM_QOS;
	msg.retained = retained;
	rc = MQTTAsync_sendMessage(c->client, topic, &msg, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->lock);
		c->inflight--;
		c->failed++;
		pthread_mutex_unlock(&c->lock);
		return fail(err, "street cameras: publish on %s: %s", topic, MQTTAsync_strerror(rc));
	}
	return 0;
}

static int client_create(struct vd_frigate_mqtt *c, const char *broker_uri, char *err)
{
	MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer;
	char id[FM_CLIENT_ID_SIZE];
	int rc;

	snprintf(id, sizeof id, "validator-sim-frigate-%ld", (long)getpid());
	opts.sendWhileDisconnected = 0;
	/* Paho counts every queued publish against this, connected or not
	 * (default 100): room for the window and the two availability messages */
	opts.maxBufferedMessages = VD_FRIGATE_MQTT_WINDOW + 2;
	opts.deleteOldestMessages = 0;
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&c->client, broker_uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
	                                 &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return fail(err, "street cameras: MQTTAsync_create %s: %s", broker_uri, MQTTAsync_strerror(rc));
	c->created = 1;
	/* MQTTAsync_setCallbacks insists on a message callback; this client
	 * subscribes to nothing */
	rc = MQTTAsync_setConnectionLostCallback(c->client, c, on_connection_lost);
	if (rc != MQTTASYNC_SUCCESS)
		return fail(err, "street cameras: MQTTAsync callback: %s", MQTTAsync_strerror(rc));
	return 0;
}

static int client_connect(struct vd_frigate_mqtt *c, const char *broker_uri, char *err)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	int rc;

	will.topicName = c->available_topic;
	will.message = VD_FRIGATE_AVAILABLE_OFFLINE;
	will.retained = 1;
	will.qos = FM_QOS;
	opts.keepAliveInterval = FM_KEEPALIVE_S;
	opts.cleansession = 1;
	opts.connectTimeout = FM_CONNECT_TIMEOUT_S;
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	opts.will = &will;
	opts.onSuccess = on_connected;
	opts.onFailure = on_connect_failed;
	opts.context = c;
	rc = MQTTAsync_connect(c->client, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return fail(err, "street cameras: MQTTAsync_connect: %s", MQTTAsync_strerror(rc));
	pthread_mutex_lock(&c->lock);
	rc = wait_until(c, connect_finished, monotonic_ms() + c->timeout_ms);
	if (rc != 0)
		fail(err, "street cameras: no answer from %s in %" PRId64 " ms", broker_uri, c->timeout_ms);
	else if (c->connect_done < 0)
		rc = fail(err, "street cameras: cannot connect to %s (code %d)", broker_uri, c->connect_rc);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void client_free(struct vd_frigate_mqtt *c)
{
	if (c->created)
		MQTTAsync_destroy(&c->client); /* calls back for what it drops: c still lives */
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int sync_init(struct vd_frigate_mqtt *c)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&c->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (rc == 0 && (rc = pthread_mutex_init(&c->lock, NULL)) != 0)
		pthread_cond_destroy(&c->changed);
	return rc;
}

int vd_frigate_mqtt_open(const char *broker_uri, const char *available_topic, int64_t timeout_ms,
                         struct vd_frigate_mqtt **out, char *err)
{
	struct vd_frigate_mqtt *c = calloc(1, sizeof *c);
	int rc;

	if (!c)
		return fail(err, "street cameras: out of memory");
	if (strlen(available_topic) >= sizeof c->available_topic) {
		free(c);
		return fail(err, "street cameras: topic %s too long", available_topic);
	}
	rc = sync_init(c);
	if (rc != 0) {
		free(c);
		return fail(err, "street cameras: pthread: %s", strerror(rc));
	}
	strcpy(c->available_topic, available_topic);
	c->timeout_ms = timeout_ms;
	if (client_create(c, broker_uri, err) != 0 || client_connect(c, broker_uri, err) != 0 ||
	    publish(c, c->available_topic, VD_FRIGATE_AVAILABLE_ONLINE,
	         strlen(VD_FRIGATE_AVAILABLE_ONLINE), 1, err) != 0) {
		client_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int vd_frigate_mqtt_publish(struct vd_frigate_mqtt *c, const char *topic, const void *payload,
                            size_t len, char *err)
{
	return publish(c, topic, payload, len, 0, err);
}

static int drain(struct vd_frigate_mqtt *c, char *err)
{
	int rc;

	if (publish(c, c->available_topic, VD_FRIGATE_AVAILABLE_OFFLINE,
	         strlen(VD_FRIGATE_AVAILABLE_OFFLINE), 1, err) != 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	rc = wait_until(c, all_acked, monotonic_ms() + c->timeout_ms);
	if (rc != 0)
		fail(err, "street cameras: no PUBACK for %u Frigate events in %" PRId64 " ms", c->inflight,
		     c->timeout_ms);
	else
		rc = link_error(c, err);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int vd_frigate_mqtt_close(struct vd_frigate_mqtt *c, int drain_first, char *err)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
	int rc = 0;

	if (!c)
		return 0;
	if (drain_first)
		rc = drain(c, err);
	opts.timeout = FM_DISCONNECT_TIMEOUT_MS;
	/* best effort: the broker drops the session either way (clean session),
	 * and the PUBACKs that matter have come */
	(void)MQTTAsync_disconnect(c->client, &opts);
	client_free(c);
	return rc;
}
