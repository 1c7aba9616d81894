/*
 * tables.h — the tables of one service date's open-data package, read from
 * the database (through report/, the same sums as `komposter stats`) and
 * passed through disclosure control (disclosure.h):
 *
 *  ridership_route_stop_hour  service_date, route_id, ROUTE, stop_id, STOP,
 *                             hour, accepted
 *  ridership_route_day        service_date, route_id, ROUTE, accepted, riders
 *  ridership_day              service_date, accepted, riders
 *  ridership_fare_day         service_date, fare_product, accepted
 *  validation_rate            service_date, level, place_id, gtfs_place_id,
 *                             place_name, hour, source, boardings,
 *                             alightings, accepted, complete, rate
 *                             (only when the date has camera counts)
 *  ridership.txt              GTFS-ride: one row per route × stop × hour cell
 *  ride_feed_info.txt         GTFS-ride: ride_files 2 (ridership), the dates
 *  station_activities.csv     TIDES: one row per stop × hour
 * ROUTE is gtfs_route_id, route_short_name, route_long_name and STOP is
 * gtfs_stop_id, stop_name, from the imported GTFS feed (storage/gtfs.h);
 * empty (JSON null) for a number the feed does not have. The standards'
 * route_id and stop_id are the GTFS ids, or komposter's number where the
 * feed does not have it (a feed with numeric ids uses the same numbers).
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
 *  - the day's accepted taps are the sum of every published route × stop ×
 *    hour cell (suppressed below k); the day's distinct riders (the date's
 *    sketch) are noised and suppressed below k, above the day's published
 *    taps, and when the day's published riders minus any route's published
 *    riders is between 1 and k - 1 (it would count the riders who did not
 *    ride that route, a group below k: with two routes, the riders of a
 *    suppressed one).
 *  - the standard files publish nothing new: ridership.txt's
 *    total_boardings are the published route × stop × hour cells (empty
 *    where suppressed; total_alightings empty: taps are boardings only),
 *    station_activities.csv's total_entries and number_of_transactions
 *    are the sum of the published cells at the stop and hour (empty below
 *    k), as the stop-level validation rate's accepted taps.
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
#include "storage/gtfs.h"

#define OD_TABLES_MAX 8
#define OD_ERR_SIZE 256

struct od_tables {
	uint32_t service_date;
	struct od_table t[OD_TABLES_MAX];
	size_t n;
	uint64_t cells, suppressed; /* counts considered, and suppressed */
	uint64_t chain_seq;         /* the log's last entry the cells hold when read (derive.h) */
	uint8_t chain_head[ST_CHAIN_HEAD_SIZE];
	/* What text cells point to: the imported feed, and ids written as text. */
	struct st_gtfs_route *routes;
	struct st_gtfs_stop *stops;
	size_t nroutes, nstops, routes_cap, stops_cap;
	char **texts;
	size_t ntexts, texts_cap;
};

/* Reads and builds the tables of date in one read transaction of db. The
 * validation rate's completeness is judged at now_ms. Returns 0, or -1 with
 * one line in err. Call od_tables_free after, whatever the result. */
int od_tables_build(struct st_db *db, uint32_t date, const struct od_disclosure *d, int64_t now_ms,
                    struct od_tables *out, char err[OD_ERR_SIZE]);
void od_tables_free(struct od_tables *t);

/* A table of the format, as od_tables_build writes it: its name (the file
 * stem, a standard's file name without its extension), its fields, whether
 * it has a JSON form beside the CSV (the standards' files have not), and
 * whether a package may lack it (validation_rate: a date without camera
 * or counter data). The vocabulary of open data, which `komposter verify`
 * holds a package to, in both directions: no other table or field, and
 * none of these missing. */
struct od_table_format {
	const char *name;
	const struct od_field *fields;
	size_t nfields;
	int json, optional;
};

/* The i-th table of the format, from 0; NULL past the last. */
const struct od_table_format *od_tables_format(size_t i);
/* The table of that name, or NULL. */
const struct od_table_format *od_tables_format_named(const char *table);
/* The field of that name in the table of that name, or NULL. */
const struct od_field *od_tables_known_field(const char *table, const char *name);

#endif
