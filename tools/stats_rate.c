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

#include "report/rate.h"
#include "report/ridership_json.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/json_out.h"

#define RATE_SIZE 16

static int print_table(const struct kp_rate_rows *l, int partial, const char *cmd)
{
	char date[11], rate_text[RATE_SIZE];
	double rate;
	int marked = 0;

	printf("%-10s  %4s  %10s  %-6s  %10s  %10s  %10s  %6s\n", "DATE", "HOUR",
	       l->level == ST_RECONCILE_ROUTE ? "ROUTE" : "STOP", "SOURCE", "BOARDINGS", "ALIGHTINGS", "ACCEPTED",
	       "RATE");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_reconcile_row *row = &l->v[i];

		st_date_format(row->service_date, date);
		if (st_reconcile_rate(row, &rate))
			snprintf(rate_text, sizeof(rate_text), "%.3f", rate);
		else if (partial && kp_rate_partial(row, &rate) && ++marked)
			snprintf(rate_text, sizeof(rate_text), "%.3f*", rate);
		else
			snprintf(rate_text, sizeof(rate_text), "-");
		printf("%-10s  %4u  %10" PRIu32 "  %-6s  %10" PRIu64 "  %10" PRIu64 "  %10" PRIu64 "  %6s\n", date,
		       row->hour, row->place_id, kp_rate_source_name(row->source), row->boardings, row->alightings,
		       row->accepted, rate_text);
	}
	if (marked)
		printf("* partial: the hour did not end 15 minutes ago yet, or the NVR was offline in it\n");
	return cli_finish_output(cmd);
}

int stats_rate_print(struct st_db *db, const char *cmd, uint32_t from, uint32_t to,
                     enum st_reconcile_level level, int json, int partial)
{
	struct kp_rate_rows l;
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = kp_rate_collect(&r, from, to, level, cli_now_ms(), &l);
	st_read_end(&r);
	status = cli_collect_status(cmd, rc, "camera counts and taps");
	if (status == KP_EXIT_OK)
		status = json ? json_print_answer(kp_rate_json(&l, partial), cmd) : print_table(&l, partial, cmd);
	kp_rate_free(&l);
	return status;
}
