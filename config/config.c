/*
 * config.c — reads komposterd's INI file with inih.
 *
 * The table below is the single list of keys: each row names its section,
 * key, kind and range, and where in struct kp_config it lands. Defaults live
 * in kp_config_default() only, so the README, the defaults and the parser
 * cannot drift apart silently. Anything unknown is an error: a typo in a key
 * must not quietly leave a default in place.
 */
#include "config/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT, K_SIZE, K_EPOCH };

struct key_def {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset;
	size_t size; /* for K_STR: buffer size */
	long min, max;
};

#define STR(sec, key, field) \
	{ sec, key, K_STR, offsetof(struct kp_config, field), sizeof(((struct kp_config *)0)->field), 0, 0 }
#define INT(sec, key, field, lo, hi) \
	{ sec, key, K_INT, offsetof(struct kp_config, field), 0, lo, hi }
#define SIZE(sec, key, field, lo, hi) \
	{ sec, key, K_SIZE, offsetof(struct kp_config, field), 0, lo, hi }

static const struct key_def keys[] = {
	STR("storage", "path", storage_path),
	SIZE("storage", "map_size_mb", map_size_mb, 1, 1L << 24),
	SIZE("storage", "map_size_max_mb", map_size_max_mb, 1, 1L << 24),
	STR("storage", "timezone", timezone),
	INT("storage", "service_day_start_hour", service_day_start_hour, 0, 23),
	{ "storage", "pseudonym_epoch", K_EPOCH, offsetof(struct kp_config, pseudonym_epoch), 0, 0, 0 },
	STR("mqtt", "uri", mqtt_uri),
	STR("mqtt", "client_id", mqtt_client_id),
	STR("mqtt", "username", mqtt_username),
	STR("mqtt", "password", mqtt_password),
	INT("mqtt", "keepalive_s", mqtt_keepalive_s, 5, 3600),
	INT("mqtt", "max_inflight", mqtt_max_inflight, 1, 65535),
	STR("ingest", "server_key", server_key),
	INT("ingest", "verify_workers", verify_workers, 0, 64),
	INT("ingest", "ring_size", ring_size, 16, 1 << 20),
	INT("ingest", "group_max_frames", group_max_frames, 1, 4096),
	INT("ingest", "group_max_wait_ms", group_max_wait_ms, 0, 10000),
	INT("ingest", "accept_past_days", accept_past_days, 1, 3650),
	INT("ingest", "accept_future_s", accept_future_s, 0, 86400),
	STR("http", "listen", http_listen),
	INT("http", "max_connections", http_max_connections, 1, 65536),
	INT("http", "request_timeout_ms", http_request_timeout_ms, 100, 600000),
};

void kp_config_default(struct kp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->storage_path, sizeof(cfg->storage_path), "./data");
	cfg->map_size_mb = 64;
	cfg->map_size_max_mb = 64 * 1024;
	snprintf(cfg->timezone, sizeof(cfg->timezone), "Europe/Kyiv");
	cfg->service_day_start_hour = 3;
	cfg->pseudonym_epoch = ST_EPOCH_DAY;
	snprintf(cfg->mqtt_uri, sizeof(cfg->mqtt_uri), "tcp://127.0.0.1:1883");
	snprintf(cfg->mqtt_client_id, sizeof(cfg->mqtt_client_id), "komposterd");
	cfg->mqtt_keepalive_s = 20;
	cfg->mqtt_max_inflight = 1024;
	snprintf(cfg->server_key, sizeof(cfg->server_key), "./keys/server.key");
	cfg->verify_workers = 0;
	cfg->ring_size = 4096;
	cfg->group_max_frames = 256;
	cfg->group_max_wait_ms = 2;
	cfg->accept_past_days = 30;
	cfg->accept_future_s = 600;
	snprintf(cfg->http_listen, sizeof(cfg->http_listen), "127.0.0.1:8080");
	cfg->http_max_connections = 256;
	cfg->http_request_timeout_ms = 5000;
}

#define DETAIL_SIZE 160

struct load_state {
	struct kp_config *cfg;
	const char *path;
	char *err;
};

static int parse_long(const char *text, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_epoch(const char *text, int *out)
{
	static const char *const names[] = { "day", "week", "month" };
	for (int i = 0; i < 3; i++) {
		if (strcmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static int set_value(const struct key_def *k, struct kp_config *cfg, const char *value,
                     char *why, size_t whylen)
{
	char *field = (char *)cfg + k->offset;
	long v;

	switch (k->kind) {
	case K_STR:
		if (strlen(value) >= k->size) {
			snprintf(why, whylen, "value longer than %zu characters", k->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case K_EPOCH:
		if (parse_epoch(value, (int *)(void *)field) != 0) {
			snprintf(why, whylen, "'%s' is not day, week or month", value);
			return -1;
		}
		return 0;
	case K_INT:
	case K_SIZE:
		if (parse_long(value, &v) != 0 || v < k->min || v > k->max) {
			snprintf(why, whylen, "'%s' is not a whole number from %ld to %ld", value, k->min, k->max);
			return -1;
		}
		if (k->kind == K_INT)
			*(int *)(void *)field = (int)v;
		else
			*(size_t *)(void *)field = (size_t)v;
		return 0;
	}
	return -1;
}

/* inih calls this per key; returning 0 stops the parse at that line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	char why[96];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
			continue;
		if (set_value(&keys[i], st->cfg, value, why, sizeof(why)) == 0)
			return 1;
		snprintf(st->err, DETAIL_SIZE, "[%.24s] %.24s: %s", section, name, why);
		return 0;
	}
	snprintf(st->err, DETAIL_SIZE, "unknown key '%.64s' in [%.64s]", name, section);
	return 0;
}

static int finish(const char *name, int rc, const char *detail, struct kp_config *cfg,
                  char err[KP_CONFIG_ERR_SIZE])
{
	if (rc == -1) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s:%d: %s", name, rc, detail);
		return -1;
	}
	if (cfg->map_size_max_mb < cfg->map_size_mb) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: [storage] map_size_max_mb is below map_size_mb", name);
		return -1;
	}
	return 0;
}

int kp_config_load(const char *path, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE])
{
	char detail[DETAIL_SIZE] = "syntax error";
	struct load_state st = { cfg, path, detail };

	return finish(path, ini_parse(path, on_key, &st), detail, cfg, err);
}

int kp_config_parse_string(const char *text, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE])
{
	char detail[DETAIL_SIZE] = "syntax error";
	struct load_state st = { cfg, "<string>", detail };

	return finish("<string>", ini_parse_string(text, on_key, &st), detail, cfg, err);
}

void kp_config_storage_options(const struct kp_config *cfg, struct st_options *opts)
{
	st_options_default(opts);
	opts->path = cfg->storage_path;
	opts->map_size_initial = cfg->map_size_mb << 20;
	opts->map_size_max = cfg->map_size_max_mb << 20;
	opts->timezone = cfg->timezone;
	opts->service_day_start_hour = cfg->service_day_start_hour;
	opts->epoch_period = cfg->pseudonym_epoch;
}
