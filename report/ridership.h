/*
 * ridership.h — the one home of ridership queries: the aggregates of a
 * range of service dates, summed and grouped by any subset of their
 * dimensions. `komposter stats` and the daemon's /v1/ridership both call
 * this, so they cannot disagree.
 *
 * Taps (storage/tap_agg.h): accepted, denied and amount, grouped by any of
 * route, stop, hour, fare product. Counts (storage/count_agg.h, signed APC
 * cells only; NVR cells rest on no signature): boardings and alightings,
 * grouped by any of route, stop, hour, door; and, when the grouping is by
 * route and/or hour only (the dimensions an occupancy cell has), peak,
 * load sum and samples of the occupancy snapshots.
 *
 * The aggregates are already sums per cell, so a query never rescans the
 * log. Grouping keeps the chosen dimensions of each cell and drops the
 * rest: each cell is added to its group through a hash table of the keys,
 * and the groups are sorted once at the end, so one read of the cells
 * costs no sort per cell and memory stays proportional to the number of
 * groups, not of cells. A coarser grouping by a prefix of the same
 * dimensions is derived from a finer result without reading again
 * (kp_rs_rollup). Reading happens inside the caller's read transaction; the
 * result is plain memory the caller owns, usable after the transaction
 * ended. No output, no logging: errors are returned.
 */
#ifndef KP_REPORT_RIDERSHIP_H
#define KP_REPORT_RIDERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

enum kp_rs_dim { KP_RS_ROUTE, KP_RS_STOP, KP_RS_HOUR, KP_RS_FARE, KP_RS_DOOR, KP_RS_DIMS };
enum kp_rs_kind { KP_RS_TAPS, KP_RS_COUNTS };

#define KP_RS_BY_MAX 4
#define KP_RS_VALUES 5

/* Value slots of a group. Taps: accepted, denied, amount (minor units).
 * Counts: boardings, alightings, then peak, sum and samples of the load. */
enum { KP_RS_ACCEPTED, KP_RS_DENIED, KP_RS_AMOUNT };
enum { KP_RS_BOARDINGS, KP_RS_ALIGHTINGS, KP_RS_PEAK, KP_RS_LOAD_SUM, KP_RS_SAMPLES };

struct kp_rs_query {
	enum kp_rs_kind kind;
	uint32_t from, to; /* service dates (storage/service_day.h), inclusive */
	enum kp_rs_dim by[KP_RS_BY_MAX];
	size_t nby;
};

struct kp_rs_group {
	uint32_t k[KP_RS_BY_MAX]; /* the values of query.by in order, unused ones 0 */
	uint64_t v[KP_RS_VALUES];
};

struct kp_rs_result {
	struct kp_rs_query q;
	int with_load;          /* counts grouped by route and/or hour only */
	struct kp_rs_group *g;  /* groups sorted by key, n of them; owned */
	size_t n, cap;
	struct kp_rs_group total;
};

/* The dimension's name in --by and by= ("route", ...), and its JSON key
 * ("route_id", "stop_id", "hour", "fare_product", "door"). */
const char *kp_rs_dim_name(enum kp_rs_dim d);
const char *kp_rs_dim_json_key(enum kp_rs_dim d);

/* Why a by list was refused (kp_rs_parse_by, kp_rs_check). */
enum kp_rs_by_error {
	KP_RS_BY_OK = 0,
	KP_RS_BY_UNKNOWN, /* a name that is not a dimension: *bad, *bad_len */
	KP_RS_BY_TWICE,   /* a dimension named twice: *bad, *bad_len */
	KP_RS_BY_FARE_COUNTS, /* fare with counts */
	KP_RS_BY_DOOR_TAPS,   /* door with taps */
	KP_RS_BY_TOO_MANY,    /* all five: fare and door never go together */
};

/* Parses a comma-separated list of dimension names (each at most once, at
 * most KP_RS_BY_MAX) into q->by and q->nby, in the order given. On an
 * error, *bad and *bad_len point into list at the name at fault; q->by is
 * then unspecified. */
enum kp_rs_by_error kp_rs_parse_by(const char *list, struct kp_rs_query *q, const char **bad, size_t *bad_len);

/* Whether q->by fits q->kind: fare is for taps, door for counts. */
enum kp_rs_by_error kp_rs_check(const struct kp_rs_query *q);

/* Sums the cells of q in r into *out (which it initialises: call
 * kp_rs_free after, whatever the result). Returns ST_OK, ST_ESTOP when out
 * of memory, or the storage error of the read. q must have passed
 * kp_rs_check. */
int kp_rs_sum(struct st_read *r, const struct kp_rs_query *q, struct kp_rs_result *out);

/* The groups of fine by the first nby of its dimensions, in key order,
 * into *out (which it initialises: call kp_rs_free after, whatever the
 * result): what kp_rs_sum of the same cells grouped by that prefix would
 * return, without reading them again. Returns ST_OK, or ST_ESTOP when out
 * of memory. */
int kp_rs_rollup(const struct kp_rs_result *fine, size_t nby, struct kp_rs_result *out);

void kp_rs_free(struct kp_rs_result *res);

#endif
