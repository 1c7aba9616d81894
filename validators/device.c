/*
 * device.c — the validator client's life cycle, batching and reply handling.
 *
 * Design: the device is a small state machine driven by one owner thread.
 * Taps (an APC's count records) collect in an in-memory batch; a full batch
 * (or a flush) is sealed into one signed TAPS (COUNTS) frame inside the
 * outbox's own write transaction
 * (vd_outbox_next_seq), so the frame is durable before anything can publish
 * it. Delivery is the window's job (device_window.c) and MQTT the job of
 * device_mqtt.c; this file ties them together in vd_device_poll():
 *   1. take the publish completions, subscribe failures, replies and the
 *      connection state out of the mailbox,
 *   2. apply the completions (resend timers start at the PUBACK), then each
 *      reply (vd_device_handle_reply: decode, verify with the server key,
 *      check the device id and the numbering, then ACK → outbox, NACK →
 *      backoff),
 *   3. after a new connection, subscribe to the ack topic and mark the window
 *      due (frames in NACK backoff keep their schedule), so everything not
 *      yet covered goes out again; after a failed subscribe, subscribe again
 *      every VD_SUBSCRIBE_RETRY_MS, and after one with no SUBACK granting
 *      QoS 1 VD_SUBACK_TIMEOUT_MS later, at once,
 *   4. walk the window: publish what is due.
 * vd_device_handle_reply needs no broker, so tests call it directly.
 */
#include "validators/device_impl.h"

#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vd_device_fail(struct vd_device *dev, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof dev->err, fmt, ap);
	va_end(ap);
	return status;
}

const char *vd_strerror(int status)
{
	switch (status) {
	case VD_OK: return "ok";
	case VD_EIGNORED: return "reply ignored";
	case VD_ESTORE: return "outbox failed";
	case VD_EMQTT: return "MQTT failed";
	case VD_EINVAL: return "invalid argument";
	case VD_ENOMEM: return "out of memory";
	case VD_EFULL_KEEP_TAP: return "batch full and outbox failing: tap not taken, keep it";
	default: return "unknown error";
	}
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int config_check(struct vd_device_config *c)
{
	if (c->device_id == 0 || !c->outbox_dir ||
	    (c->kind != VD_KIND_VALIDATOR && c->kind != VD_KIND_APC))
		return VD_EINVAL;
	if (c->batch == 0)
		c->batch = VD_BATCH_DEFAULT;
	if (c->window == 0)
		c->window = VD_WINDOW_DEFAULT;
	if (c->backoff_slots == 0)
		c->backoff_slots = VD_BACKOFF_SLOTS_DEFAULT;
	if (c->resend_ms <= 0)
		c->resend_ms = VD_RESEND_MS_DEFAULT;
	if (c->publish_timeout_ms <= 0)
		c->publish_timeout_ms = VD_PUBLISH_TIMEOUT_MS_DEFAULT;
	if (c->backoff_min_ms <= 0)
		c->backoff_min_ms = VD_BACKOFF_MIN_MS_DEFAULT;
	if (c->backoff_max_ms < c->backoff_min_ms)
		c->backoff_max_ms = c->backoff_min_ms > VD_BACKOFF_MAX_MS_DEFAULT ?
		                    c->backoff_min_ms : VD_BACKOFF_MAX_MS_DEFAULT;
	if (c->batch > KP_RECORDS_MAX || c->window > VD_WINDOW_MAX ||
	    c->backoff_slots > VD_WINDOW_MAX)
		return VD_EINVAL;
	if (c->broker_password && strlen(c->broker_password) > VD_BROKER_PASSWORD_MAX)
		return VD_EINVAL;
	return VD_OK;
}

/* The device's topics and MQTT client id; -1 only if a topic does not fit
 * (KP_TOPIC_MAX always does). */
static int device_names(struct vd_device *dev)
{
	uint64_t id = dev->cfg.device_id;
	enum kp_stream out = dev->cfg.kind == VD_KIND_APC ? KP_STREAM_COUNTS : KP_STREAM_TAPS;

	snprintf(dev->client_id, sizeof dev->client_id, "kpdev-%016llx", (unsigned long long)id);
	if (kp_topic_build(dev->topic_out, sizeof dev->topic_out, id, out) < 0 ||
	    kp_topic_build(dev->topic_ack, sizeof dev->topic_ack, id, KP_STREAM_ACK) < 0)
		return -1;
	return 0;
}

static int device_outbox_open(struct vd_device *dev, const char *dir)
{
	int rc = vd_outbox_open(dir, &dev->outbox);
	if (rc == 0)
		rc = vd_outbox_count(dev->outbox, &dev->pending);
	if (rc == 0)
		rc = vd_outbox_last_seq(dev->outbox, &dev->last_seq_at_open);
	dev->last_seq = dev->last_seq_at_open;
	return rc;
}

/* Memory sized by the configuration: the batch, the slots and tickets, the mailbox. */
static int device_alloc(struct vd_device *dev)
{
	int ok;

	if (dev->cfg.kind == VD_KIND_APC)
		ok = (dev->counts = calloc(dev->cfg.batch, sizeof *dev->counts)) != NULL;
	else
		ok = (dev->batch = calloc(dev->cfg.batch, sizeof *dev->batch)) != NULL;
	if (!ok || vd_window_init(dev) != 0)
		return -1;
	return vd_mailbox_init(dev);
}

static void device_free(struct vd_device *dev)
{
	vd_mailbox_destroy(dev);
	sodium_memzero(dev->cfg.secret_key, sizeof dev->cfg.secret_key);
	sodium_memzero(dev->broker_password, sizeof dev->broker_password);
	free(dev->batch);
	free(dev->counts);
	vd_window_free(dev);
	free(dev);
}

static int open_failed(char *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int open_failed(char *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, VD_DEVICE_ERR_SIZE, fmt, ap);
		va_end(ap);
	}
	return status;
}

