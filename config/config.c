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
#include "firmware-proto/partition.h"
#include "ingest/loop.h" /* KP_LOOP_MAX_CONNECTIONS: what the loop's io_uring can hold */
#include "storage/epoch_keys.h"
#include "storage/zone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_STR, K_INT, K_SIZE, K_EPOCH, K_KEYS, K_BOOL, K_TOPIC, K_EPSILON, K_PARTITION };

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
	INT("storage", "pseudonym_retention_days", pseudonym_retention_days, 1, ST_RETENTION_DAYS_MAX),
	{ "storage", "pseudonym_keys", K_KEYS, offsetof(struct kp_config, pseudonym_keys_imported), 0, 0, 0 },
	STR("mqtt", "uri", mqtt_uri),
	STR("mqtt", "client_id", mqtt_client_id),
	STR("mqtt", "username", mqtt_username),
	STR("mqtt", "password", mqtt_password),
	INT("mqtt", "keepalive_s", mqtt_keepalive_s, 5, 3600),
	INT("mqtt", "max_inflight", mqtt_max_inflight, 1, 65535),
	{ "mqtt", "partition", K_PARTITION, offsetof(struct kp_config, mqtt_partition), 0, 0, 0 },
	INT("mqtt", "resync_s", mqtt_resync_s, 1, 86400),
	STR("ingest", "server_key", server_key),
	INT("ingest", "verify_workers", verify_workers, 0, 64),
	INT("ingest", "ring_size", ring_size, 16, 1 << 20),
	INT("ingest", "group_max_frames", group_max_frames, 1, 4096),
	INT("ingest", "group_max_wait_ms", group_max_wait_ms, 0, 10000),
	INT("ingest", "latency_nice", latency_nice, -20, 0),
	INT("ingest", "accept_past_days", accept_past_days, 1, 3650),
	INT("ingest", "accept_future_s", accept_future_s, 0, 86400),
	STR("http", "listen", http_listen),
	INT("http", "max_connections", http_max_connections, 1, KP_LOOP_MAX_CONNECTIONS),
	INT("http", "request_timeout_ms", http_request_timeout_ms, 100, 600000),
	INT("http", "idle_timeout_ms", http_idle_timeout_ms, 100, 600000),
	INT("http", "max_requests_per_connection", http_max_requests_per_connection, 1, 1000000),
	STR("http", "ui_dir", http_ui_dir),
	{ "frigate", "enabled", K_BOOL, offsetof(struct kp_config, frigate_enabled), 0, 0, 0 },
	{ "frigate", "topic_prefix", K_TOPIC, offsetof(struct kp_config, frigate_topic_prefix),
	  sizeof(((struct kp_config *)0)->frigate_topic_prefix), 0, 0 },
	INT("frigate", "ring_size", frigate_ring_size, 16, 65536),
	INT("frigate", "offline_alarm_s", frigate_offline_alarm_s, 1, 7 * 86400),
	INT("frigate", "counted_max", frigate_counted_max, 1, 100000000),
	INT("frigate", "group_max_events", frigate_group_max_events, 1, 4096),
	INT("frigate", "group_max_wait_ms", frigate_group_max_wait_ms, 0, 10000),
	INT("frigate", "position_max_age_s", frigate_position_max_age_s, 1, 86400),
	INT("open_data", "k", open_data_k, 2, 1000000),
	{ "open_data", "epsilon", K_EPSILON, offsetof(struct kp_config, open_data_epsilon), 0, 0, 0 },
	{ "open_data", "publish", K_BOOL, offsetof(struct kp_config, open_data_publish), 0, 0, 0 },
	INT("open_data", "publish_grace_s", open_data_publish_grace_s, 0, 30 * 86400),
	INT("open_data", "publish_interval_s", open_data_publish_interval_s, 1, 3600),
	STR("open_data", "publish_dir", open_data_publish_dir),
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
	/* A quarter: a monthly epoch and the month's late taps (accept_past_days)
	 * are long closed, and no card is linkable for longer (README says why). */
	cfg->pseudonym_retention_days = 90;
	snprintf(cfg->mqtt_uri, sizeof(cfg->mqtt_uri), "tcp://127.0.0.1:1883");
	/* There is no install step: the pages are served from where they were built. */
	snprintf(cfg->http_ui_dir, sizeof(cfg->http_ui_dir), "%s", KP_UI_DIR_DEFAULT);
	snprintf(cfg->mqtt_client_id, sizeof(cfg->mqtt_client_id), "komposterd");
	cfg->mqtt_keepalive_s = 20;
	cfg->mqtt_max_inflight = 1024;
	cfg->mqtt_partition = (struct kp_partition){ .k = 0, .n = 1 }; /* one instance owns every device */
	cfg->mqtt_resync_s = 2; /* an enrolment while running is served within 2 s */
	snprintf(cfg->server_key, sizeof(cfg->server_key), "./keys/server.key");
	cfg->verify_workers = 0;
	cfg->ring_size = 1024;
	cfg->group_max_frames = 256;
	cfg->group_max_wait_ms = 2;
	cfg->accept_past_days = 30;
	cfg->accept_future_s = 600;
	snprintf(cfg->http_listen, sizeof(cfg->http_listen), "127.0.0.1:8080");
	cfg->http_max_connections = 256;
	cfg->http_request_timeout_ms = 5000;
	cfg->http_idle_timeout_ms = 5000;
	cfg->http_max_requests_per_connection = 1000;
	/* On by default: with no Frigate on the broker the two subscriptions
	 * receive nothing and cost nothing. */
	cfg->frigate_enabled = 1;
	snprintf(cfg->frigate_topic_prefix, sizeof(cfg->frigate_topic_prefix), "frigate");
	cfg->frigate_ring_size = 256;
	cfg->frigate_offline_alarm_s = 300;
	cfg->frigate_counted_max = 200000;
	cfg->frigate_group_max_events = 64;
	cfg->frigate_group_max_wait_ms = 50;
	cfg->frigate_position_max_age_s = 600;
	cfg->open_data_k = 10;
	cfg->open_data_epsilon = 0; /* off: no noise */
	cfg->open_data_publish = 1;
	/* A day: offline validators upload their taps when they come back. */
	cfg->open_data_publish_grace_s = 86400;
	cfg->open_data_publish_interval_s = 60;
}

