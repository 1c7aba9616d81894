/*
 * verify_derived.c — the checks of verify.h on the numbers a package
 * derives from its published route × stop × hour cells: ridership.txt
 * (the cells themselves), station_activities.csv and validation_rate's
 * stop-level accepted taps (their sums by stop and hour), ridership_day
 * (their sum, and the day's riders against the routes'), validation_rate's
 * route-level taps (never beside a suppressed cell), ride_feed_info.txt.
 *
 * The cells are keyed by text (the GTFS id where the table has one, else
 * komposter's number, and the hour), sorted once, and looked up: a day's
 * package has tens of thousands of cells.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opendata/package.h"
#include "opendata/verify_internal.h"
#include "storage/service_day.h"

/* A cell of ridership_route_stop_hour (or a sum of them) under a text key. */
struct keyed {
	char *key;
	uint64_t sum;     /* of the published cells under the key */
	const char *text; /* the cell's own text (one cell per key) */
	size_t cells, hidden; /* cells under the key, suppressed ones */
	int overflow;         /* sum passed 2^64 - 1 (vf_add) */
};

static int keyed_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static void keyed_free(struct keyed *k, size_t n)
{
	for (size_t i = 0; i < n && k != NULL; i++)
		free(k[i].key);
	free(k);
}

/* The id a standard file joins on: the GTFS id, else komposter's number. */
static const char *join_id(const struct grid *g, size_t r, size_t gtfs, size_t number)
{
	return vf_cell(g, r, gtfs)[0] != '\0' ? vf_cell(g, r, gtfs) : vf_cell(g, r, number);
}

/* The rows of rsh keyed by the columns cols (SIZE_MAX ends; a pair of a
 * GTFS column and a number column joins as join_id), sorted, equal keys
 * merged: the sum of their published cells. NULL out of memory. */
static struct keyed *keyed_cells(const struct grid *g, const size_t *cols, size_t ncols, size_t *n)
{
	struct keyed *k = calloc(g->nrows ? g->nrows : 1, sizeof(*k));
	size_t ra = vf_column(g, "accepted"), m = 0;

	if (k == NULL)
		return NULL;
	for (size_t r = 1; r <= g->nrows; r++) {
		char key[LINE_SIZE];
		size_t at = 0;

		for (size_t c = 0; c < ncols; c += 2) {
			const char *t = cols[c + 1] == SIZE_MAX ? vf_cell(g, r, cols[c]) : join_id(g, r, cols[c], cols[c + 1]);

			if (at < sizeof(key))
				at += (size_t)snprintf(key + at, sizeof(key) - at, "%s\x1f", t);
		}
		k[r - 1] = (struct keyed){ .key = strdup(key), .sum = strtoull(vf_cell(g, r, ra), NULL, 10),
			                   .text = vf_cell(g, r, ra), .cells = 1, .hidden = vf_cell(g, r, ra)[0] == '\0' };
		if (k[r - 1].key == NULL) {
			keyed_free(k, r - 1);
			return NULL;
		}
	}
	qsort(k, g->nrows, sizeof(*k), keyed_key_cmp);
	for (size_t i = 0; i < g->nrows; i++) {
		if (m > 0 && strcmp(k[m - 1].key, k[i].key) == 0) {
			k[m - 1].overflow |= vf_add(&k[m - 1].sum, k[i].sum);
			k[m - 1].cells++;
			k[m - 1].hidden += k[i].hidden;
			free(k[i].key);
		} else {
			k[m++] = k[i];
		}
	}
	*n = m;
	return k;
}

static const struct keyed *keyed_find(const struct keyed *k, size_t n, const char *key)
{
	const struct keyed probe = { .key = (char *)key };

	return bsearch(&probe, k, n, sizeof(*k), keyed_key_cmp);
}

/* What a sum of published cells is published as: empty below k. */
static void sum_text(const struct verify *v, uint64_t sum, char out[24])
{
	if (sum < v->k)
		out[0] = '\0';
	else
		snprintf(out, 24, "%" PRIu64, sum);
}