int vd_device_open(const struct vd_device_config *cfg, struct vd_device **out, char *err)
{
	struct vd_device *dev;
	int rc;

	if (!cfg || !out)
		return open_failed(err, VD_EINVAL, "no configuration");
	dev = calloc(1, sizeof *dev);
	if (!dev)
		return open_failed(err, VD_ENOMEM, "out of memory");
	dev->cfg = *cfg;
	if (config_check(&dev->cfg) != VD_OK) {
		free(dev);
		return open_failed(err, VD_EINVAL, "bad device configuration");
	}
	dev->cfg.outbox_dir = NULL;
	/* Kept in the device: the caller's password need not outlive open, and
	 * Paho's automatic reconnects log in again with it. */
	if (cfg->broker_password)
		memcpy(dev->broker_password, cfg->broker_password, strlen(cfg->broker_password) + 1);
	dev->cfg.broker_password = NULL;
	snprintf(dev->username, sizeof dev->username, "%016llx", (unsigned long long)cfg->device_id);
	dev->next_due = INT64_MAX;
	dev->dirty = 1;
	dev->io = &vd_mqtt_io;
	if (device_names(dev) != 0) {
		free(dev);
		return open_failed(err, VD_EINVAL, "device topics do not fit");
	}
	if (device_alloc(dev) != 0) {
		device_free(dev);
		return open_failed(err, VD_ENOMEM, "out of memory");
	}
	rc = device_outbox_open(dev, cfg->outbox_dir);
	if (rc) {
		vd_device_close(dev);
		return open_failed(err, VD_ESTORE, "outbox %s: %s", cfg->outbox_dir, mdb_strerror(rc));
	}
	*out = dev;
	return VD_OK;
}

void vd_device_close(struct vd_device *dev)
{
	if (!dev)
		return;
	vd_mqtt_destroy(dev);
	vd_outbox_close(dev->outbox);
	device_free(dev);
}

/* Takes one record of the device's kind (validated by the caller) into the
 * open batch: the contract of vd_device_tap, shared by taps and counts. */
static int batch_take(struct vd_device *dev, const struct kp_tap *tap, const struct kp_count *count)
{
	if (dev->batch_n == dev->cfg.batch && vd_device_flush(dev) != VD_OK)
		return VD_EFULL_KEEP_TAP; /* the last seal failed and fails again: not taken */
	if (tap)
		dev->batch[dev->batch_n++] = *tap;
	else
		dev->counts[dev->batch_n++] = *count;
	return dev->batch_n == dev->cfg.batch ? vd_device_flush(dev) : VD_OK;
}

