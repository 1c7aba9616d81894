/*
 * cmd_stats.c — `komposter stats`: the tap aggregates of a range of service
 * dates, summed and grouped by any of route, stop, hour and fare product.
 *
 * The aggregates are already sums per (date, hour, route, stop, fare) cell,
 * kept in step with the log by the writer, so a statistic never rescans the
 * log. Grouping keeps the chosen dimensions of each cell and drops the rest:
 * the cells are appended to an array and, whenever it fills, sorted and
 * merged in place, so memory stays proportional to the number of groups,
 * not of cells. All of it happens inside one read transaction; printing
 * happens after it ended.
 *
 * The default range is today's service date, in the database's time zone
 * and service-day start (the settings recorded in the database, which every command adopts).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/service_day.h"
#include "storage/tap_agg.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

#define CMD "stats"
#define DIMS_MAX 4
#define CELL_SIZE 24 /* a uint64 in decimal, and a NUL */
#define COLS_MAX (DIMS_MAX + 3)
#define GROUPS_INITIAL 1024

static const char help[] =
	"Usage: komposter stats [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
	"                       [--by route,stop,hour,fare] [--json]\n\n"
	"Sums the tap aggregates of the service dates from..to (inclusive), grouped\n"
	"by the chosen dimensions, in the order given: accepted taps, denied taps\n"
	"and the amount charged on accepted taps (minor units, kopiykas).\n"
	"Prints an aligned table with a total row, or with --json an object\n"
	"{\"from\", \"to\", \"by\", \"rows\": [...], \"total\": {...}}.\n\n"
	"Options:\n"
	"      --from DATE    first service date (default: --to)\n"
	"      --to DATE      last service date (default: today's service date)\n"
	"      --by LIST      comma-separated subset of route, stop, hour, fare\n"
	"                     (default: route)\n"
	"      --json         print JSON instead of a table\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

enum dim { DIM_ROUTE, DIM_STOP, DIM_HOUR, DIM_FARE };

static const struct {
	const char *name, *json_key, *header;
} dims[] = {
	[DIM_ROUTE] = { "route", "route_id", "ROUTE" },
	[DIM_STOP] = { "stop", "stop_id", "STOP" },
	[DIM_HOUR] = { "hour", "hour", "HOUR" },
	[DIM_FARE] = { "fare", "fare_product", "FARE" },
};
#define DIMS_N (sizeof(dims) / sizeof(dims[0]))

struct group {
	uint32_t k[DIMS_MAX]; /* the chosen dimensions in order, unused ones 0 */
	struct st_tap_agg_val v;
};

struct stats {
	const char *from_text, *to_text;
	uint32_t from, to;
	enum dim by[DIMS_MAX];
	size_t nby;
	int json;
	struct group *g;
	size_t n, cap;
	struct st_tap_agg_val total;
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

static void val_add(struct st_tap_agg_val *to, const struct st_tap_agg_val *v)
{
	to->accepted += v->accepted;
	to->denied += v->denied;
	to->amount += v->amount;
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
			val_add(&s->g[out].v, &s->g[i].v);
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

static uint32_t dim_value(enum dim d, const struct st_tap_agg_key *k)
{
	switch (d) {
	case DIM_ROUTE: return k->route_id;
	case DIM_STOP: return k->stop_id;
	case DIM_HOUR: return k->hour;
	case DIM_FARE: return k->fare_product;
	}
	return 0;
}

static int add_cell(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct stats *s = ctx;
	struct group *g;

	if (make_room(s) != 0)
		return 1;
	g = &s->g[s->n++];
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < s->nby; i++)
		g->k[i] = dim_value(s->by[i], k);
	g->v = *v;
	val_add(&s->total, v);
	return 0;
}

static int sum_range(struct st_db *db, struct stats *s)
{
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, CMD, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_tap_agg_foreach(&r, s->from, s->to, add_cell, s);
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

static void row_cells(const struct stats *s, const struct group *g, char cells[][CELL_SIZE])
{
	const struct st_tap_agg_val *v = g != NULL ? &g->v : &s->total;
	size_t c = 0;

	for (size_t i = 0; i < s->nby; i++, c++) {
		if (g == NULL)
			snprintf(cells[c], CELL_SIZE, "%s", i == 0 ? "total" : "");
		else
			snprintf(cells[c], CELL_SIZE, "%" PRIu32, g->k[i]);
	}
	snprintf(cells[c++], CELL_SIZE, "%" PRIu64, v->accepted);
	snprintf(cells[c++], CELL_SIZE, "%" PRIu64, v->denied);
	snprintf(cells[c], CELL_SIZE, "%" PRIu64, v->amount);
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
	static const char *const sums[] = { "ACCEPTED", "DENIED", "AMOUNT" };
	size_t c = 0;

	for (size_t i = 0; i < s->nby; i++)
		snprintf(cells[c++], CELL_SIZE, "%s", dims[s->by[i]].header);
	for (size_t i = 0; i < 3; i++)
		snprintf(cells[c++], CELL_SIZE, "%s", sums[i]);
}

static int print_table(const struct stats *s)
{
	char cells[COLS_MAX][CELL_SIZE];
	struct table t = { .ncols = s->nby + 3 };

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

static int add_sums(cJSON *o, const struct st_tap_agg_val *v)
{
	return json_add_u64(o, "accepted", v->accepted) || json_add_u64(o, "denied", v->denied) ||
	       json_add_u64(o, "amount", v->amount);
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
		if (add_sums(o, &s->g[i].v) != 0)
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
	if (total == NULL || add_sums(total, &s->total))
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
			return cli_usage(CMD, "--by: '%.*s' is not route, stop, hour or fare", (int)len, p);
		for (size_t i = 0; i < s->nby; i++)
			if (s->by[i] == (enum dim)d)
				return cli_usage(CMD, "--by: '%s' given twice", dims[d].name);
		s->by[s->nby++] = (enum dim)d;
		if (p[len] == '\0')
			return CLI_CONTINUE;
		p += len + 1;
	}
}

enum { OPT_FROM = 0x200, OPT_TO, OPT_BY, OPT_JSON };

/* cli_option_fn: --from, --to, --by, --json. */
static int stats_option(void *ctx, int opt, const char *arg)
{
	struct stats *s = ctx;

	switch (opt) {
	case OPT_FROM: s->from_text = arg; return CLI_CONTINUE;
	case OPT_TO: s->to_text = arg; return CLI_CONTINUE;
	case OPT_BY: return parse_by(s, arg);
	case OPT_JSON: s->json = 1; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
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
		{ NULL, 0, NULL, 0 },
	};
	int status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                               stats_option, s);

	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
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
	if (status == KP_EXIT_OK)
		status = sum_range(db, &s);
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = s.json ? print_json(&s) : print_table(&s);
	free(s.g);
	return status;
}
