/*
 * tables_internal.h — private to opendata/: what od_tables_build read in
 * its transaction (or merge.c merged from partials) and builds the tables
 * from, and the helpers tables.c and standards.c build cells with.
 */
#ifndef OD_TABLES_INTERNAL_H
#define OD_TABLES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "opendata/tables.h"
#include "report/rate.h"
#include "report/ridership.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Distinct riders of a route: the estimate of its sketch. */
struct route_riders {
	uint32_t route;
	double estimate;
};

/* What was read in the transaction. */
struct read_set {
	struct kp_rs_result rsh, rshf;
	struct kp_rate_rows rate[2]; /* route, stop */
	struct route_riders *riders; /* in route order */
	size_t nriders, riders_cap;
	int have_day_riders;
	double day_riders; /* the date's sketch (ST_RIDERS_ALL) */
};

/* A route × stop × hour cell after disclosure control. */
struct published {
	int pub;
	uint64_t v;
};

/* A build in progress: the tables so far, and what they are built from. */
struct build {
	struct od_tables *out;
	const struct od_disclosure *d;
	int start_hour; /* the service day's, for GTFS times */
	struct read_set rs;
	struct published *cell; /* one per rs.rsh group */
	/* The last number written as text for a join id (tb_join_*_id): rows
	 * come in route, or stop, order, so most rows reuse it. */
	struct {
		uint32_t id;
		const char *text;
	} last_route, last_stop;
};

static inline struct od_cell date_cell(uint32_t date)
{
	return (struct od_cell){ .u = date };
}

static inline struct od_cell int_cell(uint64_t v)
{
	return (struct od_cell){ .u = v };
}

/* A text cell, or an empty one for NULL. */
static inline struct od_cell text_cell(const char *s)
{
	return s != NULL ? (struct od_cell){ .s = s } : (struct od_cell){ .null = 1 };
}

/* tables.c: the tables of b->out (its service_date, feed and chain head
 * set by the caller) from b->rs, through disclosure control: the one path
 * of a database's export and of a merge. 0, or -1 with err. */
int tb_build_tables(struct build *b, char err[OD_ERR_SIZE]);
/* Frees what b holds (b->rs and the published cells), not b->out. */
void tb_build_free(struct build *b);

/* A sum of published counts: already noised, suppressed only below k. */
struct od_cell tb_sum_cell(struct build *b, uint64_t sum);
/* The id a standard file joins on: the feed's GTFS id, else komposter's
 * number as text (owned by the tables); NULL out of memory. */
const char *tb_join_route_id(struct build *b, uint32_t route);
const char *tb_join_stop_id(struct build *b, uint32_t stop);

/* standards.c: the standards' tables, from the published cells of b;
 * 0, or -1 out of memory. */
int tb_build_ridership_txt(struct build *b, struct od_table *t);
int tb_build_ride_feed(struct build *b, struct od_table *t);
int tb_build_stations(struct build *b, struct od_table *t);
/* The i-th of the standards' tables of the format (tables.h), NULL past the last. */
const struct od_table_format *tb_standards_format(size_t i);

#endif
