/*
 * intake_mqtt.c — Paho MQTTAsync callbacks feeding the intake ring.
 *
 * The device streams the daemon takes are a table, one row each; their
 * topics and filters are firmware-proto/topic.h's. Frigate's two topics
 * come from the configured prefix and go to a ring of their own. Paho runs every callback on its receive thread with its
 * global lock held: the callbacks here do no I/O and call no Paho function
 * except the subscribe issued from the connected callback, which Paho allows
 * (it recognises its own receive thread and does not take its lock again).
 * Retries run on the supervisor thread, the only other thread here that
 * calls Paho: it may wait for Paho's lock under back-pressure, and nothing
 * waits for it but kp_intake_destroy.
 *
 * The device filters and Frigate's two are two SUBSCRIBEs, each retried on
 * its own: readiness (health->subscribed) is the device filters' alone, so
 * a broker that refuses Frigate's topics (an ACL for another prefix) costs
 * the NVR counts, one stderr line and komposter_frigate_subscribed 0, not
 * the taps.
 *
 * A partitioned intake (cfg.partition.n > 1) has no device-filter group:
 * the supervisor alone keeps the per-device subscriptions (sync_devices),
 * so the device sets need no lock. Each (re)connect starts a new session
 * number; the supervisor sees it, forgets what it had subscribed and
 * subscribes every owned device again, since the broker's persistent
 * session may or may not have kept them. Each batch's callback counts down
 * batches_pending; the supervisor holds one count itself while it issues a
 * round, so readiness comes only after the round's last batch.
 *
 * The stop (kp_intake_close) rests on what Paho 1.3.12's source does (read
 * for this, not an API promise; the order below is since 1.3.10, commit
 * 31c44e7, "Change ordering of acks"): MQTTProtocol_handlePublishes
 * (MQTTProtocolClient.c) handles a QoS 1 PUBLISH by Protocol_processPublication
 * and only then sends the PUBACK (or queues it behind pending writes).
 * Protocol_processPublication (MQTTAsyncUtils.c) calls messageArrived
 * inline when the client's message queue is empty and it is connected, so
 * the frame whose messageArrived returned is the one PUBACKed next. If
 * messageArrived returns 0 the message is queued and PUBACKed all the same,
 * delivered later only while the socket lives (MQTTAsync_receiveThread) and
 * freed unread by MQTTAsync_destroy: so device frames never return 0 here.
 * All of it runs under Paho's global mutex, as does the send thread's
 * MQTTAsync_processCommand, whose DISCONNECT ends in MQTTAsync_checkDisconnect
 * → MQTTAsync_closeSession (socket closed, connected 0; with cleansession 0
 * the broker keeps the session). A PUBLISH is read either before that, and
 * taken, or never: after the disconnect no messageArrived comes, and the
 * broker holds what follows for our persistent session. MQTTAsync_disconnect
 * itself only queues the command (mqttcommand_mutex), so it does not wait
 * for a messageArrived waiting for ring room.
 */
#include "ingest/intake_mqtt.h"

#include "firmware-proto/topic.h"
#include "ingest/clock.h"
#include "ingest/frigate_event.h"
#include "ingest/frigate_stage.h"
#include "ingest/paho_awake.h"
#include "ingest/tcp_nodelay.h"
#include "ingest/thread_attr.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const enum kp_stream subscriptions[] = {
	KP_STREAM_TAPS,
	KP_STREAM_COUNTS,
};
#define N_SUBS (sizeof(subscriptions) / sizeof(subscriptions[0]))
/* The device streams, then Frigate's events and available. */
#define N_FILTERS_MAX (N_SUBS + 2)
#define FRIGATE_TOPIC_MAX 160

#define RESUBSCRIBE_EVERY_S 5
#define BATCH_TOPICS (KP_INTAKE_BATCH_DEVICES * KP_DEVICE_TOPICS)

