/*
 * reconcile.h — taps set against camera counts: the validation rate.
 *
 * Validation rate = accepted taps ÷ camera boardings, for one service date
 * and hour, at one of two levels:
 *  - ST_RECONCILE_ROUTE: per route, from door cells with a route (signed
 *    APC counts, onboard NVR cameras) against the accepted taps of that
 *    route (every stop, every fare product);
 *  - ST_RECONCILE_STOP: per stop, from door cells of street cameras (route
 *    0) against the accepted taps at that stop (every route, every fare).
 * One row per (date, hour, route or stop, source): signed and NVR counts
 * are never added together (a bus may carry both).
 *
 * A row is `complete` when both sides have data for the whole hour: the
 * hour has ended (by now_ms, in the database's zone and service day), and,
 * for NVR counts, no NVR outage (nvr.h) touches it. The rate is defined
 * only for a complete row with boardings > 0; otherwise readers show it as
 * missing, never as 0. A camera hour with no door cell at all has no row.
 */
#ifndef ST_RECONCILE_H
#define ST_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/db.h"

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
 * hour, place_id, source). fn returns 0 to go on, nonzero to stop (then
 * ST_ESTOP). ST_EINVAL for a bad level. Memory: one row per camera cell of
 * the range, freed before it returns (ST_EIO when out of memory). */
int st_reconcile_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                         enum st_reconcile_level level, int64_t now_ms,
                         int (*fn)(void *ctx, const struct st_reconcile_row *row), void *ctx);

/* accepted / boardings when the row is complete and boardings > 0: 1, with
 * *rate set; else 0. */
int st_reconcile_rate(const struct st_reconcile_row *row, double *rate);

#endif
