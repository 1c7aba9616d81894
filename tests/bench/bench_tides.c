/*
 * bench_tides — how fast the TIDES fare_transactions producer
 * (report/tides.h) turns one service date of taps into CSV rows, against a
 * ceiling measured in the same run: a plain walk reading the same records
 * (each stored frame of the date, each tap decoded and its service date
 * computed), in read transactions of the same size, with no row made. Not
 * a test: it prints figures, it asserts nothing.
 *
 *   build/tests/bench/bench_tides [--taps N] [--other-days N] [--dir DIR]
 *
 * The database is filled through st_commit_group, the daemon's write path
 * (signed frames of 512 taps, groups of 64 frames), in UTC with a service
 * day from 03:00: N taps (default 2000000) on the measured date, then as
 * many on each of --other-days later dates (default 0), which an export of
 * the measured date must not pay for. A fresh DIR is made under /tmp and
 * removed at the end unless --dir names one (then it is filled only when
 * empty). Exit 0 when measured, 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "firmware-proto/frame.h"
#include "report/tides.h"
#include "storage/commit.h"
#include "storage/db.h"
#include "storage/log.h"
#include "storage/service_day.h"

#define PER_FRAME KP_RECORDS_MAX
#define GROUP 64
#define DEVICES 2000u
#define ROUTES 60u
#define STOPS 40u
#define RIDERS 400000u
#define DATE 20240615u
#define DAY_START_MS 1718420400000LL /* 2024-06-15 03:00 UTC */
#define DAY_MS 86400000LL
#define READ_SIZE 65536

struct bench {
	uint64_t taps;
	unsigned other_days;
	char dir[256];
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

/* A plausible tap of day `day` after DATE: the day's hours from 05:00 to
 * 23:00, routes and stops skewed towards the first ones, most accepted. */
static struct kp_tap tap_of(unsigned day, uint32_t device)
{
	uint32_t r = randombytes_random();
	struct kp_tap t = {
		.tapped_at = DAY_START_MS + day * DAY_MS + 2 * 3600000LL +
		             (int64_t)(randombytes_uniform(18 * 3600) * 1000u),
		.route_id = 1 + (r % ROUTES) % (1 + (r >> 8) % ROUTES),
		.stop_id = 1 + (r >> 16) % STOPS,
		.fare_product = (uint16_t)(1 + (r >> 24) % 4),
		.result = (r & 31) == 0 ? KP_TAP_DENIED_BALANCE : KP_TAP_ACCEPTED,
		.amount = 800,
		.vehicle_id = device,
	};
	uint32_t card = randombytes_uniform(RIDERS);