struct kp_intake {
	struct kp_intake_ctx ctx;
	MQTTAsync client;
	/* What subscribe_all subscribes to: filters[0..n_filters), the device
	 * streams' first (N_SUBS), then Frigate's when taken. */
	const char *filters[N_FILTERS_MAX];
	size_t n_filters;
	struct sub_group {
		struct kp_intake *in;
		size_t first, n;     /* filters[first..first+n) */
		int frigate;         /* 0: the device streams (readiness); 1: Frigate's */
		atomic_int subscribing; /* a SUBSCRIBE is in flight */
		int retry_in_s;      /* supervisor only */
	} groups[2];
	size_t n_groups;
	char frigate_events[FRIGATE_TOPIC_MAX];
	char frigate_available[FRIGATE_TOPIC_MAX];
	char awake_topic[KP_PAHO_AWAKE_TOPIC_MAX]; /* paho_awake.h; "" when the client id allows none */
	size_t awake_len;
	atomic_uint_fast64_t heard_ns; /* monotonic: the last message Paho gave us */
	atomic_int awake_pending;      /* ours handed to Paho, not yet written or failed */
	uint64_t awake_sent_ns;        /* supervisor: when the last one was handed over */
	unsigned awake_unanswered;     /* supervisor: sent since anything came back */
	int awake_warned;              /* supervisor: said that none comes back */
	atomic_int connecting;
	atomic_int ever_connected;
	atomic_int online;         /* MQTT session up, subscribed or not */
	atomic_int stopping;       /* kp_intake_close: retry nothing, subscribe nothing */
	atomic_int closed;         /* kp_intake_close: the disconnect completed (or failed) */
	/* Partitioned only (file comment). */
	int partitioned;
	struct kp_device_set have;  /* supervisor: SUBSCRIBEd in this session */
	atomic_uint session;        /* bumped by every connect */
	unsigned synced_session;    /* supervisor: the session `have` belongs to */
	atomic_int batches_pending;
	atomic_int batch_failed;    /* a batch of this round was refused */
	atomic_size_t round_devices; /* `have`'s size once the round's batches are granted */
	int resync_in_s, failed_for_s; /* supervisor */
	atomic_int reread;             /* kp_intake_reread: read the registry at the next round */
	pthread_mutex_t batches_lock;  /* batches only; never held while calling Paho */
	struct dev_batch *batches;
	/* The supervisor thread sleeps on `wake` and ends when `quit` is set. */
	pthread_t supervisor;
	int supervisor_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int quit;                  /* under lock */
	int kick;                  /* under lock: run the supervisor's round now */
};

/* A SUBSCRIBE in flight. Kept on in->batches until its callback, so that
 * kp_intake_destroy frees those Paho never answers. */
struct dev_batch {
	struct kp_intake *in;
	unsigned session;
	int n_topics;
	struct dev_batch *prev, *next;
};

/* An item's bytes are the Paho message's payload: give the message back. */
static void release_message(struct kp_inbound *in)
{
	MQTTAsync_message *msg = in->owner;
	MQTTAsync_freeMessage(&msg);
}

int kp_intake_parse_topic(const char *topic, size_t len, uint64_t *device_id, uint8_t *stream)
{
	enum kp_stream s;
	uint64_t id;

	if (kp_topic_parse(topic, len, &id, &s) != KP_OK)
		return -1;
	for (size_t i = 0; i < N_SUBS; i++) {
		if (subscriptions[i] == s) {
			*device_id = id;
			*stream = (uint8_t)s;
			return 0;
		}
	}
	return -1; /* a device topic, but not of a stream the daemon takes */
}

/* A frame on a topic that names no device gets no answer (there is nobody
 * to send it to), so the log says so: the 1st, 2nd, 4th, 8th... such frame,
 * so that a flood cannot flood the log. The topic is the sender's text:
 * only printable ASCII of it is written. */
