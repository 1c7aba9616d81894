/*
 * cmd_stats.c — `komposter stats`: the tap aggregates of a range of service
 * dates, summed and grouped by any of route, stop, hour and fare product;
 * with --counts the passenger-count aggregates instead (count_agg.h):
 * boardings and alightings grouped by any of route, stop, hour and door,
 * and, when the grouping is by route and/or hour only (the dimensions an
 * occupancy cell has), peak and mean load.
 *
 * The grouping and summing is report/ridership.h's and the JSON is
 * report/ridership_json.h's (the daemon's /v1/ridership answers with the
 * same); this file parses the command line and prints the table. The sums
 * are read inside one read transaction; printing happens after it ended.
 *
 * With --with-cameras, the validation rate instead: camera counts beside
 * accepted taps per service date, hour and route or stop (stats_rate.h).
 * With --riders, the distinct riders per date and route (stats_riders.h).
 *
 * The default range is today's service date, in the database's time zone
 * and service-day start (the settings recorded in the database, which every command adopts).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "firmware-proto/partition.h"
#include "report/ridership.h"
#include "report/ridership_json.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"
#include "tools/stats_rate.h"
#include "tools/stats_riders.h"

#define CMD "stats"
#define CELL_SIZE 24 /* a uint64 in decimal, and a NUL */
#define COLS_MAX (KP_RS_BY_MAX + 4)

static const char help[] =
	"Usage: komposter stats [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
	"                       [--by route,stop,hour,fare] [--json]\n"
	"       komposter stats --counts [--from ...] [--to ...]\n"
	"                       [--by route,stop,hour,door] [--json]\n"
	"       komposter stats --with-cameras [--from ...] [--to ...]\n"
	"                       [--by route|stop] [--partial] [--json]\n"
	"       komposter stats --riders [--from ...] [--to ...] [--json]\n\n"
	"Sums the tap aggregates of the service dates from..to (inclusive), grouped\n"
	"by the chosen dimensions, in the order given: accepted taps, denied taps\n"
	"and the amount charged on accepted taps (minor units, kopiykas).\n"
	"With --counts, sums the passenger counts of onboard counters (signed APC\n"
	"COUNTS frames) instead: boardings and alightings of door cycles, and, when\n"
	"--by names only route and/or hour, the peak and the mean occupancy of the\n"
	"snapshots (snapshots with an unknown occupancy are not counted).\n"
	"Prints an aligned table with a total row, or with --json an object\n"
	"{\"from\", \"to\", \"by\", \"rows\": [...], \"total\": {...}}.\n"
	"With --with-cameras, sets camera counts against accepted taps: one row per\n"
	"service date, hour (in service-day order), route (the vehicles with\n"
	"onboard counters or cameras of that source in that hour: their boardings\n"
	"against their own taps, every stop) or stop (street cameras, taps of every\n"
	"route) and source (signed: APC COUNTS frames; nvr: NVR camera events;\n"
	"never added together), with boardings, alightings, accepted taps and the\n"
	"validation rate, accepted taps / boardings. The rate is shown only for a\n"
	"complete hour (ended at least 15 minutes ago, so late taps and the last\n"
	"camera events are in; for nvr rows no NVR outage in it) with boardings:\n"
	"\"-\" (JSON null) otherwise. An hour without camera counts has no row.\n"
	"The JSON object is\n"
	"{\"from\", \"to\", \"by\", \"rows\": [{\"date\", \"hour\", \"route_id\" or\n"
	"\"stop_id\", \"source\", \"boardings\", \"alightings\", \"accepted\",\n"
	"\"complete\", \"rate\"}]}, without a total. With --partial, an incomplete\n"
	"row with boardings shows its running rate too, marked '*' (JSON\n"
	"\"partial_rate\"; \"rate\" stays null).\n"
	"With --riders, the distinct riders (cards of accepted taps) per service\n"
	"date and route, and of the whole date (route \"all\", JSON route_id null),\n"
	"estimated with HyperLogLog sketches and rounded: exact or nearly so below\n"
	"about 4000, else within about 0.81 % (one standard error). A card has one\n"
	"pseudonym per epoch (a day by default), so figures of dates in different\n"
	"epochs must not be added up as riders of both. The JSON object is\n"
	"{\"from\", \"to\", \"standard_error\", \"rows\": [{\"date\", \"route_id\",\n"
	"\"riders\"}]}.\n\n"
	"Options:\n"
	"      --from DATE    first service date (default: --to)\n"
	"      --to DATE      last service date (default: today's service date)\n"
	"      --by LIST      comma-separated subset of route, stop, hour, fare\n"
	"                     (fare: taps only; door: --counts only) (default: route)\n"
	"      --counts       passenger counts instead of taps\n"
	"      --with-cameras the validation rate; --by route (default) or stop\n"
	"      --partial      with --with-cameras: the running rate of hours not complete\n"
	"      --riders       distinct riders per date and route\n"
	"      --json         print JSON instead of a table\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

