/*
 * bench_export — how long `komposter export` takes for one service date of
 * a large simulated city (10 million taps by default), against a ceiling
 * measured in the same run: `komposter stats` reading and printing the
 * same date's finest cells (route × stop × hour × fare), which any export
 * has to read too. Not a test: it prints figures, it asserts nothing.
 *
 *   build/tests/bench/bench_export [--taps N] [--dir DIR] [--komposter PATH]
 *
 * The database is filled through st_commit_group, the daemon's write path
 * (signed frames of 512 taps, groups of 64 frames), in UTC with a service
 * day from 03:00; a fresh DIR is made under /tmp and removed at the end
 * unless --dir names one. Exit 0 when measured, 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "firmware-proto/frame.h"
#include "storage/commit.h"
#include "storage/db.h"

#define PER_FRAME KP_RECORDS_MAX
#define GROUP 64
#define DEVICES 2000u
#define ROUTES 60u
#define STOPS 40u
#define RIDERS 400000u
#define DATE "2024-06-15"
#define DAY_START_MS 1718420400000LL /* 2024-06-15 03:00 UTC */

struct bench {
	uint64_t taps;
	char dir[256];
	const char *komposter;
	int keep;
	uint8_t sk[KP_SECRET_KEY_SIZE];
	uint64_t batch_seq[DEVICES + 1];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A plausible tap: routes and stops skewed towards the first ones, the
 * day's hours from 05:00 to 23:00, a few fare products, most accepted. */
static struct kp_tap tap_of(uint64_t i, uint32_t device)
{
	uint32_t r = randombytes_random();
	struct kp_tap t = {
		.tapped_at = DAY_START_MS + 2 * 3600000LL + (int64_t)(randombytes_uniform(18 * 3600) * 1000u),
		.route_id = 1 + (r % ROUTES) % (1 + (r >> 8) % ROUTES),
		.stop_id = 1 + (r >> 16) % STOPS,
		.fare_product = (uint16_t)(1 + (r >> 24) % 4),
		.result = (r & 31) == 0 ? KP_TAP_DENIED_BALANCE : KP_TAP_ACCEPTED,
		.amount = 800,
		.vehicle_id = device,
	};
	uint32_t card = randombytes_uniform(RIDERS); /* the same card, the same token */

	(void)i;
	memcpy(t.card_token, &card, sizeof card);
	return t;
}

static int make_frame(struct bench *b, uint32_t device, uint16_t n, uint64_t *made, uint8_t *buf, size_t *len)
{
	struct kp_header h = {
		.type = KP_TYPE_TAPS, .key_id = 1, .count = n, .device_id = device,
		.batch_seq = ++b->batch_seq[device], .sent_at = DAY_START_MS + 86400000LL, .aux = 0,
	};

	*len = kp_frame_size(KP_TYPE_TAPS, n);
	if (kp_frame_put_header(buf, *len, &h) != KP_OK)
		return -1;
	for (uint16_t i = 0; i < n; i++) {
		struct kp_tap t = tap_of((*made)++, device);
		kp_frame_put_tap(buf, i, &t);
	}
	return kp_frame_sign(buf, *len, b->sk) == KP_OK && kp_frame_decode(buf, *len, &h) == KP_OK ? 0 : -1;
}

static int fill(struct bench *b)
{
	static uint8_t bufs[GROUP][KP_FRAME_MAX];
	struct st_commit_item items[GROUP];
	struct st_commit_stats stats;
	struct st_options opts;
	struct st_db *db = NULL;
	uint64_t made = 0;
	int rc = ST_OK;

	st_options_default(&opts);
	opts.path = b->dir;
	opts.timezone = "UTC";
	opts.service_day_start_hour = 3;
	opts.map_size_initial = (size_t)1 << 30;
	if (st_db_open(&db, &opts) != ST_OK)
		return -1;
	while (made < b->taps && rc == ST_OK) {
		size_t n = 0;
		for (; n < GROUP && made < b->taps; n++) {
			uint64_t left = b->taps - made;
			uint16_t count = left < PER_FRAME ? (uint16_t)left : PER_FRAME;
			uint32_t device = 1 + (uint32_t)((made / PER_FRAME) % DEVICES);
			size_t len;
			if (make_frame(b, device, count, &made, bufs[n], &len) != 0) {
				rc = ST_EINVAL;
				break;
			}
			items[n] = (struct st_commit_item){ .frame = bufs[n], .len = len,
			                                    .received_at = DAY_START_MS + 86400000LL };
		}
		if (rc == ST_OK)
			rc = st_commit_group(db, items, n, &stats);
		if ((made / PER_FRAME) % 2000 < GROUP)
			fprintf(stderr, "\rfilling: %" PRIu64 " of %" PRIu64 " taps", made, b->taps);
	}
	fprintf(stderr, "\n");
	st_db_close(db);
	return rc == ST_OK ? 0 : -1;
}

/* Runs argv with stdout to /dev/null; returns its wall time, or -1. */
static double timed(char *const argv[])
{
	double t0 = now_s();
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_export: %s failed\n", argv[0]);
		return -1;
	}
	return now_s() - t0;
}

