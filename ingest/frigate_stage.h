/*
 * frigate_stage.h — the one thread that turns Frigate's MQTT messages into
 * stored NVR events and passenger counts (storage/nvr.h).
 *
 * The intake copies each message of {prefix}/events and {prefix}/available
 * into a struct kp_frigate_msg and pushes it into ctx->in, waiting while the
 * ring is full like the frame ring does. This thread takes them in order:
 *
 *  - events: parsed (frigate_event.h; one thread, as cJSON requires),
 *    refused when start_time is outside the tap time window
 *    (accept_past_days, accept_future_s: "out_of_window"), then looked up in
 *    the camera registry. An unmapped camera's event is counted in
 *    /metrics and not stored. A street camera counts at its stop (route 0,
 *    door 0); an onboard camera at the route and stop its vehicle was last
 *    seen at (vehicle_pos.h) and its own door; a vehicle never seen, seen on
 *    route 0, or seen more than position_max_age_s from start_time stores
 *    the event row without counts ("no_vehicle_position"). Rows are stored
 *    for label "person" only; other labels only count in /metrics
 *    ("not_person"). The service date
 *    and hour are start_time's, in the database's zone and service day.
 *    kp_frigate_count_decide says which directions the message qualifies
 *    for; st_nvr_commit counts each at most once per object, in the same
 *    transaction as its mark, so what it did not count now is
 *    "already_counted".
 *  - available: "online" or "offline" ("stopped", Frigate 0.18's clean
 *    shutdown, reads as offline) goes to st_nvr_set_available after the
 *    events before it are committed; anything else is "bad_available".
 *    Once offline for offline_alarm_s, komposter_frigate_offline_alarm is 1
 *    until "online" comes; this thread checks it at least once a second.
 *
 * Events are committed in groups of up to group_max_events, waiting at most
 * group_max_wait_ms after the first. A full map or disk (ST_EFULL) raises
 * the writer's storage alarm (komposter_storage_full_total,
 * health->storage_ok) and the group is retried every second, never
 * dropped: meanwhile ctx->in fills and the intake waits, which pushes back
 * on the broker. Paho has PUBACKed every message already, so what a crash
 * loses is what this thread holds: at most one group, and what waits in
 * ctx->in. Once stopping (kp_frigate_stage_join) a failing commit or lookup
 * is tried three more times and then given up with an ALARM line. A status
 * retrying cannot clear (anything but ST_EFULL and ST_EIO: a record that
 * does not decode) gives the message or group up at once, with the same
 * ALARM line; given-up events count in frigate_dropped_storage.
 *
 * With cfg.session, the thread keeps the run marker (storage/nvr_session.h):
 * st_nvr_session_begin when it starts (a predecessor that crashed leaves
 * an outage over its gap), st_nvr_session_alive at most once a minute with
 * a time before which every message received was taken, and
 * st_nvr_session_end after the last group when nothing was given up.
 *
 * Borrowed, and must outlive the thread: the database, ctx->in, the
 * metrics and the health flags. Every message taken from ctx->in is freed
 * here.
 */
#ifndef KP_FRIGATE_STAGE_H
#define KP_FRIGATE_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/health.h"
#include "ingest/metrics.h"
#include "ingest/ring.h"
#include "storage/db.h"

enum kp_frigate_topic {
	KP_FRIGATE_TOPIC_EVENTS = 1,    /* {prefix}/events */
	KP_FRIGATE_TOPIC_AVAILABLE = 2, /* {prefix}/available */
};

/* One message, as the intake hands it over. */
struct kp_frigate_msg {
	uint8_t topic;       /* enum kp_frigate_topic */
	uint8_t *payload;    /* malloc'd, len bytes, no NUL; owned by whoever holds the item */
	size_t len;
	int64_t received_at; /* ms, server clock */
};

/* Copies payload[0..len) into a new message. 0, or -1 when out of memory
 * (then *msg owns nothing). */
int kp_frigate_msg_copy(struct kp_frigate_msg *msg, uint8_t topic, const void *payload, size_t len,
                        int64_t received_at);
/* Frees the payload and clears the item; a cleared item may be freed again. */
void kp_frigate_msg_free(struct kp_frigate_msg *msg);

struct kp_frigate_stage_config {
	int group_max_events;  /* >= 1 */
	int group_max_wait_ms; /* after a group's first event */
	size_t counted_max;    /* st_nvr_limits */
	int offline_alarm_s;   /* >= 1 */
	int accept_past_days;  /* the tap time window (verify.h) */
	int accept_future_s;
	int position_max_age_s; /* an onboard camera's vehicle position further from start is none */
	int session;            /* 1: keep the run marker (nvr_session.h); komposterd with Frigate on */
};

struct kp_frigate_stage_ctx {
	struct kp_frigate_stage_config cfg;
	struct st_db *db;
	struct kp_ring *in;       /* struct kp_frigate_msg, from the intake */
	struct kp_metrics *m;     /* frigate_*, storage_full, storage_errors, map */
	struct kp_health *health; /* storage_ok */
};

struct kp_frigate_stage;

/* Starts the thread on a copy of *ctx. 0, or -1 (out of memory, no thread). */
int kp_frigate_stage_start(const struct kp_frigate_stage_ctx *ctx, struct kp_frigate_stage **out);
/* Waits until the thread stored what ctx->in holds (close it first) and
 * ended; frees the stage. NULL is ignored. */
void kp_frigate_stage_join(struct kp_frigate_stage *s);

#endif