/* A service day starts at a local hour S of 0..23 (storage/db.h) and
 * lasts 24 hours, S..S+23 counted from its date's midnight: never 47. */
#define SERVICE_HOUR_END 47

/* The hour a standard file's time names, counted from the service date's
 * midnight: a GTFS time (HH:MM:SS; the exporter writes 01:00 after
 * midnight as 25:00:00, as GTFS does) or a local date-time (YYYY-MM-DDTHH,
 * of the date or of the next morning). Its local clock hour, the hour of
 * ridership_route_stop_hour, is that modulo 24. -1 when no service day of
 * the date has it (49:00:00 is two days on, not 01:00). */
static int service_hour(const struct verify *v, const char *text, int datetime)
{
	if (strlen(text) < (datetime ? 13u : 2u)) /* check_cells names a malformed cell */
		return -1;
	unsigned h = (unsigned)strtoul(text + (datetime ? 11 : 0), NULL, 10);
	uint32_t date;
	char iso[11];

	if (datetime) {
		snprintf(iso, sizeof(iso), "%.10s", text);
		if (st_date_parse(iso, &date) != 0 || (date != v->date && date != st_date_add(v->date, 1)))
			return -1;
		h += date == v->date ? 0 : 24;
	}
	return h < SERVICE_HOUR_END ? (int)h : -1;
}

/* The hour of a row's time, noted for check_hours; -1 (reported) when it
 * is no hour of the service date. */
static int row_hour(struct verify *v, const char *file, size_t row, const char *field, const char *text,
                    int datetime)
{
	int h = service_hour(v, text, datetime);

	if (h < 0) {
		vf_problem(v, "%s: row %zu: %s %s is no hour of the service date (%s)", file, row, field, text,
		           datetime ? "its own date or the next morning" : "GTFS time before 47:00:00");
		return -1;
	}
	v->hour_min = h < v->hour_min ? h : v->hour_min;
	v->hour_max = h > v->hour_max ? h : v->hour_max;
	return h;
}

/* The hours of both standard files lie within one service day: a time
 * past 24:00:00 stands for an hour before the day's start, never for one
 * the day has already. */
static void check_hours(struct verify *v)
{
	if (v->hour_max >= 0 && v->hour_max - v->hour_min >= 24)
		vf_problem(v, "ridership.txt, station_activities.csv: their hours run from %02d:00 to %02d:00 of the "
		           "service date's clock, more than the 24 hours of one service day",
		        v->hour_min, v->hour_max);
}

/* ridership.txt: one row per cell of ridership_route_stop_hour, its
 * total_boardings that cell's published value, no alightings. */