static void log_bad_topic(const char *topic, size_t len, uint64_t count)
{
	char shown[96];
	size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;

	if ((count & (count - 1)) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		shown[i] = topic[i] >= 0x20 && topic[i] < 0x7f ? topic[i] : '?';
	shown[n] = '\0';
	fprintf(stderr, "komposterd: dropped a frame on topic '%s%s': it names no device "
	                "(komposter/v1/dev/{16 lowercase hex, not all 0}/taps); %llu such frames so far\n",
	        shown, len > n ? "..." : "", (unsigned long long)count);
}

/* Which Frigate topic this is: enum kp_frigate_topic, 0 for none. */
static int frigate_topic(const struct kp_intake *in, const char *topic, size_t len)
{
	if (!in->ctx.frigate)
		return 0;
	if (strlen(in->frigate_events) == len && memcmp(in->frigate_events, topic, len) == 0)
		return KP_FRIGATE_TOPIC_EVENTS;
	if (strlen(in->frigate_available) == len && memcmp(in->frigate_available, topic, len) == 0)
		return KP_FRIGATE_TOPIC_AVAILABLE;
	return 0;
}

/* A Frigate message: copied for the Frigate stage, waiting for room. 1 when
 * Paho may free it, 0 to have it delivered again (out of memory). */
static int on_frigate_message(struct kp_intake *in, int kind, MQTTAsync_message *msg)
{
	struct kp_metrics *m = in->ctx.m;
	struct kp_frigate_msg item;
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	/* Taken while stopping too: Frigate never re-sends, and the stage drains
	 * its ring before the daemon exits. */
	atomic_fetch_add_explicit(&m->frigate_messages, 1, memory_order_relaxed);
	if (len > KP_FRIGATE_PAYLOAD_MAX) {
		atomic_fetch_add_explicit(&m->frigate_rejected[KP_FRIGATE_ETOO_LARGE], 1, memory_order_relaxed);
		goto done;
	}
	if (kp_frigate_msg_copy(&item, (uint8_t)kind, msg->payload, len, kp_now_ms()) != 0) {
		atomic_fetch_sub_explicit(&m->frigate_messages, 1, memory_order_relaxed);
		kp_sleep_ms(10);
		return 0;
	}
	if (kp_ring_push(in->ctx.frigate, &item) != 0) {
		kp_frigate_msg_free(&item); /* closed while we waited: shutting down */
		goto done;
	}
	atomic_store_explicit(&m->frigate_queue_depth, (int_fast64_t)kp_ring_depth(in->ctx.frigate),
	                      memory_order_relaxed);
done:
	MQTTAsync_freeMessage(&msg);
	return 1;
}

static int on_device_message(struct kp_intake *in, struct kp_metrics *m, char *topic, size_t len,
                             MQTTAsync_message *msg)
{
	struct kp_inbound item = {
		.frame = msg->payload,
		.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		.received_at = kp_now_ms(),
		.release = release_message,
		.owner = msg,
	};
	int parsed = kp_intake_parse_topic(topic, len, &item.topic_device, &item.stream);

	atomic_fetch_add_explicit(&m->frames_in, 1, memory_order_relaxed);
	if (parsed != 0)
		log_bad_topic(topic, len,
		              atomic_fetch_add_explicit(&m->rejected[0], 1, memory_order_relaxed) + 1);
	MQTTAsync_free(topic); /* parsed into the item; nothing later reads it */
	if (parsed != 0)
		goto drop;
	/* Taken while stopping too: Paho PUBACKs it once we return (file
	 * comment), so only the pipeline can keep it. */
	if (kp_ring_push(in->ctx.out, &item) != 0) {
		/* Closed: the drain gave up waiting for the disconnect. */
		atomic_fetch_add_explicit(&m->dropped_stopping, 1, memory_order_relaxed);
		goto drop;
	}
	atomic_store_explicit(&m->ring_depth, (int_fast64_t)kp_ring_depth(in->ctx.out),
	                      memory_order_relaxed);
	return 1;
drop:
	kp_inbound_free(&item);
	return 1;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct kp_intake *in = ctx;
	struct kp_metrics *m = in->ctx.m;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);

	atomic_store_explicit(&in->heard_ns, kp_now_mono_ns(), memory_order_relaxed);
	if (in->awake_len && tlen == in->awake_len && memcmp(topic, in->awake_topic, tlen) == 0) {
		atomic_fetch_add_explicit(&m->mqtt_awake_received, 1, memory_order_relaxed);
		MQTTAsync_freeMessage(&msg);
		MQTTAsync_free(topic);
		return 1; /* it woke Paho's receive thread: its only purpose */
	}
	int kind = frigate_topic(in, topic, tlen);

	if (kind != 0) {
		int taken = on_frigate_message(in, kind, msg);
		if (taken)
			MQTTAsync_free(topic);
		return taken;
	}
	return on_device_message(in, m, topic, tlen, msg);
}

static int subscribed(const struct sub_group *g)
{
	struct kp_intake *in = g->in;

	return g->frigate ? atomic_load(&in->ctx.m->frigate_subscribed) != 0
	                  : atomic_load(&in->ctx.health->subscribed) != 0;
}

static void set_subscribed(struct sub_group *g, int yes)
{
	struct kp_intake *in = g->in;

	if (g->frigate)
		atomic_store(&in->ctx.m->frigate_subscribed, yes);
	else
		atomic_store(&in->ctx.health->subscribed, yes);
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct sub_group *g = ctx;
	struct kp_intake *in = g->in;

	/* For several topics Paho reports the granted QoS list in alt.qosList. */
	for (size_t i = 0; resp && i < g->n; i++) {
		int granted = g->n == 1 ? resp->alt.qos : resp->alt.qosList[i];
		if (granted != 1) {
			fprintf(stderr, "komposterd: mqtt: broker granted %s QoS %d, not 1 (ACL?); %s\n",
			        in->filters[g->first + i], granted,
			        g->frigate ? "Frigate's events are not taken; retrying" : "not ready");
			atomic_store(&g->subscribing, 0);
			return;
		}
	}
	set_subscribed(g, 1);
	atomic_store(&g->subscribing, 0);
	if (!g->frigate)
		atomic_store(&in->ctx.m->mqtt_connected, 1);
	fprintf(stderr, "komposterd: mqtt: subscribed%s\n", g->frigate ? " to Frigate's topics" : "");
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct sub_group *g = ctx;

	atomic_store(&g->subscribing, 0);
	fprintf(stderr, "komposterd: mqtt: subscribe%s failed (%d); retrying\n",
	        g->frigate ? " to Frigate's topics" : "", resp ? resp->code : 0);
}

/* Subscribes to one group's filters at QoS 1. Called from the connected
 * callback and, when that did not work out, again by the supervisor. */
static void subscribe_group(struct sub_group *g)
{
	struct kp_intake *in = g->in;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	char *filters[N_FILTERS_MAX];
	int qos[N_FILTERS_MAX];

	atomic_store(&g->subscribing, 1);
	for (size_t i = 0; i < g->n; i++) {
		filters[i] = (char *)in->filters[g->first + i]; /* Paho copies it */
		qos[i] = 1;
	}
	opts.onSuccess = on_subscribed;
	opts.onFailure = on_subscribe_failed;
	opts.context = g;
	int rc = MQTTAsync_subscribeMany(in->client, (int)g->n, filters, qos, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_store(&g->subscribing, 0);
		fprintf(stderr, "komposterd: mqtt: subscribe: %s\n", MQTTAsync_strerror(rc));
	}
}