int vd_device_tap(struct vd_device *dev, const struct kp_tap *tap)
{
	if (!dev || !tap)
		return VD_EINVAL;
	if (dev->cfg.kind != VD_KIND_VALIDATOR)
		return vd_device_fail(dev, VD_EINVAL, "an APC sends no taps");
	if (!kp_tap_is_valid(tap))
		return vd_device_fail(dev, VD_EINVAL, "tap has fields no frame may hold");
	return batch_take(dev, tap, NULL);
}

int vd_device_count(struct vd_device *dev, const struct kp_count *count)
{
	if (!dev || !count)
		return VD_EINVAL;
	if (dev->cfg.kind != VD_KIND_APC)
		return vd_device_fail(dev, VD_EINVAL, "a validator sends no counts");
	if (!kp_count_is_valid(count))
		return vd_device_fail(dev, VD_EINVAL, "count has fields no frame may hold");
	return batch_take(dev, NULL, count);
}

static uint8_t frame_type(const struct vd_device *dev)
{
	return dev->cfg.kind == VD_KIND_APC ? KP_TYPE_COUNTS : KP_TYPE_TAPS;
}

/* vd_outbox_fill_fn: encodes and signs the open batch as frame `seq`. */
static int fill_frame(void *arg, uint64_t seq, uint8_t *frame, size_t len)
{
	struct vd_device *dev = arg;
	struct kp_header h = {
		.type = frame_type(dev),
		.key_id = dev->cfg.key_id,
		.count = (uint16_t)dev->batch_n,
		.device_id = dev->cfg.device_id,
		.batch_seq = seq,
		.sent_at = realtime_ms(),
		.aux = 0,
	};

	if (kp_frame_put_header(frame, len, &h) != KP_OK)
		return EINVAL;
	for (unsigned i = 0; i < dev->batch_n; i++) {
		if (dev->cfg.kind == VD_KIND_APC)
			kp_frame_put_count(frame, (uint16_t)i, &dev->counts[i]);
		else
			kp_frame_put_tap(frame, (uint16_t)i, &dev->batch[i]);
	}
	return kp_frame_sign(frame, len, dev->cfg.secret_key) == KP_OK ? 0 : EINVAL;
}

int vd_device_flush(struct vd_device *dev)
{
	uint64_t seq;
	size_t len;
	int rc;

	if (!dev)
		return VD_EINVAL;
	if (dev->batch_n == 0)
		return VD_OK;
	len = kp_frame_size(frame_type(dev), (uint16_t)dev->batch_n);
	rc = vd_outbox_next_seq(dev->outbox, len, fill_frame, dev, &seq);
	if (rc)
		return vd_device_fail(dev, VD_ESTORE, "outbox: %s", mdb_strerror(rc));
	dev->stats.frames++;
	if (dev->cfg.kind == VD_KIND_APC)
		dev->stats.counts += dev->batch_n;
	else
		dev->stats.taps += dev->batch_n;
	dev->batch_n = 0;
	dev->pending++;
	dev->last_seq = seq;
	dev->dirty = 1;
	return VD_OK;
}

static int apply_ack(struct vd_device *dev, const struct kp_header *h)
{
	size_t removed = 0;
	int rc;

	if (h->batch_seq == 0 || h->batch_seq > dev->last_seq || h->aux > dev->last_seq) {
		dev->stats.ignored++;
		dev->stats.acks_beyond_last_seq++;
		return vd_device_fail(dev, VD_EIGNORED,
		                      "ACK %llu watermark %llu beyond the last frame %llu: ignored",
		                      (unsigned long long)h->batch_seq,
		                      (unsigned long long)h->aux, (unsigned long long)dev->last_seq);
	}
	rc = vd_outbox_ack(dev->outbox, h->batch_seq, h->aux, &removed);
	if (rc)
		return vd_device_fail(dev, VD_ESTORE, "outbox: %s", mdb_strerror(rc));
	dev->pending = removed > dev->pending ? 0 : dev->pending - removed;
	dev->stats.acks++;
	dev->stats.acked_frames += removed;
	vd_window_ack(dev, h->batch_seq, h->aux);
	return VD_OK;
}

