/*
 * reconcile.c — the validation rate: camera door cells set against accepted
 * taps, per (service date, hour, route or stop, source).
 *
 * Why it is built this way: the rows are the camera cells of the range, so
 * they are gathered first (one walk of the door cells or of the vehicle
 * hours, one row per cell, sorted and merged by (date, hour, place,
 * source)); at the stop level the taps are then added to the rows they
 * belong to by binary search during one walk of the tap cells, and a tap
 * cell with no camera row is skipped (no camera, no row). Memory is bounded
 * by the camera cells of the range, never by the taps.
 *
 * Route level: the rows come from vehicle_hours, not from the door cells:
 * a (date, hour, route, source) row sums, over the vehicles of the route
 * whose hour has counts of that source, their boardings, alightings and
 * their own accepted taps. Taps on a vehicle without a counter (or on no
 * vehicle) are in no route row: set against the boardings of another bus
 * they would make the rate wrong. The stop level keeps the door cells of
 * street cameras against every accepted tap at the stop: the camera sees
 * everyone who boards there, whatever the vehicle.
 *
 * Completeness: a service date's hours run from the start hour to 23, then
 * 0 to start hour - 1 (those belong to the previous calendar date's service
 * date), so an hour has ended at least ST_RECONCILE_GRACE_MS before now_ms
 * when its (date, hour) comes before that of now_ms - grace in that order.
 * Rows are handed out in the same order (st_reconcile_service_order); inside,
 * they are kept in (date, clock hour) order for the binary searches. For NVR rows, each outage is mapped to the (date, hour) cells
 * it covers by sampling st_service_day every 15 minutes from its start and
 * at its last instant (end - 1 ms, the interval being [start, end)): local
 * hours begin on quarter hours of UTC in every zone, so every hour the
 * outage overlaps gets a sample. An outage still open lasts until now_ms.
 */
#include "storage/reconcile.h"

#include <stdlib.h>

#include "storage/civil.h"
#include "storage/count_agg.h"
#include "storage/nvr.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"
#include "storage/vehicle_hours.h"

#define HOURS_PER_DAY 24
#define MS_PER_DAY ((int64_t)ST_SECONDS_PER_DAY * 1000)
#define OUTAGE_STEP_MS ((int64_t)15 * 60 * 1000)
/* Days around the range's dates that may hold an instant of them: a zone's
 * offset is within ±26 h and a service day ends up to 24 h after its date. */
#define WINDOW_DAYS_BEFORE 2
#define WINDOW_DAYS_AFTER 3
#define ROWS_INITIAL 64

struct gather {
	struct st_reconcile_rows *rows;
	int oom;
};

static int row_cmp(const void *a, const void *b)
{
	const struct st_reconcile_row *x = a, *y = b;

	if (x->service_date != y->service_date)
		return x->service_date < y->service_date ? -1 : 1;
	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	if (x->place_id != y->place_id)
		return x->place_id < y->place_id ? -1 : 1;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	return 0;
}

static int rows_push(struct st_reconcile_rows *rows, const struct st_reconcile_row *row);

/* Route level: one vehicle's hour adds, for each source it has counts of,
 * its counts and its own accepted taps to the row of (date, hour, route,
 * source). */
int st_reconcile_add_vehicle_hour(struct st_reconcile_rows *rows, const struct st_vehicle_hour_key *k,
                                  const struct st_vehicle_hour_val *v)
{
	if (k->route_id == 0)
		return 0;
	for (uint8_t src = ST_COUNT_SOURCE_SIGNED; src <= ST_COUNT_SOURCE_NVR; src++) {
		const struct st_vehicle_hour_counts *c = &v->source[src - 1];
		struct st_reconcile_row row = {.service_date = k->service_date, .hour = k->hour,
		                               .place_id = k->route_id, .source = src, .boardings = c->boardings,
		                               .alightings = c->alightings, .accepted = v->accepted};

		if (c->records == 0)
			continue;
		if (rows_push(rows, &row) != 0)
			return -1;
	}
	return 0;
}

static int gather_vehicle(void *ctx, const struct st_vehicle_hour_key *k, const struct st_vehicle_hour_val *v)
{
	struct gather *g = ctx;

	g->oom = st_reconcile_add_vehicle_hour(g->rows, k, v) != 0;
	return g->oom;
}

static int rows_push(struct st_reconcile_rows *rows, const struct st_reconcile_row *row)
{
	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : ROWS_INITIAL;
		struct st_reconcile_row *v = realloc(rows->v, cap * sizeof(*v));

		if (!v)
			return -1;
		rows->v = v;
		rows->cap = cap;
	}
	rows->v[rows->n++] = *row;
	return 0;
}

