/*
 * device_impl.h — private to device*.c: the state of one validator client and
 * the functions its files share. Not an API; see device.h.
 *
 * Ownership of the fields: `mb` (the mailbox) is shared with Paho's callback
 * threads and only touched under mb.lock; everything else belongs to the
 * owner thread. The tests in tests/validators/ include it too, to drive the
 * window and the mailbox without a broker (a fake `io`, the vd_cb_* callbacks).
 */
#ifndef VD_DEVICE_IMPL_H
#define VD_DEVICE_IMPL_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdarg.h>

#include "firmware-proto/topic.h"
#include "validators/device.h"
#include "validators/outbox.h"

#define VD_CLIENT_ID_SIZE 24
#define VD_CONNECT_RETRY_MS 1000
#define VD_SEND_RETRY_MS 1000
#define VD_SUBSCRIBE_RETRY_MS 1000
#define VD_SUBACK_TIMEOUT_MS 10000 /* a subscribe not granted by then counts as failed */
#define VD_DISCONNECT_WAIT_MS 5000
#define VD_COPIES_MAX 2 /* publishes per send: 2 with cfg.duplicate */
#define VD_TAKE_MAX 32  /* replies and completions moved per mailbox take */

/* One publish handed to Paho, named by the context pointer its callbacks
 * carry back. Paho's token cannot name it: when writing a PUBLISH to the
 * socket fails, Paho 1.3.12 calls onFailure with token 0
 * (MQTTAsync_processCommand), and after a clean session ends it hands out
 * message ids from 1 again while older publishes may still complete. A
 * ticket is taken for each publish Paho accepts and is free again only when
 * that publish's completion has been applied, so a ticket names one publish
 * at a time (see ticket_take in device_window.c for the one exception). */
enum vd_ticket_state {
	VD_TICKET_FREE,
	VD_TICKET_LIVE,  /* the completion counts: its slot waits for it */
	VD_TICKET_STALE, /* given up on (deadline, reconnect, ACK): the completion is ignored */
};

struct vd_ticket {
	struct vd_device *dev; /* set at open, never changed: Paho's threads read it */
	uint64_t seq;          /* owner only, from here down: the frame published */
	int64_t issued_ms;
	uint8_t state;         /* enum vd_ticket_state */
};

/* One tracked frame: a frame of the in-flight window or one waiting out a
 * NACK backoff (the oldest frames of the outbox). */
struct vd_slot {
	uint64_t seq;
	uint32_t sends;      /* publishes by this process */
	int64_t due_ms;      /* publish again at this time (0: at once), once incomplete == 0 */
	int64_t deadline_ms; /* while incomplete > 0: the last send counts as failed then */
	int64_t backoff_ms;  /* current NACK backoff; 0: never NACKed (not in backoff) */
	unsigned tickets[VD_COPIES_MAX]; /* tickets of the last send's copies not completed */
	uint8_t incomplete;  /* copies of the last send Paho has not completed yet */
	uint8_t nacked;      /* a NACK came after the last send: its due_ms stands */
};

/* A publish that Paho finished: PUBACK (ok) or failure. */
struct vd_completion {
	unsigned ticket; /* index into vd_device.tickets */
	int ok;
};

/* What Paho's threads hand to the owner. */
struct vd_mailbox {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* signalled when disconnects_done grows */
	uint8_t ring[VD_INBOX_SIZE][KP_ACK_FRAME_SIZE];
	unsigned head;
	unsigned count;
	struct vd_completion *done; /* done_cap entries, a ring */
	unsigned done_cap;
	unsigned done_head;
	unsigned done_count;
	int done_lost;     /* a completion did not fit */
	uint64_t dropped;  /* ring full */
	uint64_t bad_size; /* not the size of an ACK/NACK */
	uint64_t conn_gen; /* bumped on every successful (re)connect */
	int online;
	uint64_t disconnects_done; /* disconnect callbacks (success or failure) seen */
	uint64_t connect_failures; /* connect attempts that failed (Paho retries them) */
	uint64_t subscribe_failures; /* SUBACK refusals, granted QoS != 1, failed subscribes */
	uint64_t suback_gen; /* conn_gen when the last SUBACK granting QoS 1 came: a
	                      * SUBACK arrives on the connection its SUBSCRIBE went out on */
};

/* One mailbox take: what the owner applies in vd_device_poll. */
struct vd_take {
	uint8_t replies[VD_TAKE_MAX][KP_ACK_FRAME_SIZE];
	unsigned nreplies;
	struct vd_completion done[VD_TAKE_MAX];
	unsigned ndone;
	int done_lost;
	uint64_t subscribe_failures;
	uint64_t conn_gen;
};

/* How frames and the subscription leave the device: Paho (vd_mqtt_io), or a
 * fake in tests. publish hands `ticket` to Paho as the context of its
 * completion callbacks (vd_cb_published, vd_cb_publish_failed). */
struct vd_io {
	int (*subscribe)(struct vd_device *dev);
	int (*publish)(struct vd_device *dev, const uint8_t *frame, size_t len,
	               struct vd_ticket *ticket);
};

