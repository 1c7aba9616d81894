/*
 * device_mqtt.c — the device's Paho MQTTAsync client and the mailbox its
 * callbacks fill.
 *
 * Design: Paho calls us on its own threads, and a slow callback stalls every
 * client's socket. So each callback does one thing under the mailbox mutex
 * (copy a 104-byte reply into a fixed ring, or flip the online flag and bump
 * the connection generation), wakes the owner through cfg.notify, and
 * returns. No callback calls Paho or LMDB, and the owner never calls Paho
 * while holding the mailbox mutex, so the two locks never nest.
 *
 * Every call into Paho (create, connect, subscribe, send, disconnect,
 * destroy) is made by the owner thread. Only replies of exactly an ACK's size
 * are queued; anything else is counted and dropped right away. Paho's
 * automatic reconnect covers lost connections, MQTTCLIENT_PERSISTENCE_NONE
 * because the outbox, not Paho, is what survives a crash, and clean sessions
 * because every (re)connect subscribes again and re-sends the window.
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

static void on_connected(void *ctx, char *cause)
{
	struct vd_device *dev = ctx;

	pthread_mutex_lock(&dev->mb.lock);
	dev->mb.online = 1;
	dev->mb.conn_gen++;
	pthread_mutex_unlock(&dev->mb.lock);
	notify_owner(dev);
}

static void on_connection_lost(void *ctx, char *cause)
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

unsigned vd_mailbox_take(struct vd_device *dev, uint8_t (*out)[KP_ACK_FRAME_SIZE], unsigned max,
                         uint64_t *conn_gen)
{
	struct vd_mailbox *mb = &dev->mb;
	unsigned n = 0;

	pthread_mutex_lock(&mb->lock);
	while (n < max && mb->count > 0) {
		memcpy(out[n++], mb->ring[mb->head], KP_ACK_FRAME_SIZE);
		mb->head = (mb->head + 1) % VD_INBOX_SIZE;
		mb->count--;
	}
	dev->stats.dropped += mb->dropped;
	dev->stats.ignored += mb->bad_size;
	dev->stats.connect_failures += mb->connect_failures;
	mb->dropped = 0;
	mb->bad_size = 0;
	mb->connect_failures = 0;
	dev->online = mb->online;
	dev->disconnects_seen = mb->disconnects_done;
	*conn_gen = mb->conn_gen;
	pthread_mutex_unlock(&mb->lock);
	return n;
}

int vd_mqtt_create(struct vd_device *dev, const char *broker_uri)
{
	int rc = MQTTAsync_create(&dev->client, broker_uri, dev->client_id,
	                          MQTTCLIENT_PERSISTENCE_NONE, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		dev->client = NULL;
		return vd_device_fail(dev, VD_EMQTT, "MQTTAsync_create %s: %s", broker_uri,
		                      MQTTAsync_strerror(rc));
	}
	rc = MQTTAsync_setCallbacks(dev->client, dev, on_connection_lost, on_message, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(dev->client, dev, on_connected);
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
	rc = MQTTAsync_connect(dev->client, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "MQTTAsync_connect: %s", MQTTAsync_strerror(rc));
	dev->connect_issued = 1;
	return VD_OK;
}

int vd_mqtt_subscribe(struct vd_device *dev)
{
	int rc = MQTTAsync_subscribe(dev->client, dev->topic_ack, MQTT_QOS, NULL);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "subscribe %s: %s", dev->topic_ack,
		                      MQTTAsync_strerror(rc));
	return VD_OK;
}

int vd_mqtt_publish(struct vd_device *dev, const uint8_t *frame, size_t len)
{
	/* Paho copies the payload before MQTTAsync_send returns. */
	int rc = MQTTAsync_send(dev->client, dev->topic_taps, (int)len, frame, MQTT_QOS, 0, NULL);
	if (rc != MQTTASYNC_SUCCESS)
		return vd_device_fail(dev, VD_EMQTT, "publish %s: %s", dev->topic_taps,
		                      MQTTAsync_strerror(rc));
	return VD_OK;
}

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