int st_reconcile_add_door(struct st_reconcile_rows *rows, const struct st_door_agg_key *k,
                          const struct st_door_agg_val *v)
{
	struct st_reconcile_row row = {0};
	struct st_reconcile_row *last;

	if (k->route_id != 0) /* onboard and signed cells: the route level, from vehicle_hours */
		return 0;
	row.service_date = k->service_date;
	row.hour = k->hour;
	row.place_id = k->stop_id;
	row.source = k->source;
	row.boardings = v->boardings;
	row.alightings = v->alightings;
	/* Cells of one place and source are often adjacent: merge them now. */
	last = rows->n ? &rows->v[rows->n - 1] : NULL;
	if (last && row_cmp(last, &row) == 0) {
		last->boardings += row.boardings;
		last->alightings += row.alightings;
		return 0;
	}
	return rows_push(rows, &row);
}

static int gather_door(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct gather *g = ctx;

	g->oom = st_reconcile_add_door(g->rows, k, v) != 0;
	return g->oom;
}

void st_reconcile_merge(struct st_reconcile_rows *rows)
{
	size_t out = 0;

	if (rows->n == 0)
		return;
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(rows->v[0]), row_cmp);
	for (size_t i = 1; i < rows->n; i++) {
		struct st_reconcile_row *o = &rows->v[out];

		if (row_cmp(o, &rows->v[i]) == 0) {
			o->boardings += rows->v[i].boardings;
			o->alightings += rows->v[i].alightings;
			o->accepted += rows->v[i].accepted;
		} else {
			rows->v[++out] = rows->v[i];
		}
	}
	rows->n = out + 1;
}

