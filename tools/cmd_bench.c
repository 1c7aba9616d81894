/*
 * cmd_bench.c — `komposter bench`: komposterd's throughput, CPU, memory and
 * latency against the ceilings of this machine, measured in one run
 * (issue 14). The parts live in tools/bench/: stream (keys and pre-signed
 * frames), mqtt (publishers), ceilings (broker, verify), ideal (the ideal
 * ingester), acks (ACK coverage and an ingester's phases), daemon
 * (komposterd), python (the Python ingester), proc (children, CPU, RssAnon,
 * mosquitto) and report.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware-proto/keyfile.h"
#include "ingest/thread_attr.h"
#include "tools/bench/acks.h"
#include "tools/bench/ceilings.h"
#include "tools/bench/daemon.h"
#include "tools/bench/ideal.h"
#include "tools/bench/mqtt.h"
#include "tools/bench/proc.h"
#include "tools/bench/python.h"
#include "tools/bench/report.h"
#include "tools/bench/stream.h"
#include "tools/commands.h"

#define CMD "bench"
#define VERIFY_MAX 10000 /* frames verified per verify ceiling */

static const char help[] =
	"Usage: komposter bench [OPTIONS]\n\n"
	"Measures komposterd's throughput, CPU per frame, peak anonymous memory and\n"
	"frame -> ACK latency against this machine's ceilings, all in one run: a\n"
	"private mosquitto, the broker alone, Ed25519 verification alone, an ideal\n"
	"ingester (decode, verify, one signed ACK per frame, no storage) and\n"
	"komposterd into a fresh database. Progress goes to stderr, results to stdout.\n\n"
	"Options:\n"
	"      --devices N        devices of the stream (default 200)\n"
	"      --frames N         frames per device, throughput phase (default 100)\n"
	"      --taps N           taps per frame, 1..512: only a pass of N taps (default: a\n"
	"                         pass of 32 taps, then a single-tap pass)\n"
	"      --single-tap       the same as --taps 1\n"
	"      --no-single-tap    the 32-tap pass alone\n"
	"      --latency-frames N frames of the paced latency phase, all devices (default 4000; 0: not measured,\n"
	"                         latency printed as such, null in --json)\n"
	"      --latency-rate N   frames/s of the latency phase for every ingester (default: half\n"
	"                         of each one's own throughput); to compare two builds at one load\n"
	"      --publishers N     publisher connections, QoS 1 (default 4)\n"
	"      --window N         unacknowledged publishes per connection (default 64)\n"
	"      --workers N        verify threads of komposterd, the ideal ingester and the\n"
	"                         verify ceiling (default: one per core)\n"
	"      --runs N           interleaved runs; medians are reported (default 3)\n"
	"      --no-python        do not measure the Python ingester\n"
	"      --python PATH      its interpreter, with Debian's python3-paho-mqtt,\n"
	"                         python3-nacl and python3-lmdb (default " BENCH_PYTHON_DEFAULT ")\n"
	"      --python-frames N  frames it is measured on, from the stream's start (default 5000)\n"
	"      --komposterd PATH  the daemon to measure (default: the komposterd built\n"
	"                         beside this komposter)\n"
	"      --resend-after-ms N\n"
	"                         milliseconds without progress after which every frame of\n"
	"                         the phase not yet covered is published again, as a device\n"
	"                         re-sends (default 1000)\n"
	"      --latency-nice N   komposterd's [ingest] latency_nice, -20..0, and the ideal\n"
	"                         ingester's workers' nice value (default 0, as shipped);\n"
	"                         below 0 needs root, CAP_SYS_NICE or RLIMIT_NICE >= 20 - N\n"
	"      --timeout S        seconds without progress that fail a phase (default 30)\n"
	"      --json             print one JSON object with every figure\n"
	"  -h, --help             show this help and exit\n\n"
	"Exit status: 0 success, 1 the run failed (a timeout, a NACK, an ACK failing\n"
	"its signature, komposterd's stored count differing from the sent count or\n"
	"its check failing), 2 usage error.\n";