static int apply_nack(struct vd_device *dev, const struct kp_header *h, int64_t now_ms)
{
	uint64_t reason = h->aux <= KP_NACK_REASON_MAX ? h->aux : 0;

	/* A NACK names one frame; one this device never made tells nothing of
	 * its own, and counting its reason would raise a false alarm. */
	if (h->batch_seq == 0 || h->batch_seq > dev->last_seq) {
		dev->stats.ignored++;
		dev->stats.nacks_beyond_last_seq++;
		return vd_device_fail(dev, VD_EIGNORED, "NACK %llu beyond the last frame %llu: ignored",
		                      (unsigned long long)h->batch_seq, (unsigned long long)dev->last_seq);
	}
	dev->stats.nacks++;
	dev->stats.nack_reasons[reason]++;
	vd_window_nack(dev, h->batch_seq, now_ms);
	return VD_OK;
}

static int reply_is_ours(const struct vd_device *dev, const uint8_t *buf, size_t len,
                         struct kp_header *h)
{
	if (kp_frame_decode(buf, len, h) != KP_OK)
		return 0;
	if (h->type != KP_TYPE_ACK && h->type != KP_TYPE_NACK)
		return 0;
	if (kp_frame_verify(buf, len, dev->cfg.server_pk) != KP_OK)
		return 0;
	return h->device_id == dev->cfg.device_id;
}

int vd_device_handle_reply(struct vd_device *dev, const uint8_t *buf, size_t len, int64_t now_ms)
{
	struct kp_header h;

	if (!dev || !buf)
		return VD_EINVAL;
	if (!reply_is_ours(dev, buf, len, &h)) {
		dev->stats.ignored++;
		return VD_EIGNORED;
	}
	if (h.type == KP_TYPE_NACK)
		return apply_nack(dev, &h, now_ms);
	return apply_ack(dev, &h);
}

static void subscribe_failed(struct vd_device *dev, uint64_t failures, int64_t now_ms)
{
	dev->stats.subscribe_failures += failures;
	dev->seen_gen = 0; /* not subscribed: handle_connection subscribes again */
	dev->subscribe_retry_at = now_ms + VD_SUBSCRIBE_RETRY_MS;
}

/* Completions first: Paho reports a PUBACK before it hands over the replies
 * that came after it on the same connection. */
static int apply_take(struct vd_device *dev, const struct vd_take *t, int64_t now_ms)
{
	if (t->done_lost)
		vd_window_all_completed(dev, now_ms);
	for (unsigned i = 0; i < t->ndone; i++)
		vd_window_completed(dev, t->done[i].ticket, t->done[i].ok, now_ms);
	if (t->subscribe_failures)
		subscribe_failed(dev, t->subscribe_failures, now_ms);
	for (unsigned i = 0; i < t->nreplies; i++) {
		int rc = vd_device_handle_reply(dev, t->replies[i], KP_ACK_FRAME_SIZE, now_ms);
		if (rc != VD_OK && rc != VD_EIGNORED)
			return rc;
	}
	return VD_OK;
}

static int drain_mailbox(struct vd_device *dev, int64_t now_ms, uint64_t *conn_gen)
{
	struct vd_take t;
	int rc;

	do {
		vd_mailbox_take(dev, &t);
		*conn_gen = t.conn_gen;
		rc = apply_take(dev, &t, now_ms);
		if (rc)
			return rc;
	} while (t.nreplies == VD_TAKE_MAX || t.ndone == VD_TAKE_MAX);
	return VD_OK;
}

/* A subscribe Paho took with no SUBACK for this connection by its deadline
 * counts as failed: the device would otherwise publish on, never to hear an
 * ACK, until some callback said otherwise. Subscribe again at once. */
static void suback_overdue(struct vd_device *dev, uint64_t conn_gen, int64_t now_ms)
{
	if (!dev->online || dev->seen_gen != conn_gen || dev->suback_gen == conn_gen ||
	    now_ms < dev->suback_due)
		return;
	dev->stats.subscribe_timeouts++;
	dev->seen_gen = 0;
	dev->subscribe_retry_at = now_ms;
}

