/*
 * komposterd — takes signed tap frames from MQTT, stores each exactly once
 * in LMDB, and answers every device with a signed ACK after the commit.
 *
 * main() owns everything the stages share — the config, the database, the
 * server key, the metrics, the health flags and the queues between them —
 * and gives each stage, when it starts, a context naming only what that
 * stage borrows (verify.h, writer.h, publisher.h, intake_mqtt.h, loop.h):
 *
 *   intake_mqtt ──intake──▶ verify workers ──to_writer──▶ writer
 *     │  ▲                        │                          │
 *     │  │ transport              ▼                          │
 *     │ publisher ◀──── replies (bounded, never waited on) ◀─┘
 *     └──frigate──▶ Frigate stage (parse, cameras, st_nvr_commit)
 *
 * It runs the io_uring loop on this thread until SIGTERM, then drains in
 * data-flow order: disconnect from the broker first (the persistent session
 * keeps what follows; every frame Paho PUBACKed is taken, intake_mqtt.h),
 * let the verify workers empty their ring, let the writer and the Frigate
 * stage commit what they hold, close the database. The ACKs of what is
 * committed after the disconnect are not sent: the devices re-send, and the
 * next run ACKs those frames as duplicates.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "firmware-proto/frame.h"
#include "firmware-proto/keyfile.h"
#include "ingest/answer_cache.h"
#include "ingest/frigate_stage.h"
#include "ingest/health.h"
#include "ingest/thread_attr.h"
#include "ingest/ui_http.h"
#include "ingest/inbound.h"
#include "ingest/intake_mqtt.h"
#include "ingest/loop.h"
#include "ingest/metrics.h"
#include "ingest/publish_stage.h"
#include "ingest/publisher.h"
#include "ingest/replies.h"
#include "ingest/ring.h"
#include "ingest/verify.h"
#include "ingest/writer.h"
#include "storage/dir_lock.h"
#include "storage/db.h"
#include "storage/devices.h"

struct kp_daemon {
	struct kp_config cfg;
	struct st_db *db;
	uint8_t server_sk[KP_SECRET_KEY_SIZE];
	struct kp_metrics metrics;
	struct kp_health health;   /* for /readyz */
	struct kp_ring intake;     /* struct kp_inbound: MQTT → verify */
	struct kp_ring to_writer;  /* struct kp_inbound: verify → writer */
	struct kp_replies replies; /* verify, writer → publisher; never waited on */
	struct kp_nack_limit nack_limit; /* NACKs per device and reason; the verify workers' */
	struct kp_ring frigate;    /* struct kp_frigate_msg: MQTT → Frigate stage */
	struct kp_intake *mqtt;
	struct kp_publisher *publisher;
	struct kp_writer *writer;
	struct kp_frigate_stage *frigate_stage;
	struct kp_publish_stage *publish_stage; /* open data; reads the database only */
	struct kp_answer_cache *answers;        /* ridership answers, the loop's thread only */
	char publish_dir[KP_CONFIG_STR_SIZE];
	const char *ui_dir; /* NULL: /ui/ is not served */
	char partition[KP_PARTITION_TEXT_SIZE]; /* "K/N", said in ridership answers */
};

static const char usage[] =
	"usage: komposterd [-c FILE] [--check-config]\n"
	"\n"
	"Takes signed tap and passenger-count frames from the MQTT broker, verifies\n"
	"them, stores each exactly once in LMDB and answers every device with a\n"
	"signed ACK after the commit. Counts passengers from Frigate's camera events\n"
	"([frigate] in the config). Serves /healthz, /readyz and /metrics over HTTP,\n"
	"the API under /v1/, open data under /open/ and the dashboards under /ui/.\n"
	"Publishes each closed service date's open-data package ([open_data]).\n"
	"One komposterd per database: a second one on the same database refuses to start.\n"
	"\n"
	"  -c, --config FILE   INI configuration (default: built-in defaults)\n"
	"      --check-config  check the configuration (every key, the listen address,\n"
	"                      the broker URI, the time zone, [http] ui_dir) and the server\n"
	"                      key, then exit\n"
	"  -h, --help          this text\n"
	"  -V, --version       the version\n"
	"\n"
	"Signals: SIGTERM/SIGINT disconnect from the broker, store every frame already\n"
	"taken and exit (the broker keeps the rest for the next run); SIGHUP re-reads\n"
	"the device registry's subscriptions at once (partition N > 1; else it is live).\n"
	"Exit status: 0 after a clean drain, 1 on a start-up or runtime failure (bad\n"
	"configuration, server key open to others, database held by another komposterd),\n"
	"2 on a usage error.\n";