	memcpy(t.card_token, &card, sizeof card);
	return t;
}

static int make_frame(struct bench *b, unsigned day, uint32_t device, uint16_t n, uint8_t *buf, size_t *len)
{
	struct kp_header h = {
		.type = KP_TYPE_TAPS, .key_id = 1, .count = n, .device_id = device,
		.batch_seq = ++b->batch_seq[device], .sent_at = DAY_START_MS + (day + 1) * DAY_MS, .aux = 0,
	};

	*len = kp_frame_size(KP_TYPE_TAPS, n);
	if (kp_frame_put_header(buf, *len, &h) != KP_OK)
		return -1;
	for (uint16_t i = 0; i < n; i++) {
		struct kp_tap t = tap_of(day, device);
		kp_frame_put_tap(buf, i, &t);
	}
	return kp_frame_sign(buf, *len, b->sk) == KP_OK && kp_frame_decode(buf, *len, &h) == KP_OK ? 0 : -1;
}

static int fill_day(struct bench *b, struct st_db *db, unsigned day)
{
	static uint8_t bufs[GROUP][KP_FRAME_MAX];
	struct st_commit_item items[GROUP];
	struct st_commit_stats stats;
	uint64_t made = 0;
	int rc = ST_OK;

	while (made < b->taps && rc == ST_OK) {
		size_t n = 0;
		for (; n < GROUP && made < b->taps; n++) {
			uint64_t left = b->taps - made;
			uint16_t count = left < PER_FRAME ? (uint16_t)left : PER_FRAME;
			uint32_t device = 1 + (uint32_t)((made / PER_FRAME) % DEVICES);
			size_t len;
			if (make_frame(b, day, device, count, bufs[n], &len) != 0)
				return ST_EINVAL;
			made += count;
			items[n] = (struct st_commit_item){ .frame = bufs[n], .len = len,
			                                    .received_at = DAY_START_MS + (day + 1) * DAY_MS };
		}
		rc = st_commit_group(db, items, n, &stats);
		if ((made / PER_FRAME) % 2000 < GROUP)
			fprintf(stderr, "\rfilling day %u: %" PRIu64 " of %" PRIu64 " taps", day, made, b->taps);
	}
	fprintf(stderr, "\n");
	return rc;
}

static int open_db(const struct bench *b, struct st_db **db)
{
	struct st_options opts;

	st_options_default(&opts);
	opts.path = b->dir;
	opts.timezone = "UTC";
	opts.service_day_start_hour = 3;
	opts.map_size_initial = (size_t)1 << 30;
	return st_db_open(db, &opts);
}

static int fill(struct bench *b, struct st_db *db)
{
	struct st_read r;
	uint64_t last = 0;
	int rc = st_read_begin(db, &r);

	if (rc == ST_OK)
		rc = st_log_last_seq(&r, &last);
	st_read_end(&r);
	if (rc != ST_OK || last != 0) /* a --dir filled by an earlier run */
		return rc;
	for (unsigned day = 0; day <= b->other_days && rc == ST_OK; day++)
		rc = fill_day(b, db, day);
	return rc;
}

/* ---- the ceiling: the same records read, no row made ---- */

struct plain {
	struct st_db *db;
	uint64_t records, in_date, next_seq, budget;
	int done;
};

static int plain_entry(void *ctx, const struct st_log_entry *e)
{
	struct plain *p = ctx;
	struct kp_header h;
	struct kp_tap t;
	struct st_when w;

	if (kp_frame_decode(e->frame, e->frame_len, &h) != KP_OK)
		return 1;
	for (uint16_t i = 0; i < h.count; i++) {
		kp_frame_get_tap(e->frame, i, &t);
		if (st_service_day(st_db_zone(p->db), t.tapped_at, 3, &w) == 0 && w.service_date == DATE)
			p->in_date++;
	}
	p->records += h.count;
	p->next_seq = e->seq + 1;
	return p->records >= p->budget;
}

/* The log's frames in read transactions of about KP_TIDES_RECORDS_PER_READ
 * records, until the last frame of DATE (the fill writes DATE first). */
static int plain_walk(struct st_db *db, uint64_t taps, uint64_t *in_date)
{
	struct plain p = { .db = db, .next_seq = 1 };
	struct st_read r;
	int rc = ST_OK;

	while (p.in_date < taps && rc == ST_OK) {
		p.budget = p.records + KP_TIDES_RECORDS_PER_READ;
		rc = st_read_begin(db, &r);
		if (rc != ST_OK)
			break;
		rc = st_log_foreach(&r, p.next_seq, plain_entry, &p);
		st_read_end(&r);
		if (rc == ST_ESTOP)
			rc = ST_OK;
		else if (rc == ST_OK)
			break; /* the log ended */
	}
	*in_date = p.in_date;
	return rc;
}

/* ---- the producer, drained ---- */

static int drain(struct st_db *db, uint64_t *rows, uint64_t *bytes)
{
	static char buf[READ_SIZE];
	struct kp_tides *t;
	struct st_read r;
	ssize_t got;
	int rc = st_read_begin(db, &r);

	if (rc != ST_OK)
		return rc;
	rc = kp_tides_open(&r, KP_TIDES_FARE_TRANSACTIONS, DATE, DATE, &t);
	st_read_end(&r);
	if (rc != ST_OK)
		return rc;
	*rows = *bytes = 0;
	while ((got = kp_tides_read(t, buf, sizeof buf)) > 0) {
		*bytes += (uint64_t)got;
		for (ssize_t i = 0; i < got; i++)
			*rows += buf[i] == '\n';
	}
	rc = got == 0 ? ST_OK : kp_tides_error(t);
	kp_tides_close(t);
	*rows -= 1; /* the header */
	return rc;
}

static int measure(struct bench *b)
{
	struct st_db *db = NULL;
	uint64_t rows = 0, bytes = 0, plain_rows = 0;
	double fill_s = now_s(), ceiling, took;
	int rc = open_db(b, &db);

	if (rc == ST_OK)
		rc = fill(b, db);
	fill_s = now_s() - fill_s;
	if (rc != ST_OK) {
		fprintf(stderr, "bench_tides: cannot fill %s: %s\n", b->dir, st_strerror(rc));
		st_db_close(db);
		return 1;
	}
	ceiling = now_s();
	rc = plain_walk(db, b->taps, &plain_rows);
	ceiling = now_s() - ceiling;
	took = now_s();
	if (rc == ST_OK)
		rc = drain(db, &rows, &bytes);
	took = now_s() - took;
	st_db_close(db);
	if (rc != ST_OK || rows != plain_rows || rows != b->taps) {
		fprintf(stderr, "bench_tides: %s; %" PRIu64 " rows, %" PRIu64 " records read, %" PRIu64 " taps\n",
		        st_strerror(rc), rows, plain_rows, b->taps);
		return 1;
	}
	printf("filled %" PRIu64 " taps on each of %u dates in %.1f s\n", b->taps, b->other_days + 1, fill_s);
	printf("fare_transactions.csv of one date: %" PRIu64 " rows, %.1f MB in %.3f s: %.0f rows/s\n", rows,
	       (double)bytes / 1e6, took, (double)rows / took);
	printf("plain walk of the same records (ceiling): %.3f s: %.0f records/s; producer / ceiling = %.2f\n",
	       ceiling, (double)plain_rows / ceiling, took / ceiling);
	printf("a day of 10M taps at this rate: %.1f s\n", 1e7 / ((double)rows / took));
	return 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: bench_tides [--taps N] [--other-days N] [--dir DIR]\n"
	           "  --taps N        taps on the measured date, and on each other date (default 2000000)\n"
	           "  --other-days N  later dates filled as well (default 0)\n"
	           "  --dir DIR       the database folder (default: a fresh one under /tmp, removed after)\n");
	return rc;
}

int main(int argc, char **argv)
{
	static struct bench b = { .taps = 2000000 };
	static const struct option opts[] = {
		{ "taps", required_argument, NULL, 't' }, { "other-days", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': b.taps = strtoull(optarg, NULL, 10); break;
		case 'o': b.other_days = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': snprintf(b.dir, sizeof b.dir, "%s", optarg); b.keep = 1; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 1);
		}
	}
	if (b.taps == 0 || optind != argc)
		return usage(stderr, 1);
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_tides: libsodium does not start\n");
		return 1;
	}
	crypto_sign_keypair(pk, b.sk);
	if (!b.keep && !mkdtemp(strcpy(b.dir, "/tmp/kp-bench-tides.XXXXXX"))) {
		fprintf(stderr, "bench_tides: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	rc = measure(&b);
	if (!b.keep) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_tides: could not remove %s\n", b.dir);
	}
	return rc;
}