static void check_ridership_txt(struct verify *v, const struct table_forms *rsh, const struct table_forms *ride)
{
	const struct grid *g = &rsh->csv, *t = &ride->csv;
	const size_t cols[] = { vf_column(g, "gtfs_route_id"), vf_column(g, "route_id"), vf_column(g, "gtfs_stop_id"),
		                vf_column(g, "stop_id"), vf_column(g, "hour"), SIZE_MAX };
	size_t tb = vf_column(t, "total_boardings"), ta = vf_column(t, "total_alightings"),
	       st = vf_column(t, "ridership_start_time"), tr = vf_column(t, "route_id"), ts = vf_column(t, "stop_id"), n = 0;
	struct keyed *k;

	for (size_t c = 0; c < 5; c++)
		if (cols[c] == SIZE_MAX)
			return;
	if (tb == SIZE_MAX || ta == SIZE_MAX || st == SIZE_MAX || tr == SIZE_MAX || ts == SIZE_MAX)
		return;
	if (t->nrows != g->nrows)
		vf_problem(v, "ridership.txt: %zu rows, ridership_route_stop_hour.csv has %zu (one per cell)", t->nrows,
		        g->nrows);
	k = keyed_cells(g, cols, 6, &n);
	if (k == NULL) {
		vf_problem(v, "ridership.txt: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE];
		const struct keyed *c;
		int h = row_hour(v, "ridership.txt", r, "ridership_start_time", vf_cell(t, r, st), 0);

		if (vf_cell(t, r, ta)[0] != '\0')
			vf_problem(v, "ridership.txt: row %zu: total_alightings '%s' is published by no table", r, vf_cell(t, r, ta));
		if (h < 0)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%d\x1f", vf_cell(t, r, tr), vf_cell(t, r, ts), h % 24);
		c = keyed_find(k, n, key);
		if (c == NULL)
			vf_problem(v, "ridership.txt: row %zu: route %s, stop %s at %s is no cell of ridership_route_stop_hour",
			        r, vf_cell(t, r, tr), vf_cell(t, r, ts), vf_cell(t, r, st));
		else if (strcmp(c->text, vf_cell(t, r, tb)) != 0)
			vf_problem(v, "ridership.txt: row %zu: total_boardings '%s' is not the published cell of "
			           "ridership_route_stop_hour ('%s')",
			        r, vf_cell(t, r, tb), c->text);
	}
	keyed_free(k, n);
}

/* station_activities.csv: per stop and hour, the sum of the published
 * cells there, empty below k, in both count columns. */
static void check_stations(struct verify *v, const struct table_forms *rsh, const struct table_forms *sa)
{
	const struct grid *g = &rsh->csv, *t = &sa->csv;
	const size_t cols[] = { vf_column(g, "gtfs_stop_id"), vf_column(g, "stop_id"), vf_column(g, "hour"), SIZE_MAX };
	size_t ts = vf_column(t, "stop_id"), tp = vf_column(t, "time_period_start"), te = vf_column(t, "total_entries"),
	       tn = vf_column(t, "number_of_transactions"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[1] == SIZE_MAX || cols[2] == SIZE_MAX || ts == SIZE_MAX || tp == SIZE_MAX ||
	    te == SIZE_MAX || tn == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		vf_problem(v, "station_activities.csv: out of memory");
		return;
	}
	if (t->nrows != n)
		vf_problem(v, "station_activities.csv: %zu rows, ridership_route_stop_hour.csv has %zu stops and hours",
		        t->nrows, n);
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE], want[24];
		const struct keyed *c;
		int h = row_hour(v, "station_activities.csv", r, "time_period_start", vf_cell(t, r, tp), 1);

		if (h < 0)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%d\x1f", vf_cell(t, r, ts), h % 24);
		c = keyed_find(k, n, key);
		if (c == NULL) {
			vf_problem(v, "station_activities.csv: row %zu: stop %s at %s has no cell in ridership_route_stop_hour", r,
			        vf_cell(t, r, ts), vf_cell(t, r, tp));
			continue;
		}
		if (c->overflow) {
			vf_problem(v, "station_activities.csv: row %zu: the sum of the published cells at stop %s and that "
			           "hour overflows 64 bits",
			        r, vf_cell(t, r, ts));
			continue;
		}
		sum_text(v, c->sum, want);
		if (strcmp(vf_cell(t, r, te), want) != 0 || strcmp(vf_cell(t, r, tn), want) != 0)
			vf_problem(v, "station_activities.csv: row %zu: total_entries '%s', number_of_transactions '%s' are not "
			           "the sum of the published cells at stop %s and that hour ('%s')",
			        r, vf_cell(t, r, te), vf_cell(t, r, tn), vf_cell(t, r, ts), want);
	}
	keyed_free(k, n);
}

/* validation_rate, level stop: accepted is the sum of the published cells
 * at the stop and hour (every route), empty below k. */
