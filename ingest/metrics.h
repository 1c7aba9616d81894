/*
 * metrics.h — the daemon's counters, gauges and histograms, updated with
 * relaxed atomics from any thread, and rendered in the Prometheus text
 * exposition format for GET /metrics. One instance, owned by komposterd.c.
 */
#ifndef KP_METRICS_H
#define KP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "firmware-proto/frame.h"
#include "ingest/health.h"
#include "ingest/frigate_count.h"
#include "ingest/frigate_event.h"

#define KP_HIST_BUCKETS 14

struct kp_histogram {
	const double *bounds; /* KP_HIST_BUCKETS upper bounds; +Inf is implied */
	atomic_uint_fast64_t buckets[KP_HIST_BUCKETS + 1];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_micro; /* sum × 1e6, so seconds keep precision */
};

/* Frigate refusals: kp_frigate_err values (KP_FRIGATE_OK unused), then these. */
enum kp_frigate_reject {
	KP_FRIGATE_REJECT_OUT_OF_WINDOW = KP_FRIGATE_ERR_COUNT, /* "out_of_window": start_time outside accept_past_days/accept_future_s */
	KP_FRIGATE_REJECT_BAD_AVAILABLE,                        /* "bad_available": {prefix}/available neither online nor offline */
};
#define KP_FRIGATE_REJECT_COUNT (KP_FRIGATE_REJECT_BAD_AVAILABLE + 1)
const char *kp_frigate_reject_name(int reason);

/* Frigate outcomes per direction: kp_frigate_outcome values, then this one. */
#define KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION KP_FRIGATE_OUTCOME_COUNT /* "no_vehicle_position" */
#define KP_FRIGATE_OUTCOMES (KP_FRIGATE_OUTCOME_COUNT + 1)
const char *kp_frigate_outcome_label(int outcome);

