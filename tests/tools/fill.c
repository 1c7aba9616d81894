/*
 * fill.c — makes signed TAPS frames with the codec and stores them with
 * st_commit_group, the daemon's own write path (see fill.h).
 */
#define _GNU_SOURCE
#include "fill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "storage/commit.h"
#include "storage/db.h"
#include "storage/nvr.h"

#define SENT_AT_MS 1718438400000LL

struct frames {
	uint8_t *buf[KP_RECORDS_MAX];
	struct st_commit_item items[KP_RECORDS_MAX];
	size_t n;
};

static int make_frame(struct frames *f, uint64_t device_id, const struct kp_tap *taps,
                      uint16_t count, const uint8_t sk[KP_SECRET_KEY_SIZE])
{
	struct kp_header h = {
		.type = KP_TYPE_TAPS, .key_id = 1, .count = count, .device_id = device_id,
		.batch_seq = f->n + 1, .sent_at = SENT_AT_MS, .aux = 0,
	};
	size_t len = kp_frame_size(KP_TYPE_TAPS, count);
	uint8_t *buf = calloc(1, len);

	if (buf == NULL || kp_frame_put_header(buf, len, &h) != KP_OK)
		goto err;
	for (uint16_t i = 0; i < count; i++)
		kp_frame_put_tap(buf, i, &taps[i]);
	if (kp_frame_sign(buf, len, sk) != KP_OK || kp_frame_decode(buf, len, &h) != KP_OK)
		goto err;
	f->buf[f->n] = buf;
	f->items[f->n] = (struct st_commit_item){ .frame = buf, .len = len,
	                                          .received_at = SENT_AT_MS + 1000 };
	f->n++;
	return 0;
err:
	free(buf);
	return -1;
}

static int commit_to(struct st_db *db, struct frames *f)
{
	struct st_commit_stats stats;
	int rc = st_commit_group(db, f->items, f->n, &stats);

	for (size_t i = 0; rc == ST_OK && i < f->n; i++)
		if (f->items[i].outcome != ST_STORED)
			rc = -1;
	return rc == ST_OK ? 0 : -1;
}

static int commit(const char *db_dir, const char *tz, int start_hour, struct frames *f)
{
	struct st_options opts;
	struct st_db *db = NULL;
	int rc;

	st_options_default(&opts);
	opts.path = db_dir;
	opts.timezone = tz;
	opts.service_day_start_hour = start_hour;
	if (st_db_open(&db, &opts) != ST_OK)
		return -1;
	rc = commit_to(db, f);
	st_db_close(db);
	return rc;
}

/* The frames of taps[0..n), per_frame taps each, signed by a new key. */
static int make_frames(struct frames *f, uint64_t device_id, const struct kp_tap *taps, size_t n, size_t per_frame)
{
	uint8_t pk[KP_PUBLIC_KEY_SIZE], sk[KP_SECRET_KEY_SIZE];

	f->n = 0;
	if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0)
		return -1;
	for (size_t at = 0; at < n; at += per_frame) {
		size_t count = n - at < per_frame ? n - at : per_frame;

		if (f->n == KP_RECORDS_MAX || make_frame(f, device_id, taps + at, (uint16_t)count, sk))
			return -1;
	}
	return 0;
}

static void free_frames(struct frames *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->buf[i]);
}

int fill_taps(const char *db_dir, uint64_t device_id, const struct kp_tap *taps, size_t n,
              size_t per_frame)
{
	return fill_taps_in(db_dir, FILL_TIMEZONE, FILL_START_HOUR, device_id, taps, n, per_frame);
}

int fill_taps_in(const char *db_dir, const char *tz, int start_hour, uint64_t device_id,
                 const struct kp_tap *taps, size_t n, size_t per_frame)
{
	struct frames f = { .n = 0 };
	int rc = make_frames(&f, device_id, taps, n, per_frame) == 0 ? commit(db_dir, tz, start_hour, &f) : -1;

	free_frames(&f);
	return rc;
}

int fill_taps_db(struct st_db *db, uint64_t device_id, const struct kp_tap *taps, size_t n, size_t per_frame)
{
	struct frames f = { .n = 0 };
	int rc = make_frames(&f, device_id, taps, n, per_frame) == 0 ? commit_to(db, &f) : -1;

	free_frames(&f);
	return rc;
}