#define DETAIL_SIZE 160
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
/* A config file is a page of text; anything larger is a wrong path. */
#define CONFIG_FILE_MAX (1 << 20)

/*
 * inih reads the text through read_line() below, which counts lines so that
 * an error names its own line (inih reports only the first error's line, and
 * keeps parsing after it), refuses lines too long for inih's buffer, and
 * looks at section headers: inih calls the
 * handler for keys only, so an empty section with a mistyped name would pass
 * unseen otherwise.
 */
struct load_state {
	struct kp_config *cfg;
	const char *text; /* what is left to read */
	int line;         /* the line read_line() returned last */
	int set_on[N_KEYS]; /* the line each key was set on, 0 when not yet */
	int err_line;       /* the first error's line, 0 when none */
	int errors;
	char detail[DETAIL_SIZE];
};

static void record_error(struct load_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void record_error(struct load_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->errors++ > 0)
		return;
	st->err_line = st->line;
	va_start(ap, fmt);
	vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
	va_end(ap);
}

static int section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strlen(keys[i].section) == len && memcmp(keys[i].section, name, len) == 0)
			return 1;
	return 0;
}

static void check_section_header(struct load_state *st, const char *line)
{
	line += strspn(line, " \t");
	if (*line != '[')
		return;
	const char *close = strchr(line, ']');
	if (!close)
		return; /* inih reports the syntax error */
	if (!section_known(line + 1, (size_t)(close - line - 1)))
		record_error(st, "unknown section [%.*s]", (int)(close - line - 1 > 64 ? 64 : close - line - 1),
		             line + 1);
}

/* fgets over st->text, one whole line a call. inih's buffer is fixed
 * (INI_MAX_LINE); it would parse the rest of a longer line as a line of its
 * own, so a longer line ends the parse with an error of its own. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	size_t n = strcspn(st->text, "\n");

	if (*st->text == '\0' || num < 2)
		return NULL;
	if (st->text[n] == '\n')
		n++;
	st->line++;
	if (n > (size_t)num - 1) {
		record_error(st, "line longer than %d characters", num - 2);
		return NULL;
	}
	memcpy(str, st->text, n);
	str[n] = '\0';
	st->text += n;
	check_section_header(st, str);
	return str;
}

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

static int parse_bool(const char *text, int *out)
{
	if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
		*out = text[0] == 't';
		return 0;
	}
	return -1;
}

/* A topic prefix as Frigate's mqtt.topic_prefix: one or more topic levels of
 * printable ASCII, no wildcard, no empty level, no leading '$' (the broker's
 * own $SYS). */
static int topic_prefix_valid(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || text[0] == '/' || text[n - 1] == '/' || text[0] == '$' || strstr(text, "//"))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (text[i] <= 0x20 || text[i] >= 0x7f || text[i] == '+' || text[i] == '#')
			return 0;
	return 1;
}

