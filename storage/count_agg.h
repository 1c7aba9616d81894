/*
 * count_agg.h — passenger-count aggregates from COUNTS frames
 * (docs/PROTOCOL.md), derived from the log (derive.h): in the same write
 * transaction as the log or behind it, and agreeing with it up to the
 * derived trees' mark (check.h verifies that).
 *
 * Two tables:
 *  - door cells, per (service date, hour, route, stop, door, source): the
 *    boardings and alightings of every door-cycle record, and how many
 *    door-cycle records were added;
 *  - load cells, per (service date, hour, route, source): the peak, the sum
 *    and the number of occupancy snapshots whose occupancy is known
 *    (KP_OCCUPANCY_UNKNOWN snapshots are not counted). The mean load is
 *    sum / samples, computed by the reader.
 * Service date and hour come from the record's observed_at with the
 * database's zone and service-day start, the same rule taps use for
 * tapped_at (service_day.h).
 *
 * `source` says what the numbers rest on: ST_COUNT_SOURCE_SIGNED for COUNTS
 * frames signed by an enrolled APC key, ST_COUNT_SOURCE_NVR for unsigned
 * camera events of an NVR (nvr.h), in the same tables, so every reader can
 * keep them apart. NVR events add door cells only (route 0 for a street
 * camera); they carry no occupancy.
 *
 * Keys are stored big-endian so LMDB's order is (date, hour, route, ...)
 * and a date range is one cursor walk.
 */
#ifndef ST_COUNT_AGG_H
#define ST_COUNT_AGG_H

#include "storage/db.h"

enum st_count_source {
	ST_COUNT_SOURCE_SIGNED = 1, /* signed COUNTS frames of an APC */
	ST_COUNT_SOURCE_NVR = 2,    /* unsigned camera events of an NVR (Frigate), nvr.h */
};

struct st_door_agg_key {
	uint32_t service_date;
	uint8_t hour;
	uint32_t route_id;
	uint32_t stop_id;
	uint8_t door; /* 1-based; 0 the whole vehicle */
	uint8_t source; /* enum st_count_source */
};

struct st_door_agg_val {
	uint64_t boardings;
	uint64_t alightings;
	uint64_t cycles; /* door-cycle records added */
};

struct st_load_agg_key {
	uint32_t service_date;
	uint8_t hour;
	uint32_t route_id;
	uint8_t source; /* enum st_count_source */
};

struct st_load_agg_val {
	uint64_t peak;    /* highest known occupancy */
	uint64_t sum;     /* of known occupancies */
	uint64_t samples; /* snapshots with a known occupancy */
};

/* Every door cell with date_from <= service_date <= date_to, in key order.
 * fn returns 0 to go on, nonzero to stop (then ST_ESTOP). ST_ECORRUPT for a
 * stored cell of the wrong size. */
int st_door_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                        int (*fn)(void *ctx, const struct st_door_agg_key *k,
                                  const struct st_door_agg_val *v),
                        void *ctx);

/* The same for load cells. */
int st_load_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                        int (*fn)(void *ctx, const struct st_load_agg_key *k,
                                  const struct st_load_agg_val *v),
                        void *ctx);

#endif
