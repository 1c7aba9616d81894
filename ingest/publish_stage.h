/*
 * publish_stage.h — the thread that publishes each service date's open-data
 * package by itself, once the date is closed, into a folder that
 * open_http.h serves under /open/:
 *
 *   PUBLISH_DIR/DATE/vN/   one package (opendata/package.h), DATE yyyymmdd
 *   PUBLISH_DIR/index.json every date and version: created, the manifest's
 *                          SHA-256, and which package is the latest
 *   PUBLISH_DIR/index.html the same for people, with the two commands that
 *                          verify a package with stock tools
 *
 * A round (kp_publish_round; the thread runs one every interval_ms) looks
 * at the dates that have tap aggregates (storage/tap_agg.h). A date is
 * closed once now - grace_ms falls in a later service date (in the
 * database's zone and service day, storage/service_day.h). A closed date
 * without a package gets v1. A closed date that late taps can still change
 * (its end less than recheck_days ago: the writer accepts taps that old)
 * is built again when its revision (storage/date_rev.h) has moved since
 * the build this process last made of it, and gets vN+1 when its
 * fingerprint (opendata/fingerprint.h: the bytes of its tables) differs
 * from vN's, unless a published count would move from vN's by 1..k-1
 * (opendata/version_gap.h: the difference of two versions would tell it);
 * then the version is held back, one line on stderr and
 * komposter_open_data_held_back_total, until later taps move it by k or
 * more; a round where no date's revision moved builds nothing and
 * reads no manifest. A restart builds each date of the window once. Not
 * seen by the revision: a GTFS import (names in the tables) reaches a
 * published date only through its next taps or a restart. Older dates are
 * settled and not read again. Each build counts in
 * komposter_open_data_builds_total.
 *
 * Packages are built exactly as `komposter export` builds them (the same
 * opendata/ calls, signed with the server key, the same k and epsilon).
 * Each one's previous manifest is that of the package published just
 * before it, whatever its date, so all packages form one chain; the chain's
 * tip is found on disk (the package no other one names as previous), so a
 * restart continues it. A version is never edited or deleted: it is built
 * in PUBLISH_DIR/.tmp-DATE-vN, synced, and renamed to DATE/vN, which a
 * reader sees whole or not at all; index.json and index.html are written
 * to a temporary file each and renamed over the old ones.
 *
 * Errors: a round that fails prints one ALARM line on stderr, counts in
 * komposter_open_data_publish_errors_total, and is tried again the next
 * round; what was published before the error stays, and a date that cannot
 * be built or compared holds no later date back (they are published in the
 * same round). Each package counts in
 * komposter_open_data_published_total.
 *
 * The thread only reads the database (short read transactions, which
 * never wait on the writer) and writes files. Borrowed, and must outlive
 * the stage: the database, the server key and the metrics.
 */
#ifndef KP_PUBLISH_STAGE_H
#define KP_PUBLISH_STAGE_H

#include <stdint.h>

#include "ingest/metrics.h"
#include "storage/db.h"

#define KP_PUBLISH_INDEX_JSON "index.json"
#define KP_PUBLISH_INDEX_HTML "index.html"

struct kp_publish_config {
	const char *dir;   /* PUBLISH_DIR, made when missing; copied */
	int enabled;       /* 0: rounds publish nothing ([open_data] publish = false) */
	int64_t grace_ms;  /* after a date ends, wait this long for late taps */
	int recheck_days;  /* >= 1: the tap time window ([ingest] accept_past_days) */
	int interval_ms;   /* between rounds (a minute in komposterd) */
	uint64_t k;        /* [open_data] k and epsilon */
	double epsilon;
};

struct kp_publish_ctx {
	struct kp_publish_config cfg;
	struct st_db *db;
	const uint8_t *server_sk; /* 64 bytes: signs the packages, seeds the noise */
	struct kp_metrics *m;     /* open_data_published, open_data_publish_errors */
};

struct kp_publish;
struct kp_publish_stage;

/* A publisher without its thread (tests drive kp_publish_round with their
 * own clock). 0, or -1 with one line on stderr (bad config, out of memory). */
int kp_publish_open(const struct kp_publish_ctx *ctx, struct kp_publish **out);
/* One round at now_ms. Returns the number of packages published, or -1
 * (the ALARM line printed and the error counted). */
int kp_publish_round(struct kp_publish *p, int64_t now_ms);
/* Frees p; NULL is ignored. */
void kp_publish_close(struct kp_publish *p);

/* The thread: a round at once, then one every interval_ms on the wall
 * clock. 0, or -1 (no thread, or kp_publish_open failed). */
int kp_publish_stage_start(const struct kp_publish_ctx *ctx, struct kp_publish_stage **out);
/* Stops the thread (a round under way ends after the date it is
 * publishing; the others wait for the next start), frees the stage.
 * NULL is ignored. */
void kp_publish_stage_join(struct kp_publish_stage *s);

#endif
