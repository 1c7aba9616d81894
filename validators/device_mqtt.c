/*
 * device_mqtt.c — the device's Paho MQTTAsync client and the mailbox its
 * callbacks fill.
 *
 * Design: Paho calls us on its own threads, and a slow callback stalls every
 * client's socket. So each callback does one thing under the mailbox mutex
 * (copy a 104-byte reply into a fixed ring, note a publish completion or a
 * subscribe failure, or flip the online flag and bump the connection
 * generation), wakes the owner through cfg.notify, and returns. No callback
 * calls Paho or LMDB, and the owner never calls Paho while holding the
 * mailbox mutex, so the two locks never nest.
 *
 * Every call into Paho (create, connect, subscribe, send, disconnect,
 * destroy) is made by the owner thread. Only replies of exactly an ACK's size
 * are queued; anything else is counted and dropped right away. Paho's
 * automatic reconnect covers lost connections, MQTTCLIENT_PERSISTENCE_NONE
 * because the outbox, not Paho, is what survives a crash, and clean sessions
 * because every (re)connect subscribes again and re-sends the window.
 *
 * Bounded queues. Every publish carries onSuccess/onFailure and, as their
 * context, its own ticket (device_impl.h); the completion (ticket, ok) goes
 * into a ring sized for every ticket. Paho's token would not do: Paho 1.3.12
 * calls onFailure with token 0 for a publish whose socket write failed (the
 * broker went away mid-stream), and reuses message ids from 1 after a clean
 * session ends. The window (device_window.c) holds at most one live send per
 * frame, and as many given up on as it has tickets, so Paho never holds more
 * than 2 × (window + backoff_slots) × copies of our publishes.
 * maxBufferedMessages caps Paho's command queue at half that, with
 * deleteOldestMessages off: Paho refuses a publish beyond it (the window
 * retries later) instead of freeing a queued one without calling back. Paho
 * calls back for every publish it accepted: PUBACK, failure when a clean
 * session drops it in flight or its socket write fails, or failure at
 * MQTTAsync_destroy; publishes still in its command queue at a connection
 * loss stay queued and go out after the reconnect. Should the ring ever
 * overflow, the owner treats every pending publish as completed (done_lost),
 * so no frame can wait forever for a lost completion.
 *
 * Subscribing. The SUBACK comes back through the mailbox as well: a refusal
 * (0x80, onFailure) or a granted QoS other than 1 counts as a failed
 * subscribe, and the owner subscribes again (device.c); a grant records the
 * connection generation it came on, and a subscribe with no grant for its
 * connection VD_SUBACK_TIMEOUT_MS later is made again.
 *
 * Going offline and back: Paho 1.3.12 queues a user DISCONNECT at the tail of
 * its command queue but puts a CONNECT at the head. A connect issued while
 * our disconnect still waits in the queue (behind queued publishes, which
 * under load can take seconds) would run first and then be cut by the old
 * DISCONNECT, with reconnects off for good. So a connect waits until Paho has
 * called back for every disconnect we issued (bounded: VD_DISCONNECT_WAIT_MS).
 */
#include "validators/device_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MQTT_KEEPALIVE_S 20
#define MQTT_CONNECT_TIMEOUT_S 10
#define MQTT_RETRY_MIN_S 1
#define MQTT_RETRY_MAX_S 8
#define MQTT_DISCONNECT_TIMEOUT_MS 500
#define MQTT_CLOSE_WAIT_MS 2000
#define MQTT_QOS 1

static void notify_owner(struct vd_device *dev)
{
	if (dev->cfg.notify)
		dev->cfg.notify(dev->cfg.notify_arg);
}