int fill_counts(const char *db_dir, uint64_t device_id, uint64_t batch_seq, const struct kp_count *recs,
                uint16_t n)
{
	struct kp_header h = {
		.type = KP_TYPE_COUNTS, .key_id = 1, .count = n, .device_id = device_id,
		.batch_seq = batch_seq, .sent_at = SENT_AT_MS, .aux = 0,
	};
	uint8_t pk[KP_PUBLIC_KEY_SIZE], sk[KP_SECRET_KEY_SIZE];
	size_t len = kp_frame_size(KP_TYPE_COUNTS, n);
	struct frames f = { .n = 1 };
	int rc = -1;

	f.buf[0] = calloc(1, len > 0 ? len : 1);
	if (len == 0 || f.buf[0] == NULL || sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0 ||
	    kp_frame_put_header(f.buf[0], len, &h) != KP_OK)
		goto out;
	for (uint16_t i = 0; i < n; i++)
		kp_frame_put_count(f.buf[0], i, &recs[i]);
	if (kp_frame_sign(f.buf[0], len, sk) != KP_OK || kp_frame_decode(f.buf[0], len, &h) != KP_OK)
		goto out;
	f.items[0] = (struct st_commit_item){ .frame = f.buf[0], .len = len, .received_at = SENT_AT_MS + 1000 };
	rc = commit(db_dir, FILL_TIMEZONE, FILL_START_HOUR, &f);
out:
	free(f.buf[0]);
	return rc;
}

static int open_default(const char *db_dir, struct st_db **db)
{
	struct st_options opts;

	st_options_default(&opts);
	opts.path = db_dir;
	opts.timezone = FILL_TIMEZONE;
	opts.service_day_start_hour = FILL_START_HOUR;
	opts.adopt_settings = 1; /* an existing database keeps its own */
	return st_db_open(db, &opts) == ST_OK ? 0 : -1;
}

int fill_nvr_events(const char *db_dir, struct st_nvr_event *events, size_t n)
{
	const struct st_nvr_limits limits = { .counted_max = 1024 };
	struct st_nvr_stats stats;
	struct st_db *db = NULL;
	int rc;

	if (open_default(db_dir, &db) != 0)
		return -1;
	rc = st_nvr_commit(db, events, n, &limits, &stats);
	st_db_close(db);
	return rc == ST_OK ? 0 : -1;
}

int fill_nvr_counts(const char *db_dir, const struct fill_nvr_cell *c, const char *prefix, int n)
{
	struct st_nvr_event ev[FILL_NVR_MAX];

	if (n < 0 || n > FILL_NVR_MAX)
		return -1;
	memset(ev, 0, sizeof(ev));
	for (int i = 0; i < n; i++) {
		snprintf(ev[i].camera, sizeof(ev[i].camera), "%s", c->camera);
		snprintf(ev[i].id, sizeof(ev[i].id), "%s-%d", prefix, i);
		snprintf(ev[i].label, sizeof(ev[i].label), "person");
		ev[i].type = ST_NVR_END;
		ev[i].start = fill_utc_ms(2024, 6, 15, c->hour, 20 + i);
		ev[i].end = ev[i].start + 4000;
		ev[i].received_at = ev[i].end;
		ev[i].want = c->want;
		ev[i].cell = (struct st_door_agg_key){ .service_date = 20240615, .hour = (uint8_t)c->hour,
			                               .route_id = c->route, .stop_id = c->stop,
			                               .door = c->vehicle ? 1 : 0, .source = ST_COUNT_SOURCE_NVR };
		ev[i].vehicle_id = c->vehicle;
	}
	return fill_nvr_events(db_dir, ev, (size_t)n);
}

int fill_nvr_outage(const char *db_dir, int64_t start, int64_t end)
{
	struct st_db *db = NULL;
	int rc;

	if (open_default(db_dir, &db) != 0)
		return -1;
	rc = st_nvr_set_available(db, 0, start);
	if (rc == ST_OK && end != 0)
		rc = st_nvr_set_available(db, 1, end);
	st_db_close(db);
	return rc == ST_OK ? 0 : -1;
}

int fill_write_config(const char *conf_path, const char *db_dir)
{
	FILE *f = fopen(conf_path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fprintf(f, "[storage]\npath = %s\ntimezone = %s\nservice_day_start_hour = %d\n",
	             db_dir, FILL_TIMEZONE, FILL_START_HOUR) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int64_t fill_utc_ms(int year, int month, int day, int hour, int minute)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
		.tm_hour = hour, .tm_min = minute,
	};

	return (int64_t)timegm(&tm) * 1000;
}

void fill_taps_at_one_stop(struct kp_tap *taps, size_t n, uint8_t card0)
{
	memset(taps, 0, n * sizeof(*taps));
	for (size_t i = 0; i < n; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, 15, 10, 0);
		taps[i].route_id = 10;
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].result = KP_TAP_ACCEPTED;
		taps[i].amount = 800;
		taps[i].card_token[0] = (uint8_t)(card0 + i);
	}
}
