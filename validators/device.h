/*
 * device.h — the reference validator client: batches taps into signed TAPS
 * frames, keeps them in a persistent outbox (outbox.h) and delivers them over
 * MQTT until the daemon's signed ACKs cover them (PROTOCOL.md, "Delivery").
 *
 * The same client is an automatic passenger counter (APC) when opened with
 * kind VD_KIND_APC: it then batches struct kp_count records (door cycles,
 * occupancy snapshots) into signed COUNTS frames with vd_device_count and
 * publishes them on komposter/v1/dev/{dev}/counts, under exactly the contract
 * below (outbox, window, ACK, NACK, re-sends); "tap" there reads "record".
 * A device is one kind for good, as the daemon enrols it (`komposter device
 * add --kind apc`): a validator refuses count records and an APC refuses
 * taps (VD_EINVAL), so each device's one batch_seq sequence numbers frames
 * of one type, published on one topic.
 *
 * Promises:
 *  - a frame is committed to the outbox before it is ever published, and it
 *    leaves the outbox only through an ACK that decodes, verifies with the
 *    server public key and names this device: forged, corrupt or foreign
 *    replies are ignored and counted, and a NACK never drops a frame (it is
 *    counted by reason and retried with exponential backoff);
 *  - every frame no ACK covers is published again after each (re)connect
 *    (unless it waits out a NACK backoff), whether or not its last publish
 *    was still pending in Paho, and whenever it has been unacknowledged for
 *    resend_ms counted from the broker's PUBACK of its last publish; on one
 *    connection, a frame whose last publish Paho has not completed yet
 *    (queued or awaiting PUBACK) is not published again for up to
 *    publish_timeout_ms, so Paho's queue stays bounded
 *    (MQTTAsync_createOptions.maxBufferedMessages is set to (window +
 *    backoff_slots) × copies as well); past that deadline the publish counts
 *    as failed and the frame goes out again; a completion that comes for a
 *    publish given up on (deadline, reconnect) is ignored: each publish is
 *    named by its own callback context, not by Paho's token;
 *  - at most `window` frames (the oldest not in NACK backoff) are in flight at
 *    once; frames waiting out a NACK backoff do not take window slots (up to
 *    backoff_slots of them are tracked apart, the oldest; beyond that a NACKed
 *    frame keeps its window slot), so frames the server refuses for good never
 *    stop newer ones; they are retried on their backoff schedule, never dropped;
 *  - an ACK whose batch_seq or watermark is above the last number this device
 *    allocated, and a NACK whose batch_seq is, are ignored and counted (an
 *    alarm): they cannot answer this device's numbering; so are both for
 *    batch_seq 0, which numbering (from 1) never makes;
 *  - taps are in memory until their frame is sealed (batch full, or
 *    vd_device_flush); sealed frames survive a crash or restart, and a
 *    reopened device continues the numbering and re-sends what is left;
 *    vd_device_tap either takes a tap or says it did not (VD_EFULL_KEEP_TAP),
 *    so a tap is never silently lost while the outbox fails.
 *
 * Threading. Everything but the Paho callbacks runs on ONE thread of the
 * caller's, the device's owner: open, tap, flush, poll, connect, disconnect,
 * handle_reply, close. Paho's callbacks (connected, connection lost, message
 * arrived, publish and subscribe completed or failed, disconnect done) run on
 * Paho's threads and only touch a small
 * mutex-protected mailbox: they copy an incoming reply (104 bytes) into a
 * bounded ring, record a publish completion (ticket, ok), a SUBACK or a
 * subscribe failure, or bump a connection generation, call the optional
 * `notify` hook and return. They never call Paho and never touch the outbox. The owner
 * thread does all the work in vd_device_poll(): drain the mailbox, apply
 * completions and replies, subscribe after a (re)connect or a failed
 * subscribe, publish and re-send.
 * The owner never holds the mailbox lock while calling Paho or LMDB, so no
 * lock order exists that could deadlock with Paho's own mutex. A full ring
 * drops the reply (counted): harmless, the frame is re-sent and re-ACKed.
 *
 * Nothing waits on a callback forever. Callbacks are how the device learns
 * what Paho did, but every state that a callback ends also ends by a clock
 * or by a new connection, so a callback that never comes (or comes with
 * data that names nothing, as Paho's token 0) costs time, never a frame:
 *  - a publish pending in Paho: given up on publish_timeout_ms after Paho
 *    took it, and at every new connection; the frame goes out again, and the
 *    publish's completion, should it come later, is ignored;
 *  - a subscribe Paho took: made again when no SUBACK granting QoS 1 came on
 *    that connection within 10 s (subscribe_timeouts);
 *  - a connect: Paho bounds each attempt (10 s) and retries by itself (every
 *    1 to 8 s, automatic reconnect), finds a dead link by keepalive (20 s),
 *    and a connect Paho refuses is retried by vd_device_poll every second;
 *  - a disconnect: a connect waits for its callback at most 5 s, close at
 *    most 2 s;
 *  - a completion lost to a full mailbox: every pending publish counts as
 *    completed, so its frame's resend timer runs.
 *
 * MQTT: client id "kpdev-<16 hex>", clean session, automatic reconnect,
 * MQTTCLIENT_PERSISTENCE_NONE (the outbox is the persistence); subscribes to
 * komposter/v1/dev/{dev}/ack at QoS 1 on every (re)connect and publishes on
 * komposter/v1/dev/{dev}/taps (an APC: .../counts) at QoS 1. A subscribe that Paho refuses, that
 * the broker refuses or grants at a QoS other than 1, is counted and tried
 * again every second; nothing is published meanwhile. One that Paho took
 * but no SUBACK answered within 10 s is made again at once. With a
 * broker_password the device logs in as user "<16 hex>", its id: the name
 * the production broker's ACL expects, and which that broker also makes the
 * client id (use_username_as_clientid). Without one it sends no credentials.
 *
 * Errors are the negative VD_E* codes; vd_device_error() says more about the
 * last one. The caller must have called sodium_init().
 */