static int write_config(const struct bench *b, char *cfg, size_t cap, char *key, size_t kcap)
{
	snprintf(cfg, cap, "%s/komposterd.ini", b->dir);
	snprintf(key, kcap, "%s/server.key", b->dir);
	FILE *f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f, "[storage]\npath = %s\ntimezone = UTC\nservice_day_start_hour = 3\n"
	           "[ingest]\nserver_key = %s\n", b->dir, key);
	return fclose(f) == 0 ? 0 : -1;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: bench_export [--taps N] [--dir DIR] [--komposter PATH]\n"
	           "  --taps N          taps in the simulated date (default 10000000)\n"
	           "  --dir DIR         the database folder (default: a fresh one under /tmp, removed after)\n"
	           "  --komposter PATH  the komposter binary (default build/tools/komposter)\n");
	return rc;
}

static int measure(struct bench *b)
{
	char cfg[300], key[300], out[300];
	double fill_s = now_s();

	if (fill(b) != 0 || write_config(b, cfg, sizeof cfg, key, sizeof key) != 0) {
		fprintf(stderr, "bench_export: cannot fill %s\n", b->dir);
		return 1;
	}
	fill_s = now_s() - fill_s;
	snprintf(out, sizeof out, "%s/package", b->dir);
	char *keygen[] = { (char *)b->komposter, "-c", cfg, "keygen", key, NULL };
	char *stats[] = { (char *)b->komposter, "-c", cfg, "stats", "--from", DATE, "--to", DATE,
		          "--by", "route,stop,hour,fare", "--json", NULL };
	char *export[] = { (char *)b->komposter, "-c", cfg, "export", "--date", DATE, "--out", out, NULL };
	if (timed(keygen) < 0)
		return 1;
	double ceiling = timed(stats), took = timed(export);
	if (ceiling < 0 || took < 0)
		return 1;
	printf("filled %" PRIu64 " taps in %.1f s\n", b->taps, fill_s);
	printf("export of %s (%" PRIu64 " taps): %.3f s (target < 1 s)\n", DATE, b->taps, took);
	printf("stats of the same cells (ceiling): %.3f s; export / ceiling = %.2f\n", ceiling, took / ceiling);
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b = { .taps = 10000000, .komposter = "build/tools/komposter" };
	static const struct option opts[] = {
		{ "taps", required_argument, NULL, 't' }, { "dir", required_argument, NULL, 'd' },
		{ "komposter", required_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': b.taps = strtoull(optarg, NULL, 10); break;
		case 'd': snprintf(b.dir, sizeof b.dir, "%s", optarg); b.keep = 1; break;
		case 'k': b.komposter = optarg; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 1);
		}
	}
	if (b.taps == 0 || optind != argc)
		return usage(stderr, 1);
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_export: libsodium does not start\n");
		return 1;
	}
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	crypto_sign_keypair(pk, b.sk);
	if (!b.keep && !mkdtemp(strcpy(b.dir, "/tmp/kp-bench-export.XXXXXX"))) {
		fprintf(stderr, "bench_export: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	rc = measure(&b);
	if (!b.keep) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_export: could not remove %s\n", b.dir);
	}
	return rc;
}
