/*
 * tables.c — the tables of an open-data package (tables.h).
 *
 * Everything is read in one read transaction: the tap sums by route, stop
 * and hour and by route, stop, hour and fare (report/ridership.h), the
 * validation rate rows of both levels (report/rate.h), the distinct-rider
 * estimates, the imported GTFS routes and stops, and the chain head.
 * The tables are built after it ended, in this order, because each later
 * one sums what the earlier ones published:
 *   route × stop × hour → route × day (its published cells)
 *                       → day (all published cells; its riders checked
 *                         against the routes' published riders)
 *                       → fare × day (the fare cells under its published cells)
 *                       → stop-level accepted taps of the validation rate
 *                       → ridership.txt (the published cells), and
 *                         station_activities.csv (their sums by stop, hour):
 *                         the standards' files, built in standards.c.
 */
#include "opendata/tables.h"
#include "opendata/tables_internal.h"
#include "opendata/outbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/rate.h"
#include "report/ridership.h"
#include "storage/count_agg.h"
#include "storage/derive.h"
#include "storage/log.h"
#include "storage/riders.h"
#include "storage/service_day.h"

#define FARES_N 65536 /* fare products are 16-bit */

#define ROUTE_FIELDS                                                                                       \
	{ "gtfs_route_id", OD_TEXT, "route_id of the route in the imported GTFS feed; empty when not in it", 0 }, \
	{ "route_short_name", OD_TEXT, "route_short_name in the imported GTFS feed; empty when not in it", 0 }, \
	{ "route_long_name", OD_TEXT, "route_long_name in the imported GTFS feed; empty when not in it", 0 }
#define STOP_FIELDS                                                                                        \
	{ "gtfs_stop_id", OD_TEXT, "stop_id of the stop in the imported GTFS feed; empty when not in it", 0 }, \
	{ "stop_name", OD_TEXT, "stop_name in the imported GTFS feed; empty when not in it", 0 }

