/*
 * device_impl.h — private to device*.c: the state of one validator client and
 * the functions its files share. Not an API; see device.h.
 *
 * Ownership of the fields: `mb` (the mailbox) is shared with Paho's callback
 * threads and only touched under mb.lock; everything else belongs to the
 * owner thread.
 */
#ifndef VD_DEVICE_IMPL_H
#define VD_DEVICE_IMPL_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdarg.h>

#include "validators/device.h"
#include "validators/outbox.h"

#define VD_TOPIC_SIZE 48
#define VD_CLIENT_ID_SIZE 24
#define VD_CONNECT_RETRY_MS 1000
#define VD_SEND_RETRY_MS 1000
#define VD_DISCONNECT_WAIT_MS 5000

/* One frame of the in-flight window (the oldest frames of the outbox). */
struct vd_slot {
	uint64_t seq;
	uint32_t sends;     /* publishes by this process */
	int64_t due_ms;     /* publish again at this time; 0: as soon as possible */
	int64_t backoff_ms; /* current NACK backoff; 0: none */
};

/* What Paho's threads hand to the owner. */
struct vd_mailbox {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* signalled when disconnects_done grows */
	uint8_t ring[VD_INBOX_SIZE][KP_ACK_FRAME_SIZE];
	unsigned head;
	unsigned count;
	uint64_t dropped;  /* ring full */
	uint64_t bad_size; /* not the size of an ACK/NACK */
	uint64_t conn_gen; /* bumped on every successful (re)connect */
	int online;
	uint64_t disconnects_done; /* disconnect callbacks (success or failure) seen */
	uint64_t connect_failures; /* connect attempts that failed (Paho retries them) */
};

struct vd_device {
	struct vd_device_config cfg; /* outbox_dir not kept */
	struct vd_outbox *outbox;
	size_t pending;            /* frames in the outbox */
	uint64_t last_seq_at_open; /* frames up to it may have been sent by an earlier run */

	struct kp_tap *batch; /* cfg.batch taps */
	unsigned batch_n;

	struct vd_slot slots[VD_WINDOW_MAX]; /* ascending seq */
	unsigned nslots;
	int dirty;          /* the outbox changed: walk the window again */
	int64_t next_due;   /* earliest slot due_ms */

	MQTTAsync client;   /* NULL until the first connect */
	int want_online;    /* the owner asked to be connected */
	int connect_issued; /* MQTTAsync_connect accepted since the last disconnect */
	int64_t connect_retry_at;
	uint64_t disconnects_issued; /* disconnects Paho accepted */
	uint64_t disconnects_seen;   /* the owner's copy of mb.disconnects_done */
	int64_t disconnect_wait_since; /* when a connect began waiting for a disconnect */
	uint64_t seen_gen;  /* mb.conn_gen already handled (subscribed, window reset) */
	int online;         /* the owner's copy of mb.online, taken in poll */

	char topic_taps[VD_TOPIC_SIZE];
	char topic_ack[VD_TOPIC_SIZE];
	char client_id[VD_CLIENT_ID_SIZE];

	struct vd_mailbox mb;
	struct vd_device_stats stats;
	char err[VD_DEVICE_ERR_SIZE];
};

/* Records one line for vd_device_error() and returns status. */
int vd_device_fail(struct vd_device *dev, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* device_mqtt.c */
int vd_mqtt_create(struct vd_device *dev, const char *broker_uri);
int vd_mqtt_connect(struct vd_device *dev);
void vd_mqtt_destroy(struct vd_device *dev);
int vd_mqtt_subscribe(struct vd_device *dev);
int vd_mqtt_publish(struct vd_device *dev, const uint8_t *frame, size_t len);
/* Moves up to `max` replies out of the ring into out; returns how many. Also
 * takes the connection state and the callback-side counters. */
unsigned vd_mailbox_take(struct vd_device *dev, uint8_t (*out)[KP_ACK_FRAME_SIZE], unsigned max,
                         uint64_t *conn_gen);

/* device_window.c */
void vd_window_ack(struct vd_device *dev, uint64_t seq, uint64_t watermark);
void vd_window_nack(struct vd_device *dev, uint64_t seq, int64_t now_ms);
void vd_window_reset(struct vd_device *dev);
int vd_window_send(struct vd_device *dev, int64_t now_ms);

#endif