struct vd_device {
	struct vd_device_config cfg; /* outbox_dir not kept */
	struct vd_outbox *outbox;
	size_t pending;            /* frames in the outbox */
	uint64_t last_seq_at_open; /* frames up to it may have been sent by an earlier run */
	uint64_t last_seq;         /* vd_outbox_last_seq: the last number allocated */
	const struct vd_io *io;

	struct kp_tap *batch;    /* a validator's cfg.batch taps (NULL on an APC) */
	struct kp_count *counts; /* an APC's cfg.batch count records (NULL on a validator) */
	unsigned batch_n;        /* records in the open batch */

	struct vd_slot *slots;      /* nslots of them, ascending seq */
	struct vd_slot *slots_next; /* the send pass builds the next set here */
	unsigned slots_cap;         /* cfg.window + cfg.backoff_slots */
	unsigned nslots;
	struct vd_ticket *tickets;  /* ntickets of them: 2 × slots_cap × copies */
	unsigned ntickets;
	unsigned ticket_next;       /* where ticket_take looks first */
	int dirty;          /* the outbox or the window changed: walk the window again */
	int64_t next_due;   /* earliest due_ms, or deadline_ms of a pending publish, of a slot */

	MQTTAsync client;   /* NULL until the first connect */
	int want_online;    /* the owner asked to be connected */
	int connect_issued; /* MQTTAsync_connect accepted since the last disconnect */
	int64_t connect_retry_at;
	uint64_t disconnects_issued; /* disconnects Paho accepted */
	uint64_t disconnects_seen;   /* the owner's copy of mb.disconnects_done */
	int64_t disconnect_wait_since; /* when a connect began waiting for a disconnect */
	uint64_t seen_gen;  /* mb.conn_gen subscribed on (0 after a subscribe failed) */
	uint64_t reset_gen; /* mb.conn_gen whose window reset was done */
	uint64_t subscribe_gen; /* mb.conn_gen of the last subscribe tried */
	int64_t subscribe_retry_at; /* no new try on that connection before this */
	uint64_t suback_gen;  /* the owner's copy of mb.suback_gen, taken in poll */
	int64_t suback_due;   /* the last subscribe counts as failed if not granted by then */
	int online;         /* the owner's copy of mb.online, taken in poll */

	char topic_out[KP_TOPIC_MAX]; /* .../taps or .../counts, by cfg.kind */
	char topic_ack[KP_TOPIC_MAX];
	char client_id[VD_CLIENT_ID_SIZE];
	char username[17]; /* the device id in 16 hex digits, sent with a password */
	char broker_password[VD_BROKER_PASSWORD_MAX + 1]; /* "": no credentials */

	struct vd_mailbox mb;
	struct vd_device_stats stats;
	char err[VD_DEVICE_ERR_SIZE];
};

/* Records one line for vd_device_error() and returns status. */
int vd_device_fail(struct vd_device *dev, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* device_mqtt.c */
extern const struct vd_io vd_mqtt_io;
int vd_mqtt_create(struct vd_device *dev, const char *broker_uri);
int vd_mqtt_connect(struct vd_device *dev);
void vd_mqtt_destroy(struct vd_device *dev);
/* Sizes the completion ring for the window; 0 or -1 (out of memory). */
int vd_mailbox_init(struct vd_device *dev);
void vd_mailbox_destroy(struct vd_device *dev);
/* Moves up to VD_TAKE_MAX replies and completions out of the mailbox into t.
 * Also takes the connection state and the callback-side counters. */
void vd_mailbox_take(struct vd_device *dev, struct vd_take *t);
/* Paho's callbacks (on Paho's threads; they only touch the mailbox). Not
 * static so that tests can play Paho without a broker. */
void vd_cb_connected(void *ctx, char *cause);
void vd_cb_connection_lost(void *ctx, char *cause);
void vd_cb_published(void *ctx, MQTTAsync_successData *resp);
void vd_cb_publish_failed(void *ctx, MQTTAsync_failureData *resp);
void vd_cb_subscribed(void *ctx, MQTTAsync_successData *resp);
void vd_cb_subscribe_failed(void *ctx, MQTTAsync_failureData *resp);

/* device_window.c */
/* Allocates the slots and the tickets for cfg.window, cfg.backoff_slots and
 * cfg.duplicate; 0 or -1 (out of memory). vd_window_free frees them. */
int vd_window_init(struct vd_device *dev);
void vd_window_free(struct vd_device *dev);
void vd_window_ack(struct vd_device *dev, uint64_t seq, uint64_t watermark);
void vd_window_nack(struct vd_device *dev, uint64_t seq, int64_t now_ms);
/* Paho finished the publish of `ticket` (a PUBACK when ok): the resend timer
 * starts. The completion of a publish given up on already is ignored. */
void vd_window_completed(struct vd_device *dev, unsigned ticket, int ok, int64_t now_ms);
/* Completions were lost: treat every publish as completed now. */
void vd_window_all_completed(struct vd_device *dev, int64_t now_ms);
/* A new connection: give up on every publish of the old one, and make every
 * frame not in NACK backoff due at once. */
void vd_window_reset(struct vd_device *dev);
int vd_window_send(struct vd_device *dev, int64_t now_ms);

#endif