static const struct od_field rsh_fields[] = {
	{ "service_date", OD_DATE, "Service date; the service day starts at the operator's start hour", 1 },
	{ "route_id", OD_INTEGER, "Route number of the validators (the GTFS route_id when the feed's is numeric)", 1 },
	ROUTE_FIELDS,
	{ "stop_id", OD_INTEGER, "Stop number of the validators (the GTFS stop_id when the feed's is numeric)", 1 },
	STOP_FIELDS,
	{ "hour", OD_INTEGER, "Local clock hour of the taps, 0-23", 1 },
	{ "accepted", OD_COUNT, "Accepted taps; empty when suppressed (below k)", 0 },
};
enum { RSH_ROUTE = 1, RSH_STOP = 5, RSH_HOUR = 8, RSH_ACCEPTED = 9 };
static const struct od_field route_day_fields[] = {
	{ "service_date", OD_DATE, "Service date", 1 },
	{ "route_id", OD_INTEGER, "Route number of the validators (the GTFS route_id when the feed's is numeric)", 1 },
	ROUTE_FIELDS,
	{ "accepted", OD_COUNT,
	  "Accepted taps: the sum of the route's published cells of ridership_route_stop_hour; "
	  "empty when none is published",
	  0 },
	{ "riders", OD_COUNT,
	  "Distinct riders (cards) of the route's accepted taps, a HyperLogLog estimate (near exact "
	  "below about 4000, 0.81 % standard error above), rounded; empty when below k or above "
	  "accepted",
	  0 },
};
enum { ROUTE_DAY_ACCEPTED = 5 };
static const struct od_field day_fields[] = {
	{ "service_date", OD_DATE, "Service date", 1 },
	{ "accepted", OD_COUNT,
	  "Accepted taps: the sum of every published cell of ridership_route_stop_hour; empty below k", 0 },
	{ "riders", OD_COUNT,
	  "Distinct riders (cards) of the day's accepted taps, a HyperLogLog estimate (near exact below "
	  "about 4000, 0.81 % standard error above), rounded; empty when below k, above accepted, or "
	  "when it exceeds a route's published riders by less than k",
	  0 },
};
static const struct od_field fare_day_fields[] = {
	{ "service_date", OD_DATE, "Service date", 1 },
	{ "fare_product", OD_INTEGER, "Fare product code of the validators", 1 },
	{ "accepted", OD_COUNT,
	  "Accepted taps within the published cells of ridership_route_stop_hour; empty when "
	  "suppressed",
	  0 },
};
static const struct od_field rate_fields[] = {
	{ "service_date", OD_DATE, "Service date", 1 },
	{ "level", OD_STRING, "route: vehicles of a route with counters; stop: street cameras at a stop", 1 },
	{ "place_id", OD_INTEGER, "Route number (level route) or stop number (level stop)", 1 },
	{ "gtfs_place_id", OD_TEXT, "GTFS route_id or stop_id of the place in the imported feed; empty when not in it", 0 },
	{ "place_name", OD_TEXT,
	  "route_short_name (else route_long_name) or stop_name in the imported feed; empty when not in it", 0 },
	{ "hour", OD_INTEGER, "Local clock hour, 0-23", 1 },
	{ "source", OD_STRING, "signed: signed APC counts; nvr: camera (NVR) events", 1 },
	{ "boardings", OD_COUNT, "Camera or counter boardings; empty when suppressed", 0 },
	{ "alightings", OD_COUNT, "Camera or counter alightings; empty when suppressed", 0 },
	{ "accepted", OD_COUNT,
	  "Accepted taps set against the boardings (level route: of the vehicles with counters, "
	  "empty when a cell of the route and hour is suppressed or the other vehicles' taps are "
	  "below k; level stop: the sum of the published cells at the stop and hour); empty when "
	  "suppressed",
	  0 },
	{ "complete", OD_BOOLEAN, "Whether both sides hold the whole hour", 0 },
	{ "rate", OD_NUMBER,
	  "accepted / boardings of the published values, for a complete hour; empty otherwise", 0 },
};
enum { RATE_BOARDINGS = 7, RATE_ALIGHTINGS, RATE_ACCEPTED, RATE_COMPLETE, RATE_RATE };
static const struct od_table_format formats[] = {
	{ "ridership_route_stop_hour", rsh_fields, NFIELDS(rsh_fields), 1, 0 },
	{ "ridership_route_day", route_day_fields, NFIELDS(route_day_fields), 1, 0 },
	{ "ridership_day", day_fields, NFIELDS(day_fields), 1, 0 },
	{ "ridership_fare_day", fare_day_fields, NFIELDS(fare_day_fields), 1, 0 },
	{ "validation_rate", rate_fields, NFIELDS(rate_fields), 1, 1 },
};

const struct od_table_format *od_tables_format(size_t i)
{
	return i < NFIELDS(formats) ? &formats[i] : tb_standards_format(i - NFIELDS(formats));
}

const struct od_table_format *od_tables_format_named(const char *table)
{
	const struct od_table_format *f;

	for (size_t i = 0; (f = od_tables_format(i)) != NULL; i++)
		if (strcmp(f->name, table) == 0)
			return f;
	return NULL;
}