#ifndef VD_DEVICE_H
#define VD_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"

enum vd_status {
	VD_OK = 0,
	VD_EIGNORED = -1, /* a reply that is not a valid signed ACK/NACK for us */
	VD_ESTORE = -2,   /* the outbox (LMDB) failed */
	VD_EMQTT = -3,    /* a Paho call failed */
	VD_EINVAL = -4,   /* bad argument or configuration */
	VD_ENOMEM = -5,
	VD_EFULL_KEEP_TAP = -6, /* vd_device_tap/count: record NOT taken, the caller must keep it */
};

/* What a device sends (vd_device_config.kind); 0 is a validator. */
enum vd_device_kind {
	VD_KIND_VALIDATOR = 0, /* taps: TAPS frames on .../taps */
	VD_KIND_APC = 1,       /* passenger counts: COUNTS frames on .../counts */
};

#define VD_BATCH_DEFAULT 64
#define VD_WINDOW_DEFAULT 32
#define VD_WINDOW_MAX 256
#define VD_BACKOFF_SLOTS_DEFAULT 64
#define VD_RESEND_MS_DEFAULT 10000
#define VD_PUBLISH_TIMEOUT_MS_DEFAULT 30000
#define VD_BACKOFF_MIN_MS_DEFAULT 1000
#define VD_BACKOFF_MAX_MS_DEFAULT 60000
#define VD_INBOX_SIZE 256
#define VD_POLL_MAX_MS 1000
#define VD_DEVICE_ERR_SIZE 160
#define VD_BROKER_PASSWORD_MAX 255 /* bytes of vd_device_config.broker_password */

