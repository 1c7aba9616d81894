/*
 * stats_riders.c — the distinct riders table of `komposter stats --riders`
 * (stats_riders.h).
 *
 * The estimates are copied out of the read transaction (one row per stored
 * sketch of the range) and printed after it ended, rounded to a whole
 * rider: the sketch's error (about 0.81 %, exact or nearly so below about
 * 4000 riders) is printed with them, and the reminder that a rider is a
 * card within one pseudonym epoch, so the figures of two dates are not to
 * be added up as riders of both.
 */
#include "tools/stats_riders.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/riders.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/json_out.h"

#define ROWS_INITIAL 256

struct riders_row {
	uint32_t date;
	uint32_t route;
	uint64_t riders;
};

struct riders_rows {
	struct riders_row *v;
	size_t n, cap;
};

static int collect_row(void *ctx, uint32_t date, uint32_t route, double estimate)
{
	struct riders_rows *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : ROWS_INITIAL;
		struct riders_row *p = realloc(l->v, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = (struct riders_row){ date, route, (uint64_t)llround(estimate) };
	return 0;
}

/* How far the stored sketches are behind the log (st_riders_behind). */
struct riders_lag {
	uint64_t through, last;
};

static int print_table(const struct riders_rows *l, const struct riders_lag *lag, const char *cmd)
{
	char date[11], route[12];

	printf("%-10s  %10s  %10s\n", "DATE", "ROUTE", "RIDERS");
	for (size_t i = 0; i < l->n; i++) {
		const struct riders_row *row = &l->v[i];

		st_date_format(row->date, date);
		if (row->route == ST_RIDERS_ALL)
			snprintf(route, sizeof(route), "all");
		else
			snprintf(route, sizeof(route), "%" PRIu32, row->route);
		printf("%-10s  %10s  %10" PRIu64 "\n", date, route, row->riders);
	}
	printf("distinct cards of accepted taps, estimated (HyperLogLog): exact or nearly so below about 4000,\n"
	       "else within about %.2f %% (one standard error); a card is one rider per pseudonym epoch only\n",
	       ST_HLL_STD_ERROR * 100);
	if (lag->through < lag->last)
		printf("the sketches hold the log up to frame %" PRIu64 " of %" PRIu64 ": the riders of the %" PRIu64
		       " after it are held by a running komposterd, which writes them within seconds, or, if it\n"
		       "stopped without writing them, read back from the log when it next starts\n",
		       lag->through, lag->last, lag->last - lag->through);
	return cli_finish_output(cmd);
}

static cJSON *row_json(const struct riders_row *row)
{
	cJSON *o = cJSON_CreateObject();
	char date[11];
	int bad;

	if (o == NULL)
		return NULL;
	st_date_format(row->date, date);
	bad = json_add_str(o, "date", date) ||
	      (row->route == ST_RIDERS_ALL ? cJSON_AddNullToObject(o, "route_id") == NULL
	                                   : json_add_u64(o, "route_id", row->route)) ||
	      json_add_u64(o, "riders", row->riders);
	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_json(const struct riders_rows *l, const struct riders_lag *lag, uint32_t from, uint32_t to,
                      const char *cmd)
{
	char from_text[11], to_text[11];
	cJSON *doc = cJSON_CreateObject(), *rows = NULL;

	st_date_format(from, from_text);
	st_date_format(to, to_text);
	if (doc == NULL || json_add_str(doc, "from", from_text) || json_add_str(doc, "to", to_text) ||
	    cJSON_AddNumberToObject(doc, "standard_error", ST_HLL_STD_ERROR) == NULL ||
	    json_add_u64(doc, "log_through", lag->through) || json_add_u64(doc, "log_last", lag->last) ||
	    (rows = cJSON_AddArrayToObject(doc, "rows")) == NULL) {
		cJSON_Delete(doc);
		return json_print_answer(NULL, cmd);
	}
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = row_json(&l->v[i]);

		if (o == NULL || !cJSON_AddItemToArray(rows, o)) {
			cJSON_Delete(o);
			cJSON_Delete(doc);
			return json_print_answer(NULL, cmd);
		}
	}
	return json_print_answer(doc, cmd);
}

int stats_riders_print(struct st_db *db, const char *cmd, uint32_t from, uint32_t to, int json)
{
	struct riders_rows l = { 0 };
	struct riders_lag lag = { 0 };
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_riders_foreach(&r, from, to, collect_row, &l);
	if (rc == ST_OK)
		rc = st_riders_behind(&r, &lag.through, &lag.last);
	st_read_end(&r);
	status = cli_collect_status(cmd, rc, "distinct-rider sketches");
	if (status == KP_EXIT_OK)
		status = json ? print_json(&l, &lag, from, to, cmd) : print_table(&l, &lag, cmd);
	free(l.v);
	return status;
}