struct args {
	const char *config;
	int check_only;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0, 0, 0, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'C': a->check_only = 1; break;
		case 'h': fputs(usage, stdout); exit(0);
		case 'V': puts("komposterd 0.1.0"); exit(0);
		default:
			fprintf(stderr, "komposterd: try --help\n");
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "komposterd: unexpected argument '%s'; try --help\n", argv[optind]);
		exit(2);
	}
	return 0;
}

/* The dashboards are not what the daemon is for: the built-in folder
 * missing (a daemon installed away from its source tree, or kept from it by
 * the unit's ProtectHome) is one line, and /ui/ is 404. A folder the
 * operator named must hold them: --check-config and the start fail. */
static int check_ui_dir(struct kp_daemon *d)
{
	char why[KP_CONFIG_STR_SIZE + 96];
	int named = strcmp(d->cfg.http_ui_dir, kp_config_ui_dir_default()) != 0;

	d->ui_dir = NULL;
	if (d->cfg.http_ui_dir[0] == '\0')
		return 0;
	if (kp_ui_dir_usable(d->cfg.http_ui_dir, why, sizeof(why)) != 0) {
		fprintf(stderr, "komposterd: [http] ui_dir: %s%s\n", why, named ? "" : "; /ui/ is not served");
		return named ? -1 : 0;
	}
	d->ui_dir = d->cfg.http_ui_dir;
	return 0;
}

/* A priority the operator asked for and this process may not give is a
 * mistake to say at start (and in --check-config), not a slower daemon. */
static int check_latency_nice(const struct kp_daemon *d)
{
	int nice = d->cfg.latency_nice;
	int ok = nice == 0 ? 1 : kp_thread_nice_allowed(nice);

	if (ok == 1)
		return 0;
	if (ok == 0)
		fprintf(stderr,
		        "komposterd: [ingest] latency_nice = %d: this process may not raise a thread's priority "
		        "(it needs CAP_SYS_NICE or RLIMIT_NICE >= %d; systemd: LimitNICE=%d)\n",
		        nice, 20 - nice, nice);
	else
		fprintf(stderr, "komposterd: [ingest] latency_nice: cannot read this thread's nice value: %s\n",
		        strerror(errno));
	return -1;
}

static int load(struct kp_daemon *d, const struct args *a)
{
	char err[KP_CONFIG_ERR_SIZE > KP_KEYFILE_ERR_SIZE ? KP_CONFIG_ERR_SIZE : KP_KEYFILE_ERR_SIZE];

	kp_config_default(&d->cfg);
	if (a->config && kp_config_load(a->config, &d->cfg, err) != 0) {
		fprintf(stderr, "komposterd: %s\n", err);
		return -1;
	}
	if (kp_keyfile_read_secret(d->cfg.server_key, d->server_sk, err) != 0) {
		fprintf(stderr, "komposterd: server key: %s\n", err);
		return -1;
	}
	if (kp_config_publish_dir(&d->cfg, d->publish_dir, sizeof(d->publish_dir)) != 0) {
		fprintf(stderr, "komposterd: [open_data] publish_dir is too long\n");
		return -1;
	}
	return check_ui_dir(d) == 0 && check_latency_nice(d) == 0 ? 0 : -1;
}

static int workers_wanted(const struct kp_config *cfg)
{
	if (cfg->verify_workers > 0)
		return cfg->verify_workers;
	/* Each worker holds an LMDB reader slot (126 by default, shared with the
	 * komposter tools); 64 workers is far beyond any Ed25519 need. */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
}

static int open_rings(struct kp_daemon *d)
{
	size_t n = (size_t)d->cfg.ring_size;

	/* Replies: room for every frame the other rings and one group can hold,
	 * and as much again for floods of cheap rejections. */
	size_t replies = 4 * n + (size_t)d->cfg.group_max_frames;

	if (kp_ring_init(&d->intake, n, sizeof(struct kp_inbound)) != 0 ||
	    kp_ring_init(&d->to_writer, n, sizeof(struct kp_inbound)) != 0 ||
	    kp_ring_init(&d->frigate, (size_t)d->cfg.frigate_ring_size, sizeof(struct kp_frigate_msg)) != 0 ||
	    kp_replies_init(&d->replies, replies, &d->metrics) != 0) {
		fprintf(stderr, "komposterd: out of memory for rings of %zu\n", n);
		return -1;
	}
	return 0;
}

/* The riders' sketches are written at most this often (storage/riders.h,
 * "Deferred"): half of a small commit's bytes otherwise, and a quarter of a
 * second is as fresh as a distinct-riders figure needs to be. */