struct vd_device_config {
	uint64_t device_id;
	enum vd_device_kind kind;
	uint8_t key_id;
	uint8_t secret_key[KP_SECRET_KEY_SIZE]; /* copied; wiped on close */
	uint8_t server_pk[KP_PUBLIC_KEY_SIZE];
	const char *outbox_dir;                 /* borrowed during open only */
	unsigned batch;          /* taps or counts per frame, 1..512; 0 = VD_BATCH_DEFAULT */
	unsigned window;         /* frames in flight, 1..VD_WINDOW_MAX; 0 = default */
	unsigned backoff_slots;  /* NACKed frames tracked outside the window,
	                          * 1..VD_WINDOW_MAX; 0 = VD_BACKOFF_SLOTS_DEFAULT */
	int64_t resend_ms;       /* re-send an unACKed frame after this; 0 = default */
	int64_t publish_timeout_ms; /* a publish Paho has not completed (PUBACK or
	                          * failure) this long after taking it counts as
	                          * failed: the frame goes out again; 0 = default */
	int64_t backoff_min_ms;  /* first retry delay after a NACK; 0 = default */
	int64_t backoff_max_ms;  /* the delay doubles up to this; 0 = default */
	int duplicate;           /* publish every frame twice (tests of dedupe) */
	/* The device's MQTT password, at most VD_BROKER_PASSWORD_MAX bytes; NULL
	 * or "": no credentials (a development broker). Copied during open only;
	 * the copy is wiped on close. */
	const char *broker_password;
	/* Called on a Paho thread after a reply or a connection change was put in
	 * the mailbox, so the owner can wake up. Must be quick and not block. */
	void (*notify)(void *arg);
	void *notify_arg;
};

struct vd_device_stats {
	uint64_t frames;       /* frames sealed into the outbox by this process */
	uint64_t taps;         /* taps in those frames (a validator) */
	uint64_t counts;       /* count records in those frames (an APC) */
	uint64_t published;    /* publishes handed to Paho (duplicates included) */
	uint64_t resent;       /* publishes of a frame already sent before (by now or an earlier run) */
	uint64_t acks;         /* verified ACKs applied */
	uint64_t acked_frames; /* frames those ACKs removed from the outbox */
	uint64_t nacks;        /* verified NACKs */
	uint64_t nack_reasons[KP_NACK_REASON_MAX + 1]; /* [0]: unknown reason */
	uint64_t ignored;      /* replies that failed decode, signature, type, device or
	                        * numbering checks */
	uint64_t acks_beyond_last_seq; /* ALARM: signed ACKs for numbers this device never
	                                * made (batch_seq 0, batch_seq or watermark > last seq);
	                                * also in ignored */
	uint64_t nacks_beyond_last_seq; /* ALARM: signed NACKs for a frame this device never
	                                 * made (batch_seq 0 or > last seq); also in ignored,
	                                 * not in nacks */
	uint64_t dropped;      /* replies lost because the mailbox ring was full */
	uint64_t connects;     /* successful connects and reconnects */
	uint64_t connect_failures; /* failed connect attempts (Paho keeps retrying) */
	uint64_t subscribe_failures; /* subscribes refused by Paho or the broker (retried) */
	uint64_t subscribe_timeouts; /* subscribes with no SUBACK 10 s later (made again) */
	uint64_t publish_failures;   /* publishes Paho accepted but reported failed (re-sent) */
	uint64_t publish_timeouts;   /* publishes Paho did not complete within publish_timeout_ms
	                              * (given up on, the frame re-sent) */
	uint64_t stale_completions;  /* completions of publishes given up on (deadline, reconnect,
	                              * or an ACK came first): ignored */
};

struct vd_device; /* opaque, owned by the caller of vd_device_open */

/* Opens the device's outbox and prepares it; no network yet. On failure,
 * err (VD_DEVICE_ERR_SIZE bytes, may be NULL) gets one line saying why. */