enum {
	OPT_DEVICES = 0x200,
	OPT_FRAMES,
	OPT_TAPS,
	OPT_SINGLE,
	OPT_NO_SINGLE,
	OPT_LATENCY,
	OPT_LATENCY_RATE,
	OPT_PUBLISHERS,
	OPT_WINDOW,
	OPT_WORKERS,
	OPT_RUNS,
	OPT_KOMPOSTERD,
	OPT_NO_PYTHON,
	OPT_NICE,
	OPT_PYTHON,
	OPT_PYTHON_FRAMES,
	OPT_TIMEOUT,
	OPT_RESEND,
	OPT_IDEAL_DROP,
	OPT_JSON,
};

struct bench_opts {
	uint64_t devices, frames, taps, latency, publishers, window, workers, runs, timeout, python_frames;
	uint64_t resend_after_ms;
	uint64_t latency_rate; /* frames/s of the latency phase; 0: half of each ingester's own rate */
	uint64_t ideal_drop_every; /* hidden, for tests: the ideal leaves every Nth new frame unanswered */
	const char *komposterd;
	const char *python; /* NULL: --no-python */
	int json;
	int taps_given;  /* --taps or --single-tap: that pass alone */
	int no_single;   /* --no-single-tap */
	uint64_t boost;  /* --latency-nice -boost */
};

struct bench_ctx {
	struct bench_opts o;
	char self[PATH_MAX];
	char komposterd[PATH_MAX];
	char python_script[PATH_MAX];
	char tmp[64];
	struct bench_stream s;
	struct bench_broker broker;
	struct bench_conn pubs[64];
	int npubs;
	struct bench_conn rx;
	struct bench_counter counter;
	struct bench_acks acks;
	uint8_t ideal_pk[KP_PUBLIC_KEY_SIZE];
	struct bench_params p;
	int nice; /* komposterd's latency_nice, the ideal's workers' */
};

static int number(const char *arg, uint64_t min, uint64_t max, uint64_t *out, const char *name)
{
	if (cli_parse_u64(arg, max, out) != 0 || *out < min)
		return cli_usage(CMD, "%s wants a number in %llu..%llu, not '%s'", name, (unsigned long long)min,
		                 (unsigned long long)max, arg);
	return CLI_CONTINUE;
}