#define KP_RIDERS_DEFER_MS 250
/* The cells, indexes and traffic of stored frames are derived this long
 * after their commit, many frames to a transaction (storage/derive.h): a
 * commit group then writes half the pages, and the daemon's readers bring
 * them up to date before they read. */
#define KP_DERIVE_DEFER_MS 100

static int open_storage(struct kp_daemon *d)
{
	struct st_options opts;

	kp_config_storage_options(&d->cfg, &opts);
	opts.exclusive = 1;
	opts.riders_defer_ms = KP_RIDERS_DEFER_MS;
	opts.derive_defer_ms = KP_DERIVE_DEFER_MS;
	int rc = st_db_open(&d->db, &opts);
	if (rc == ST_EBUSY) {
		fprintf(stderr, "komposterd: database %s is in use by another komposterd (pid %ld); not starting\n",
		        opts.path, (long)st_dir_lock_holder(opts.path));
		return -1;
	}
	if (rc != ST_OK) {
		fprintf(stderr, "komposterd: database %s: %s\n", opts.path, st_strerror(rc));
		return -1;
	}
	atomic_store(&d->health.storage_ok, 1);
	atomic_store(&d->metrics.map_size_bytes, st_db_map_size(d->db));
	return 0;
}

static struct kp_verify_ctx verify_ctx(struct kp_daemon *d)
{
	return (struct kp_verify_ctx){
		.cfg = { .accept_past_days = d->cfg.accept_past_days, .accept_future_s = d->cfg.accept_future_s,
		         .partition = d->cfg.mqtt_partition },
		.db = d->db,
		.in = &d->intake,
		.out = &d->to_writer,
		.replies = &d->replies,
		.m = &d->metrics,
		.nack_limit = &d->nack_limit,
	};
}

static struct kp_writer_ctx writer_ctx(struct kp_daemon *d)
{
	return (struct kp_writer_ctx){
		.cfg = { .group_max_frames = d->cfg.group_max_frames,
		         .group_max_wait_ms = d->cfg.group_max_wait_ms,
		         .key_retention_days = d->cfg.pseudonym_retention_days,
		         .nice = d->cfg.latency_nice },
		.db = d->db,
		.in = &d->to_writer,
		.replies = &d->replies,
		.m = &d->metrics,
		.health = &d->health,
	};
}

struct owned_read {
	const struct kp_partition *p;
	struct kp_device_set *out;
};

/* st_device_foreach: the devices that send over MQTT (not NVRs, whose
 * cameras come through Frigate's topics) and that this partition owns;
 * 1 (stop) out of memory. */
static int keep_owned(void *ctx, const struct st_device *dev)
{
	struct owned_read *r = ctx;

	if (dev->kind == ST_KIND_NVR || !kp_partition_owns(r->p, dev->id))
		return 0;
	return kp_device_set_add(r->out, dev->id) != 0;
}

/* The intake's owned_devices: the registry in one read transaction. */
static int owned_devices(void *ctx, struct kp_device_set *out)
{
	struct kp_daemon *d = ctx;
	struct owned_read r = { &d->cfg.mqtt_partition, out };
	struct st_read rd;
	int rc;

	if (st_read_begin(d->db, &rd) != ST_OK) {
		fprintf(stderr, "komposterd: partition: cannot read the device registry; retrying\n");
		return -1;
	}
	rc = st_device_foreach(&rd, keep_owned, &r);
	st_read_end(&rd);
	if (rc != ST_OK) {
		fprintf(stderr, "komposterd: partition: %s the device registry; retrying\n",
		        rc == ST_ESTOP ? "out of memory reading" : "cannot read");
		return -1;
	}
	return 0;
}

static struct kp_intake_ctx intake_ctx(struct kp_daemon *d)
{
	return (struct kp_intake_ctx){
		.cfg = {
			.uri = d->cfg.mqtt_uri,
			.client_id = d->cfg.mqtt_client_id,
			.username = d->cfg.mqtt_username,
			.password = d->cfg.mqtt_password,
			.keepalive_s = d->cfg.mqtt_keepalive_s,
			.publish_max_inflight = d->cfg.mqtt_max_inflight,
			.frigate_prefix = d->cfg.frigate_enabled ? d->cfg.frigate_topic_prefix : NULL,
			.partition = d->cfg.mqtt_partition,
			.resync_s = d->cfg.mqtt_resync_s,
			.owned_devices = owned_devices,
			.owned_ctx = d,
		},
		.out = &d->intake,
		.frigate = &d->frigate,
		.m = &d->metrics,
		.health = &d->health,
	};
}

