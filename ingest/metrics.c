/*
 * metrics.c — Prometheus text format by hand: it is a line-oriented output
 * format, not a parser, and the set of metrics is fixed, so a small renderer
 * over an open_memstream is all it takes. The live panel's few counters
 * (kp_metrics_live) are a cJSON document instead, so that the page reads
 * JSON and never parses the text format.
 */
#include "ingest/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double group_bounds[KP_HIST_BUCKETS] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
};
static const double latency_bounds[KP_HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

const char *kp_frigate_reject_name(int reason)
{
	switch (reason) {
	case KP_FRIGATE_REJECT_OUT_OF_WINDOW: return "out_of_window";
	case KP_FRIGATE_REJECT_BAD_AVAILABLE: return "bad_available";
	default: return kp_frigate_err_name((enum kp_frigate_err)reason);
	}
}

const char *kp_frigate_outcome_label(int outcome)
{
	if (outcome == KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION)
		return "no_vehicle_position";
	return kp_frigate_outcome_name((enum kp_frigate_outcome)outcome);
}

void kp_metrics_init(struct kp_metrics *m)
{
	memset(m, 0, sizeof(*m));
	atomic_store(&m->frigate_available, -1);
	m->group_frames.bounds = group_bounds;
	m->commit_seconds.bounds = latency_bounds;
	m->derive_run_seconds.bounds = latency_bounds;
	m->writer_wait_seconds.bounds = latency_bounds;
	m->reply_wait_seconds.bounds = latency_bounds;
	m->reply_send_seconds.bounds = latency_bounds;
}

void kp_histogram_observe(struct kp_histogram *h, double value)
{
	size_t i = 0;
	while (i < KP_HIST_BUCKETS && value > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_micro, (uint_fast64_t)(value * 1e6), memory_order_relaxed);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void counter(FILE *f, const char *name, const char *help, unsigned long long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, long long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

static void histogram(FILE *f, const char *name, const char *help, struct kp_histogram *h)
{
	unsigned long long cumulative = 0;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < KP_HIST_BUCKETS; i++) {
		cumulative += LOAD(h->buckets[i]);
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], cumulative);
	}
	cumulative += LOAD(h->buckets[KP_HIST_BUCKETS]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, cumulative);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, (double)LOAD(h->sum_micro) / 1e6, name,
	        LOAD(h->count));
}

#define REASON_MAX 48

/* The label of rejected[r]: the NACK reason's name, '_' for ' ' and '-'. */
static const char *reason_label(int r, char out[REASON_MAX])
{
	if (r == 0)
		return "bad_topic";
	snprintf(out, REASON_MAX, "%s", kp_nack_reason_name((uint64_t)r));
	for (char *c = out; *c; c++)
		if (*c == ' ' || *c == '-')
			*c = '_';
	return out;
}

/* A counter labelled by NACK reason, from reason `first` on. */
static void by_reason(FILE *f, const char *name, const char *help, atomic_uint_fast64_t *c, int first)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int r = first; r <= KP_NACK_REASON_MAX; r++) {
		char label[REASON_MAX];
		fprintf(f, "%s{reason=\"%s\"} %llu\n", name, reason_label(r, label), LOAD(c[r]));
	}
}