static void subscribe_all(struct kp_intake *in)
{
	for (size_t i = 0; i < in->n_groups; i++)
		subscribe_group(&in->groups[i]);
}

/* Wakes the supervisor for a round now. */
static void kick(struct kp_intake *in)
{
	pthread_mutex_lock(&in->lock);
	in->kick = 1;
	pthread_cond_signal(&in->wake);
	pthread_mutex_unlock(&in->lock);
}

/* One count of batches_pending is over: the round's last one, granted in
 * the current session, makes the intake ready. */
static void batch_done(struct kp_intake *in, unsigned session)
{
	/* An earlier session's count was reset when the new one began. */
	if (session != atomic_load(&in->session))
		return;
	if (atomic_fetch_sub(&in->batches_pending, 1) != 1 || atomic_load(&in->batch_failed) ||
	    !atomic_load(&in->online))
		return;
	if (!atomic_exchange(&in->ctx.health->subscribed, 1))
		fprintf(stderr, "komposterd: mqtt: subscribed to %s's devices\n", in->ctx.cfg.client_id);
	atomic_store(&in->ctx.m->mqtt_connected, 1);
	atomic_store(&in->ctx.m->mqtt_devices_subscribed, atomic_load(&in->round_devices));
}

static void batch_track(struct kp_intake *in, struct dev_batch *b)
{
	pthread_mutex_lock(&in->batches_lock);
	b->next = in->batches;
	if (b->next)
		b->next->prev = b;
	in->batches = b;
	pthread_mutex_unlock(&in->batches_lock);
}

static void batch_free(struct dev_batch *b)
{
	struct kp_intake *in = b->in;

	pthread_mutex_lock(&in->batches_lock);
	if (b->prev)
		b->prev->next = b->next;
	else
		in->batches = b->next;
	if (b->next)
		b->next->prev = b->prev;
	pthread_mutex_unlock(&in->batches_lock);
	free(b);
}

static void on_batch_subscribed(void *ctx, MQTTAsync_successData *resp)
{
	struct dev_batch *b = ctx;

	for (int i = 0; resp && i < b->n_topics; i++) {
		int granted = b->n_topics == 1 ? resp->alt.qos : resp->alt.qosList[i];
		if (granted != 1) {
			if (!atomic_exchange(&b->in->batch_failed, 1))
				fprintf(stderr, "komposterd: mqtt: broker granted a device topic QoS %d, not 1 (ACL?); "
				                "not ready, retrying\n", granted);
			break;
		}
	}
	batch_done(b->in, b->session);
	batch_free(b);
}

static void on_batch_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct dev_batch *b = ctx;

	if (!atomic_exchange(&b->in->batch_failed, 1))
		fprintf(stderr, "komposterd: mqtt: subscribe to devices failed (%d); retrying\n", resp ? resp->code : 0);
	batch_done(b->in, b->session);
	batch_free(b);
}

static void on_unsubscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	fprintf(stderr, "komposterd: mqtt: unsubscribe from removed devices failed (%d); "
	                "their frames are dropped as not owned\n", resp ? resp->code : 0);
}

/* SUBSCRIBEs (subscribe 1) or UNSUBSCRIBEs ids[0..n) (n <= a batch). */
static int send_batch(struct kp_intake *in, const uint64_t *ids, size_t n, int subscribe)
{
	char topics[BATCH_TOPICS][KP_TOPIC_MAX]; /* 5 KiB; the supervisor's stack */
	char *names[BATCH_TOPICS];
	int qos[BATCH_TOPICS];
	int count = 0, rc;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	for (size_t i = 0; i < n; i++) {
		if (kp_device_topics(ids[i], &topics[count]) != 0)
			continue; /* id 0 names no device (topic.h): nothing to subscribe */
		for (int t = 0; t < KP_DEVICE_TOPICS; t++, count++) {
			names[count] = topics[count]; /* Paho copies them */
			qos[count] = 1;
		}
	}
	if (count == 0)
		return 0;
	if (!subscribe) {
		opts.onFailure = on_unsubscribe_failed;
		rc = MQTTAsync_unsubscribeMany(in->client, count, names, &opts);
	} else {
		struct dev_batch *b = calloc(1, sizeof(*b));
		if (b == NULL) {
			fprintf(stderr, "komposterd: mqtt: out of memory for a subscription\n");
			return -1;
		}
		*b = (struct dev_batch){ .in = in, .session = in->synced_session, .n_topics = count };
		opts.onSuccess = on_batch_subscribed;
		opts.onFailure = on_batch_failed;
		opts.context = b;
		atomic_fetch_add(&in->batches_pending, 1);
		batch_track(in, b);
		rc = MQTTAsync_subscribeMany(in->client, count, names, qos, &opts);
		if (rc != MQTTASYNC_SUCCESS) {
			atomic_fetch_sub(&in->batches_pending, 1);
			batch_free(b);
		}
	}
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposterd: mqtt: %s: %s\n", subscribe ? "subscribe" : "unsubscribe",
		        MQTTAsync_strerror(rc));
		return -1;
	}
	return 0;
}