/* [open_data] epsilon: "off", or a decimal number from 0.01 to 10 (the
 * privacy loss per tap of the geometric mechanism; above 10 the noise is
 * nil, below 0.01 it swamps every count). */
static int parse_epsilon(const char *text, double *out)
{
	char *end;
	double v;

	if (strcmp(text, "off") == 0) {
		*out = 0;
		return 0;
	}
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end != '\0' || !(v >= 0.01 && v <= 10))
		return -1;
	*out = v;
	return 0;
}

static int quoted(const char *value)
{
	size_t n = strlen(value);
	return n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0];
}

static int set_value(const struct key_def *k, struct kp_config *cfg, const char *value,
                     char *why, size_t whylen)
{
	char *field = (char *)cfg + k->offset;
	long v;

	switch (k->kind) {
	case K_STR:
		/* inih keeps quotes; a quoted path would name a file with quotes in it. */
		if (quoted(value)) {
			snprintf(why, whylen, "values are written without quotes");
			return -1;
		}
		if (strlen(value) >= k->size) {
			snprintf(why, whylen, "value longer than %zu characters", k->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case K_BOOL:
		if (parse_bool(value, (int *)(void *)field) != 0) {
			snprintf(why, whylen, "'%.32s' is not true or false", value);
			return -1;
		}
		return 0;
	case K_TOPIC:
		if (strlen(value) >= k->size || !topic_prefix_valid(value)) {
			snprintf(why, whylen, "'%.24s' is not a topic prefix (printable, no + # space $ or empty level)",
			         value);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case K_EPSILON:
		if (parse_epsilon(value, (double *)(void *)field) != 0) {
			snprintf(why, whylen, "'%.32s' is not off or a number from 0.01 to 10", value);
			return -1;
		}
		return 0;
	case K_PARTITION:
		if (kp_partition_parse(value, (struct kp_partition *)(void *)field) != 0) {
			snprintf(why, whylen, "'%.24s' is not K/N with 0 <= K < N <= %d", value, KP_PARTITION_N_MAX);
			return -1;
		}
		return 0;
	case K_EPOCH:
		if (parse_epoch(value, (int *)(void *)field) != 0) {
			snprintf(why, whylen, "'%s' is not day, week or month", value);
			return -1;
		}
		return 0;
	case K_KEYS:
		/* local: this instance makes its keys; imported: they come from
		 * `komposter keys import` (storage/epoch_share.h). */
		if (strcmp(value, "local") != 0 && strcmp(value, "imported") != 0) {
			snprintf(why, whylen, "'%s' is not local or imported", value);
			return -1;
		}
		*(int *)(void *)field = value[0] == 'i';
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

/* inih calls this per key. Every key is checked, but only the first error
 * is described: it is the one whose line inih reports too. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	char why[96];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
			continue;
		if (st->set_on[i]) {
			record_error(st, "[%.24s] %.32s set twice (first on line %d)", section, name, st->set_on[i]);
			return 0;
		}
		st->set_on[i] = st->line;
		if (set_value(&keys[i], st->cfg, value, why, sizeof(why)) == 0)
			return 1;
		record_error(st, "[%.24s] %.32s: %s", section, name, why);
		return 0;
	}
	record_error(st, "unknown key '%.64s' in [%.64s]", name, section);
	return 0;
}
/* Paho (the non-TLS library komposterd links) takes tcp://, mqtt:// and
 * ws:// URIs; without a scheme it would take "nonsense" as a host name and
 * retry the connection forever, so a scheme is required here. */
static int check_mqtt_uri(const char *uri, char *why, size_t whylen)
{
	static const char *const schemes[] = { "tcp://", "mqtt://", "ws://" };
	const char *host = NULL;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
			host = uri + strlen(schemes[i]);
	if (!host) {
		snprintf(why, whylen, "'%.64s' is not tcp://HOST:PORT, mqtt://HOST:PORT or ws://HOST:PORT/PATH", uri);
		return -1;
	}
	size_t host_len = strcspn(host, ":/");
	if (host_len == 0) {
		snprintf(why, whylen, "'%.64s' names no host", uri);
		return -1;
	}
	const char *port = host + host_len;
	if (*port == ':') {
		char *end;
		long v = strtol(port + 1, &end, 10);
		if (end == port + 1 || (*end != '\0' && *end != '/') || v < 1 || v > 65535) {
			snprintf(why, whylen, "'%.64s' has no port from 1 to 65535 after the host", uri);
			return -1;
		}
	}
	return 0;
}

int kp_listen_parse(const char *text, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(text, ':');
	char *end;

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int kp_config_check(const struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE])
{
	struct sockaddr_in sa;
	char why[160];

	if (cfg->map_size_max_mb < cfg->map_size_mb) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "[storage] map_size_max_mb is below map_size_mb");
		return -1;
	}
	if (kp_listen_parse(cfg->http_listen, &sa) != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "[http] listen: '%.64s' is not IPV4-ADDRESS:PORT", cfg->http_listen);
		return -1;
	}
	if (check_mqtt_uri(cfg->mqtt_uri, why, sizeof(why)) != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "[mqtt] uri: %s", why);
		return -1;
	}
	if (st_zone_valid(cfg->timezone, why, sizeof(why)) != ST_OK) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "[storage] timezone: %s", why);
		return -1;
	}
	if (cfg->open_data_publish && cfg->mqtt_partition.n > 1) {
		snprintf(err, KP_CONFIG_ERR_SIZE,
		         "[open_data] publish: instance %" PRIu32 "/%" PRIu32 " of a partition publishes no package of its "
		         "own: beside the merged one (komposter merge) it would give away the cells it suppressed",
		         cfg->mqtt_partition.k, cfg->mqtt_partition.n);
		return -1;
	}
	char dir[KP_CONFIG_STR_SIZE];

	if (kp_config_publish_dir(cfg, dir, sizeof(dir)) != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "[open_data] publish_dir: [storage] path + \"/open\" is too long");
		return -1;
	}
	return 0;
}

