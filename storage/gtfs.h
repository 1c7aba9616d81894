/*
 * gtfs.h — the city's GTFS routes and stops, as imported by
 * `komposter gtfs import`, so that exports can name a route or stop by its
 * GTFS id and names.
 *
 * Identifiers: komposter's devices send numeric route and stop ids (u32).
 * A row's number is its `komposter_id` when the file has that (optional,
 * komposter's own) column and the row's value is not empty, else its GTFS
 * id (route_id, stop_id) when that is a canonical decimal 1..4294967295 (no
 * sign, no leading zero, no spaces: "7", not "007"); any other row has no
 * number and the import refuses it (tools/gtfs_csv.h). Why: the join must
 * be exact and visible; guessing a number for "T1" would silently join the
 * wrong taps, while an extra column is allowed by GTFS and ignored by every
 * other consumer of the feed.
 *
 * Tables: `gtfs_routes` and `gtfs_stops`, number (u32 big-endian) → the
 * record below, texts bounded by ST_GTFS_TEXT_MAX bytes of UTF-8.
 *
 * Promises: st_gtfs_import replaces both tables in one write transaction:
 * readers see the old feed or the new one whole, and a failed import (a bad
 * row, a number used twice, a full disk) changes nothing. Reads copy into
 * the caller's structs; nothing returned points into LMDB.
 */
#ifndef ST_GTFS_H
#define ST_GTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

/* The longest text (GTFS id, name) in bytes, without the NUL. */
#define ST_GTFS_TEXT_MAX 255

struct st_gtfs_route {
	uint32_t id;                                  /* komposter's number, != 0 */
	uint16_t type;                                /* route_type */
	char gtfs_id[ST_GTFS_TEXT_MAX + 1];           /* route_id, not empty */
	char short_name[ST_GTFS_TEXT_MAX + 1];        /* route_short_name, may be "" */
	char long_name[ST_GTFS_TEXT_MAX + 1];         /* route_long_name, may be "" */
};

struct st_gtfs_stop {
	uint32_t id;                        /* komposter's number, != 0 */
	uint8_t location_type;              /* 0..4 as in GTFS (0 when the column is empty) */
	bool has_position;                  /* stop_lat and stop_lon given */
	int32_t lat_e7, lon_e7;             /* degrees × 10^7, when has_position */
	char gtfs_id[ST_GTFS_TEXT_MAX + 1]; /* stop_id, not empty */
	char name[ST_GTFS_TEXT_MAX + 1];    /* stop_name, may be "" for location_type 3, 4 */
};

/* Whether a record may be stored: id != 0; texts NUL-terminated within
 * their arrays, valid UTF-8 without control characters; a GTFS id not
 * empty; a route with a short or a long name; a stop's location_type
 * 0..4, with a name unless it is 3 or 4, lat within ±90 and lon within
 * ±180 degrees when it has a position. */
bool st_gtfs_route_valid(const struct st_gtfs_route *r);
bool st_gtfs_stop_valid(const struct st_gtfs_stop *s);

/* An import in progress, handed to the fill function of st_gtfs_import. */
struct st_gtfs_load;

/* Adds a record to the import. ST_EINVAL when it is not valid, ST_EEXIST
 * when its number is taken already in this import; the fill function
 * decides whether that ends the import. */
int st_gtfs_load_route(struct st_gtfs_load *load, const struct st_gtfs_route *r);
int st_gtfs_load_stop(struct st_gtfs_load *load, const struct st_gtfs_stop *s);

/* Replaces every stored route and stop by what fill loads, in one write
 * transaction. fill returns ST_OK to commit, anything else to abort: that
 * status is returned and nothing changes. fill may run more than once (the
 * map grew: everything is begun again), so it must load from the start
 * each time. fill runs inside the write transaction: it must not begin a
 * read transaction or call another write function. */
int st_gtfs_import(struct st_db *db, int (*fill)(void *ctx, struct st_gtfs_load *load), void *ctx);

/* ST_OK with *out filled, ST_ENOTFOUND, ST_ECORRUPT. */
int st_gtfs_route_get(struct st_read *r, uint32_t id, struct st_gtfs_route *out);
int st_gtfs_stop_get(struct st_read *r, uint32_t id, struct st_gtfs_stop *out);

/* Every route (stop) in number order. fn returns 0 to go on, nonzero to
 * stop (then ST_ESTOP). ST_ECORRUPT for a record that does not decode. */
int st_gtfs_route_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_gtfs_route *route),
                          void *ctx);
int st_gtfs_stop_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_gtfs_stop *stop), void *ctx);

/* Whether text is valid UTF-8 (shortest forms, no surrogates) of len bytes
 * without a C0 control character or DEL. */
bool st_gtfs_text_ok(const char *text, size_t len);

#endif