static int send_batches(struct kp_intake *in, const struct kp_device_set *s, int subscribe)
{
	for (size_t i = 0; i < s->n; i += KP_INTAKE_BATCH_DEVICES) {
		size_t n = s->n - i < KP_INTAKE_BATCH_DEVICES ? s->n - i : KP_INTAKE_BATCH_DEVICES;
		if (send_batch(in, s->ids + i, n, subscribe) != 0)
			return -1;
	}
	return 0;
}

/* Moves the broker from `have` to the owned devices: unsubscribes the
 * devices gone, subscribes the new ones. A failed SUBSCRIBE leaves the
 * round failed: everything is subscribed again RESUBSCRIBE_EVERY_S later. */
static void subscribe_difference(struct kp_intake *in, struct kp_device_set *want)
{
	struct kp_device_set added = { 0 }, removed = { 0 };

	kp_device_set_seal(want);
	if (kp_device_set_minus(want, &in->have, &added) != 0 ||
	    kp_device_set_minus(&in->have, want, &removed) != 0) {
		fprintf(stderr, "komposterd: mqtt: out of memory for the device set; retrying\n");
		goto out;
	}
	atomic_fetch_add(&in->batches_pending, 1); /* the round's own count (file comment) */
	if (send_batches(in, &removed, 0) != 0 || send_batches(in, &added, 1) != 0)
		atomic_store(&in->batch_failed, 1);
	else
		kp_device_set_move(&in->have, want);
	atomic_store(&in->round_devices, in->have.n);
	if (added.n || removed.n)
		fprintf(stderr, "komposterd: mqtt: partition: %zu devices subscribed, %zu unsubscribed\n", added.n,
		        removed.n);
	batch_done(in, in->synced_session);
out:
	kp_device_set_free(&added);
	kp_device_set_free(&removed);
}

/* The supervisor's per-device part, each round while online: a new
 * session subscribes everything; otherwise the owned devices are re-read
 * every resync_s seconds, or at once when asked (kp_intake_reread), and the difference
 * subscribed; a failed round is redone from nothing. */
static void sync_devices(struct kp_intake *in)
{
	int read_now = 0;
	unsigned session = atomic_load(&in->session);
	struct kp_device_set want = { 0 };

	if (!atomic_load(&in->online))
		return;
	if (atomic_load(&in->batch_failed) && atomic_load(&in->batches_pending) == 0 &&
	    ++in->failed_for_s >= RESUBSCRIBE_EVERY_S)
		in->synced_session = session - 1; /* redo from nothing, below */
	if (session != in->synced_session) {
		in->synced_session = session;
		kp_device_set_clear(&in->have);
		atomic_store(&in->batches_pending, 0); /* the old session's are ignored */
		atomic_store(&in->batch_failed, 0);
		in->failed_for_s = 0;
		read_now = 1;
	}
	if (atomic_exchange(&in->reread, 0))
		read_now = 1;
	if (!read_now && ++in->resync_in_s < in->ctx.cfg.resync_s)
		return;
	in->resync_in_s = 0;
	if (in->ctx.cfg.owned_devices(in->ctx.cfg.owned_ctx, &want) == 0)
		subscribe_difference(in, &want);
	kp_device_set_free(&want);
}

void kp_intake_reread(struct kp_intake *in)
{
	if (!in->partitioned)
		return;
	atomic_store(&in->reread, 1);
	kick(in);
}

static void on_awake_refused(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_intake *in = ctx;
	fprintf(stderr, "komposterd: mqtt: %s refused (%s); a frame after a quiet second may wait up to 100 ms "
	                "(paho_awake.h)\n", in->awake_topic,
	        resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0));
}

/* QoS 0: a broker that keeps our session keeps it too; one that loses it
 * gets it again at the next connect. */
static void subscribe_awake(struct kp_intake *in)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	if (!in->awake_len)
		return;
	opts.onFailure = on_awake_refused;
	opts.context = in;
	int rc = MQTTAsync_subscribe(in->client, in->awake_topic, 0, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		fprintf(stderr, "komposterd: mqtt: subscribe %s: %s\n", in->awake_topic, MQTTAsync_strerror(rc));
}

/* For QoS 0 Paho answers once the message is written (or dropped). */
static void on_awake_written(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	atomic_store(&((struct kp_intake *)ctx)->awake_pending, 0);
}

static void on_awake_lost(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	atomic_store(&((struct kp_intake *)ctx)->awake_pending, 0);
}

#define MS_NS 1000000u
/* A keep-awake message Paho never answered (it always should) stops blocking after this. */
#define AWAKE_STALE_MS 60000u