void vd_cb_connected(void *ctx, char *cause)
{
	struct vd_device *dev = ctx;

	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.online = 1;
	dev->mb.conn_gen++;
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

void vd_cb_connection_lost(void *ctx, char *cause)
{
	struct vd_device *dev = ctx;

	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.online = 0;
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct vd_device *dev = ctx;

	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.connect_failures++;
	pthread_mutex_unlock(&dev->mb.lock);
}

static void mailbox_put(struct vd_mailbox *mb, const void *payload, int len)
{
	if (len != KP_ACK_FRAME_SIZE) {
		mb->bad_size++;
		return;
	}
	if (mb->count == VD_INBOX_SIZE) {
		mb->dropped++;
		return;
	}
	memcpy(mb->ring[(mb->head + mb->count) % VD_INBOX_SIZE], payload, KP_ACK_FRAME_SIZE);
	mb->count++;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct vd_device *dev = ctx;

	pthread_mutex_lock(&dev->mb.lock);
	mailbox_put(&dev->mb, msg->payload, msg->payloadlen);
	pthread_mutex_unlock(&dev->mb.lock);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	notify_owner(dev);
	return 1; /* consumed: Paho must not hand it to us again */
}

static void completion_put(struct vd_mailbox *mb, unsigned ticket, int ok)
{
	if (mb->done_count == mb->done_cap) {
		mb->done_lost = 1;
		return;
	}
	mb->done[(mb->done_head + mb->done_count) % mb->done_cap] =
		(struct vd_completion){.ticket = ticket, .ok = ok};
	mb->done_count++;
}

/* ctx is the publish's ticket; its dev and the device's ticket array never
 * change after open, so reading them here needs no lock. */
static void publish_finished(struct vd_ticket *ticket, int ok)
{
	struct vd_device *dev = ticket->dev;

	pthread_mutex_lock(&dev->mb.lock);
	completion_put(&dev->mb, (unsigned)(ticket - dev->tickets), ok);
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

void vd_cb_published(void *ctx, MQTTAsync_successData *resp)
{
	publish_finished(ctx, 1);
}

void vd_cb_publish_failed(void *ctx, MQTTAsync_failureData *resp)
{
	publish_finished(ctx, 0);
}

static void subscribe_failed(struct vd_device *dev)
{
	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.subscribe_failures++;
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

void vd_cb_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct vd_device *dev = ctx;

	if (!resp || resp->alt.qos != MQTT_QOS) {
		subscribe_failed(dev);
		return;
	}
	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.suback_gen = dev->mb.conn_gen;
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

void vd_cb_subscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	subscribe_failed(ctx);
}

static void disconnect_finished(struct vd_device *dev)
{
	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.disconnects_done++;
	pthread_cond_broadcast(&dev->mb.changed);
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev); /* a connect may be waiting for this */
}

static void on_disconnect_ok(void *ctx, MQTTAsync_successData *resp)
{
	disconnect_finished(ctx);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	disconnect_finished(ctx);
}

int vd_mailbox_init(struct vd_device *dev)
{
	struct vd_mailbox *mb = &dev->mb;

	/* One completion per ticket, plus what one take moves. */
	mb->done_cap = dev->ntickets + VD_TAKE_MAX;
	mb->done = calloc(mb->done_cap, sizeof *mb->done);
	if (!mb->done)
		return -1;
	if (pthread_mutex_init(&mb->lock, NULL) != 0)
		goto err_free;
	if (pthread_cond_init(&mb->changed, NULL) != 0)
		goto err_mutex;
	return 0;
err_mutex:
	pthread_mutex_destroy(&mb->lock);
err_free:
	free(mb->done);
	mb->done = NULL;
	return -1;
}

void vd_mailbox_destroy(struct vd_device *dev)
{
	if (!dev->mb.done)
		return;
	pthread_cond_destroy(&dev->mb.changed);
	pthread_mutex_destroy(&dev->mb.lock);
	free(dev->mb.done);
	dev->mb.done = NULL;
}

static void take_replies(struct vd_mailbox *mb, struct vd_take *t)
{
	t->nreplies = 0;
	while (t->nreplies < VD_TAKE_MAX && mb->count > 0) {
		memcpy(t->replies[t->nreplies++], mb->ring[mb->head], KP_ACK_FRAME_SIZE);
		mb->head = (mb->head + 1) % VD_INBOX_SIZE;
		mb->count--;
	}
}

static void take_completions(struct vd_mailbox *mb, struct vd_take *t)
{
	t->ndone = 0;
	while (t->ndone < VD_TAKE_MAX && mb->done_count > 0) {
		t->done[t->ndone++] = mb->done[mb->done_head];
		mb->done_head = (mb->done_head + 1) % mb->done_cap;
		mb->done_count--;
	}
	t->done_lost = mb->done_lost;
	mb->done_lost = 0;
}

void vd_mailbox_take(struct vd_device *dev, struct vd_take *t)
{
	struct vd_mailbox *mb = &dev->mb;

	pthread_mutex_lock(&mb->lock);
	take_replies(mb, t);
	take_completions(mb, t);
	t->subscribe_failures = mb->subscribe_failures;
	mb->subscribe_failures = 0;
	dev->stats.dropped += mb->dropped;
	dev->stats.ignored += mb->bad_size;
	dev->stats.connect_failures += mb->connect_failures;
	mb->dropped = 0;
	mb->bad_size = 0;
	mb->connect_failures = 0;
	dev->online = mb->online;
	dev->suback_gen = mb->suback_gen;
	dev->disconnects_seen = mb->disconnects_done;
	t->conn_gen = mb->conn_gen;
	pthread_mutex_unlock(&mb->lock);
}

int vd_mqtt_create(struct vd_device *dev, const char *broker_uri)
{
	MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer;
	unsigned copies = dev->cfg.duplicate ? VD_COPIES_MAX : 1;
	int rc;

	opts.sendWhileDisconnected = 0;
	opts.maxBufferedMessages = (int)(dev->slots_cap * copies);
	opts.deleteOldestMessages = 0; /* refuse the newest: never free one silently */
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&dev->client, broker_uri, dev->client_id,
	                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		dev->client = NULL;
		return vd_device_fail(dev, VD_EMQTT, "MQTTAsync_create %s: %s", broker_uri,
		                      MQTTAsync_strerror(rc));
	}
	rc = MQTTAsync_setCallbacks(dev->client, dev, vd_cb_connection_lost, on_message, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(dev->client, dev, vd_cb_connected);
	if (rc != MQTTASYNC_SUCCESS) {
		MQTTAsync_destroy(&dev->client);
		dev->client = NULL;
		return vd_device_fail(dev, VD_EMQTT, "MQTTAsync callbacks: %s", MQTTAsync_strerror(rc));
	}
	return VD_OK;
}

int vd_mqtt_connect(struct vd_device *dev)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	int rc;

	opts.keepAliveInterval = MQTT_KEEPALIVE_S;
	opts.cleansession = 1;
	opts.connectTimeout = MQTT_CONNECT_TIMEOUT_S;
	opts.MQTTVersion = MQTTVERSION_3_1_1;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = MQTT_RETRY_MIN_S;
	opts.maxRetryInterval = MQTT_RETRY_MAX_S;
	opts.context = dev;
	opts.onFailure = on_connect_failed;
	if (dev->broker_password[0]) {
		opts.username = dev->username;
		opts.password = dev->broker_password;
	}
	rc = MQTTAsync_connect(dev->client, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "MQTTAsync_connect: %s", MQTTAsync_strerror(rc));
	dev->connect_issued = 1;
	return VD_OK;
}