int vd_device_open(const struct vd_device_config *cfg, struct vd_device **out, char *err);
/* Disconnects (waiting a moment for it), destroys the MQTT client and closes
 * the outbox. Taps not yet sealed are lost, as on a power cut. NULL allowed. */
void vd_device_close(struct vd_device *dev);

/* Goes online: creates the MQTT client on the first call, for broker_uri
 * (e.g. "tcp://127.0.0.1:1883"; later calls keep that broker and may pass
 * NULL), and starts connecting; returns at once. VD_EMQTT only when the
 * client cannot be created; a connect that Paho refuses is retried by
 * vd_device_poll, and Paho reconnects by itself after a lost connection. */
int vd_device_connect(struct vd_device *dev, const char *broker_uri);
/* Goes offline on purpose (no reconnects until vd_device_connect). Taps and
 * frames keep going into the outbox. */
int vd_device_disconnect(struct vd_device *dev);
/* 1 while the MQTT connection is up. */
int vd_device_online(struct vd_device *dev);

/* Adds a tap to the open batch; seals the frame when the batch is full.
 * A tap is either taken or handed back, never lost:
 *  - VD_OK: taken (and sealed, if it filled the batch);
 *  - VD_ESTORE: taken (it is in the open batch), but sealing the now full
 *    batch failed; the seal is tried again by the next tap or flush;
 *  - VD_EFULL_KEEP_TAP: NOT taken: the batch is still full from a failed seal
 *    and the retry failed too; the caller keeps the tap and offers it again
 *    (after a vd_device_flush that returns VD_OK, the next tap is taken);
 *  - VD_EINVAL: refused for good (fields no frame may hold). */
int vd_device_tap(struct vd_device *dev, const struct kp_tap *tap);
/* An APC's vd_device_tap: adds a count record to the open batch, sealing
 * COUNTS frames, with the same four answers; VD_EINVAL also for a record that
 * fails kp_count_is_valid and on a validator. (vd_device_tap is VD_EINVAL on
 * an APC.) */
int vd_device_count(struct vd_device *dev, const struct kp_count *count);
/* Seals the open batch, if any, into a frame (VD_ESTORE: batch kept). */
int vd_device_flush(struct vd_device *dev);

/* The owner's work step: drains the mailbox, (re)connects, subscribes after
 * a (re)connect, publishes new frames and re-sends due ones. now_ms is a
 * monotonic clock in milliseconds. *next_ms (may be NULL) gets when poll has
 * work next: a resend timer, a publish's or the SUBACK's deadline, or a
 * subscribe retry while connected but not subscribed (INT64_MAX for none:
 * offline, or nothing timed). Call it when `notify` fires (a reply, a
 * completion, a connection change), by *next_ms, and at least every
 * VD_POLL_MAX_MS while not connected. */
int vd_device_poll(struct vd_device *dev, int64_t now_ms, int64_t *next_ms);

/* Applies one message received on the ack topic. VD_OK for a verified ACK
 * (its frames are gone from the outbox) or NACK (counted, frame kept, retry
 * delayed); VD_EIGNORED (counted) for anything else, including an ACK whose
 * batch_seq or watermark is above the last number allocated (also counted in
 * acks_beyond_last_seq) and a NACK for a frame never made (nacks_beyond_last_seq); VD_ESTORE if the outbox failed. Call only from the owner thread; needs no broker. */
int vd_device_handle_reply(struct vd_device *dev, const uint8_t *buf, size_t len, int64_t now_ms);

/* Frames in the outbox (sealed, not yet covered by an ACK). */
size_t vd_device_pending(const struct vd_device *dev);
uint64_t vd_device_id(const struct vd_device *dev);
const struct vd_device_stats *vd_device_stats(const struct vd_device *dev);
/* One line about the last error a function of this device returned. */
const char *vd_device_error(const struct vd_device *dev);
const char *vd_strerror(int status);

#endif