/* When the supervisor should next send a keep-awake message (paho_awake.h):
 * KP_PAHO_AWAKE_MS after the last message received, so that a busy daemon
 * sends none; KP_PAHO_AWAKE_RETRY_MS after its own last one while nothing
 * came back since (a broker whose ACL drops them gets one in 5 s, not 2.5 a
 * second); and never while Paho still holds the last one, so that a stalled
 * send thread never piles them up against maxBufferedMessages, which the
 * publisher's ACKs need. */
static uint64_t awake_due_ns(const struct kp_intake *in)
{
	uint64_t heard = atomic_load_explicit(&in->heard_ns, memory_order_relaxed);

	if (!in->awake_len || !atomic_load(&in->online) || atomic_load(&in->stopping))
		return UINT64_MAX; /* the supervisor's round wakes it when that changes */
	if (atomic_load(&in->awake_pending))
		return in->awake_sent_ns + AWAKE_STALE_MS * MS_NS;
	if (in->awake_sent_ns > heard)
		return in->awake_sent_ns + (uint64_t)KP_PAHO_AWAKE_RETRY_MS * MS_NS;
	return heard + (uint64_t)KP_PAHO_AWAKE_MS * MS_NS;
}

/* Sends the keep-awake message when due; says once if three in a row found
 * nothing coming back and none ever did: the broker's ACL drops them. */
static void keep_awake(struct kp_intake *in)
{
	static const char nothing[1];
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	uint64_t now = kp_now_mono_ns();

	if (now < awake_due_ns(in))
		return;
	in->awake_unanswered = in->awake_sent_ns > atomic_load(&in->heard_ns) ? in->awake_unanswered + 1 : 0;
	if (in->awake_unanswered >= 2 && !in->awake_warned && atomic_load(&in->ctx.m->mqtt_awake_received) == 0) {
		in->awake_warned = 1;
		fprintf(stderr, "komposterd: mqtt: none of our messages on %s comes back: the broker's ACL drops "
		                "them (README, komposterd(8), Broker); a frame after a quiet second may wait up to "
		                "100 ms\n", in->awake_topic);
	}
	opts.onSuccess = on_awake_written;
	opts.onFailure = on_awake_lost;
	opts.context = in;
	atomic_store(&in->awake_pending, 1);
	in->awake_sent_ns = now;
	if (MQTTAsync_send(in->client, in->awake_topic, 0, nothing, 0, 0, &opts) != MQTTASYNC_SUCCESS)
		atomic_store(&in->awake_pending, 0);
}

/* Called by Paho after every successful connect, including automatic reconnects. */
static void on_connected(void *ctx, char *cause)
{
	struct kp_intake *in = ctx;

	atomic_store(&in->connecting, 0);
	atomic_store(&in->ever_connected, 1);
	atomic_store(&in->online, 1);
	if (kp_tcp_nodelay_to(in->ctx.cfg.uri) <= 0)
		fprintf(stderr, "komposterd: mqtt: cannot turn Nagle off on the broker connection; ACKs may wait "
		                "up to 40 ms more\n");
	if (atomic_load(&in->stopping)) {
		/* A connect that was under way when kp_intake_close disconnected. */
		MQTTAsync_disconnect(in->client, NULL);
		return;
	}
	subscribe_all(in);
	subscribe_awake(in);
	if (in->partitioned) {
		atomic_fetch_add(&in->session, 1);
		kick(in); /* the supervisor holds our lock only while it sleeps */
	}
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct kp_intake *in = ctx;
	atomic_store(&in->online, 0);
	for (size_t i = 0; i < in->n_groups; i++) {
		set_subscribed(&in->groups[i], 0);
		atomic_store(&in->groups[i].subscribing, 0);
	}
	if (in->partitioned) {
		atomic_store(&in->ctx.health->subscribed, 0);
		atomic_store(&in->ctx.m->mqtt_devices_subscribed, 0);
	}
	atomic_store(&in->ctx.m->mqtt_connected, 0);
	atomic_fetch_add(&in->ctx.m->mqtt_reconnects, 1);
	fprintf(stderr, "komposterd: mqtt: connection lost (%s); reconnecting\n", cause ? cause : "no cause");
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_intake *in = ctx;
	atomic_store(&in->connecting, 0);
	fprintf(stderr, "komposterd: mqtt: connect to %s failed (%s); retrying\n", in->ctx.cfg.uri,
	        resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0));
}

static int connect_now(struct kp_intake *in)
{
	const struct kp_intake_config *cfg = &in->ctx.cfg;
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;

	opts.keepAliveInterval = cfg->keepalive_s;
	opts.cleansession = 0;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 8;
	opts.maxInflight = 65535;
	opts.onFailure = on_connect_failed;
	opts.context = in;
	if (cfg->username[0])
		opts.username = cfg->username;
	if (cfg->password[0])
		opts.password = cfg->password;
	atomic_store(&in->connecting, 1);
	int rc = MQTTAsync_connect(in->client, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		atomic_store(&in->connecting, 0);
		fprintf(stderr, "komposterd: mqtt: connect: %s\n", MQTTAsync_strerror(rc));
		return -1;
	}
	return 0;
}

/* Once a second: retry the first connection (Paho's automatic reconnect
 * covers later losses), and each group's subscription refused or lost
 * while online, every RESUBSCRIBE_EVERY_S seconds. */