static const char *const headers[KP_RS_DIMS] = {
	[KP_RS_ROUTE] = "ROUTE", [KP_RS_STOP] = "STOP", [KP_RS_HOUR] = "HOUR",
	[KP_RS_FARE] = "FARE", [KP_RS_DOOR] = "DOOR",
};

struct stats {
	const char *from_text, *to_text;
	struct kp_rs_query q;
	int json;
	int cameras;  /* --with-cameras */
	int partial;  /* --partial: running rates of incomplete hours too */
	int riders;   /* --riders */
	int by_given; /* --by was given */
	struct kp_rs_result res;
};

static int sum_range(struct st_db *db, struct stats *s)
{
	struct st_read r;
	int rc;

	if (cli_read_begin(db, CMD, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = kp_rs_sum(&r, &s->q, &s->res);
	st_read_end(&r);
	return cli_collect_status(CMD, rc, "aggregates");
}

/* --------------------------------------------------------------- table */

struct table {
	size_t ncols;
	size_t width[COLS_MAX];
	int left[COLS_MAX]; /* left-aligned column */
};

/* The value columns of a row: 3 for taps, 2 or 4 for counts. */
static size_t value_cols(const struct kp_rs_result *s)
{
	return s->q.kind == KP_RS_TAPS ? 3 : s->with_load ? 4 : 2;
}

/* The mean load in tenths, as text: "-" without samples. */
static void mean_cell(const uint64_t v[KP_RS_VALUES], char cell[CELL_SIZE])
{
	uint64_t tenths;

	if (v[KP_RS_SAMPLES] == 0) {
		snprintf(cell, CELL_SIZE, "-");
		return;
	}
	tenths = (v[KP_RS_LOAD_SUM] * 10 + v[KP_RS_SAMPLES] / 2) / v[KP_RS_SAMPLES];
	snprintf(cell, CELL_SIZE, "%" PRIu64 ".%" PRIu64, tenths / 10, tenths % 10);
}

static void row_cells(const struct kp_rs_result *s, const struct kp_rs_group *g, char cells[][CELL_SIZE])
{
	const uint64_t *v = g != NULL ? g->v : s->total.v;
	size_t c = 0;

	for (size_t i = 0; i < s->q.nby; i++, c++) {
		if (g == NULL)
			snprintf(cells[c], CELL_SIZE, "%s", i == 0 ? "total" : "");
		else
			snprintf(cells[c], CELL_SIZE, "%" PRIu32, g->k[i]);
	}
	/* Taps: accepted, denied, amount. Counts: boardings, alightings, peak. */
	for (size_t i = 0; i < value_cols(s) && i < 3; i++)
		snprintf(cells[c++], CELL_SIZE, "%" PRIu64, v[i]);
	if (s->with_load)
		mean_cell(v, cells[c]);
}

static void table_fit(struct table *t, char cells[][CELL_SIZE])
{
	for (size_t c = 0; c < t->ncols; c++) {
		size_t w = strlen(cells[c]);

		if (w > t->width[c])
			t->width[c] = w;
	}
}

static void table_print_row(const struct table *t, char cells[][CELL_SIZE])
{
	for (size_t c = 0; c < t->ncols; c++)
		printf("%s%*s", c ? "  " : "", t->left[c] ? -(int)t->width[c] : (int)t->width[c],
		       cells[c]);
	putchar('\n');
}

static void header_cells(const struct kp_rs_result *s, char cells[][CELL_SIZE])
{
	static const char *const taps[] = { "ACCEPTED", "DENIED", "AMOUNT" };
	static const char *const counts[] = { "BOARDINGS", "ALIGHTINGS", "PEAK", "MEAN" };
	size_t c = 0;

	for (size_t i = 0; i < s->q.nby; i++)
		snprintf(cells[c++], CELL_SIZE, "%s", headers[s->q.by[i]]);
	for (size_t i = 0; i < value_cols(s); i++)
		snprintf(cells[c++], CELL_SIZE, "%s", s->q.kind == KP_RS_COUNTS ? counts[i] : taps[i]);
}

static int print_table(const struct kp_rs_result *s)
{
	char cells[COLS_MAX][CELL_SIZE];
	struct table t = { .ncols = s->q.nby + value_cols(s) };

	t.left[0] = 1; /* "total" */
	header_cells(s, cells);
	table_fit(&t, cells);
	for (size_t i = 0; i < s->n; i++) {
		row_cells(s, &s->g[i], cells);
		table_fit(&t, cells);
	}
	row_cells(s, NULL, cells);
	table_fit(&t, cells);
	header_cells(s, cells);
	table_print_row(&t, cells);
	for (size_t i = 0; i < s->n; i++) {
		row_cells(s, &s->g[i], cells);
		table_print_row(&t, cells);
	}
	row_cells(s, NULL, cells);
	table_print_row(&t, cells);
	return cli_finish_output(CMD);
}

/* ------------------------------------------------------------- options */

/* Returns CLI_CONTINUE, or the usage error. */
static int parse_by(struct stats *s, const char *list)
{
	const char *bad;
	size_t len;

	switch (kp_rs_parse_by(list, &s->q, &bad, &len)) {
	case KP_RS_BY_OK: return CLI_CONTINUE;
	case KP_RS_BY_TWICE: return cli_usage(CMD, "--by: '%.*s' given twice", (int)len, bad);
	case KP_RS_BY_TOO_MANY: return cli_usage(CMD, "--by: fare and door never go together");
	default: return cli_usage(CMD, "--by: '%.*s' is not route, stop, hour, fare or door", (int)len, bad);
	}
}

enum { OPT_FROM = 0x200, OPT_TO, OPT_BY, OPT_JSON, OPT_COUNTS, OPT_WITH_CAMERAS, OPT_PARTIAL, OPT_RIDERS };

/* cli_option_fn: --from, --to, --by, --json, --counts, --with-cameras,
 * --partial, --riders. */
static int stats_option(void *ctx, int opt, const char *arg)
{
	struct stats *s = ctx;

	switch (opt) {
	case OPT_FROM: s->from_text = arg; return CLI_CONTINUE;
	case OPT_TO: s->to_text = arg; return CLI_CONTINUE;
	case OPT_BY: s->by_given = 1; return parse_by(s, arg);
	case OPT_JSON: s->json = 1; return CLI_CONTINUE;
	case OPT_COUNTS: s->q.kind = KP_RS_COUNTS; return CLI_CONTINUE;
	case OPT_WITH_CAMERAS: s->cameras = 1; return CLI_CONTINUE;
	case OPT_PARTIAL: s->partial = 1; return CLI_CONTINUE;
	case OPT_RIDERS: s->riders = 1; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

/* Whether --by fits the mode (fare: taps only, door: counts only). */
static int check_dims(struct stats *s)
{
	if (s->partial && !s->cameras)
		return cli_usage(CMD, "--partial: only with --with-cameras");
	if (s->riders && (s->cameras || s->q.kind == KP_RS_COUNTS || s->by_given))
		return cli_usage(CMD, "--riders: without --counts, --with-cameras and --by");
	if (s->cameras) {
		if (s->q.kind == KP_RS_COUNTS)
			return cli_usage(CMD, "--with-cameras and --counts: give one");
		if (s->q.nby != 1 || (s->q.by[0] != KP_RS_ROUTE && s->q.by[0] != KP_RS_STOP))
			return cli_usage(CMD, "--with-cameras: --by is route or stop");
		return CLI_CONTINUE;
	}
	switch (kp_rs_check(&s->q)) {
	case KP_RS_BY_OK: return CLI_CONTINUE;
	case KP_RS_BY_FARE_COUNTS: return cli_usage(CMD, "--by fare: counts have no fare product");
	default: return cli_usage(CMD, "--by door: only with --counts");
	}
}

/* Parses the command line; returns CLI_CONTINUE, or an exit status. */
static int parse_options(struct kp_cli *cli, int argc, char **argv, struct stats *s)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "by", required_argument, NULL, OPT_BY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "counts", no_argument, NULL, OPT_COUNTS },
		{ "with-cameras", no_argument, NULL, OPT_WITH_CAMERAS },
		{ "partial", no_argument, NULL, OPT_PARTIAL },
		{ "riders", no_argument, NULL, OPT_RIDERS },
		{ NULL, 0, NULL, 0 },
	};
	int status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                               stats_option, s);

	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	status = check_dims(s);
	if (status != CLI_CONTINUE)
		return status;
	if (s->from_text != NULL && st_date_parse(s->from_text, &s->q.from) != 0)
		return cli_usage(CMD, "--from '%s' is not a date (YYYY-MM-DD)", s->from_text);
	if (s->to_text != NULL && st_date_parse(s->to_text, &s->q.to) != 0)
		return cli_usage(CMD, "--to '%s' is not a date (YYYY-MM-DD)", s->to_text);
	if (s->from_text != NULL && s->to_text != NULL && s->q.from > s->q.to)
		return cli_usage(CMD, "--from is after --to");
	return CLI_CONTINUE;
}