static int bench_option(void *ctx, int opt, const char *arg)
{
	struct bench_opts *o = ctx;

	switch (opt) {
	case OPT_DEVICES: return number(arg, 1, 100000, &o->devices, "--devices");
	case OPT_FRAMES: return number(arg, 1, 1000000, &o->frames, "--frames");
	case OPT_TAPS: o->taps_given = 1; return number(arg, 1, KP_RECORDS_MAX, &o->taps, "--taps");
	case OPT_SINGLE: o->taps_given = 1; o->taps = 1; return CLI_CONTINUE;
	case OPT_NO_SINGLE: o->no_single = 1; return CLI_CONTINUE;
	case OPT_LATENCY: return number(arg, 0, 10000000, &o->latency, "--latency-frames");
	case OPT_LATENCY_RATE: return number(arg, 1, 10000000, &o->latency_rate, "--latency-rate");
	case OPT_PUBLISHERS: return number(arg, 1, 64, &o->publishers, "--publishers");
	case OPT_WINDOW: return number(arg, 1, 65535, &o->window, "--window");
	case OPT_WORKERS: return number(arg, 1, 64, &o->workers, "--workers");
	case OPT_RUNS: return number(arg, 1, 64, &o->runs, "--runs");
	case OPT_TIMEOUT: return number(arg, 1, 3600, &o->timeout, "--timeout");
	case OPT_RESEND: return number(arg, 1, 3600000, &o->resend_after_ms, "--resend-after-ms");
	case OPT_IDEAL_DROP: return number(arg, 2, 1000000, &o->ideal_drop_every, "--ideal-drop-every");
	case OPT_KOMPOSTERD: o->komposterd = arg; return CLI_CONTINUE;
	case OPT_NO_PYTHON: o->python = NULL; return CLI_CONTINUE;
	case OPT_NICE:
		if ((arg[0] != '-' || cli_parse_u64(arg + 1, 20, &o->boost) != 0) && strcmp(arg, "0") != 0)
			return cli_usage(CMD, "--latency-nice wants a number in -20..0, not '%s'", arg);
		return CLI_CONTINUE;
	case OPT_PYTHON: o->python = arg; return CLI_CONTINUE;
	case OPT_PYTHON_FRAMES: return number(arg, 1, 100000000, &o->python_frames, "--python-frames");
	case OPT_JSON: o->json = 1; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* This komposter's path (the ideal ingester re-executes it) and the
 * komposterd to measure: --komposterd, or the one beside komposter (an
 * install) or in the build tree's ingest/; unless --no-python, the Python
 * ingester's script and an interpreter that imports its modules. */
static int find_binaries(struct bench_ctx *c)
{
	ssize_t n = readlink("/proc/self/exe", c->self, sizeof(c->self) - 1);
	if (n <= 0)
		return cli_fail(CMD, "cannot find this komposter's own path");
	c->self[n] = 0;
	if (c->o.komposterd) {
		snprintf(c->komposterd, sizeof(c->komposterd), "%s", c->o.komposterd);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", c->self);
		char *d = dirname(dir);
		snprintf(c->komposterd, sizeof(c->komposterd), "%s/komposterd", d);
		if (access(c->komposterd, X_OK) != 0)
			snprintf(c->komposterd, sizeof(c->komposterd), "%s/../ingest/komposterd", d);
	}
	if (access(c->komposterd, X_OK) != 0)
		return cli_fail(CMD, "no komposterd at %s; give --komposterd PATH", c->komposterd);
	if (c->o.python && (bench_python_script(c->python_script, sizeof(c->python_script)) != 0 ||
	                    bench_python_check(c->o.python) != 0))
		return KP_EXIT_FAIL;
	return KP_EXIT_OK;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The temporary folder, the broker, the generator's connections and the
 * ideal ingester's server key: shared by every pass. */
static int setup(struct bench_ctx *c)
{
	char err[256], dir[128];

	snprintf(c->tmp, sizeof(c->tmp), "/tmp/kp-bench-XXXXXX");
	if (!mkdtemp(c->tmp))
		return cli_fail(CMD, "cannot make a temporary directory");
	snprintf(dir, sizeof(dir), "%s/broker", c->tmp);
	if (mkdir(dir, 0700) != 0 || bench_broker_start(&c->broker, dir) != 0)
		return cli_fail(CMD, "cannot start mosquitto in %s", dir);
	progress("mosquitto on %s", c->broker.uri);
	c->npubs = (int)c->o.publishers;
	for (int p = 0; p < c->npubs; p++) {
		char id[48];
		snprintf(id, sizeof(id), "kp-bench-pub-%d-%d", (int)getpid(), p);
		if (bench_conn_start(&c->pubs[p], c->broker.uri, id, (int)c->o.window, NULL, NULL) != 0)
			return KP_EXIT_FAIL;
	}
	snprintf(dir, sizeof(dir), "kp-bench-rx-%d", (int)getpid());
	if (bench_conn_start(&c->rx, c->broker.uri, dir, 1, bench_acks_on_msg, &c->acks) != 0 ||
	    bench_counter_start(&c->counter, c->broker.uri) != 0)
		return cli_fail(CMD, "cannot connect to mosquitto");
	for (int p = 0; p < c->npubs; p++)
		if (bench_conn_wait(&c->pubs[p]) != 0)
			return KP_EXIT_FAIL;
	if (bench_conn_wait(&c->rx) != 0 || bench_conn_wait(&c->counter.conn) != 0)
		return cli_fail(CMD, "cannot connect to mosquitto");
	/* The ACKs' receiver, as every ingester measured, keeps Paho awake: a phase
	 * that starts after a quiet second would otherwise start with a stall of
	 * up to 100 ms on the generator's side (ingest/paho_awake.h). */
	snprintf(dir, sizeof(dir), "kp-bench-rx-%d", (int)getpid());
	if (bench_conn_keep_awake(&c->rx, dir) != 0)
		return KP_EXIT_FAIL;
	snprintf(dir, sizeof(dir), "%s/ideal-server.key", c->tmp);
	if (kp_keyfile_generate(dir, 0, c->ideal_pk, err) != 0)
		return cli_fail(CMD, "%s", err);
	return KP_EXIT_OK;
}

/* A pass's stream of taps per frame, signed before anything is timed, the
 * ideal ingester's copy of its keys, and the ACK receiver on it. No ACK is
 * in flight between passes: the receiver subscribes once the stream is. */
static int setup_stream(struct bench_ctx *c, uint16_t taps)
{
	char err[256], path[128];
	uint32_t extra = (uint32_t)((c->o.latency + c->o.devices - 1) / c->o.devices);

	progress("signing %llu frames of %u taps for %llu devices", (unsigned long long)(c->o.devices * (c->o.frames + extra)),
	         taps, (unsigned long long)c->o.devices);
	if (bench_stream_make(&c->s, (uint32_t)c->o.devices, (uint32_t)c->o.frames, extra, taps, err) != 0)
		return cli_fail(CMD, "%s", err);
	snprintf(path, sizeof(path), "%s/ideal.keys", c->tmp);
	if (bench_ideal_write_keys(&c->s, path) != 0)
		return cli_fail(CMD, "cannot write %s", path);
	if (bench_acks_init(&c->acks, &c->s, c->ideal_pk) != 0 ||
	    bench_conn_subscribe(&c->rx, kp_topic_filter(KP_STREAM_ACK)) != 0)
		return cli_fail(CMD, "cannot receive ACKs");
	return KP_EXIT_OK;
}

/* The receiver's callback uses the stream: freed once it is unsubscribed
 * (if that fails, the run fails and the process ends with them). */
static int teardown_stream(struct bench_ctx *c)
{
	if (bench_conn_unsubscribe(&c->rx, kp_topic_filter(KP_STREAM_ACK)) != 0)
		return -1;
	bench_acks_free(&c->acks);
	bench_stream_free(&c->s);
	return 0;
}

static void teardown(struct bench_ctx *c, int ok)
{
	for (int p = 0; p < c->npubs; p++)
		bench_conn_close(&c->pubs[p]);
	bench_conn_close(&c->rx);
	bench_conn_close(&c->counter.conn);
	bench_broker_stop(&c->broker);
	if (ok && c->tmp[0])
		nftw(c->tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (c->tmp[0])
		fprintf(stderr, "komposter: bench: its files are kept in %s\n", c->tmp);
}

static int ceilings(struct bench_ctx *c, struct bench_figures *f)
{
	progress("broker ceiling");
	if (bench_ceiling_broker(&c->counter, c->pubs, c->npubs, &c->s, (int)c->o.timeout, &f->v[BF_BROKER_FPS]) != 0)
		return -1;
	progress("verify ceiling, 1 and %d threads", (int)c->o.workers);
	if (bench_ceiling_verify(&c->s, 1, VERIFY_MAX, &f->v[BF_VERIFY_1]) != 0 ||
	    bench_ceiling_verify(&c->s, (int)c->o.workers, VERIFY_MAX, &f->v[BF_VERIFY_W]) != 0)
		return -1;
	/* Where komposterd's databases are made: the same file system. */
	struct bench_sync_floor sync;
	progress("disk sync floor, %d commits in %s", BENCH_SYNC_COMMITS, c->tmp);
	if (bench_ceiling_sync(c->tmp, BENCH_SYNC_COMMITS, &sync) != 0)
		return -1;
	f->v[BF_SYNC_P50] = sync.p50_ms;
	f->v[BF_SYNC_P99] = sync.p99_ms;
	f->v[BF_SYNC_P999] = sync.p999_ms;
	return 0;
}

/* Measures the process pid (ideal or komposterd) with its RssAnon sampled. */
static int measure(struct bench_ctx *c, pid_t pid, const uint8_t server_pk[KP_PUBLIC_KEY_SIZE], size_t frames,
                   int latency, struct bench_ingest_result *r, double *rss_mib)
{
	struct bench_sampler sm;
	struct bench_ingest_opts o = { .frames = frames, .latency = latency, .timeout_s = (int)c->o.timeout,
		                       .resend_after_ms = (int)c->o.resend_after_ms,
		                       .latency_rate = (double)c->o.latency_rate };

	memcpy(c->acks.server_pk, server_pk, KP_PUBLIC_KEY_SIZE);
	if (bench_sampler_start(&sm, pid) != 0)
		return -1;
	int rc = bench_ingest_measure(&c->acks, c->pubs, c->npubs, pid, &o, r);
	bench_sampler_stop(&sm);
	*rss_mib = (double)sm.peak_kib / 1024.0;
	return rc;
}

static int ideal(struct bench_ctx *c, struct bench_figures *f)
{
	char keys[128], key[128], log[128];
	struct bench_ingest_result r;

	progress("ideal ingester, %d workers", (int)c->o.workers);
	snprintf(keys, sizeof(keys), "%s/ideal.keys", c->tmp);
	snprintf(key, sizeof(key), "%s/ideal-server.key", c->tmp);
	snprintf(log, sizeof(log), "%s/ideal.log", c->tmp);
	pid_t pid = bench_ideal_start(c->self, c->broker.uri, keys, key, (int)c->o.workers, c->s.frame_size,
	                              c->o.ideal_drop_every, c->nice, log);
	if (pid <= 0)
		return -1;
	int rc = measure(c, pid, c->ideal_pk, 0, c->o.latency > 0, &r, &f->v[BF_IDEAL_RSS_MIB]);
	bench_reap(pid, SIGKILL);
	f->v[BF_IDEAL_FPS] = r.fps;
	f->v[BF_IDEAL_CPU_US] = r.cpu_us_per_frame;
	f->v[BF_IDEAL_P50] = r.p50_ms;
	f->v[BF_IDEAL_P99] = r.p99_ms;
	f->v[BF_IDEAL_P999] = r.p999_ms;
	f->v[BF_IDEAL_RESENT] = (double)r.resent;
	return rc;
}

/* The Python ingester on the stream's first --python-frames frames, into a
 * fresh LMDB; the ideal ingester's key files; no latency phase. */
static int python(struct bench_ctx *c, int run, struct bench_figures *f)
{
	char keys[128], key[128], db[128], log[128];
	struct bench_ingest_result r;

	progress("python ingester (%s), %llu frames", c->o.python, (unsigned long long)c->p.python_frames);
	snprintf(keys, sizeof(keys), "%s/ideal.keys", c->tmp);
	snprintf(key, sizeof(key), "%s/ideal-server.key", c->tmp);
	snprintf(db, sizeof(db), "%s/python-%d", c->tmp, run);
	snprintf(log, sizeof(log), "%s/python.log", c->tmp);
	if (mkdir(db, 0700) != 0)
		return -1;
	pid_t pid = bench_python_start(c->o.python, c->python_script, c->broker.port, keys, key, db, log);
	if (pid <= 0)
		return -1;
	int rc = measure(c, pid, c->ideal_pk, c->p.python_frames, 0, &r, &f->v[BF_PY_RSS_MIB]);
	bench_reap(pid, SIGKILL);
	f->v[BF_PY_FPS] = r.fps;
	f->v[BF_PY_CPU_US] = r.cpu_us_per_frame;
	f->v[BF_PY_RESENT] = (double)r.resent;
	if (rc != 0)
		return -1;
	return nftw(db, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* A clean connect under the stopped komposterd's client id ends its
 * persistent session, which would otherwise queue every later phase. */
static int end_session(struct bench_ctx *c, const char *client_id)
{
	struct bench_conn s;
	int rc = bench_conn_open(&s, c->broker.uri, client_id, 1, NULL, NULL);

	bench_conn_close(&s);
	return rc;
}

/* komposterd's run, then its check: stored must equal sent (the stream
 * and the probe). */
static int daemon_run(struct bench_ctx *c, int run, struct bench_figures *f)
{
	struct bench_daemon d;
	struct bench_ingest_result r;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/komposterd-%d", c->tmp, run);
	progress("komposterd (%s), run %d: enrolling %u devices", c->komposterd, run, c->s.devices + 1);
	if (mkdir(dir, 0700) != 0 || bench_daemon_setup(&d, dir, c->broker.uri, &c->s, (int)c->o.workers, c->nice, run) != 0 ||
	    bench_daemon_start(&d, c->komposterd) != 0)
		return -1;
	int rc = measure(c, d.pid, d.server_pk, 0, c->o.latency > 0, &r, &f->v[BF_KD_RSS_MIB]);
	if (bench_daemon_stop(&d) != 0 || end_session(c, d.client_id) != 0)
		rc = -1;
	f->v[BF_KD_FPS] = r.fps;
	f->v[BF_KD_CPU_US] = r.cpu_us_per_frame;
	f->v[BF_KD_P50] = r.p50_ms;
	f->v[BF_KD_P99] = r.p99_ms;
	f->v[BF_KD_P999] = r.p999_ms;
	f->v[BF_KD_RESENT] = (double)r.resent;
	if (rc != 0)
		return -1;
	progress("checking komposterd's database");
	c->p.sent = bench_stream_total(&c->s) + 1;
	c->p.covered = c->acks.cover.total;
	if (bench_daemon_check(&d, &c->p.stored, &c->p.problems) != 0)
		return -1;
	if (c->p.problems != 0 || c->p.stored != c->p.sent) {
		fprintf(stderr, "komposter: bench: komposterd stored %llu frames of %llu sent; check found %llu problems\n",
		        (unsigned long long)c->p.stored, (unsigned long long)c->p.sent, (unsigned long long)c->p.problems);
		return -1;
	}
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static int run_all(struct bench_ctx *c, struct bench_figures *runs)
{
	for (int r = 0; r < (int)c->o.runs; r++) {
		progress("run %d of %d", r + 1, (int)c->o.runs);
		if (ceilings(c, &runs[r]) != 0 || ideal(c, &runs[r]) != 0 ||
		    (c->p.python_frames && python(c, r + 1, &runs[r]) != 0) || daemon_run(c, r + 1, &runs[r]) != 0)
			return -1;
	}
	return 0;
}

/* --latency-nice: komposterd's latency_nice, and the same for the ideal's
 * whole path (the ceiling gets what komposterd gets); one komposterd would
 * refuse is refused here first. */
static int choose_nice(struct bench_ctx *c)
{
	c->nice = -(int)c->o.boost;
	if (c->nice == 0 || kp_thread_nice_allowed(c->nice) == 1)
		return KP_EXIT_OK;
	return cli_fail(CMD, "--latency-nice %d: this process may not raise a thread's priority "
	                     "(root, CAP_SYS_NICE or RLIMIT_NICE >= %d)", c->nice, 20 - c->nice);
}

/* Every ingester on a stream of taps per frame: medians into pass. */
static int run_pass(struct bench_ctx *c, uint16_t taps, struct bench_pass *pass)
{
	static struct bench_figures runs[64];

	memset(runs, 0, sizeof(runs));
	if (setup_stream(c, taps) != KP_EXIT_OK)
		return -1;
	c->p = (struct bench_params){ .devices = c->s.devices, .frames = c->s.frames, .extra = c->s.extra,
		                      .taps = c->s.taps, .publishers = c->npubs, .window = (int)c->o.window,
		                      .workers = (int)c->o.workers, .nice = c->nice, .runs = (int)c->o.runs,
		                      .resend_after_ms = (int)c->o.resend_after_ms, .sync_commits = BENCH_SYNC_COMMITS,
		                      .latency_rate = c->o.latency_rate };
	if (c->o.python) {
		size_t all = (size_t)c->s.devices * c->s.frames;
		c->p.python_frames = c->o.python_frames < all ? c->o.python_frames : all;
	}
	int rc = run_all(c, runs);
	pass->p = c->p;
	bench_report_median(runs, (int)c->o.runs, &pass->f);
	if (teardown_stream(c) != 0)
		rc = -1;
	return rc;
}

/* --taps N (--single-tap) alone runs that pass; the default, the 32-tap
 * pass and the single-tap pass unless --no-single-tap. */
static int run_passes(struct bench_ctx *c, struct bench_pass *passes, int *n)
{
	*n = 0;
	if (run_pass(c, (uint16_t)c->o.taps, &passes[(*n)++]) != 0)
		return -1;
	if (c->o.taps_given || c->o.no_single)
		return 0;
	progress("single-tap pass");
	return run_pass(c, 1, &passes[(*n)++]);
}

int cmd_bench(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ "taps", required_argument, NULL, OPT_TAPS },
		{ "single-tap", no_argument, NULL, OPT_SINGLE },
		{ "no-single-tap", no_argument, NULL, OPT_NO_SINGLE },
		{ "latency-frames", required_argument, NULL, OPT_LATENCY },
		{ "latency-rate", required_argument, NULL, OPT_LATENCY_RATE },
		{ "publishers", required_argument, NULL, OPT_PUBLISHERS },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "komposterd", required_argument, NULL, OPT_KOMPOSTERD },
		{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
		{ "latency-nice", required_argument, NULL, OPT_NICE },
		{ "python", required_argument, NULL, OPT_PYTHON },
		{ "python-frames", required_argument, NULL, OPT_PYTHON_FRAMES },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "resend-after-ms", required_argument, NULL, OPT_RESEND },
		{ "ideal-drop-every", required_argument, NULL, OPT_IDEAL_DROP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_ctx c;
	struct bench_pass passes[2];
	int npasses = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	c.o = (struct bench_opts){ .devices = 200, .frames = 100, .taps = 32, .latency = 4000, .publishers = 4,
		                   .window = 64, .workers = (uint64_t)(ncpu > 0 ? ncpu : 1), .runs = 3, .timeout = 30,
		                   .python_frames = 5000, .resend_after_ms = 1000, .python = BENCH_PYTHON_DEFAULT };
	int st = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, bench_option, &c.o);
	if (st == CLI_CONTINUE)
		st = cli_no_operands(CMD, argc, argv);
	if (st != CLI_CONTINUE)
		return st;
	if (sodium_init() < 0)
		return cli_fail(CMD, "libsodium failed to initialise");
	if ((st = find_binaries(&c)) != KP_EXIT_OK)
		return st;
	if ((st = choose_nice(&c)) != KP_EXIT_OK)
		return st;
	st = setup(&c);
	if (st == KP_EXIT_OK && run_passes(&c, passes, &npasses) != 0)
		st = cli_fail(CMD, "the run failed (see the lines above)");
	teardown(&c, st == KP_EXIT_OK);
	if (st != KP_EXIT_OK)
		return st;
	if (bench_report_passes(stdout, passes, npasses, c.o.json) != 0)
		return cli_fail(CMD, "cannot write the report");
	return cli_finish_output(CMD);
}
