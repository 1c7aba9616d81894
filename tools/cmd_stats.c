/*
 * cmd_stats.c — `komposter stats`: the tap aggregates of a range of service
 * dates, summed and grouped by any of route, stop, hour and fare product;
 * with --counts the passenger-count aggregates instead (count_agg.h):
 * boardings and alightings grouped by any of route, stop, hour and door,
 * and, when the grouping is by route and/or hour only (the dimensions an
 * occupancy cell has), peak and mean load.
 *
 * The aggregates are already sums per (date, hour, route, stop, fare) cell,
 * kept in step with the log by the writer, so a statistic never rescans the
 * log. Grouping keeps the chosen dimensions of each cell and drops the rest:
 * the cells are appended to an array and, whenever it fills, sorted and
 * merged in place, so memory stays proportional to the number of groups,
 * not of cells. All of it happens inside one read transaction; printing
 * happens after it ended.
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

#include "storage/count_agg.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"
#include "tools/stats_rate.h"
#include "tools/stats_riders.h"

#define CMD "stats"
#define DIMS_MAX 4
#define CELL_SIZE 24 /* a uint64 in decimal, and a NUL */
#define VALUES_MAX 5 /* counts: boardings, alightings, peak, load sum, samples */
#define COLS_MAX (DIMS_MAX + 4)
#define GROUPS_INITIAL 1024

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

enum dim { DIM_ROUTE, DIM_STOP, DIM_HOUR, DIM_FARE, DIM_DOOR };

static const struct {
	const char *name, *json_key, *header;
} dims[] = {
	[DIM_ROUTE] = { "route", "route_id", "ROUTE" },
	[DIM_STOP] = { "stop", "stop_id", "STOP" },
	[DIM_HOUR] = { "hour", "hour", "HOUR" },
	[DIM_FARE] = { "fare", "fare_product", "FARE" },
	[DIM_DOOR] = { "door", "door", "DOOR" },
};
#define DIMS_N (sizeof(dims) / sizeof(dims[0]))

/* Taps: accepted, denied, amount. Counts: boardings, alightings, then peak,
 * sum and samples of the load. */
enum { V_ACCEPTED, V_DENIED, V_AMOUNT };
enum { V_BOARDINGS, V_ALIGHTINGS, V_PEAK, V_LOAD_SUM, V_SAMPLES };

struct group {
	uint32_t k[DIMS_MAX]; /* the chosen dimensions in order, unused ones 0 */
	uint64_t v[VALUES_MAX];
};

struct stats {
	const char *from_text, *to_text;
	uint32_t from, to;
	enum dim by[DIMS_MAX];
	size_t nby;
	int json;
	int counts;    /* --counts */
	int cameras;   /* --with-cameras */
	int partial;   /* --partial: running rates of incomplete hours too */
	int riders;    /* --riders */
	int by_given;  /* --by was given */
	int with_load; /* --counts grouped by route and/or hour only: peak and mean too */
	struct group *g;
	size_t n, cap;
	struct group total;
};

/* ------------------------------------------------------------ grouping */

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	for (size_t i = 0; i < DIMS_MAX; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	return 0;
}

/* Sums every value but the peak of a load, which is the highest. */
static void val_add(const struct stats *s, uint64_t to[VALUES_MAX], const uint64_t v[VALUES_MAX])
{
	for (size_t i = 0; i < VALUES_MAX; i++) {
		if (s->counts && i == V_PEAK)
			to[i] = v[i] > to[i] ? v[i] : to[i];
		else
			to[i] += v[i];
	}
}

/* Sorts the groups and merges equal keys. */
static void compact(struct stats *s)
{
	size_t out = 0;

	if (s->n == 0)
		return;
	qsort(s->g, s->n, sizeof(*s->g), group_cmp);
	for (size_t i = 1; i < s->n; i++) {
		if (group_cmp(&s->g[out], &s->g[i]) == 0)
			val_add(s, s->g[out].v, s->g[i].v);
		else
			s->g[++out] = s->g[i];
	}
	s->n = out + 1;
}