/* After a new connection, or a failed subscribe: subscribe; after a new
 * connection also everything in the window not in NACK backoff is due. A
 * subscribe that fails is tried again VD_SUBSCRIBE_RETRY_MS later. */
static void handle_connection(struct vd_device *dev, uint64_t conn_gen, int64_t now_ms)
{
	int new_conn = conn_gen != dev->reset_gen;

	if (!dev->online || conn_gen == dev->seen_gen)
		return;
	if (conn_gen == dev->subscribe_gen && now_ms < dev->subscribe_retry_at)
		return; /* the first try on a connection is at once, retries are spaced */
	dev->subscribe_gen = conn_gen;
	if (dev->io->subscribe(dev) != VD_OK) {
		subscribe_failed(dev, 1, now_ms);
		return;
	}
	dev->seen_gen = conn_gen;
	dev->suback_due = now_ms + VD_SUBACK_TIMEOUT_MS;
	if (!new_conn)
		return;
	dev->reset_gen = conn_gen;
	dev->stats.connects++;
	vd_window_reset(dev);
}

/* Waits (bounded) until our last disconnect has gone through Paho. */
static int disconnect_in_progress(struct vd_device *dev, int64_t now_ms)
{
	if (dev->disconnects_issued == dev->disconnects_seen)
		return 0;
	if (dev->disconnect_wait_since == 0)
		dev->disconnect_wait_since = now_ms;
	return now_ms - dev->disconnect_wait_since < VD_DISCONNECT_WAIT_MS;
}

/* Issues the connect that vd_device_connect left, or that Paho refused (at
 * most once per VD_CONNECT_RETRY_MS). */
static void retry_connect(struct vd_device *dev, int64_t now_ms)
{
	if (!dev->want_online || dev->connect_issued || now_ms < dev->connect_retry_at)
		return;
	if (disconnect_in_progress(dev, now_ms))
		return;
	dev->disconnect_wait_since = 0;
	if (vd_mqtt_connect(dev) != VD_OK)
		dev->connect_retry_at = now_ms + VD_CONNECT_RETRY_MS;
}

/* When poll has work next: a resend timer or a publish deadline while ready,
 * and the SUBACK's deadline until it came; a subscribe retry while online but
 * not subscribed; else nothing timed. */
static int64_t next_work(const struct vd_device *dev, int ready, uint64_t conn_gen, int64_t now_ms)
{
	if (ready && dev->suback_gen != conn_gen && dev->suback_due < dev->next_due)
		return dev->suback_due;
	if (ready)
		return dev->next_due;
	if (!dev->online)
		return INT64_MAX;
	return dev->subscribe_retry_at > now_ms ? dev->subscribe_retry_at
	                                        : now_ms + VD_SUBSCRIBE_RETRY_MS;
}

int vd_device_poll(struct vd_device *dev, int64_t now_ms, int64_t *next_ms)
{
	uint64_t conn_gen = 0;
	int ready;
	int rc;

	if (!dev)
		return VD_EINVAL;
	rc = drain_mailbox(dev, now_ms, &conn_gen);
	if (rc)
		return rc;
	retry_connect(dev, now_ms);
	suback_overdue(dev, conn_gen, now_ms);
	handle_connection(dev, conn_gen, now_ms);
	ready = dev->online && dev->seen_gen == conn_gen;
	if (ready && (dev->dirty || now_ms >= dev->next_due))
		rc = vd_window_send(dev, now_ms);
	if (next_ms)
		*next_ms = next_work(dev, ready, conn_gen, now_ms);
	return rc;
}

size_t vd_device_pending(const struct vd_device *dev)
{
	return dev->pending;
}

uint64_t vd_device_id(const struct vd_device *dev)
{
	return dev->cfg.device_id;
}

int vd_device_online(struct vd_device *dev)
{
	return dev->online;
}

const struct vd_device_stats *vd_device_stats(const struct vd_device *dev)
{
	return &dev->stats;
}

const char *vd_device_error(const struct vd_device *dev)
{
	return dev->err[0] ? dev->err : "no error";
}