static struct kp_frigate_stage_ctx frigate_ctx(struct kp_daemon *d)
{
	return (struct kp_frigate_stage_ctx){
		.cfg = {
			.group_max_events = d->cfg.frigate_group_max_events,
			.group_max_wait_ms = d->cfg.frigate_group_max_wait_ms,
			.counted_max = (size_t)d->cfg.frigate_counted_max,
			.offline_alarm_s = d->cfg.frigate_offline_alarm_s,
			.accept_past_days = d->cfg.accept_past_days,
			.accept_future_s = d->cfg.accept_future_s,
			.position_max_age_s = d->cfg.frigate_position_max_age_s,
			.session = d->cfg.frigate_enabled,
		},
		.db = d->db,
		.in = &d->frigate,
		.m = &d->metrics,
		.health = &d->health,
	};
}

static void reread_registry(void *arg)
{
	kp_intake_reread(arg);
}

static struct kp_loop_ctx loop_ctx(struct kp_daemon *d)
{
	return (struct kp_loop_ctx){
		.cfg = {
			.listen = d->cfg.http_listen,
			.max_connections = d->cfg.http_max_connections,
			.request_timeout_ms = d->cfg.http_request_timeout_ms,
			.idle_timeout_ms = d->cfg.http_idle_timeout_ms,
			.max_requests = d->cfg.http_max_requests_per_connection,
		},
		.http = { .m = &d->metrics, .health = &d->health, .db = d->db, .open_dir = d->publish_dir,
		          .cache = d->answers,
		          .ui_dir = d->ui_dir, .partition = d->partition },
		.on_hup = reread_registry,
		.on_hup_arg = d->mqtt,
	};
}

static struct kp_publisher_ctx publisher_ctx(struct kp_daemon *d)
{
	return (struct kp_publisher_ctx){
		.transport = kp_intake_transport(d->mqtt),
		.server_sk = d->server_sk,
		.max_inflight = d->cfg.mqtt_max_inflight,
		.replies = &d->replies,
		.m = &d->metrics,
		.nice = d->cfg.latency_nice,
	};
}

static struct kp_publish_ctx publish_ctx(struct kp_daemon *d)
{
	return (struct kp_publish_ctx){
		.cfg = {
			.dir = d->publish_dir,
			.enabled = d->cfg.open_data_publish,
			.grace_ms = (int64_t)d->cfg.open_data_publish_grace_s * 1000,
			.recheck_days = d->cfg.accept_past_days,
			.interval_ms = d->cfg.open_data_publish_interval_s * 1000,
			.k = (uint64_t)d->cfg.open_data_k,
			.epsilon = d->cfg.open_data_epsilon,
		},
		.db = d->db,
		.server_sk = d->server_sk,
		.m = &d->metrics,
	};
}

/* Each HTTP answer is allocated and freed on the loop's thread (tens of
 * KiB for a ridership answer). With glibc's defaults the free often gave
 * the heap's top back (brk) and the next answer faulted the pages in again,
 * and an answer over 128 KiB was mmap'd and unmapped each time: a third of
 * a cached answer's cost under perf. Freed heap up to 64 MiB is kept, and
 * answers up to 4 MiB (over the cache's largest body) come from the heap.
 * ASan has its own allocator, which ignores these settings. */
static void tune_malloc(void)
{
#ifndef __SANITIZE_ADDRESS__
	if (mallopt(M_TRIM_THRESHOLD, 64 << 20) != 1 || mallopt(M_MMAP_THRESHOLD, 4 << 20) != 1)
		fprintf(stderr, "komposterd: warning: mallopt refused; answers may be slower\n");
#endif
}

/* How long the stop waits for the pipeline to take what Paho holds before
 * the disconnect can go through; then frames still arriving are dropped. */
#define DRAIN_WAIT_MS 10000

