/*
 * tap_agg.h — tap aggregates: per (service date, hour, route, stop, fare
 * product) the accepted taps, denied taps and the amount charged on accepted
 * taps. Derived from the log (derive.h): in the same write transaction as
 * the log, or behind it up to the derived trees' mark; either way they
 * agree with it up to the mark (check.h verifies that).
 *
 * Keys are stored big-endian so LMDB's order is (date, hour, route, stop, fare).
 */
#ifndef ST_TAP_AGG_H
#define ST_TAP_AGG_H

#include "storage/db.h"

struct st_tap_agg_key {
	uint32_t service_date;
	uint8_t hour;
	uint32_t route_id;
	uint32_t stop_id;
	uint16_t fare_product;
};

struct st_tap_agg_val {
	uint64_t accepted;
	uint64_t denied;
	uint64_t amount;
};

/* Every cell with date_from <= service_date <= date_to, in key order. */
int st_tap_agg_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                       int (*fn)(void *ctx, const struct st_tap_agg_key *k,
                                 const struct st_tap_agg_val *v),
                       void *ctx);

#endif