static void check_stop_rates(struct verify *v, const struct table_forms *rsh, const struct table_forms *vr)
{
	const struct grid *g = &rsh->csv, *t = &vr->csv;
	const size_t cols[] = { vf_column(g, "stop_id"), SIZE_MAX, vf_column(g, "hour"), SIZE_MAX };
	size_t tl = vf_column(t, "level"), tp = vf_column(t, "place_id"), th = vf_column(t, "hour"),
	       ta = vf_column(t, "accepted"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[2] == SIZE_MAX || tl == SIZE_MAX || tp == SIZE_MAX || th == SIZE_MAX ||
	    ta == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		vf_problem(v, "validation_rate.csv: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE], want[24];
		const struct keyed *c;

		if (strcmp(vf_cell(t, r, tl), "stop") != 0)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f", vf_cell(t, r, tp), vf_cell(t, r, th));
		c = keyed_find(k, n, key);
		if (c != NULL && c->overflow) {
			vf_problem(v, "validation_rate.csv: row %zu: the sum of the published cells at stop %s hour %s "
			           "overflows 64 bits",
			        r, vf_cell(t, r, tp), vf_cell(t, r, th));
			continue;
		}
		sum_text(v, c ? c->sum : 0, want);
		if (strcmp(vf_cell(t, r, ta), want) != 0)
			vf_problem(v, "validation_rate.csv: row %zu: stop %s hour %s: accepted '%s' is not the sum of the "
			           "published cells at that stop and hour ('%s')",
			        r, vf_cell(t, r, tp), vf_cell(t, r, th), vf_cell(t, r, ta), want);
	}
	keyed_free(k, n);
}

/* validation_rate, level route: accepted (the taps of the vehicles with
 * counters) only when every cell of the route and hour is published, and
 * without noise the other vehicles' taps (the published cells minus it)
 * are none or at least k. */
static void check_route_rates(struct verify *v, const struct table_forms *rsh, const struct table_forms *vr)
{
	const struct grid *g = &rsh->csv, *t = &vr->csv;
	const size_t cols[] = { vf_column(g, "route_id"), SIZE_MAX, vf_column(g, "hour"), SIZE_MAX };
	size_t tl = vf_column(t, "level"), tp = vf_column(t, "place_id"), th = vf_column(t, "hour"),
	       ta = vf_column(t, "accepted"), n = 0;
	struct keyed *k;

	if (cols[0] == SIZE_MAX || cols[2] == SIZE_MAX || tl == SIZE_MAX || tp == SIZE_MAX || th == SIZE_MAX ||
	    ta == SIZE_MAX)
		return;
	k = keyed_cells(g, cols, 4, &n);
	if (k == NULL) {
		vf_problem(v, "validation_rate.csv: out of memory");
		return;
	}
	for (size_t r = 1; r <= t->nrows; r++) {
		char key[LINE_SIZE];
		const struct keyed *c;
		uint64_t accepted, sum;

		if (strcmp(vf_cell(t, r, tl), "route") != 0 || vf_cell(t, r, ta)[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f", vf_cell(t, r, tp), vf_cell(t, r, th));
		c = keyed_find(k, n, key);
		accepted = strtoull(vf_cell(t, r, ta), NULL, 10);
		sum = c ? c->sum : 0;
		if (c != NULL && c->overflow)
			vf_problem(v, "validation_rate.csv: row %zu: the sum of the published cells of route %s hour %s "
			           "overflows 64 bits",
			        r, vf_cell(t, r, tp), vf_cell(t, r, th));
		else if (c != NULL && c->hidden > 0)
			vf_problem(v, "validation_rate.csv: row %zu: route %s hour %s: accepted %s is published beside a "
			           "suppressed cell of that route and hour, which it could recover",
			        r, vf_cell(t, r, tp), vf_cell(t, r, th), vf_cell(t, r, ta));
		else if (!v->noisy && (accepted > sum || (sum > accepted && sum - accepted < v->k)))
			vf_problem(v, "validation_rate.csv: row %zu: route %s hour %s: the published cells (%" PRIu64
			           ") minus accepted %s leave the other vehicles' taps below k",
			        r, vf_cell(t, r, tp), vf_cell(t, r, th), sum, vf_cell(t, r, ta));
	}
	keyed_free(k, n);
}

/* ridership_day: accepted is the sum of every published cell; riders no
 * more than accepted, and never 1..k-1 above a route's published riders. */
static void check_day(struct verify *v, const struct table_forms *rsh, const struct table_forms *day,
                      const struct table_forms *route_day)
{
	size_t ra = vf_column(&rsh->csv, "accepted"), da = vf_column(&day->csv, "accepted"),
	       dr = vf_column(&day->csv, "riders"), rr = route_day ? vf_column(&route_day->csv, "riders") : SIZE_MAX;
	uint64_t sum = 0, riders;
	char want[24];
	int overflow = 0;

	if (ra == SIZE_MAX || da == SIZE_MAX || dr == SIZE_MAX || day->csv.nrows != 1) {
		if (day->csv.nrows != 1)
			vf_problem(v, "ridership_day.csv: %zu rows, not one", day->csv.nrows);
		return;
	}
	for (size_t r = 1; r <= rsh->csv.nrows; r++)
		overflow |= vf_add(&sum, strtoull(vf_cell(&rsh->csv, r, ra), NULL, 10));
	sum_text(v, sum, want);
	if (overflow)
		vf_problem(v, "ridership_day.csv: the sum of the published cells overflows 64 bits");
	else if (strcmp(vf_cell(&day->csv, 1, da), want) != 0)
		vf_problem(v, "ridership_day.csv: accepted '%s' is not the sum of the published cells ('%s')",
		        vf_cell(&day->csv, 1, da), want);
	if (vf_cell(&day->csv, 1, dr)[0] == '\0')
		return;
	riders = strtoull(vf_cell(&day->csv, 1, dr), NULL, 10);
	if (vf_cell(&day->csv, 1, da)[0] == '\0' || riders > strtoull(vf_cell(&day->csv, 1, da), NULL, 10))
		vf_problem(v, "ridership_day.csv: %" PRIu64 " riders beside %s accepted taps would bound the suppressed cells",
		        riders, vf_cell(&day->csv, 1, da)[0] ? vf_cell(&day->csv, 1, da) : "no published");
	for (size_t r = 1; rr != SIZE_MAX && r <= route_day->csv.nrows; r++) {
		const char *text = vf_cell(&route_day->csv, r, rr);
		uint64_t route = strtoull(text, NULL, 10);

		if (text[0] != '\0' && riders > route && riders - route < v->k)
			vf_problem(v, "ridership_day.csv: %" PRIu64 " riders minus route row %zu's %" PRIu64
			           " leaves %" PRIu64 " riders, below k %" PRIu64,
			        riders, r, route, riders - route, v->k);
	}
}

/* The standard files and the day table are read from the same published
 * cells: none may hold a number that is not one of them or their sum. A
 * table or column missing here is a problem verify.c named already. */
void vf_check_derived(struct verify *v, const struct table_forms *tables, size_t n)
{
	const struct table_forms *rsh = vf_find_table(tables, n, "ridership_route_stop_hour");
	const struct table_forms *t;

	if (rsh == NULL)
		return;
	if ((t = vf_find_table(tables, n, "ridership")) != NULL)
		check_ridership_txt(v, rsh, t);
	if ((t = vf_find_table(tables, n, "station_activities")) != NULL)
		check_stations(v, rsh, t);
	check_hours(v);
	if ((t = vf_find_table(tables, n, "ride_feed_info")) != NULL &&
	    (t->csv.nrows != 1 || vf_column(&t->csv, "ride_files") == SIZE_MAX ||
	     strcmp(vf_cell(&t->csv, 1, vf_column(&t->csv, "ride_files")), "2") != 0))
		vf_problem(v, "ride_feed_info.txt: not one row with ride_files 2 (the data is in ridership.txt)");
	if ((t = vf_find_table(tables, n, "validation_rate")) != NULL) {
		check_stop_rates(v, rsh, t);
		check_route_rates(v, rsh, t);
	}
	if ((t = vf_find_table(tables, n, "ridership_day")) != NULL)
		check_day(v, rsh, t, vf_find_table(tables, n, "ridership_route_day"));
}

