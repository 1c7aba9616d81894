/*
 * vehicle_hours.h — per vehicle and hour, the accepted taps and the camera
 * counts of that vehicle: what the route-level validation rate
 * (reconcile.h) divides, so that taps on a vehicle without a counter are
 * never set against boardings counted on another.
 *
 * One cell per (service date, hour, route, vehicle), updated in the same
 * write transaction as what it counts, or for frames behind the log
 * (derive.h):
 *  - accepted: accepted taps of stored TAPS frames naming the vehicle
 *    (vehicle_id != 0), at the route and service hour of tapped_at;
 *  - per source (count_agg.h): boardings, alightings and the door-cycle
 *    records they come from; signed from door-cycle records of stored
 *    COUNTS frames naming the vehicle, NVR from the counts
 *    of onboard NVR cameras (st_nvr_commit, st_nvr_event.vehicle_id), at
 *    the route and service hour of their door cell.
 * A street camera (vehicle 0) adds nothing here. st_check recounts the
 * accepted taps and the signed part from the log; the NVR part has no log
 * behind it and is not recounted.
 *
 * Keys are stored big-endian (date, hour, route, vehicle), so a date range
 * is one cursor walk in that order.
 */
#ifndef ST_VEHICLE_HOURS_H
#define ST_VEHICLE_HOURS_H

#include <stdint.h>

#include "storage/db.h"

struct st_vehicle_hour_key {
	uint32_t service_date;
	uint8_t hour;
	uint32_t route_id;
	uint32_t vehicle_id;
};

struct st_vehicle_hour_counts {
	uint64_t boardings;
	uint64_t alightings;
	uint64_t records; /* door-cycle records (signed) or counted NVR messages */
};

struct st_vehicle_hour_val {
	uint64_t accepted; /* accepted taps */
	/* [ST_COUNT_SOURCE_SIGNED - 1] and [ST_COUNT_SOURCE_NVR - 1] */
	struct st_vehicle_hour_counts source[2];
};

/* Every cell with date_from <= service_date <= date_to, in key order. fn
 * returns 0 to go on, nonzero to stop (then ST_ESTOP). ST_ECORRUPT for a
 * stored cell of the wrong size. */
int st_vehicle_hours_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                             int (*fn)(void *ctx, const struct st_vehicle_hour_key *k,
                                       const struct st_vehicle_hour_val *v),
                             void *ctx);

#endif