const struct od_field *od_tables_known_field(const char *table, const char *name)
{
	const struct od_table_format *f = od_tables_format_named(table);

	for (size_t i = 0; f != NULL && i < f->nfields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}

/* A cell's label for its noise (disclosure.h): date, table, column and
 * cell key, so the same cell draws the same noise in every export. */
#define LABEL_SIZE 128

/* Appends s after '/' to the label of n bytes, cut at LABEL_SIZE - 1 as
 * snprintf would cut it. */
static size_t label_part(char buf[LABEL_SIZE], size_t n, const char *s)
{
	if (n < LABEL_SIZE - 1)
		buf[n++] = '/';
	for (; *s != '\0' && n < LABEL_SIZE - 1; s++)
		buf[n++] = *s;
	buf[n] = '\0';
	return n;
}

/* Built by hand, not by snprintf: one per published count. The text is
 * "DATE/TABLE/COLUMN/KEY", which the noise of every cell depends on. */
static const char *cell_label(char buf[LABEL_SIZE], const struct build *b, const char *table, const char *column,
                              const char *key)
{
	size_t n = ob_format_u64(b->out->service_date, 0, buf);

	n = label_part(buf, n, table);
	n = label_part(buf, n, column);
	label_part(buf, n, key);
	return buf;
}

/* "ROUTE/STOP/HOUR": a route × stop × hour cell's key in its label. */
static const char *rsh_key(char buf[64], const uint32_t k[3])
{
	size_t n = ob_format_u64(k[0], 0, buf);

	buf[n++] = '/';
	n += ob_format_u64(k[1], 0, buf + n);
	buf[n++] = '/';
	ob_format_u64(k[2], 0, buf + n);
	return buf;
}

/* A count through disclosure control: published or null. */
static struct od_cell count_cell(struct build *b, const char *label, uint64_t v, uint64_t *published)
{
	uint64_t out;

	b->out->cells++;
	if (od_disclosure_publish(b->d, label, v, &out)) {
		if (published != NULL)
			*published = out;
		return (struct od_cell){ .u = out };
	}
	b->out->suppressed++;
	if (published != NULL)
		*published = 0;
	return (struct od_cell){ .null = 1 };
}

/* A sum of published counts: already noised, suppressed only below k. */
struct od_cell tb_sum_cell(struct build *b, uint64_t sum)
{
	b->out->cells++;
	if (sum < b->d->k) {
		b->out->suppressed++;
		return (struct od_cell){ .null = 1 };
	}
	return (struct od_cell){ .u = sum };
}

/* st_riders_foreach: keeps the routes' estimates (not the date's total). */
static int add_riders(void *ctx, uint32_t date, uint32_t route, double estimate)
{
	struct read_set *rs = ctx;

	(void)date;
	if (route == ST_RIDERS_ALL) {
		rs->have_day_riders = 1;
		rs->day_riders = estimate;
		return 0;
	}
	if (rs->nriders == rs->riders_cap) {
		size_t cap = rs->riders_cap ? rs->riders_cap * 2 : 64;
		struct route_riders *p = realloc(rs->riders, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		rs->riders = p;
		rs->riders_cap = cap;
	}
	rs->riders[rs->nriders++] = (struct route_riders){ .route = route, .estimate = estimate };
	return 0;
}

/* st_gtfs_route_foreach, st_gtfs_stop_foreach: the feed, in number order. */
static int add_route(void *ctx, const struct st_gtfs_route *route)
{
	struct od_tables *t = ctx;

	if (t->nroutes == t->routes_cap) {
		size_t cap = t->routes_cap ? t->routes_cap * 2 : 16;
		struct st_gtfs_route *p = realloc(t->routes, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		t->routes = p;
		t->routes_cap = cap;
	}
	t->routes[t->nroutes++] = *route;
	return 0;
}

static int add_stop(void *ctx, const struct st_gtfs_stop *stop)
{
	struct od_tables *t = ctx;

	if (t->nstops == t->stops_cap) {
		size_t cap = t->stops_cap ? t->stops_cap * 2 : 64;
		struct st_gtfs_stop *p = realloc(t->stops, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		t->stops = p;
		t->stops_cap = cap;
	}
	t->stops[t->nstops++] = *stop;
	return 0;
}

/* st_door_agg_foreach: the first door cell is enough. */
static int found_door_cell(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	(void)k;
	(void)v;
	*(int *)ctx = 1;
	return 1;
}

/* Whether date has any door cell (count_agg.h), of either source. A
 * validation rate row of either level rests on counts, which are stored
 * in a door cell of their date too (vehicle_hours.h), so a date without
 * one has no rows: the route level is then not looked for in the vehicle
 * hours, which are as many as the vehicles × routes × hours with taps. */
static int date_has_counts(struct st_read *r, uint32_t date, int *has)
{
	int rc;

	*has = 0;
	rc = st_door_agg_foreach(r, date, date, found_door_cell, has);
	return rc == ST_ESTOP && *has ? ST_OK : rc;
}

static int read_all(struct st_db *db, uint32_t date, int64_t now_ms, struct build *b, char *err)
{
	const struct kp_rs_query rshf = { .kind = KP_RS_TAPS, .from = date, .to = date,
		                          .by = { KP_RS_ROUTE, KP_RS_STOP, KP_RS_HOUR, KP_RS_FARE }, .nby = 4 };
	struct st_read r;
	int rc, counts = 0;

	rc = st_read_begin(db, &r);
	if (rc != ST_OK) {
		snprintf(err, OD_ERR_SIZE, "reading the database: %s", st_strerror(rc));
		return -1;
	}
	/* The date's tap cells are read once: route × stop × hour is their sum
	 * over fares. */
	rc = kp_rs_sum(&r, &rshf, &b->rs.rshf);
	if (rc == ST_OK)
		rc = kp_rs_rollup(&b->rs.rshf, 3, &b->rs.rsh);
	if (rc == ST_OK)
		rc = date_has_counts(&r, date, &counts);
	if (rc == ST_OK && counts)
		rc = kp_rate_collect(&r, date, date, ST_RECONCILE_ROUTE, now_ms, &b->rs.rate[0]);
	if (rc == ST_OK && counts)
		rc = kp_rate_collect(&r, date, date, ST_RECONCILE_STOP, now_ms, &b->rs.rate[1]);
	if (rc == ST_OK)
		rc = st_riders_foreach(&r, date, date, add_riders, &b->rs);
	if (rc == ST_OK)
		rc = st_gtfs_route_foreach(&r, add_route, b->out);
	if (rc == ST_OK)
		rc = st_gtfs_stop_foreach(&r, add_stop, b->out);
	uint64_t last;

	/* The chain as far as the cells hold the log (storage/derive.h). */
	if (rc == ST_OK)
		rc = st_derive_behind(&r, &b->out->chain_seq, &last);
	if (rc == ST_OK)
		rc = st_chain_head(&r, b->out->chain_seq, b->out->chain_head);
	st_read_end(&r);
	if (rc == ST_ESTOP)
		snprintf(err, OD_ERR_SIZE, "out of memory");
	else if (rc != ST_OK)
		snprintf(err, OD_ERR_SIZE, "reading the aggregates: %s", st_strerror(rc));
	return rc == ST_OK ? 0 : -1;
}

/* ------------------------------------------------------------ GTFS joins */

static const struct st_gtfs_route *find_route(const struct od_tables *t, uint32_t id)
{
	size_t lo = 0, hi = t->nroutes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->routes[mid].id == id)
			return &t->routes[mid];
		if (t->routes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct st_gtfs_stop *find_stop(const struct od_tables *t, uint32_t id)
{
	size_t lo = 0, hi = t->nstops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->stops[mid].id == id)
			return &t->stops[mid];
		if (t->stops[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* gtfs_route_id, route_short_name, route_long_name of route. */
static void route_cells(const struct build *b, uint32_t route, struct od_cell out[3])
{
	const struct st_gtfs_route *r = find_route(b->out, route);

	out[0] = text_cell(r ? r->gtfs_id : NULL);
	out[1] = text_cell(r ? r->short_name : NULL);
	out[2] = text_cell(r ? r->long_name : NULL);
}

/* gtfs_stop_id, stop_name of stop. */
static void stop_cells(const struct build *b, uint32_t stop, struct od_cell out[2])
{
	const struct st_gtfs_stop *s = find_stop(b->out, stop);

	out[0] = text_cell(s ? s->gtfs_id : NULL);
	out[1] = text_cell(s ? s->name : NULL);
}

/* A number as text, owned by the tables; NULL out of memory. */
static const char *owned_number(struct build *b, uint32_t n)
{
	struct od_tables *t = b->out;
	char text[16];

	if (t->ntexts == t->texts_cap) {
		size_t cap = t->texts_cap ? t->texts_cap * 2 : 64;
		char **p = realloc(t->texts, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		t->texts = p;
		t->texts_cap = cap;
	}
	snprintf(text, sizeof(text), "%" PRIu32, n);
	t->texts[t->ntexts] = strdup(text);
	return t->texts[t->ntexts] ? t->texts[t->ntexts++] : NULL;
}

/* The id a standard file joins on: the feed's GTFS id, else the number. */
const char *tb_join_route_id(struct build *b, uint32_t route)
{
	const struct st_gtfs_route *r = find_route(b->out, route);

	if (r != NULL)
		return r->gtfs_id;
	if (b->last_route.text == NULL || b->last_route.id != route) {
		b->last_route.text = owned_number(b, route);
		b->last_route.id = route;
	}
	return b->last_route.text;
}

const char *tb_join_stop_id(struct build *b, uint32_t stop)
{
	const struct st_gtfs_stop *s = find_stop(b->out, stop);

	if (s != NULL)
		return s->gtfs_id;
	if (b->last_stop.text == NULL || b->last_stop.id != stop) {
		b->last_stop.text = owned_number(b, stop);
		b->last_stop.id = stop;
	}
	return b->last_stop.text;
}

/* --------------------------------------------------------------- tables */

static int build_route_stop_hour(struct build *b, struct od_table *t)
{
	const struct kp_rs_result *g = &b->rs.rsh;

	od_table_init(t, "ridership_route_stop_hour", "Accepted taps by route, stop and hour", rsh_fields,
	              NFIELDS(rsh_fields));
	b->cell = calloc(g->n ? g->n : 1, sizeof(*b->cell));
	if (b->cell == NULL)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		char key[64], label[LABEL_SIZE];

		rsh_key(key, g->g[i].k);
		struct od_cell row[NFIELDS(rsh_fields)] = { date_cell(b->out->service_date) };

		row[RSH_ROUTE] = int_cell(g->g[i].k[0]);
		route_cells(b, g->g[i].k[0], &row[RSH_ROUTE + 1]);
		row[RSH_STOP] = int_cell(g->g[i].k[1]);
		stop_cells(b, g->g[i].k[1], &row[RSH_STOP + 1]);
		row[RSH_HOUR] = int_cell(g->g[i].k[2]);
		row[RSH_ACCEPTED] = count_cell(b, cell_label(label, b, t->name, "accepted", key),
		                               g->g[i].v[KP_RS_ACCEPTED], &b->cell[i].v);
		b->cell[i].pub = !row[RSH_ACCEPTED].null;
		if (od_table_add_row(t, row) != 0)
			return -1;
	}
	return 0;
}

/* The route's distinct riders: noised and suppressed below k like any
 * count, and suppressed above the published accepted taps too: more riders
 * than published taps would tell that the suppressed cells hold at least
 * the difference. r walks the estimates, which are in route order. */
static struct od_cell riders_cell(struct build *b, uint32_t route, const struct od_cell *accepted, size_t *r)
{
	uint64_t published;
	struct od_cell c;
	char key[16], label[LABEL_SIZE];

	while (*r < b->rs.nriders && b->rs.riders[*r].route < route)
		(*r)++;
	if (*r == b->rs.nriders || b->rs.riders[*r].route != route)
		return tb_sum_cell(b, 0); /* no sketch: no accepted tap stored */
	snprintf(key, sizeof(key), "%" PRIu32, route);
	c = count_cell(b, cell_label(label, b, "ridership_route_day", "riders", key),
	               (uint64_t)llround(b->rs.riders[*r].estimate), &published);
	if (!c.null && (accepted->null || published > accepted->u)) {
		b->out->suppressed++;
		return (struct od_cell){ .null = 1 };
	}
	return c;
}

/* Route totals from the published cells: the groups are sorted by route. */
static int build_route_day(struct build *b, struct od_table *t)
{
	const struct kp_rs_result *g = &b->rs.rsh;
	size_t r = 0;

	od_table_init(t, "ridership_route_day", "Accepted taps and distinct riders by route and day",
	              route_day_fields, NFIELDS(route_day_fields));
	for (size_t i = 0; i < g->n;) {
		uint32_t route = g->g[i].k[0];
		uint64_t sum = 0;

		for (; i < g->n && g->g[i].k[0] == route; i++)
			sum += b->cell[i].pub ? b->cell[i].v : 0;
		struct od_cell row[NFIELDS(route_day_fields)] = { date_cell(b->out->service_date), int_cell(route) };

		route_cells(b, route, &row[2]);
		row[ROUTE_DAY_ACCEPTED] = tb_sum_cell(b, sum);
		row[ROUTE_DAY_ACCEPTED + 1] = riders_cell(b, route, &row[ROUTE_DAY_ACCEPTED], &r);
		if (od_table_add_row(t, row) != 0)
			return -1;
	}
	return 0;
}

static int key3_cmp(const uint32_t *a, const uint32_t *b)
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* Secondary suppression of the fare table (tables.h): while the suppressed
 * fares are one, or sum to less than k, suppress the smallest published
 * one too. sums are the taps under published cells, the attacker's view. */
static void suppress_fares_secondary(const struct od_disclosure *d, const uint64_t *sums, const uint8_t *seen,
                                     uint8_t *pub)
{
	for (;;) {
		uint64_t hidden = 0;
		size_t nhidden = 0, smallest = FARES_N;

		for (size_t f = 0; f < FARES_N; f++) {
			if (!seen[f])
				continue;
			if (!pub[f]) {
				hidden += sums[f];
				nhidden++;
			} else if (smallest == FARES_N || sums[f] < sums[smallest]) {
				smallest = f;
			}
		}
		if (nhidden == 0 || (nhidden >= 2 && hidden >= d->k) || smallest == FARES_N)
			return;
		pub[smallest] = 0;
	}
}

static int build_fare_day(struct build *b, struct od_table *t)
{
	const struct kp_rs_result *cells = &b->rs.rsh, *fares = &b->rs.rshf;
	uint64_t *sums = calloc(FARES_N, sizeof(*sums)), *noisy = calloc(FARES_N, sizeof(*noisy));
	uint8_t *seen = calloc(FARES_N, 1), *pub = calloc(FARES_N, 1);
	size_t c = 0;
	int rc = -1;

	od_table_init(t, "ridership_fare_day", "Accepted taps by fare product and day", fare_day_fields,
	              NFIELDS(fare_day_fields));
	if (sums == NULL || noisy == NULL || seen == NULL || pub == NULL)
		goto out;
	/* Both are sorted by (route, stop, hour): walk them together. */
	for (size_t i = 0; i < fares->n; i++) {
		const struct kp_rs_group *g = &fares->g[i];

		while (c < cells->n && key3_cmp(cells->g[c].k, g->k) < 0)
			c++;
		if (c == cells->n || key3_cmp(cells->g[c].k, g->k) != 0 || !b->cell[c].pub)
			continue;
		sums[g->k[3]] += g->v[KP_RS_ACCEPTED];
		seen[g->k[3]] = 1;
	}
	for (size_t f = 0; f < FARES_N; f++) {
		if (!seen[f])
			continue;
		char key[16], label[LABEL_SIZE];

		snprintf(key, sizeof(key), "%zu", f);
		b->out->cells++;
		pub[f] = od_disclosure_publish(b->d, cell_label(label, b, t->name, "accepted", key), sums[f], &noisy[f]);
	}
	suppress_fares_secondary(b->d, sums, seen, pub);
	for (size_t f = 0; f < FARES_N; f++) {
		if (!seen[f])
			continue;
		b->out->suppressed += !pub[f];
		struct od_cell row[NFIELDS(fare_day_fields)] = {
			date_cell(b->out->service_date), int_cell(f),
			pub[f] ? (struct od_cell){ .u = noisy[f] } : (struct od_cell){ .null = 1 },
		};
		if (od_table_add_row(t, row) != 0)
			goto out;
	}
	rc = 0;
out:
	free(sums);
	free(noisy);
	free(seen);
	free(pub);
	return rc;
}

/* The sum of the published route × stop × hour cells at stop and hour. */
static uint64_t published_at_stop(const struct build *b, uint32_t stop, uint8_t hour)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < b->rs.rsh.n; i++)
		if (b->cell[i].pub && b->rs.rsh.g[i].k[1] == stop && b->rs.rsh.g[i].k[2] == hour)
			sum += b->cell[i].v;
	return sum;
}

/* Whether the route level's accepted taps of (route, hour) may be
 * published: they are the taps of the vehicles with counters, a part of
 * the route's taps of that hour, whose cells (one per stop) are published
 * too. Their difference must not be a suppressed cell, nor a count below
 * k of the other vehicles: so no cell of (route, hour) may be suppressed,
 * and the taps of the vehicles without counters are none or at least k. */
static int route_hour_publishable(const struct build *b, uint32_t route, uint8_t hour, uint64_t accepted)
{
	uint64_t total = 0;

	for (size_t i = 0; i < b->rs.rsh.n; i++) {
		const struct kp_rs_group *g = &b->rs.rsh.g[i];

		if (g->k[0] != route || g->k[2] != hour)
			continue;
		if (!b->cell[i].pub)
			return 0;
		total += g->v[KP_RS_ACCEPTED];
	}
	return total >= accepted && (total == accepted || total - accepted >= b->d->k);
}

/* How many route-level rows (one per source) the package has for (route,
 * hour). */
static size_t route_hour_sources(const struct build *b, uint32_t route, uint8_t hour)
{
	size_t n = 0;

	for (size_t i = 0; i < b->rs.rate[0].n; i++)
		n += b->rs.rate[0].v[i].place_id == route && b->rs.rate[0].v[i].hour == hour;
	return n;
}

/* A route level's accepted taps (route_hour_publishable), or null. With
 * rows of two sources for one (route, hour) (signed counters on some buses,
 * onboard cameras on others), each row's taps pass the test alone, but the
 * route's taps minus both can be a count below k: such rows publish none. */
static struct od_cell route_accepted_cell(struct build *b, const struct st_reconcile_row *r, const char *key)
{
	char label[LABEL_SIZE];

	if (route_hour_sources(b, r->place_id, r->hour) > 1 ||
	    !route_hour_publishable(b, r->place_id, r->hour, r->accepted)) {
		b->out->cells++;
		b->out->suppressed++;
		return (struct od_cell){ .null = 1 };
	}
	return count_cell(b, cell_label(label, b, "validation_rate", "accepted", key), r->accepted, NULL);
}

static int add_rate_row(struct build *b, struct od_table *t, enum st_reconcile_level level,
                        const struct st_reconcile_row *r)
{
	uint64_t boardings, accepted;
	char key[80], lb[LABEL_SIZE], la[LABEL_SIZE];

	snprintf(key, sizeof(key), "%s/%" PRIu32 "/%u/%s", kp_rate_level_name(level), (uint32_t)r->place_id,
	         (unsigned)r->hour, kp_rate_source_name(r->source));
	struct od_cell place[3];

	if (level == ST_RECONCILE_ROUTE) {
		route_cells(b, r->place_id, place);
		if (!place[1].null && place[1].s[0] == '\0')
			place[1] = place[2]; /* no short name: the long one */
	} else {
		stop_cells(b, r->place_id, place);
	}
	struct od_cell row[NFIELDS(rate_fields)] = {
		date_cell(r->service_date),
		{ .s = kp_rate_level_name(level) },
		int_cell(r->place_id),
		place[0],
		place[1],
		int_cell(r->hour),
		{ .s = kp_rate_source_name(r->source) },
		count_cell(b, cell_label(lb, b, "validation_rate", "boardings", key), r->boardings, &boardings),
		count_cell(b, cell_label(la, b, "validation_rate", "alightings", key), r->alightings, NULL),
		level == ST_RECONCILE_STOP ? tb_sum_cell(b, published_at_stop(b, r->place_id, r->hour))
		                           : route_accepted_cell(b, r, key),
		{ .u = r->complete },
		{ .null = 1 },
	};

	accepted = row[RATE_ACCEPTED].u;
	if (r->complete && !row[RATE_BOARDINGS].null && !row[RATE_ACCEPTED].null && boardings > 0)
		row[RATE_RATE] = (struct od_cell){ .d = (double)accepted / (double)boardings };
	return od_table_add_row(t, row);
}

static int build_rate(struct build *b, struct od_table *t)
{
	od_table_init(t, "validation_rate", "Accepted taps against camera and counter boardings", rate_fields,
	              NFIELDS(rate_fields));
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < b->rs.rate[l].n; i++)
			if (add_rate_row(b, t, l == 0 ? ST_RECONCILE_ROUTE : ST_RECONCILE_STOP, &b->rs.rate[l].v[i]) != 0)
				return -1;
	return 0;
}

/* Whether the day's published riders would give away a group below k:
 * above the day's published taps, or 1..k-1 above a route's published
 * riders (route_day's). */
static int day_riders_disclose(const struct build *b, const struct od_table *route_day, const struct od_cell *accepted,
                               uint64_t riders)
{
	if (accepted->null || riders > accepted->u)
		return 1;
	for (size_t r = 0; r < route_day->nrows; r++) {
		const struct od_cell *rr = &route_day->cells[r * route_day->nfields + ROUTE_DAY_ACCEPTED + 1];

		if (!rr->null && riders > rr->u && riders - rr->u < b->d->k)
			return 1;
	}
	return 0;
}

/* The day's taps and distinct riders (tables.h). */
static int build_day(struct build *b, struct od_table *t, const struct od_table *route_day)
{
	uint64_t sum = 0, riders = 0;
	char label[LABEL_SIZE];

	od_table_init(t, "ridership_day", "Accepted taps and distinct riders of the day", day_fields,
	              NFIELDS(day_fields));
	for (size_t i = 0; i < b->rs.rsh.n; i++)
		sum += b->cell[i].pub ? b->cell[i].v : 0;
	struct od_cell row[NFIELDS(day_fields)] = { date_cell(b->out->service_date), tb_sum_cell(b, sum) };

	if (!b->rs.have_day_riders)
		row[2] = tb_sum_cell(b, 0); /* no sketch: no accepted tap stored */
	else
		row[2] = count_cell(b, cell_label(label, b, t->name, "riders", "all"),
		                    (uint64_t)llround(b->rs.day_riders), &riders);
	/* A cell tb_sum_cell or count_cell suppressed is counted already;
	 * one they published and this suppresses is counted here, once. */
	if (!row[2].null && day_riders_disclose(b, route_day, &row[1], riders)) {
		row[2] = (struct od_cell){ .null = 1 };
		b->out->suppressed++;
	}
	return od_table_add_row(t, row);
}

int tb_build_tables(struct build *b, char err[OD_ERR_SIZE])
{
	struct od_tables *out = b->out;

	if (build_route_stop_hour(b, &out->t[out->n++]) != 0 || build_route_day(b, &out->t[out->n++]) != 0 ||
	    build_day(b, &out->t[out->n++], &out->t[1]) != 0 || build_fare_day(b, &out->t[out->n++]) != 0)
		goto oom;
	if (b->rs.rate[0].n + b->rs.rate[1].n > 0 && build_rate(b, &out->t[out->n++]) != 0)
		goto oom;
	if (tb_build_ridership_txt(b, &out->t[out->n++]) != 0 || tb_build_ride_feed(b, &out->t[out->n++]) != 0 ||
	    tb_build_stations(b, &out->t[out->n++]) != 0)
		goto oom;
	return 0;
oom:
	snprintf(err, OD_ERR_SIZE, "out of memory");
	return -1;
}

void tb_build_free(struct build *b)
{
	free(b->cell);
	kp_rs_free(&b->rs.rsh);
	kp_rs_free(&b->rs.rshf);
	kp_rate_free(&b->rs.rate[0]);
	kp_rate_free(&b->rs.rate[1]);
	free(b->rs.riders);
	memset(b, 0, sizeof(*b));
}

int od_tables_build(struct st_db *db, uint32_t date, const struct od_disclosure *d, int64_t now_ms,
                    struct od_tables *out, char err[OD_ERR_SIZE])
{
	struct build b = { .out = out, .d = d, .start_hour = st_db_options(db)->service_day_start_hour };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->service_date = date;
	if (read_all(db, date, now_ms, &b, err) == 0)
		rc = tb_build_tables(&b, err);
	tb_build_free(&b);
	return rc;
}

void od_tables_free(struct od_tables *t)
{
	for (size_t i = 0; i < t->n; i++)
		od_table_free(&t->t[i]);
	t->n = 0;
	for (size_t i = 0; i < t->ntexts; i++)
		free(t->texts[i]);
	free(t->texts);
	free(t->routes);
	free(t->stops);
	t->texts = NULL;
	t->routes = NULL;
	t->stops = NULL;
	t->ntexts = t->nroutes = t->nstops = 0;
}