static void frigate(FILE *f, struct kp_metrics *m)
{
	static const char *const rejected = "komposter_frigate_rejected_total";
	static const char *const outcomes = "komposter_frigate_outcomes_total";
	static const char *const direction[2] = { "boarding", "alighting" };

	counter(f, "komposter_frigate_messages_total", "Messages taken on Frigate's events and available topics.",
	        LOAD(m->frigate_messages));
	fprintf(f, "# HELP %s Frigate messages refused, by reason.\n# TYPE %s counter\n", rejected, rejected);
	for (int r = KP_FRIGATE_OK + 1; r < KP_FRIGATE_REJECT_COUNT; r++)
		fprintf(f, "%s{reason=\"%s\"} %llu\n", rejected, kp_frigate_reject_name(r),
		        LOAD(m->frigate_rejected[r]));
	fprintf(f, "# HELP %s Frigate events taken (not refused), by direction and what each meant for the count.\n"
	           "# TYPE %s counter\n", outcomes, outcomes);
	for (int d = 0; d < 2; d++)
		for (int o = 0; o < KP_FRIGATE_OUTCOMES; o++)
			fprintf(f, "%s{direction=\"%s\",outcome=\"%s\"} %llu\n", outcomes, direction[d],
			        kp_frigate_outcome_label(o), LOAD(m->frigate_outcomes[d][o]));
	counter(f, "komposter_frigate_unmapped_camera_events_total",
	        "Frigate events of a camera not in the registry (komposter camera add).",
	        LOAD(m->frigate_unmapped_events));
	counter(f, "komposter_frigate_boardings_total", "Boardings counted from Frigate and stored.",
	        LOAD(m->frigate_boardings));
	counter(f, "komposter_frigate_alightings_total", "Alightings counted from Frigate and stored.",
	        LOAD(m->frigate_alightings));
	gauge(f, "komposter_frigate_available", "Frigate's availability: 1 online, 0 offline, -1 unknown.",
	      (long long)atomic_load_explicit(&m->frigate_available, memory_order_relaxed));
	gauge(f, "komposter_frigate_offline_alarm", "1 while Frigate has been offline longer than offline_alarm_s.",
	      (long long)atomic_load_explicit(&m->frigate_offline_alarm, memory_order_relaxed));
	gauge(f, "komposter_frigate_queue_depth", "Frigate messages waiting for the Frigate stage.",
	      (long long)atomic_load_explicit(&m->frigate_queue_depth, memory_order_relaxed));
	fprintf(f, "# HELP komposter_frigate_dropped_total Frigate events given up, by reason.\n"
	           "# TYPE komposter_frigate_dropped_total counter\n"
	           "komposter_frigate_dropped_total{reason=\"storage_error\"} %llu\n",
	        LOAD(m->frigate_dropped_storage));
	gauge(f, "komposter_frigate_subscribed",
	      "1 while the broker grants both Frigate topic filters at QoS 1 (readiness does not wait for them).",
	      (long long)atomic_load_explicit(&m->frigate_subscribed, memory_order_relaxed));
}

