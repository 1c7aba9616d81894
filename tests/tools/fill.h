/*
 * fill.h — a database filled the way the daemon fills it: signed TAPS
 * and COUNTS frames made with the codec, stored through st_commit_group. The database
 * uses the time zone UTC and a service day starting at 03:00, and
 * fill_write_config() writes the komposterd config that says the same, so
 * the tool and the test agree on service dates.
 */
#ifndef KP_TESTS_TOOLS_FILL_H
#define KP_TESTS_TOOLS_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"

#define FILL_START_HOUR 3
#define FILL_TIMEZONE "UTC"

/* Stores taps[0..n) as frames of per_frame taps each (the last may be
 * shorter), batch_seq 1, 2, … of device_id, in one group. 0 or -1. */
int fill_taps(const char *db_dir, uint64_t device_id, const struct kp_tap *taps, size_t n,
              size_t per_frame);
/* The same with other service-day settings (recorded in a new database;
 * an existing one must have been made with them). */
int fill_taps_in(const char *db_dir, const char *tz, int start_hour, uint64_t device_id,
                 const struct kp_tap *taps, size_t n, size_t per_frame);

/* taps[0..n): accepted 8.00 taps of fare 1 on route 10 at stop 100 at
 * 10:00 UTC on 2024-06-15, card i's token starting with card0 + i. */
void fill_taps_at_one_stop(struct kp_tap *taps, size_t n, uint8_t card0);

struct st_db; /* storage/db.h */

/* fill_taps into a database the caller holds open (one process may not
 * open an LMDB twice). 0 or -1. */
int fill_taps_db(struct st_db *db, uint64_t device_id, const struct kp_tap *taps, size_t n, size_t per_frame);

/* Stores recs[0..n) (n <= KP_RECORDS_MAX) as one signed COUNTS frame of
 * device_id with batch_seq, in the default service-day settings. 0 or -1. */
int fill_counts(const char *db_dir, uint64_t device_id, uint64_t batch_seq, const struct kp_count *recs,
                uint16_t n);

struct st_nvr_event; /* storage/nvr.h */

/* Stores NVR events (counted as each one's want and cell say) with
 * st_nvr_commit. A new database gets the default service-day settings, an
 * existing one keeps its own. 0 or -1. */
int fill_nvr_events(const char *db_dir, struct st_nvr_event *events, size_t n);
/* Where an NVR's camera counts: 2024-06-15 (UTC) hour (after the service
 * day's start), route and stop; vehicle 0 for a street camera (route 0),
 * else the bus of an onboard one (door 1). want: ST_NVR_BOARDED or
 * ST_NVR_ALIGHTED. */
struct fill_nvr_cell {
	const char *camera;
	int hour;
	uint32_t route, stop, vehicle;
	unsigned want;
};
#define FILL_NVR_MAX 16
/* n (at most FILL_NVR_MAX) people counted once each in cell, at minutes
 * 20, 21, ... of its hour; event ids "<prefix>-<i>". 0 or -1. */
int fill_nvr_counts(const char *db_dir, const struct fill_nvr_cell *c, const char *prefix, int n);
/* Records the NVR offline at start and, when end != 0, online again at end. */
int fill_nvr_outage(const char *db_dir, int64_t start, int64_t end);

/* Writes "[storage] path, timezone, service_day_start_hour" to conf_path. */
int fill_write_config(const char *conf_path, const char *db_dir);

/* Unix ms of a UTC date and time. */
int64_t fill_utc_ms(int year, int month, int day, int hour, int minute);

#endif