/* The first row at or after (date, hour, place, source 0). */
static size_t rows_lower_bound(const struct st_reconcile_rows *rows, uint32_t date, uint8_t hour, uint32_t place)
{
	struct st_reconcile_row probe = {.service_date = date, .hour = hour, .place_id = place};
	size_t lo = 0, hi = rows->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (row_cmp(&rows->v[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void st_reconcile_add_taps(struct st_reconcile_rows *rows, const struct st_tap_agg_key *k,
                           const struct st_tap_agg_val *v)
{
	uint32_t place = k->stop_id;
	size_t i = rows_lower_bound(rows, k->service_date, k->hour, place);

	for (; i < rows->n; i++) {
		struct st_reconcile_row *row = &rows->v[i];

		if (row->service_date != k->service_date || row->hour != k->hour || row->place_id != place)
			break;
		row->accepted += v->accepted;
	}
}

static int add_taps(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	st_reconcile_add_taps(ctx, k, v);
	return 0;
}

/* (date, hour) as one number in service-day order. */
static uint64_t service_order(uint32_t date, uint8_t hour, int start_hour)
{
	return (uint64_t)date * HOURS_PER_DAY + (uint64_t)((hour - start_hour + HOURS_PER_DAY) % HOURS_PER_DAY);
}

static int64_t date_days(uint32_t date)
{
	struct civil c = {(int64_t)(date / 10000), (date / 100) % 100, date % 100};

	return days_from_civil(c);
}

struct outages {
	struct st_reconcile_rows *rows;
	const struct st_zone *zone;
	int start_hour;
	int64_t now_ms;
	int64_t win_from, win_to;
};

static void mark_nvr_incomplete(struct st_reconcile_rows *rows, const struct st_when *w)
{
	size_t i = rows_lower_bound(rows, w->service_date, w->hour, 0);

	for (; i < rows->n; i++) {
		struct st_reconcile_row *row = &rows->v[i];

		if (row->service_date != w->service_date || row->hour != w->hour)
			break;
		if (row->source == ST_COUNT_SOURCE_NVR)
			row->complete = false;
	}
}

static int mark_outage(void *ctx, const struct st_nvr_outage *o)
{
	struct outages *m = ctx;
	int64_t end = o->end ? o->end : m->now_ms;
	int64_t t = o->start > m->win_from ? o->start : m->win_from;
	int64_t last = end > o->start ? end - 1 : o->start;
	struct st_when w, prev = {0, 0};

	if (last > m->win_to)
		last = m->win_to;
	if (t > last)
		return 0;
	for (;;) {
		if (st_service_day(m->zone, t, m->start_hour, &w) == 0 &&
		    (w.service_date != prev.service_date || w.hour != prev.hour)) {
			mark_nvr_incomplete(m->rows, &w);
			prev = w;
		}
		if (t == last)
			break;
		t = last - t > OUTAGE_STEP_MS ? t + OUTAGE_STEP_MS : last;
	}
	return 0;
}

static int mark_complete(struct st_read *r, struct st_reconcile_rows *rows, int64_t now_ms)
{
	const struct st_options *opts = st_db_options(r->db);
	const struct st_zone *zone = st_db_zone(r->db);
	struct st_when now;
	uint32_t nvr_min = 0, nvr_max = 0;
	struct outages m;
	int rc;

	if (!opts || !zone)
		return ST_EINVAL;
	/* The hour holding now - grace: every hour before it ended at least
	 * ST_RECONCILE_GRACE_MS ago. */
	if (st_service_day(zone, now_ms - ST_RECONCILE_GRACE_MS, opts->service_day_start_hour, &now) != 0)
		return ST_EINVAL;
	for (size_t i = 0; i < rows->n; i++) {
		struct st_reconcile_row *row = &rows->v[i];

		row->complete = service_order(row->service_date, row->hour, opts->service_day_start_hour) <
		                service_order(now.service_date, now.hour, opts->service_day_start_hour);
		if (row->source == ST_COUNT_SOURCE_NVR) {
			if (!nvr_min || row->service_date < nvr_min)
				nvr_min = row->service_date;
			if (row->service_date > nvr_max)
				nvr_max = row->service_date;
		}
	}
	if (!nvr_min)
		return ST_OK;
	m = (struct outages){rows, zone, opts->service_day_start_hour, now_ms,
	                     (date_days(nvr_min) - WINDOW_DAYS_BEFORE) * MS_PER_DAY,
	                     (date_days(nvr_max) + WINDOW_DAYS_AFTER) * MS_PER_DAY};
	rc = st_nvr_outage_foreach(r, m.win_from, m.win_to, mark_outage, &m);
	return rc == ST_ESTOP ? ST_EIO : rc;
}

/* Sorts the rows by (date, hour in service-day order, place, source): with
 * the day starting at 03:00, hours 0 to 2 of a service date come after its
 * hour 23. row_cmp has no context for the start hour, so each hour is
 * replaced by its place in the service day for the sort, then restored. */
void st_reconcile_service_order(struct st_reconcile_rows *rows, int start)
{
	for (size_t i = 0; i < rows->n; i++)
		rows->v[i].hour = (uint8_t)((rows->v[i].hour - start + HOURS_PER_DAY) % HOURS_PER_DAY);
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(rows->v[0]), row_cmp);
	for (size_t i = 0; i < rows->n; i++)
		rows->v[i].hour = (uint8_t)((rows->v[i].hour + start) % HOURS_PER_DAY);
}

int st_reconcile_complete_hours(struct st_read *r, uint32_t date, int64_t now_ms, uint32_t complete[2])
{
	struct st_reconcile_row v[HOURS_PER_DAY * 2];
	struct st_reconcile_rows rows = {v, 0, HOURS_PER_DAY * 2};
	int rc;

	if (!r || !r->txn)
		return ST_EINVAL;
	/* One row per (hour, source), in (date, clock hour) order as mark_complete needs. */
	for (uint8_t h = 0; h < HOURS_PER_DAY; h++)
		for (uint8_t src = ST_COUNT_SOURCE_SIGNED; src <= ST_COUNT_SOURCE_NVR; src++)
			v[rows.n++] = (struct st_reconcile_row){.service_date = date, .hour = h, .source = src};
	rc = mark_complete(r, &rows, now_ms);
	if (rc != ST_OK)
		return rc;
	complete[0] = complete[1] = 0;
	for (size_t i = 0; i < rows.n; i++)
		if (v[i].complete)
			complete[v[i].source - 1] |= 1u << v[i].hour;
	return ST_OK;
}

int st_reconcile_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                         enum st_reconcile_level level, int64_t now_ms,
                         int (*fn)(void *ctx, const struct st_reconcile_row *row), void *ctx)
{
	struct st_reconcile_rows rows = {0};
	struct gather g = {&rows, 0};
	int rc;

	if (!r || !r->txn || !fn || (level != ST_RECONCILE_ROUTE && level != ST_RECONCILE_STOP))
		return ST_EINVAL;
	if (level == ST_RECONCILE_ROUTE)
		rc = st_vehicle_hours_foreach(r, date_from, date_to, gather_vehicle, &g);
	else
		rc = st_door_agg_foreach(r, date_from, date_to, gather_door, &g);
	if (g.oom) {
		rc = ST_EIO;
		goto out;
	}
	if (rc != ST_OK)
		goto out;
	st_reconcile_merge(&rows);
	if (rows.n == 0)
		goto out;
	if (level == ST_RECONCILE_STOP) {
		rc = st_tap_agg_foreach(r, date_from, date_to, add_taps, &rows);
		if (rc != ST_OK)
			goto out;
	}
	rc = mark_complete(r, &rows, now_ms);
	if (rc != ST_OK)
		goto out;
	st_reconcile_service_order(&rows, st_db_options(r->db)->service_day_start_hour);
	for (size_t i = 0; i < rows.n; i++) {
		if (fn(ctx, &rows.v[i]) != 0) {
			rc = ST_ESTOP;
			break;
		}
	}
out:
	free(rows.v);
	return rc;
}

int st_reconcile_rate(const struct st_reconcile_row *row, double *rate)
{
	if (!row || !row->complete || row->boardings == 0)
		return 0;
	if (rate)
		*rate = (double)row->accepted / (double)row->boardings;
	return 1;
}