char *kp_metrics_render(struct kp_metrics *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;

	counter(f, "komposter_frames_received_total", "Frames taken from MQTT.", LOAD(m->frames_in));
	counter(f, "komposter_frames_stored_total", "Frames durably stored.", LOAD(m->frames_stored));
	counter(f, "komposter_frames_duplicate_total", "Frames stored before, re-ACKed.", LOAD(m->frames_duplicate));
	counter(f, "komposter_frames_not_owned_total",
	        "Frames of devices another instance owns ([mqtt] partition): dropped, not answered.",
	        LOAD(m->frames_not_owned));
	counter(f, "komposter_frames_unreadable_total",
	        "Payloads too short for a header or without the magic KMP1: dropped, not answered, no signature checked.",
	        LOAD(m->frames_unreadable));
	counter(f, "komposter_taps_stored_total", "Taps durably stored.", LOAD(m->taps_stored));
	counter(f, "komposter_counts_stored_total", "Passenger-count records (COUNTS frames) durably stored.",
	        LOAD(m->counts_stored));
	by_reason(f, "komposter_frames_rejected_total", "Frames refused, by NACK reason (bad_topic: not answerable).",
	          m->rejected, 0);
	counter(f, "komposter_acks_sent_total", "ACK frames handed to MQTT.", LOAD(m->acks_sent));
	counter(f, "komposter_acks_merged_total", "ACKs folded into another of their device: in a commit group, or while waiting for the publisher.",
	        LOAD(m->acks_merged));
	counter(f, "komposter_nacks_sent_total", "NACK frames handed to MQTT.", LOAD(m->nacks_sent));
	by_reason(f, "komposter_nacks_suppressed_total",
	          "NACKs not sent: over the rate of their device and reason (burst 5, then 1 per 10 s) or of all (burst 200, then 100/s).",
	          m->nacks_suppressed, 1);
	counter(f, "komposter_replies_failed_total", "ACK/NACK publishes that failed (the device re-sends).", LOAD(m->replies_failed));
	counter(f, "komposter_dropped_stopping_total", "Device frames PUBACKed by the broker link but dropped while stopping (the drain gave up).", LOAD(m->dropped_stopping));
	counter(f, "komposter_replies_dropped_total", "ACK/NACK frames dropped because the reply queue was full (the device re-sends).", LOAD(m->replies_dropped));
	counter(f, "komposter_storage_full_total", "Commit groups refused because the map or disk is full.", LOAD(m->storage_full));
	counter(f, "komposter_storage_errors_total", "Commit groups that failed for another reason.", LOAD(m->storage_errors));
	counter(f, "komposter_frames_no_key_total",
	        "Frames refused with NACK 7: a record in an epoch whose imported pseudonym key is not here yet.",
	        LOAD(m->frames_no_key));
	counter(f, "komposter_map_grows_total", "Times the LMDB map grew.", LOAD(m->map_grows));
	gauge(f, "komposter_map_size_bytes", "Current LMDB map size.", (long long)LOAD(m->map_size_bytes));
	counter(f, "komposter_epoch_keys_destroyed_total",
	        "Pseudonym epoch keys destroyed because they left the retention.", LOAD(m->epoch_keys_destroyed));
	gauge(f, "komposter_mqtt_connected", "1 while connected and subscribed.", (long long)LOAD(m->mqtt_connected));
	gauge(f, "komposter_mqtt_devices_subscribed",
	      "Partitioned ([mqtt] partition N > 1): owned devices whose topics the broker granted; 0 otherwise.",
	      (long long)LOAD(m->mqtt_devices_subscribed));
	counter(f, "komposter_mqtt_connections_lost_total", "MQTT connections lost.", LOAD(m->mqtt_reconnects));
	counter(f, "komposter_mqtt_awake_received_total",
	        "Messages komposterd sent itself on komposter/local/awake/{client id} and got back, so that Paho's "
	        "receive thread never sleeps 100 ms while idle; 0 after an idle minute means the broker's ACL drops them.",
	        LOAD(m->mqtt_awake_received));
	counter(f, "komposter_http_requests_total", "HTTP requests served.", LOAD(m->http_requests));
	counter(f, "komposter_http_connections_evicted_total",
	        "Connections still waiting for their request, closed to make room for a new one.",
	        LOAD(m->http_evicted));
	counter(f, "komposter_http_connections_refused_total",
	        "Connections answered 503 because every slot, the reserve included, was taken.",
	        LOAD(m->http_refused));
	counter(f, "komposter_http_connections_refused_unanswered_total",
	        "Refused connections whose 503 could not be sent.", LOAD(m->http_refused_unanswered));
	counter(f, "komposter_http_auth_failures_total", "Requests with an unknown or revoked bearer token.",
	        LOAD(m->http_auth_failures));
	counter(f, "komposter_http_auth_throttled_total",
	        "Requests answered 429: their address sent too many wrong tokens (auth_limit.h).",
	        LOAD(m->http_auth_throttled));
	counter(f, "komposter_http_connections_total", "HTTP connections accepted.", LOAD(m->http_connections));
	counter(f, "komposter_http_keepalive_reuses_total",
	        "Requests answered on a kept-alive connection after its first.", LOAD(m->http_keepalive_reuses));
	counter(f, "komposter_http_idle_closed_total",
	        "Kept-alive connections closed after [http] idle_timeout_ms without a request.",
	        LOAD(m->http_idle_closed));
	counter(f, "komposter_http_timed_out_total",
	        "Connections cut off: a request's head and body, or a send, took longer than "
	        "[http] request_timeout_ms.",
	        LOAD(m->http_timed_out));
	counter(f, "komposter_api_cache_hits_total",
	        "Ridership answers served from the answer cache, at the dates' current revision.",
	        LOAD(m->api_cache_hits));
	counter(f, "komposter_api_cache_misses_total",
	        "Ridership answers built because the cache had none at the dates' current revision.",
	        LOAD(m->api_cache_misses));
	gauge(f, "komposter_ring_depth", "Frames waiting for verification.", (long long)LOAD(m->ring_depth));
	gauge(f, "komposter_writer_queue_depth", "Verified frames waiting for a commit.", (long long)LOAD(m->writer_queue_depth));
	gauge(f, "komposter_derive_held_frames",
	      "Frames committed whose cells, indexes and device traffic are not derived yet.",
	      (long long)LOAD(m->derive_held));
	gauge(f, "komposter_reply_queue_depth", "ACK/NACK frames waiting to be published.", (long long)LOAD(m->reply_queue_depth));
	frigate(f, m);
	counter(f, "komposter_open_data_published_total", "Open-data packages published (each date's each version).",
	        LOAD(m->open_data_published));
	counter(f, "komposter_open_data_publish_errors_total", "Open-data publications that failed (retried next round).",
	        LOAD(m->open_data_publish_errors));
	counter(f, "komposter_open_data_builds_total",
	        "Dates whose open-data tables were built to be compared or published (a date is built again only "
	        "when its taps changed).",
	        LOAD(m->open_data_builds));
	counter(f, "komposter_open_data_held_back_total",
	        "New versions of a date's package not written because a published count would change by less "
	        "than k from the version before (late taps wait for more).",
	        LOAD(m->open_data_held_back));
	histogram(f, "komposter_commit_group_frames", "Frames per commit group.", &m->group_frames);
	histogram(f, "komposter_commit_seconds", "Time to write and sync one commit group.", &m->commit_seconds);
	histogram(f, "komposter_derive_run_seconds",
	          "Time to derive one run of stored frames' cells and indexes behind the log and sync it; frames "
	          "arriving meanwhile wait for it.",
	          &m->derive_run_seconds);
	histogram(f, "komposter_writer_wait_seconds",
	          "Time from a frame's arrival to the writer taking it (verify and the queue; ms clock).",
	          &m->writer_wait_seconds);
	histogram(f, "komposter_reply_wait_seconds", "Time an ACK or NACK waits for the publisher.",
	          &m->reply_wait_seconds);
	histogram(f, "komposter_reply_send_seconds", "Time to sign one reply and hand it to MQTT.",
	          &m->reply_send_seconds);

	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* cJSON keeps numbers as doubles: exact up to 2^53, far beyond any counter. */
static int add(cJSON *o, const char *name, double v)
{
	return cJSON_AddNumberToObject(o, name, v) == NULL ? -1 : 0;
}

static int live_rejected(cJSON *doc, struct kp_metrics *m)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "komposter_frames_rejected_total");
	char label[REASON_MAX];
	int bad = o == NULL;

	for (int r = 0; r <= KP_NACK_REASON_MAX && !bad; r++)
		bad = add(o, reason_label(r, label), (double)LOAD(m->rejected[r]));
	return bad ? -1 : 0;
}

