/*
 * reconcile.h — taps set against camera counts: the validation rate.
 *
 * Validation rate = accepted taps ÷ camera boardings, for one service date
 * and hour, at one of two levels:
 *  - ST_RECONCILE_ROUTE: per route, from the vehicles of the route that
 *    have counts (signed APC counts, onboard NVR cameras) in that hour
 *    (vehicle_hours.h): their boardings against their own accepted taps
 *    (every stop, every fare product); taps on a vehicle without counts of
 *    that source are left out, never set against another vehicle's count;
 *  - ST_RECONCILE_STOP: per stop, from door cells of street cameras (route
 *    0) against the accepted taps at that stop (every route, every fare).
 * One row per (date, hour, route or stop, source): signed and NVR counts
 * are never added together (a bus may carry both).
 *
 * A row is `complete` when both sides have data for the whole hour: the
 * hour ended at least ST_RECONCILE_GRACE_MS before now_ms (in the
 * database's zone and service day), and, for NVR counts, no NVR outage
 * (nvr.h) touches it. The rate is defined
 * only for a complete row with boardings > 0; otherwise readers show it as
 * missing, never as 0. A camera hour with no door cell at all has no row.
 */
#ifndef ST_RECONCILE_H
#define ST_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/db.h"

/* How long after its end an hour is still taken as incomplete: validators
 * that were offline send their taps when they catch up, and the Frigate
 * stage commits its last group of the hour only after group_max_wait_ms. A
 * rate computed at 13:00:01 for 12:xx would miss both and read low. */
#define ST_RECONCILE_GRACE_MS ((int64_t)15 * 60 * 1000)

enum st_reconcile_level {
	ST_RECONCILE_ROUTE = 1,
	ST_RECONCILE_STOP = 2,
};

struct st_reconcile_row {
	uint32_t service_date;
	uint8_t hour;
	uint32_t place_id;    /* route id (ROUTE level) or stop id (STOP level) */
	uint8_t source;       /* enum st_count_source */
	uint64_t boardings;   /* camera side */
	uint64_t alightings;
	uint64_t accepted;    /* accepted taps */
	bool complete;
};

/* Every row with date_from <= service_date <= date_to, ordered by (date,
 * hour in service-day order: from the start hour to 23, then 0 to the
 * start hour - 1, place_id, source). fn returns 0 to go on, nonzero to stop (then
 * ST_ESTOP). ST_EINVAL for a bad level. Memory: one row per camera cell of
 * the range, freed before it returns (ST_EIO when out of memory). */
int st_reconcile_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                         enum st_reconcile_level level, int64_t now_ms,
                         int (*fn)(void *ctx, const struct st_reconcile_row *row), void *ctx);

/* The same rows from cells given rather than read (a merge of partials,
 * opendata/merge.c), step by step as st_reconcile_foreach takes them:
 * add the vehicle hours (route level) or door cells (stop level), merge,
 * at the stop level add the tap cells, set `complete`, then put the rows
 * in service order. The adders return 0, or -1 out of memory; free v. */
struct st_reconcile_rows {
	struct st_reconcile_row *v;
	size_t n, cap;
};
struct st_vehicle_hour_key;
struct st_vehicle_hour_val;
struct st_door_agg_key;
struct st_door_agg_val;
struct st_tap_agg_key;
struct st_tap_agg_val;
/* A vehicle's hour (the sum of its cells, whichever instances hold them):
 * a row per source it has counts of, with its own accepted taps. */
int st_reconcile_add_vehicle_hour(struct st_reconcile_rows *rows, const struct st_vehicle_hour_key *k,
                                  const struct st_vehicle_hour_val *v);
/* A door cell: street cameras' (route 0) only, the others are the route level's. */
int st_reconcile_add_door(struct st_reconcile_rows *rows, const struct st_door_agg_key *k,
                          const struct st_door_agg_val *v);
/* Sorts and merges rows of the same (date, hour, place, source). */
void st_reconcile_merge(struct st_reconcile_rows *rows);
/* Stop level, after the merge: a tap cell's accepted taps to its stop's rows. */
void st_reconcile_add_taps(struct st_reconcile_rows *rows, const struct st_tap_agg_key *k,
                           const struct st_tap_agg_val *v);
/* Last: the order st_reconcile_foreach hands rows out in. */
void st_reconcile_service_order(struct st_reconcile_rows *rows, int start_hour);
/* Which hours of date a row would be complete in at now_ms, per source:
 * bit h of complete[source - 1] (the same test as st_reconcile_foreach's,
 * NVR outages included). ST_OK or an error. */
int st_reconcile_complete_hours(struct st_read *r, uint32_t date, int64_t now_ms, uint32_t complete[2]);

/* accepted / boardings when the row is complete and boardings > 0: 1, with
 * *rate set; else 0. */
int st_reconcile_rate(const struct st_reconcile_row *row, double *rate);

#endif
