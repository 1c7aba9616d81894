/*
 * tables.h — the tables of one service date's open-data package, read from
 * the database (through report/, the same sums as `komposter stats`) and
 * passed through disclosure control (disclosure.h):
 *
 *  ridership_route_stop_hour  service_date, route_id, stop_id, hour, accepted
 *  ridership_route_day        service_date, route_id, accepted, riders
 *  ridership_fare_day         service_date, fare_product, accepted
 *  validation_rate            service_date, level, place_id, hour, source,
 *                             boardings, alightings, accepted, complete, rate
 *                             (only when the date has camera counts)
 *
 * Disclosure: every count is noised (if epsilon) and suppressed below k on
 * its own. Nothing suppressed can be recovered by subtraction:
 *  - a route's day total is the sum of its *published* route × stop × hour
 *    cells, never the stored total (a route with none published is
 *    suppressed), so the route-day table adds nothing to the finest table;
 *  - the fare table sums the same published cells by fare product; when
 *    that suppresses fare products, further ones are suppressed (smallest
 *    first) until the suppressed ones sum to at least k and are at least
 *    two, so the difference between the two day totals (routes, fares) is
 *    never a single suppressed cell nor a count below k;
 *  - at stop level the validation rate's accepted taps are the sum of the
 *    published cells at that stop and hour (every route);
 *  - a rate is computed from the published (noisy) boardings and accepted
 *    taps only, and is missing when either is suppressed.
 *  - a route's distinct riders (storage/riders.h: a HyperLogLog estimate
 *    over all its accepted taps, rounded) are noised and suppressed below k
 *    like any count, and also when above the route's published accepted
 *    taps (more riders than published taps would bound the suppressed
 *    cells from below). Distinct riders do not add up, so no total of
 *    them is published and none can be subtracted.
 *  - at route level the validation rate's accepted taps are those of the
 *    vehicles with counters (storage/reconcile.h), a part of the route's
 *    taps of the hour: they are published only when no cell of that route
 *    and hour is suppressed and the other vehicles' taps (the difference)
 *    are none or at least k.
 *
 * No table holds a record-level row, a pseudonym, a card token or a device
 * id: every row is a sum over a (date, place, hour[, fare, source]) cell.
 */
#ifndef OD_TABLES_H
#define OD_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "opendata/disclosure.h"
#include "opendata/table.h"
#include "storage/chain.h"
#include "storage/db.h"

#define OD_TABLES_MAX 4
#define OD_ERR_SIZE 256

struct od_tables {
	uint32_t service_date;
	struct od_table t[OD_TABLES_MAX];
	size_t n;
	uint64_t cells, suppressed; /* counts considered, and suppressed */
	uint64_t chain_seq;         /* the log's last entry when read */
	uint8_t chain_head[ST_CHAIN_HEAD_SIZE];
};

/* Reads and builds the tables of date in one read transaction of db. The
 * validation rate's completeness is judged at now_ms. Returns 0, or -1 with
 * one line in err. Call od_tables_free after, whatever the result. */
int od_tables_build(struct st_db *db, uint32_t date, const struct od_disclosure *d, int64_t now_ms,
                    struct od_tables *out, char err[OD_ERR_SIZE]);
void od_tables_free(struct od_tables *t);

/* The field of that name in any of the tables, or NULL: the vocabulary of
 * open data, which `komposter verify` holds a package to. */
const struct od_field *od_tables_known_field(const char *name);

#endif
