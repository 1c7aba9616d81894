/*
 * vehicle_pos.h — where each vehicle was last seen: the route and stop of
 * the newest record (by its own time, tapped_at or observed_at) of any TAPS
 * or COUNTS frame naming that vehicle (vehicle_id != 0). It is derived from
 * the log (derive.h), in the commit group's transaction or behind it in a
 * run of many frames, so it costs no transaction of its own; a record older than the stored position changes nothing, so
 * a validator re-sending last week's taps does not move the bus (nor does
 * one of the same time: the first stored wins a tie). Only newly stored
 * frames count: a duplicate frame places nothing. Each vehicle is written
 * once per group (twice or more only in a group naming more than a few
 * hundred vehicles, vehicle_pos.c). A stored position that does not
 * decode never fails a commit: the new position replaces it.
 *
 * An onboard camera's counts (cameras.h) go to its vehicle's position at the
 * time they are stored.
 */
#ifndef ST_VEHICLE_POS_H
#define ST_VEHICLE_POS_H

#include <stdint.h>

#include "storage/db.h"

struct st_vehicle_pos {
	uint32_t vehicle_id;
	uint32_t route_id;
	uint32_t stop_id;
	int64_t at; /* ms: the time of the record it comes from */
};

/* ST_OK with *out filled, ST_ENOTFOUND for a vehicle never seen,
 * ST_ECORRUPT for a stored record that does not decode. */
int st_vehicle_pos_get(struct st_read *r, uint32_t vehicle_id, struct st_vehicle_pos *out);

#endif