/* Room for one more group: compact first, grow when that frees too little. */
static int make_room(struct stats *s)
{
	size_t cap;
	struct group *p;

	if (s->n < s->cap)
		return 0;
	compact(s);
	if (s->n < s->cap / 2)
		return 0;
	cap = s->cap ? s->cap * 2 : GROUPS_INITIAL;
	p = realloc(s->g, cap * sizeof(*p));
	if (p == NULL)
		return -1;
	s->g = p;
	s->cap = cap;
	return 0;
}

/* A cell's dimensions, indexed by enum dim (0 for those it has not). */
typedef uint32_t cell_dims[DIMS_N];

/* Appends a cell as a group of the chosen dimensions and adds it to the total. */
static int add_group(struct stats *s, const cell_dims dv, const uint64_t v[VALUES_MAX])
{
	struct group *g;

	if (make_room(s) != 0)
		return 1;
	g = &s->g[s->n++];
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < s->nby; i++)
		g->k[i] = dv[s->by[i]];
	memcpy(g->v, v, sizeof(g->v));
	val_add(s, s->total.v, v);
	return 0;
}

static int add_tap_cell(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	const cell_dims dv = { [DIM_ROUTE] = k->route_id, [DIM_STOP] = k->stop_id, [DIM_HOUR] = k->hour,
		               [DIM_FARE] = k->fare_product };

	return add_group(ctx, dv, (const uint64_t[VALUES_MAX]){ v->accepted, v->denied, v->amount });
}

/* --counts shows the signed counts of APCs only: NVR cells (count_agg.h)
 * rest on no signature and are shown by --with-cameras, source apart. */
static int add_door_cell(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	const cell_dims dv = { [DIM_ROUTE] = k->route_id, [DIM_STOP] = k->stop_id, [DIM_HOUR] = k->hour,
		               [DIM_DOOR] = k->door };

	if (k->source != ST_COUNT_SOURCE_SIGNED)
		return 0;
	return add_group(ctx, dv, (const uint64_t[VALUES_MAX]){ v->boardings, v->alightings });
}

static int add_load_cell(void *ctx, const struct st_load_agg_key *k, const struct st_load_agg_val *v)
{
	const cell_dims dv = { [DIM_ROUTE] = k->route_id, [DIM_HOUR] = k->hour };

	if (k->source != ST_COUNT_SOURCE_SIGNED)
		return 0;
	return add_group(ctx, dv, (const uint64_t[VALUES_MAX]){ [V_PEAK] = v->peak, [V_LOAD_SUM] = v->sum,
		                                                [V_SAMPLES] = v->samples });
}

static int foreach_cell(const struct stats *s, struct st_read *r, void *ctx)
{
	int rc;

	if (!s->counts)
		return st_tap_agg_foreach(r, s->from, s->to, add_tap_cell, ctx);
	rc = st_door_agg_foreach(r, s->from, s->to, add_door_cell, ctx);
	if (rc == ST_OK && s->with_load)
		rc = st_load_agg_foreach(r, s->from, s->to, add_load_cell, ctx);
	return rc;
}

static int sum_range(struct st_db *db, struct stats *s)
{
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, CMD, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = foreach_cell(s, &r, s);
	st_read_end(&r);
	status = cli_collect_status(CMD, rc, "aggregates");
	if (status == KP_EXIT_OK)
		compact(s);
	return status;
}

/* --------------------------------------------------------------- table */

struct table {
	size_t ncols;
	size_t width[COLS_MAX];
	int left[COLS_MAX]; /* left-aligned column */
};

/* The value columns of a row: 3 for taps, 2 or 4 for counts. */
static size_t value_cols(const struct stats *s)
{
	return !s->counts ? 3 : s->with_load ? 4 : 2;
}

/* The mean load in tenths, as text: "-" without samples. */
static void mean_cell(const uint64_t v[VALUES_MAX], char cell[CELL_SIZE])
{
	uint64_t tenths;

	if (v[V_SAMPLES] == 0) {
		snprintf(cell, CELL_SIZE, "-");
		return;
	}
	tenths = (v[V_LOAD_SUM] * 10 + v[V_SAMPLES] / 2) / v[V_SAMPLES];
	snprintf(cell, CELL_SIZE, "%" PRIu64 ".%" PRIu64, tenths / 10, tenths % 10);
}