static void retry(struct kp_intake *in)
{
	if (atomic_load(&in->stopping))
		return;
	if (!atomic_load(&in->ever_connected) && !atomic_load(&in->connecting)) {
		connect_now(in); /* a failure is logged and retried next second */
		return;
	}
	for (size_t i = 0; i < in->n_groups; i++) {
		struct sub_group *g = &in->groups[i];

		if (!atomic_load(&in->online) || subscribed(g) || atomic_load(&g->subscribing)) {
			g->retry_in_s = 0;
			continue;
		}
		if (++g->retry_in_s >= RESUBSCRIBE_EVERY_S) {
			g->retry_in_s = 0;
			subscribe_group(g);
		}
	}
	if (in->partitioned)
		sync_devices(in);
}

static struct timespec mono_timespec(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
}

static void *supervise(void *arg)
{
	struct kp_intake *in = arg;
	uint64_t round_at = kp_now_mono_ns() + 1000000000u;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		/* Looked at again within KP_PAHO_AWAKE_MS: an echo that came back
		 * moves the due time closer, and nothing wakes us for it. */
		uint64_t awake_at = awake_due_ns(in);
		uint64_t look_at = kp_now_mono_ns() + (uint64_t)KP_PAHO_AWAKE_MS * MS_NS;
		if (awake_at != UINT64_MAX && awake_at > look_at)
			awake_at = look_at;
		uint64_t next = awake_at < round_at ? awake_at : round_at;
		while (!in->quit && !in->kick && kp_now_mono_ns() < next) {
			struct timespec at = mono_timespec(next);
			pthread_cond_timedwait(&in->wake, &in->lock, &at);
		}
		if (in->quit)
			break;
		int round = in->kick || kp_now_mono_ns() >= round_at;
		in->kick = 0;
		pthread_mutex_unlock(&in->lock); /* never hold ours while waiting for Paho's */
		keep_awake(in);
		if (round) {
			retry(in);
			/* A second after the last retry ended: a retry that waited long
			 * for Paho's lock is not followed by a burst of catching up. */
			round_at = kp_now_mono_ns() + 1000000000u;
		}
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

static int init_sync(struct kp_intake *in)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&in->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&in->lock, NULL) != 0) {
		pthread_cond_destroy(&in->wake);
		return -1;
	}
	if (pthread_mutex_init(&in->batches_lock, NULL) != 0) {
		pthread_mutex_destroy(&in->lock);
		pthread_cond_destroy(&in->wake);
		return -1;
	}
	return 0;
}

/* The device streams' filters, and Frigate's two topics when a prefix and
 * a ring are given. */
static int set_filters(struct kp_intake *in)
{
	const char *prefix = in->ctx.cfg.frigate_prefix;

	if (!in->partitioned) {
		for (size_t i = 0; i < N_SUBS; i++)
			in->filters[in->n_filters++] = kp_topic_filter(subscriptions[i]);
		in->groups[in->n_groups++] = (struct sub_group){ .in = in, .first = 0, .n = N_SUBS };
	}
	if (!prefix || !prefix[0] || !in->ctx.frigate) {
		in->ctx.frigate = NULL;
		return 0;
	}
	int a = snprintf(in->frigate_events, sizeof(in->frigate_events), "%s/events", prefix);
	int b = snprintf(in->frigate_available, sizeof(in->frigate_available), "%s/available", prefix);
	if (a < 0 || b < 0 || (size_t)a >= sizeof(in->frigate_events) ||
	    (size_t)b >= sizeof(in->frigate_available)) {
		fprintf(stderr, "komposterd: mqtt: Frigate topic prefix too long\n");
		return -1;
	}
	in->filters[in->n_filters++] = in->frigate_events;
	in->filters[in->n_filters++] = in->frigate_available;
	in->groups[in->n_groups++] = (struct sub_group){ .in = in, .first = in->n_filters - 2, .n = 2, .frigate = 1 };
	return 0;
}

int kp_intake_create(const struct kp_intake_ctx *ctx, struct kp_intake **out)
{
	MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer;
	struct kp_intake *in = calloc(1, sizeof(*in));
	int rc;

	if (!in || init_sync(in) != 0) {
		fprintf(stderr, "komposterd: mqtt: out of memory\n");
		free(in);
		return -1;
	}
	in->ctx = *ctx;
	in->partitioned = ctx->cfg.partition.n > 1;
	if (in->partitioned && (!ctx->cfg.owned_devices || ctx->cfg.resync_s < 1)) {
		fprintf(stderr, "komposterd: mqtt: a partitioned intake needs the owned devices and a resync period\n");
		goto err;
	}
	if (set_filters(in) != 0)
		goto err;
	if (kp_paho_awake_topic(in->awake_topic, ctx->cfg.client_id) == 0)
		in->awake_len = strlen(in->awake_topic);
	else
		fprintf(stderr, "komposterd: mqtt: client id \"%s\" cannot name an awake topic; a frame after a "
		                "quiet second may wait up to 100 ms (paho_awake.h)\n", ctx->cfg.client_id);
	copts.sendWhileDisconnected = 0;
	/* Paho counts publishes its send thread has not taken yet against this
	 * limit even while connected; the publisher keeps max_inflight inside. */
	copts.maxBufferedMessages = ctx->cfg.publish_max_inflight + 16;
	rc = MQTTAsync_createWithOptions(&in->client, ctx->cfg.uri, ctx->cfg.client_id,
	                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposterd: mqtt: %s: %s\n", ctx->cfg.uri, MQTTAsync_strerror(rc));
		goto err;
	}
	rc = MQTTAsync_setCallbacks(in->client, in, on_connection_lost, on_message, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(in->client, in, on_connected);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "komposterd: mqtt: callbacks: %s\n", MQTTAsync_strerror(rc));
		MQTTAsync_destroy(&in->client);
		goto err;
	}
	*out = in;
	return 0;
