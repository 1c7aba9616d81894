/*
 * config.h — the one INI configuration file of komposterd (and of the
 * `komposter` tool, which reads the [storage] section to find the database).
 * It has a folder of its own because both programs read it and neither
 * owns it: the tool reads the whole file as strictly as the daemon does
 * (a typo anywhere is an error for both) through this one key table.
 * Every key has a default that serves on one machine; st_options-style
 * defaults come from kp_config_default(). Unknown sections or keys and
 * values out of range are errors, reported with the line number.
 *
 *   [storage]  path, map_size_mb, map_size_max_mb, timezone,
 *              service_day_start_hour, pseudonym_epoch (day|week|month),
 *              pseudonym_retention_days, pseudonym_keys (local|imported)
 *   [mqtt]     uri, client_id, username, password, keepalive_s, max_inflight,
 *              partition (K/N: this instance's share of the devices,
 *              firmware-proto/partition.h; default 0/1, every device),
 *              resync_s (N > 1: seconds between registry re-reads, 1-86400)
 *   [ingest]   server_key, verify_workers (0 = one per core), ring_size,
 *              group_max_frames, group_max_wait_ms, accept_past_days,
 *              accept_future_s, latency_nice (-20..0: the nice value of the
 *              writer and publisher threads, ingest/thread_attr.h; default 0)
 *   [http]     listen (host:port), max_connections, request_timeout_ms,
 *              idle_timeout_ms, max_requests_per_connection, ui_dir (the
 *              dashboards' folder, ingest/ui_http.h; default: the source
 *              tree's web/ the program was built from; empty: not served)
 *   [frigate]  enabled (true|false), topic_prefix, ring_size, offline_alarm_s,
 *              counted_max, group_max_events, group_max_wait_ms, position_max_age_s
 *   [open_data] k (suppression threshold, 2..1000000, default 10),
 *              epsilon (off, or 0.01..10: geometric noise on published counts),
 *              publish (true|false), publish_grace_s (0..2592000, default
 *              86400), publish_interval_s (1..3600, default 60),
 *              publish_dir (default: [storage] path + "/open")
 */
#ifndef KP_CONFIG_H
#define KP_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>

#include "firmware-proto/partition.h"
#include "storage/db.h"

#define KP_CONFIG_ERR_SIZE 256
#define KP_CONFIG_STR_SIZE 256

struct kp_config {
	/* [storage] */
	char storage_path[KP_CONFIG_STR_SIZE];
	size_t map_size_mb;
	size_t map_size_max_mb;
	char timezone[64];
	int service_day_start_hour;
	int pseudonym_epoch; /* enum st_epoch_period */
	int pseudonym_retention_days; /* epoch keys older are destroyed (storage/epoch_keys.h) */
	int pseudonym_keys_imported; /* 1: keys only from `komposter keys import` (storage/epoch_share.h) */
	/* [mqtt] */
	char mqtt_uri[KP_CONFIG_STR_SIZE];
	char mqtt_client_id[128];
	char mqtt_username[128];
	char mqtt_password[128];
	int mqtt_keepalive_s;
	int mqtt_max_inflight; /* ACK publishes handed to Paho at once */
	struct kp_partition mqtt_partition; /* the devices this instance owns */
	int mqtt_resync_s; /* N > 1: seconds between re-reads of the registry (SIGHUP: at once) */
	/* [ingest] */
	char server_key[KP_CONFIG_STR_SIZE];
	int verify_workers;
	int ring_size;
	int group_max_frames;
	int group_max_wait_ms;
	int latency_nice; /* the writer's and the publisher's nice value; 0: as started */
	int accept_past_days;
	int accept_future_s;
	/* [http] */
	char http_listen[128];
	int http_max_connections;
	int http_request_timeout_ms;
	int http_idle_timeout_ms;
	int http_max_requests_per_connection;
	char http_ui_dir[KP_CONFIG_STR_SIZE]; /* "": /ui/ is not served */
	/* [frigate] */
	int frigate_enabled; /* 0 or 1 */
	char frigate_topic_prefix[128]; /* Frigate's mqtt.topic_prefix: {prefix}/events, {prefix}/available */
	int frigate_ring_size;          /* messages between MQTT and the Frigate stage */
	int frigate_offline_alarm_s;    /* alarm once Frigate has said offline this long */
	int frigate_counted_max;        /* tracked objects remembered as counted (nvr.h) */
	int frigate_group_max_events;   /* events per NVR commit */
	int frigate_group_max_wait_ms;  /* longest wait for an NVR commit group to fill */
	int frigate_position_max_age_s; /* an onboard camera counts only at a vehicle position this close in time */
	/* [open_data] */
	int open_data_k;          /* counts below k are suppressed in open data */
	double open_data_epsilon; /* ε of the geometric noise; 0: off */
	int open_data_publish;         /* 0 or 1: komposterd publishes closed dates (default 1;
	                                * 0, and 1 refused, in a partition of N > 1) */
	int open_data_publish_grace_s; /* wait for late taps after a date ends */
	int open_data_publish_interval_s; /* between two looks for dates to publish */
	char open_data_publish_dir[KP_CONFIG_STR_SIZE]; /* "": [storage] path + "/open" */
};

void kp_config_default(struct kp_config *cfg);
/* Reads path (a regular file) over the defaults already in cfg, then checks
 * the values together (kp_config_check). Returns 0, or -1 with one line in
 * err naming the first wrong line: "FILE:LINE: unknown key 'x' in [mqtt]
 * (and 2 more errors after it)". Unknown sections, keys set twice and quoted
 * values are errors. */
int kp_config_load(const char *path, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE]);
/* The same for INI text in memory (tests, fuzzing). */
int kp_config_parse_string(const char *text, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE]);
/* Checks what single keys cannot: the listen address and the broker URI
 * parse, the time zone is a tz database name (storage/zone.h), the map sizes
 * agree. Returns 0, or -1 with one line in err. */
int kp_config_check(const struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE]);
/* "IPV4-ADDRESS:PORT", the form of [http] listen. Returns 0 or -1. */
int kp_listen_parse(const char *text, struct sockaddr_in *sa);
/* The folder komposterd publishes open data into: publish_dir, or
 * [storage] path + "/open" when it is empty. 0, or -1 when too long. */
int kp_config_publish_dir(const struct kp_config *cfg, char *out, size_t size);
/* The folder [http] ui_dir has when the file does not set it: the web/
 * folder of the source tree this program was built from. */
const char *kp_config_ui_dir_default(void);
/* The storage options the config describes (strings borrowed from cfg). */
void kp_config_storage_options(const struct kp_config *cfg, struct st_options *opts);

#endif