static int run(struct kp_daemon *d)
{
	struct kp_verify_pool *pool = NULL;
	int rc = 1;

	if (kp_loop_block_signals() != 0 || open_rings(d) != 0 || open_storage(d) != 0)
		return 1;
	/* The MQTT client first (no network yet): the publisher sends through it. */
	struct kp_intake_ctx intake = intake_ctx(d);
	if (kp_intake_create(&intake, &d->mqtt) != 0)
		goto drain;
	struct kp_publisher_ctx publisher = publisher_ctx(d);
	struct kp_writer_ctx writer = writer_ctx(d);
	struct kp_frigate_stage_ctx frigate = frigate_ctx(d);
	if (kp_publisher_start(&publisher, &d->publisher) != 0 || kp_writer_start(&writer, &d->writer) != 0 ||
	    kp_frigate_stage_start(&frigate, &d->frigate_stage) != 0) {
		fprintf(stderr, "komposterd: cannot start the writer, publisher or Frigate thread\n");
		goto drain;
	}
	struct kp_publish_ctx publish = publish_ctx(d);
	if (d->cfg.open_data_publish && kp_publish_stage_start(&publish, &d->publish_stage) != 0) {
		fprintf(stderr, "komposterd: cannot start the open-data publisher\n");
		goto drain;
	}
	struct kp_verify_ctx verify = verify_ctx(d);
	if (kp_verify_start(&verify, workers_wanted(&d->cfg), &pool) != 0 || kp_intake_start(d->mqtt) != 0)
		goto drain;
	fprintf(stderr, "komposterd: running: %d verify workers, database %s, broker %s, Frigate %s%s\n",
	        workers_wanted(&d->cfg), d->cfg.storage_path, d->cfg.mqtt_uri,
	        d->cfg.frigate_enabled ? d->cfg.frigate_topic_prefix : "off",
	        d->cfg.frigate_enabled ? "/events" : "");
	d->answers = kp_answer_cache_new();
	if (d->answers == NULL) {
		fprintf(stderr, "komposterd: out of memory for the answer cache\n");
		goto drain;
	}
	kp_partition_format(&d->cfg.mqtt_partition, d->partition);
	struct kp_loop_ctx loop = loop_ctx(d);
	rc = kp_loop_run(&loop) == 0 ? 0 : 1;
drain:
	kp_answer_cache_free(d->answers);
	kp_publish_stage_join(d->publish_stage);
	uint64_t failed_before = atomic_load(&d->metrics.replies_failed);
	kp_intake_close(d->mqtt, DRAIN_WAIT_MS);
	kp_ring_close(&d->intake);
	if (pool)
		kp_verify_join(pool);
	kp_ring_close(&d->to_writer);
	if (d->writer)
		kp_writer_join(d->writer);
	kp_ring_close(&d->frigate);
	kp_frigate_stage_join(d->frigate_stage);
	kp_ring_close(&d->replies.ring);
	/* Disconnected: what is left cannot be sent, and a send in flight gets
	 * no confirmation (Paho drops publish callbacks on destroy). */
	kp_publisher_stop(d->publisher, 0);
	kp_intake_destroy(d->mqtt);
	kp_publisher_free(d->publisher);
	st_db_close(d->db);
	fprintf(stderr, "komposterd: stopped: %llu frames stored, %llu taps; Frigate: %llu boardings, %llu alightings; "
	                "%llu messages dropped while stopping, %llu replies not sent\n",
	        (unsigned long long)atomic_load(&d->metrics.frames_stored),
	        (unsigned long long)atomic_load(&d->metrics.taps_stored),
	        (unsigned long long)atomic_load(&d->metrics.frigate_boardings),
	        (unsigned long long)atomic_load(&d->metrics.frigate_alightings),
	        (unsigned long long)atomic_load(&d->metrics.dropped_stopping),
	        (unsigned long long)(atomic_load(&d->metrics.replies_failed) - failed_before));
	return rc;
}

int main(int argc, char **argv)
{
	static struct kp_daemon d; /* large; one per process */
	struct args a;

	parse_args(argc, argv, &a);
	setvbuf(stderr, NULL, _IOLBF, 0);
	tune_malloc();
	if (sodium_init() < 0) {
		fprintf(stderr, "komposterd: libsodium failed to initialise\n");
		return 1;
	}
	kp_metrics_init(&d.metrics);
	if (kp_nack_limit_init(&d.nack_limit, KP_NACK_LIMIT_BURST, KP_NACK_LIMIT_REFILL_MS,
	                      KP_NACK_LIMIT_TOTAL_BURST, KP_NACK_LIMIT_TOTAL_REFILL_MS) != 0) {
		fprintf(stderr, "komposterd: cannot make the NACK limit\n");
		return 1;
	}
	if (load(&d, &a) != 0)
		return 1;
	if (a.check_only) {
		fprintf(stderr, "komposterd: configuration and server key are fine\n");
		return 0;
	}
	int rc = run(&d);
	kp_ring_destroy(&d.intake);
	kp_ring_destroy(&d.to_writer);
	kp_ring_destroy(&d.frigate); /* drained by the stage */
	kp_replies_destroy(&d.replies);
	kp_nack_limit_destroy(&d.nack_limit);
	sodium_memzero(d.server_sk, sizeof(d.server_sk));
	return rc;
}