static int live_commit(cJSON *doc, struct kp_histogram *h)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "komposter_commit_seconds");

	if (o == NULL || add(o, "sum", (double)LOAD(h->sum_micro) / 1e6) || add(o, "count", (double)LOAD(h->count)))
		return -1;
	return 0;
}

static int live_ready(cJSON *doc, const struct kp_health *h)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "ready");

	if (o == NULL || cJSON_AddBoolToObject(o, "subscribed", atomic_load(&h->subscribed)) == NULL ||
	    cJSON_AddBoolToObject(o, "storage_ok", atomic_load(&h->storage_ok)) == NULL)
		return -1;
	return 0;
}

cJSON *kp_metrics_live(struct kp_metrics *m, const struct kp_health *health)
{
	cJSON *doc = cJSON_CreateObject();
	int bad = doc == NULL;

	bad = bad || add(doc, "komposter_frames_received_total", (double)LOAD(m->frames_in)) ||
	      add(doc, "komposter_frames_stored_total", (double)LOAD(m->frames_stored)) ||
	      add(doc, "komposter_taps_stored_total", (double)LOAD(m->taps_stored)) ||
	      add(doc, "komposter_counts_stored_total", (double)LOAD(m->counts_stored)) ||
	      add(doc, "komposter_frigate_boardings_total", (double)LOAD(m->frigate_boardings)) ||
	      live_rejected(doc, m) || live_commit(doc, &m->commit_seconds) ||
	      add(doc, "komposter_storage_full_total", (double)LOAD(m->storage_full)) ||
	      add(doc, "komposter_storage_errors_total", (double)LOAD(m->storage_errors)) ||
	      add(doc, "komposter_mqtt_connected", (double)LOAD(m->mqtt_connected)) ||
	      live_ready(doc, health);
	if (bad) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}