/* Fills the dates not given: --to today's service date, --from --to. */
static int default_dates(struct st_db *db, struct stats *s)
{
	struct st_when today;

	if (s->to_text == NULL) {
		if (st_service_day(st_db_zone(db), cli_now_ms(), st_db_options(db)->service_day_start_hour,
		                   &today) != 0)
			return cli_fail(CMD, "cannot tell today's service date");
		s->q.to = today.service_date;
	}
	if (s->from_text == NULL)
		s->q.from = s->q.to;
	if (s->q.from > s->q.to)
		return cli_fail(CMD, "--from is after today's service date; give --to");
	return KP_EXIT_OK;
}

/* The ridership document says which partition's devices it sums, as the
 * daemon's /v1/ridership does: the config's [mqtt] partition. */
static cJSON *with_partition(const struct kp_cli *cli, cJSON *doc)
{
	struct kp_config cfg;
	char text[KP_PARTITION_TEXT_SIZE];

	if (doc == NULL || cli_load_config(cli, CMD, &cfg) != 0) {
		cJSON_Delete(doc);
		return NULL;
	}
	kp_partition_format(&cfg.mqtt_partition, text);
	if (cJSON_AddStringToObject(doc, "partition", text) == NULL) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

int cmd_stats(struct kp_cli *cli, int argc, char **argv)
{
	struct stats s = { .q = { .kind = KP_RS_TAPS, .by = { KP_RS_ROUTE }, .nby = 1 } };
	struct st_db *db = NULL;
	int status;

	status = parse_options(cli, argc, argv, &s);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = default_dates(db, &s);
	if (status == KP_EXIT_OK && s.riders) {
		status = stats_riders_print(db, CMD, s.q.from, s.q.to, s.json);
		st_db_close(db);
		return status;
	}
	if (status == KP_EXIT_OK && s.cameras) {
		status = stats_rate_print(db, CMD, s.q.from, s.q.to,
		                          s.q.by[0] == KP_RS_STOP ? ST_RECONCILE_STOP : ST_RECONCILE_ROUTE, s.json,
		                          s.partial);
		st_db_close(db);
		return status;
	}
	if (status == KP_EXIT_OK)
		status = sum_range(db, &s);
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = s.json ? json_print_answer(with_partition(cli, kp_rs_json(&s.res)), CMD) : print_table(&s.res);
	kp_rs_free(&s.res);
	return status;
}