struct kp_metrics {
	atomic_uint_fast64_t frames_in;
	atomic_uint_fast64_t frames_stored;
	atomic_uint_fast64_t frames_duplicate;
	atomic_uint_fast64_t frames_not_owned; /* another partition's device: dropped, unanswered */
	atomic_uint_fast64_t frames_unreadable; /* no header or no magic: dropped, unanswered (verify.h) */
	atomic_uint_fast64_t taps_stored;
	atomic_uint_fast64_t counts_stored; /* count records of COUNTS frames */
	atomic_uint_fast64_t rejected[KP_NACK_REASON_MAX + 1]; /* by NACK reason; [0] bad topic */
	atomic_uint_fast64_t acks_sent;
	atomic_uint_fast64_t acks_merged; /* frames answered by another frame's ACK of their group */
	atomic_uint_fast64_t nacks_sent;
	atomic_uint_fast64_t nacks_suppressed[KP_NACK_REASON_MAX + 1]; /* by NACK reason (nack_limit.h); [0] unused */
	atomic_uint_fast64_t replies_failed;
	atomic_uint_fast64_t dropped_stopping; /* device frames taken by Paho but dropped at stop */
	atomic_uint_fast64_t replies_dropped;
	atomic_uint_fast64_t storage_full;
	atomic_uint_fast64_t storage_errors;
	atomic_uint_fast64_t frames_no_key; /* left out of their group: epoch key not imported yet */
	atomic_uint_fast64_t map_grows;
	atomic_uint_fast64_t map_size_bytes;
	atomic_uint_fast64_t epoch_keys_destroyed; /* writer.h's key schedule */
	atomic_uint_fast64_t mqtt_connected;
	atomic_uint_fast64_t mqtt_devices_subscribed; /* partitioned: owned devices granted */
	atomic_uint_fast64_t mqtt_reconnects;
	atomic_uint_fast64_t mqtt_awake_received; /* our own keep-awake messages back (paho_awake.h) */
	atomic_uint_fast64_t http_requests;
	atomic_uint_fast64_t http_evicted; /* waiting connections cut off for a new one */
	atomic_uint_fast64_t http_refused; /* answered 503: every slot taken */
	atomic_uint_fast64_t http_refused_unanswered;
	atomic_uint_fast64_t http_auth_failures;  /* unknown or revoked bearer tokens (auth.h) */
	atomic_uint_fast64_t http_auth_throttled; /* answered 429: too many wrong tokens from the address */
	atomic_uint_fast64_t http_connections;    /* accepted */
	atomic_uint_fast64_t http_keepalive_reuses; /* requests after the first on a connection */
	atomic_uint_fast64_t http_idle_closed;    /* kept-alive connections closed after idle_timeout_ms */
	atomic_uint_fast64_t http_timed_out;      /* cut off: a request or a send took longer than request_timeout_ms */
	atomic_uint_fast64_t api_cache_hits;      /* ridership answers served from the answer cache */
	atomic_uint_fast64_t api_cache_misses;    /* ridership answers built (and offered to the cache) */
	atomic_int_fast64_t ring_depth;
	atomic_int_fast64_t writer_queue_depth;
	atomic_int_fast64_t derive_held;          /* frames committed and not derived (storage/derive.h) */
	atomic_int_fast64_t reply_queue_depth;
	/* Frigate (frigate_stage.h); directions [0] boarding, [1] alighting */
	atomic_uint_fast64_t frigate_messages;  /* on {prefix}/events and /available */
	atomic_uint_fast64_t frigate_rejected[KP_FRIGATE_REJECT_COUNT];
	atomic_uint_fast64_t frigate_outcomes[2][KP_FRIGATE_OUTCOMES];
	atomic_uint_fast64_t frigate_unmapped_events; /* events of a camera not in the registry */
	atomic_uint_fast64_t frigate_boardings;       /* counted and stored */
	atomic_uint_fast64_t frigate_alightings;
	atomic_int_fast64_t frigate_available;        /* 1 online, 0 offline, -1 not yet known */
	atomic_int_fast64_t frigate_offline_alarm;    /* 1 while offline longer than offline_alarm_s */
	atomic_int_fast64_t frigate_queue_depth;
	atomic_uint_fast64_t frigate_dropped_storage; /* events given up on a storage error that does not clear */
	atomic_int_fast64_t frigate_subscribed;       /* 1 once both Frigate filters are granted at QoS 1 */
	atomic_uint_fast64_t open_data_published;      /* packages written (publish_stage.h) */
	atomic_uint_fast64_t open_data_publish_errors; /* failed publication rounds */
	atomic_uint_fast64_t open_data_builds;         /* dates whose tables were built (published or not) */
	atomic_uint_fast64_t open_data_held_back;      /* versions not written: a count would move by < k */
	struct kp_histogram group_frames;   /* frames per commit group */
	struct kp_histogram commit_seconds; /* st_commit_group latency */
	struct kp_histogram derive_run_seconds; /* one st_derive_run of the writer (storage/derive.h) */
	/* Where a frame waits on its way to its ACK (docs/PERFORMANCE.md, round 2). */
	struct kp_histogram writer_wait_seconds; /* received (ms clock) -> taken by the writer */
	struct kp_histogram reply_wait_seconds;  /* reply queued -> taken by the publisher */
	struct kp_histogram reply_send_seconds;  /* signing and handing one reply to the transport */
};

void kp_metrics_init(struct kp_metrics *m);
void kp_histogram_observe(struct kp_histogram *h, double value);

/* The counters the operator page's live panel shows, for GET /v1/live
 * (README, "HTTP API"): each under the name and label /metrics gives it,
 * with the same value at the same moment. health gives the ready flags.
 * NULL when out of memory; the caller cJSON_Deletes it. */
cJSON *kp_metrics_live(struct kp_metrics *m, const struct kp_health *health);

/* Renders every metric into a malloc'd NUL-terminated buffer (*len bytes);
 * the caller frees it. Returns NULL when out of memory. */
char *kp_metrics_render(struct kp_metrics *m, size_t *len);

#endif