static int mqtt_subscribe(struct vd_device *dev)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	opts.onSuccess = vd_cb_subscribed;
	opts.onFailure = vd_cb_subscribe_failed;
	opts.context = dev;
	rc = MQTTAsync_subscribe(dev->client, dev->topic_ack, MQTT_QOS, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "subscribe %s: %s", dev->topic_ack,
		                      MQTTAsync_strerror(rc));
	return VD_OK;
}

static int mqtt_publish(struct vd_device *dev, const uint8_t *frame, size_t len,
                        struct vd_ticket *ticket)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	int rc;

	opts.onSuccess = vd_cb_published;
	opts.onFailure = vd_cb_publish_failed;
	opts.context = ticket;
	msg.payload = (void *)frame; /* Paho copies it before MQTTAsync_sendMessage returns */
	msg.payloadlen = (int)len;
	msg.qos = MQTT_QOS;
	rc = MQTTAsync_sendMessage(dev->client, dev->topic_out, &msg, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "publish %s: %s", dev->topic_out,
		                      MQTTAsync_strerror(rc));
	return VD_OK;
}

const struct vd_io vd_mqtt_io = {
	.subscribe = mqtt_subscribe,
	.publish = mqtt_publish,
};

int vd_device_connect(struct vd_device *dev, const char *broker_uri)
{
	int rc;

	if (!dev)
		return VD_EINVAL;
	if (!dev->client) {
		if (!broker_uri)
			return VD_EINVAL;
		rc = vd_mqtt_create(dev, broker_uri);
		if (rc != VD_OK)
			return rc;
	}
	dev->want_online = 1;
	dev->connect_retry_at = 0;
	dev->disconnect_wait_since = 0;
	/* With a disconnect still in Paho's queue, vd_device_poll connects later
	 * (see "Going offline and back" above). */
	if (!dev->connect_issued && dev->disconnects_issued == dev->disconnects_seen)
		(void)vd_mqtt_connect(dev); /* a refusal is in dev->err; vd_device_poll retries */
	return VD_OK;
}

