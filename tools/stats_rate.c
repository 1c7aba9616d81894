/*
 * stats_rate.c — the validation rate table of `komposter stats
 * --with-cameras` (stats_rate.h).
 *
 * The rows are copied out of the read transaction (as many as the camera
 * cells of the range, the bound st_reconcile_foreach keeps too) and printed
 * after it ended. A rate is shown only for a complete row with boardings:
 * otherwise "-" in the table and null in JSON, never 0, so that a missing
 * camera hour is not read as nobody paying. With --partial an incomplete
 * row's running rate is shown too, marked ('*', JSON partial_rate) and
 * never in the rate's own place, so a script reading "rate" cannot take an
 * hour still going for a finished one.
 */
#include "tools/stats_rate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/count_agg.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/json_out.h"

#define ROWS_INITIAL 256
#define RATE_SIZE 16

struct rate_rows {
	struct st_reconcile_row *v;
	size_t n, cap;
};

static int collect_row(void *ctx, const struct st_reconcile_row *row)
{
	struct rate_rows *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : ROWS_INITIAL;
		struct st_reconcile_row *p = realloc(l->v, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *row;
	return 0;
}

static const char *source_name(uint8_t source)
{
	switch (source) {
	case ST_COUNT_SOURCE_SIGNED: return "signed";
	case ST_COUNT_SOURCE_NVR: return "nvr";
	default: return "unknown";
	}
}

static const char *place_name(enum st_reconcile_level level)
{
	return level == ST_RECONCILE_ROUTE ? "route" : "stop";
}

/* The running rate of an incomplete row with boardings: 1 with *rate set. */
static int partial_rate(const struct st_reconcile_row *row, double *rate)
{
	if (row->complete || row->boardings == 0)
		return 0;
	*rate = (double)row->accepted / (double)row->boardings;
	return 1;
}

static int print_table(const struct rate_rows *l, enum st_reconcile_level level, int partial, const char *cmd)
{
	char date[11], rate_text[RATE_SIZE];
	double rate;
	int marked = 0;

	printf("%-10s  %4s  %10s  %-6s  %10s  %10s  %10s  %6s\n", "DATE", "HOUR",
	       level == ST_RECONCILE_ROUTE ? "ROUTE" : "STOP", "SOURCE", "BOARDINGS", "ALIGHTINGS", "ACCEPTED",
	       "RATE");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_reconcile_row *row = &l->v[i];

		st_date_format(row->service_date, date);
		if (st_reconcile_rate(row, &rate))
			snprintf(rate_text, sizeof(rate_text), "%.3f", rate);
		else if (partial && partial_rate(row, &rate) && ++marked)
			snprintf(rate_text, sizeof(rate_text), "%.3f*", rate);
		else
			snprintf(rate_text, sizeof(rate_text), "-");
		printf("%-10s  %4u  %10" PRIu32 "  %-6s  %10" PRIu64 "  %10" PRIu64 "  %10" PRIu64 "  %6s\n", date,
		       row->hour, row->place_id, source_name(row->source), row->boardings, row->alightings,
		       row->accepted, rate_text);
	}
	if (marked)
		printf("* partial: the hour did not end 15 minutes ago yet, or the NVR was offline in it\n");
	return cli_finish_output(cmd);
}

static cJSON *row_json(const struct st_reconcile_row *row, enum st_reconcile_level level, int partial)
{
	cJSON *o = cJSON_CreateObject();
	char date[11];
	double rate;
	int bad;

	if (o == NULL)
		return NULL;
	st_date_format(row->service_date, date);
	bad = json_add_str(o, "date", date) || json_add_u64(o, "hour", row->hour) ||
	      json_add_u64(o, level == ST_RECONCILE_ROUTE ? "route_id" : "stop_id", row->place_id) ||
	      json_add_str(o, "source", source_name(row->source)) || json_add_u64(o, "boardings", row->boardings) ||
	      json_add_u64(o, "alightings", row->alightings) || json_add_u64(o, "accepted", row->accepted) ||
	      cJSON_AddBoolToObject(o, "complete", row->complete) == NULL;
	if (!bad)
		bad = st_reconcile_rate(row, &rate) ? cJSON_AddNumberToObject(o, "rate", rate) == NULL
		                                    : cJSON_AddNullToObject(o, "rate") == NULL;
	if (!bad && partial && partial_rate(row, &rate))
		bad = cJSON_AddNumberToObject(o, "partial_rate", rate) == NULL;
	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_json(const struct rate_rows *l, uint32_t from, uint32_t to, enum st_reconcile_level level,
                      int partial, const char *cmd)
{
	char from_text[11], to_text[11];
	cJSON *doc = cJSON_CreateObject(), *rows = NULL;
	int rc = -1;

	st_date_format(from, from_text);
	st_date_format(to, to_text);
	if (doc == NULL || json_add_str(doc, "from", from_text) || json_add_str(doc, "to", to_text) ||
	    json_add_str(doc, "by", place_name(level)) || (rows = cJSON_AddArrayToObject(doc, "rows")) == NULL)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = row_json(&l->v[i], level, partial);

		if (o == NULL || !cJSON_AddItemToArray(rows, o)) {
			cJSON_Delete(o);
			goto out;
		}
	}
	rc = json_print(doc, 1);
out:
	cJSON_Delete(doc);
	if (rc != 0)
		return cli_fail(cmd, "out of memory");
	return cli_finish_output(cmd);
}

int stats_rate_print(struct st_db *db, const char *cmd, uint32_t from, uint32_t to,
                     enum st_reconcile_level level, int json, int partial)
{
	struct rate_rows l = { 0 };
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_reconcile_foreach(&r, from, to, level, cli_now_ms(), collect_row, &l);
	st_read_end(&r);
	status = cli_collect_status(cmd, rc, "camera counts and taps");
	if (status == KP_EXIT_OK)
		status = json ? print_json(&l, from, to, level, partial, cmd) : print_table(&l, level, partial, cmd);
	free(l.v);
	return status;
}