static void row_cells(const struct stats *s, const struct group *g, char cells[][CELL_SIZE])
{
	const uint64_t *v = g != NULL ? g->v : s->total.v;
	size_t c = 0;

	for (size_t i = 0; i < s->nby; i++, c++) {
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

static void header_cells(const struct stats *s, char cells[][CELL_SIZE])
{
	static const char *const taps[] = { "ACCEPTED", "DENIED", "AMOUNT" };
	static const char *const counts[] = { "BOARDINGS", "ALIGHTINGS", "PEAK", "MEAN" };
	size_t c = 0;

	for (size_t i = 0; i < s->nby; i++)
		snprintf(cells[c++], CELL_SIZE, "%s", dims[s->by[i]].header);
	for (size_t i = 0; i < value_cols(s); i++)
		snprintf(cells[c++], CELL_SIZE, "%s", s->counts ? counts[i] : taps[i]);
}

static int print_table(const struct stats *s)
{
	char cells[COLS_MAX][CELL_SIZE];
	struct table t = { .ncols = s->nby + value_cols(s) };

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

/* ---------------------------------------------------------------- json */

/* Counts: "peak" and "mean" (null without samples) only with_load. */
static int add_sums(cJSON *o, const struct stats *s, const uint64_t v[VALUES_MAX])
{
	if (!s->counts)
		return json_add_u64(o, "accepted", v[V_ACCEPTED]) || json_add_u64(o, "denied", v[V_DENIED]) ||
		       json_add_u64(o, "amount", v[V_AMOUNT]);
	if (json_add_u64(o, "boardings", v[V_BOARDINGS]) || json_add_u64(o, "alightings", v[V_ALIGHTINGS]))
		return -1;
	if (!s->with_load)
		return 0;
	if (json_add_u64(o, "peak", v[V_PEAK]))
		return -1;
	if (v[V_SAMPLES] == 0)
		return cJSON_AddNullToObject(o, "mean") == NULL ? -1 : 0;
	return cJSON_AddNumberToObject(o, "mean", (double)v[V_LOAD_SUM] / (double)v[V_SAMPLES]) == NULL ? -1 : 0;
}

static int add_rows(cJSON *doc, const struct stats *s)
{
	cJSON *rows = cJSON_AddArrayToObject(doc, "rows");

	for (size_t i = 0; rows != NULL && i < s->n; i++) {
		cJSON *o = cJSON_CreateObject();
		int bad = o == NULL || !cJSON_AddItemToArray(rows, o);

		if (bad) {
			cJSON_Delete(o);
			return -1;
		}
		for (size_t d = 0; d < s->nby; d++)
			if (json_add_u64(o, dims[s->by[d]].json_key, s->g[i].k[d]) != 0)
				return -1;
		if (add_sums(o, s, s->g[i].v) != 0)
			return -1;
	}
	return rows == NULL ? -1 : 0;
}

static int add_header(cJSON *doc, const struct stats *s)
{
	char from[11], to[11];
	cJSON *by;

	st_date_format(s->from, from);
	st_date_format(s->to, to);
	if (json_add_str(doc, "from", from) || json_add_str(doc, "to", to))
		return -1;
	by = cJSON_AddArrayToObject(doc, "by");
	for (size_t i = 0; by != NULL && i < s->nby; i++) {
		cJSON *name = cJSON_CreateString(dims[s->by[i]].name);

		if (name == NULL || !cJSON_AddItemToArray(by, name)) {
			cJSON_Delete(name);
			return -1;
		}
	}
	return by == NULL ? -1 : 0;
}

static int print_json(const struct stats *s)
{
	cJSON *doc = cJSON_CreateObject(), *total = NULL;
	int rc = -1;

	if (doc == NULL || add_header(doc, s) || add_rows(doc, s))
		goto out;
	total = cJSON_AddObjectToObject(doc, "total");
	if (total == NULL || add_sums(total, s, s->total.v))
		goto out;
	rc = json_print(doc, 1);
out:
	cJSON_Delete(doc);
	if (rc != 0)
		return cli_fail(CMD, "out of memory");
	return cli_finish_output(CMD);
}

/* ------------------------------------------------------------- options */

/* Returns CLI_CONTINUE, or the usage error. */
static int parse_by(struct stats *s, const char *list)
{
	const char *p = list;

	s->nby = 0;
	while (1) {
		size_t len = strcspn(p, ","), d;

		for (d = 0; d < DIMS_N; d++)
			if (strlen(dims[d].name) == len && strncmp(p, dims[d].name, len) == 0)
				break;
		if (d == DIMS_N)
			return cli_usage(CMD, "--by: '%.*s' is not route, stop, hour, fare or door", (int)len, p);
		for (size_t i = 0; i < s->nby; i++)
			if (s->by[i] == (enum dim)d)
				return cli_usage(CMD, "--by: '%s' given twice", dims[d].name);
		s->by[s->nby++] = (enum dim)d;
		if (p[len] == '\0')
			return CLI_CONTINUE;
		p += len + 1;
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
	case OPT_COUNTS: s->counts = 1; return CLI_CONTINUE;
	case OPT_WITH_CAMERAS: s->cameras = 1; return CLI_CONTINUE;
	case OPT_PARTIAL: s->partial = 1; return CLI_CONTINUE;
	case OPT_RIDERS: s->riders = 1; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

/* Whether --by fits the mode (fare: taps only, door: counts only), and
 * whether count rows can carry the load (route and hour only). */
static int check_dims(struct stats *s)
{
	if (s->partial && !s->cameras)
		return cli_usage(CMD, "--partial: only with --with-cameras");
	if (s->riders && (s->cameras || s->counts || s->by_given))
		return cli_usage(CMD, "--riders: without --counts, --with-cameras and --by");
	if (s->cameras) {
		if (s->counts)
			return cli_usage(CMD, "--with-cameras and --counts: give one");
		if (s->nby != 1 || (s->by[0] != DIM_ROUTE && s->by[0] != DIM_STOP))
			return cli_usage(CMD, "--with-cameras: --by is route or stop");
		return CLI_CONTINUE;
	}
	s->with_load = s->counts;
	for (size_t i = 0; i < s->nby; i++) {
		if (s->by[i] == DIM_FARE && s->counts)
			return cli_usage(CMD, "--by fare: counts have no fare product");
		if (s->by[i] == DIM_DOOR && !s->counts)
			return cli_usage(CMD, "--by door: only with --counts");
		if (s->by[i] != DIM_ROUTE && s->by[i] != DIM_HOUR)
			s->with_load = 0;
	}
	return CLI_CONTINUE;
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
	if (s->from_text != NULL && st_date_parse(s->from_text, &s->from) != 0)
		return cli_usage(CMD, "--from '%s' is not a date (YYYY-MM-DD)", s->from_text);
	if (s->to_text != NULL && st_date_parse(s->to_text, &s->to) != 0)
		return cli_usage(CMD, "--to '%s' is not a date (YYYY-MM-DD)", s->to_text);
	if (s->from_text != NULL && s->to_text != NULL && s->from > s->to)
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
		s->to = today.service_date;
	}
	if (s->from_text == NULL)
		s->from = s->to;
	if (s->from > s->to)
		return cli_fail(CMD, "--from is after today's service date; give --to");
	return KP_EXIT_OK;
}

int cmd_stats(struct kp_cli *cli, int argc, char **argv)
{
	struct stats s = { .by = { DIM_ROUTE }, .nby = 1 };
	struct st_db *db = NULL;
	int status;

	status = parse_options(cli, argc, argv, &s);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = default_dates(db, &s);
	if (status == KP_EXIT_OK && s.riders) {
		status = stats_riders_print(db, CMD, s.from, s.to, s.json);
		st_db_close(db);
		return status;
	}
	if (status == KP_EXIT_OK && s.cameras) {
		status = stats_rate_print(db, CMD, s.from, s.to,
		                          s.by[0] == DIM_STOP ? ST_RECONCILE_STOP : ST_RECONCILE_ROUTE, s.json,
		                          s.partial);
		st_db_close(db);
		return status;
	}
	if (status == KP_EXIT_OK)
		status = sum_range(db, &s);
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = s.json ? print_json(&s) : print_table(&s);
	free(s.g);
	return status;
}