static void mailbox_go_offline(struct vd_device *dev)
{
	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.online = 0;
	pthread_mutex_unlock(&dev->mb.lock);
	dev->online = 0;
}

/* Stops the connection and Paho's reconnects. When Paho accepts, its
 * disconnect callback will follow (counted in mb.disconnects_done). */
static void mqtt_disconnect(struct vd_device *dev)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
	int rc;

	mailbox_go_offline(dev);
	dev->connect_issued = 0;
	opts.timeout = MQTT_DISCONNECT_TIMEOUT_MS;
	opts.onSuccess = on_disconnect_ok;
	opts.onFailure = on_disconnect_failed;
	opts.context = dev;
	rc = MQTTAsync_disconnect(dev->client, &opts);
	if (rc == MQTTASYNC_SUCCESS)
		dev->disconnects_issued++;
	else if (rc != MQTTASYNC_DISCONNECTED) /* DISCONNECTED: reconnects stop all the same */
		vd_device_fail(dev, VD_EMQTT, "MQTTAsync_disconnect: %s", MQTTAsync_strerror(rc));
}

int vd_device_disconnect(struct vd_device *dev)
{
	if (!dev)
		return VD_EINVAL;
	dev->want_online = 0;
	if (dev->client && dev->connect_issued)
		mqtt_disconnect(dev);
	return VD_OK;
}

static void wait_disconnect_done(struct vd_device *dev)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += MQTT_CLOSE_WAIT_MS / 1000;
	pthread_mutex_lock(&dev->mb.lock);
	while (dev->mb.disconnects_done < dev->disconnects_issued) {
		if (pthread_cond_timedwait(&dev->mb.changed, &dev->mb.lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&dev->mb.lock);
}

/* Disconnects and waits (bounded) for Paho's disconnect callback, so that no
 * callback of ours can still be running when the device is freed. */
void vd_mqtt_destroy(struct vd_device *dev)
{
	if (!dev->client)
		return;
	dev->want_online = 0;
	if (dev->connect_issued)
		mqtt_disconnect(dev);
	wait_disconnect_done(dev);
	MQTTAsync_destroy(&dev->client);
	dev->client = NULL;
}