static int key_was_set(const struct load_state *st, const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return st->set_on[i] != 0;
	return 0;
}

/* An instance of a partition of N > 1 publishes no package of its own:
 * beside the city-wide one (komposter merge) its cells would give away, by
 * difference, every cell it suppressed. So publish defaults to off there,
 * and kp_config_check refuses it on. */
static void publish_follows_partition(const struct load_state *st)
{
	if (st->cfg->mqtt_partition.n > 1 && !key_was_set(st, "open_data", "publish"))
		st->cfg->open_data_publish = 0;
}

static int parse_text(const char *name, const char *text, struct kp_config *cfg,
                      char err[KP_CONFIG_ERR_SIZE])
{
	struct load_state st = { .cfg = cfg, .text = text };
	char why[KP_CONFIG_ERR_SIZE];

	int rc = ini_parse_stream(read_line, &st, on_key, &st);
	if (rc == -2) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: out of memory", name);
		return -1;
	}
	if (rc > 0 && (st.errors == 0 || rc < st.err_line)) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s:%d: not a 'key = value' line or a [section]", name, rc);
		return -1;
	}
	if (st.errors > 1) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s:%d: %s (and %d more errors after it)", name, st.err_line,
		         st.detail, st.errors - 1);
		return -1;
	}
	if (st.errors == 1) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s:%d: %s", name, st.err_line, st.detail);
		return -1;
	}
	publish_follows_partition(&st);
	if (kp_config_check(cfg, why) != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: %.200s", name, why);
		return -1;
	}
	return 0;
}

/* The whole file is read first: one parse path for files and strings, and a
 * directory or a device given to -c is refused instead of read as empty. */
static char *read_file(const char *path, char err[KP_CONFIG_ERR_SIZE])
{
	struct stat sb;
	char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CONFIG_FILE_MAX) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: not a configuration file (%s)", path,
		         S_ISDIR(sb.st_mode) ? "a directory" : !S_ISREG(sb.st_mode) ? "not a regular file" : "over 1 MiB");
		goto out;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		snprintf(err, KP_CONFIG_ERR_SIZE, "%s: out of memory", path);
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, text + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, KP_CONFIG_ERR_SIZE, "%s: %s", path, n < 0 ? strerror(errno) : "changed while read");
			free(text);
			text = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	text[got] = '\0';
out:
	close(fd);
	return text;
}

int kp_config_load(const char *path, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE])
{
	char *text = read_file(path, err);
	if (!text)
		return -1;
	int rc = parse_text(path, text, cfg, err);
	free(text);
	return rc;
}

int kp_config_parse_string(const char *text, struct kp_config *cfg, char err[KP_CONFIG_ERR_SIZE])
{
	return parse_text("<string>", text, cfg, err);
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
	opts->epoch_keys_imported = cfg->pseudonym_keys_imported;
}

const char *kp_config_ui_dir_default(void)
{
	return KP_UI_DIR_DEFAULT;
}

int kp_config_publish_dir(const struct kp_config *cfg, char *out, size_t size)
{
	int n = cfg->open_data_publish_dir[0] != '\0' ? snprintf(out, size, "%s", cfg->open_data_publish_dir)
	                                               : snprintf(out, size, "%s/open", cfg->storage_path);

	return n >= 0 && (size_t)n < size ? 0 : -1;
}