err:
	pthread_mutex_destroy(&in->batches_lock);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->wake);
	free(in);
	return -1;
}

int kp_intake_start(struct kp_intake *in)
{
	connect_now(in); /* a failure here is retried by the supervisor */
	if (pthread_create(&in->supervisor, NULL, supervise, in) != 0) {
		fprintf(stderr, "komposterd: mqtt: cannot start the supervisor thread\n");
		return -1;
	}
	(void)kp_thread_name(in->supervisor, "kp-mqtt-watch"); /* unnamed works the same */
	in->supervisor_started = 1;
	return 0;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
	struct kp_intake *in = ctx;
	atomic_store(&in->closed, 1);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_intake *in = ctx;
	atomic_store(&in->closed, 1);
}

/* Tells the supervisor to end; kp_intake_destroy joins it (it may be
 * waiting for Paho's lock until the pipeline makes room). */
static void end_supervisor(struct kp_intake *in)
{
	pthread_mutex_lock(&in->lock);
	in->quit = 1;
	pthread_cond_signal(&in->wake);
	pthread_mutex_unlock(&in->lock);
}

int kp_intake_close(struct kp_intake *in, int timeout_ms)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

	if (!in)
		return 0;
	atomic_store(&in->stopping, 1);
	end_supervisor(in);
	opts.timeout = 0; /* now: ACKs still in flight are lost like those not sent */
	opts.onSuccess = on_disconnected;
	opts.onFailure = on_disconnect_failed;
	opts.context = in;
	if (MQTTAsync_disconnect(in->client, &opts) != MQTTASYNC_SUCCESS)
		return 0; /* not connected: no frame can come (and no reconnect now) */
	for (int waited = 0; !atomic_load(&in->closed) && atomic_load(&in->online); waited += 10) {
		if (waited >= timeout_ms) {
			fprintf(stderr, "komposterd: mqtt: the pipeline did not take the frames Paho holds "
			                "within %d ms; frames that arrive now are dropped (the devices re-send)\n",
			        timeout_ms);
			return -1;
		}
		kp_sleep_ms(10);
	}
	atomic_store(&in->ctx.m->mqtt_connected, 0);
	return 0;
}

static void on_sent(void *ctx, MQTTAsync_successData *resp)
{
	struct kp_send_done *done = ctx;
	done->fn(done, 1);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData *resp)
{
	struct kp_send_done *done = ctx;
	done->fn(done, 0);
}

static int paho_send(void *ctx, const char *topic, const uint8_t *bytes, size_t len,
                     struct kp_send_done *done)
{
	struct kp_intake *in = ctx;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	msg.payload = (void *)bytes; /* Paho copies it before it returns */
	msg.payloadlen = (int)len;
	msg.qos = 1;
	opts.onSuccess = on_sent;
	opts.onFailure = on_send_failed;
	opts.context = done;
	int rc = MQTTAsync_sendMessage(in->client, topic, &msg, &opts);
	if (rc == MQTTASYNC_SUCCESS)
		return KP_SEND_OK;
	return rc == MQTTASYNC_MAX_BUFFERED_MESSAGES ? KP_SEND_BUSY : KP_SEND_FAILED;
}

struct kp_transport kp_intake_transport(struct kp_intake *in)
{
	return (struct kp_transport){ .ctx = in, .send = paho_send };
}

void kp_intake_destroy(struct kp_intake *in)
{
	MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

	if (!in)
		return;
	atomic_store(&in->stopping, 1);
	end_supervisor(in);
	if (in->supervisor_started)
		pthread_join(in->supervisor, NULL);
	opts.timeout = 2000;
	if (MQTTAsync_isConnected(in->client))
		MQTTAsync_disconnect(in->client, &opts);
	for (int i = 0; i < 40 && MQTTAsync_isConnected(in->client); i++)
		kp_sleep_ms(50);
	MQTTAsync_destroy(&in->client);
	while (in->batches) /* Paho is gone: no callback comes for these */
		batch_free(in->batches);
	pthread_mutex_destroy(&in->batches_lock);
	kp_device_set_free(&in->have);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->wake);
	free(in);
}

