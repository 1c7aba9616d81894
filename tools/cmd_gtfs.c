/*
 * cmd_gtfs.c — `komposter gtfs import DIR` and `komposter gtfs list
 * routes|stops`: the city's GTFS routes and stops (storage/gtfs.h), read
 * with tools/gtfs_csv.h, so that exports can name routes and stops by
 * their GTFS ids and names.
 *
 * An import reads DIR/routes.txt and DIR/stops.txt inside the one write
 * transaction that replaces both tables (st_gtfs_import), in 64 KiB reads,
 * so a feed of any size is never held whole in memory and the first bad
 * row aborts everything: the previous import stays as it was. Listings
 * copy what they print out of one short read transaction (as text in
 * memory, or a cJSON tree) and print after it has ended.
 */
#define _DEFAULT_SOURCE /* open_memstream */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/gtfs.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/gtfs_csv.h"
#include "tools/json_out.h"

#define READ_CHUNK 65536
#define PROGRESS_ROWS 100000
#define PATH_SIZE 4096
#define DEGREES_SIZE 16 /* "-180.0000000" and a NUL */

/* -------------------------------------------------------------- import */

static const char import_help[] =
	"Usage: komposter gtfs import DIR\n\n"
	"Imports the routes and stops of the GTFS feed in directory DIR (its\n"
	"routes.txt and stops.txt; the feed's other files are not read), replacing\n"
	"whatever an earlier import stored, all at once: a feed with one bad row\n"
	"changes nothing. Exports then name routes and stops by their GTFS ids and\n"
	"names.\n\n"
	"komposter's devices send numeric route and stop ids. A row's number is its\n"
	"komposter_id when the file has that (optional) column and the row's value\n"
	"is not empty, else its route_id or stop_id when that is a decimal number\n"
	"1..4294967295 written without leading zeros; a row with neither is refused.\n"
	"Two rows with one number are refused too.\n\n"
	"Columns read: routes.txt: route_id, route_short_name, route_long_name,\n"
	"route_type, komposter_id; stops.txt: stop_id, stop_name, stop_lat, stop_lon,\n"
	"location_type, komposter_id. Other columns are ignored. Ids and names are\n"
	"at most 255 bytes of UTF-8. Progress goes to stderr every 100000 rows.\n"
	"Creates the database if it does not exist.\n\n"
	"A bad row is reported as one line 'FILE:LINE: what', LINE where the row\n"
	"begins.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct import_ctx {
	const char *dir;
	struct st_gtfs_load *load;
	enum kp_gtfs_file file;
	unsigned long routes, stops;
	char msg[KP_GTFS_ERR_SIZE + PATH_SIZE]; /* what failed, when it was not storage */
};

static void file_path(const char *dir, enum kp_gtfs_file file, char out[PATH_SIZE])
{
	snprintf(out, PATH_SIZE, "%s/%s", dir, kp_gtfs_file_name(file));
}

/* kp_gtfs_row_fn: one row into the import. */
static int load_row(void *ctx, const struct kp_gtfs_row *row)
{
	struct import_ctx *ic = ctx;
	unsigned long *n = ic->file == KP_GTFS_ROUTES ? &ic->routes : &ic->stops;
	int rc = ic->file == KP_GTFS_ROUTES ? st_gtfs_load_route(ic->load, &row->u.route)
	                                    : st_gtfs_load_stop(ic->load, &row->u.stop);

	if (rc == ST_EEXIST) {
		snprintf(ic->msg, sizeof ic->msg, "%s:%lu: %s number %" PRIu32 " is taken by an earlier row",
		         kp_gtfs_file_name(ic->file), row->line, ic->file == KP_GTFS_ROUTES ? "route" : "stop",
		         ic->file == KP_GTFS_ROUTES ? row->u.route.id : row->u.stop.id);
		return rc;
	}
	if (rc != ST_OK)
		return rc; /* storage's own failure: reported by the caller */
	if (++*n % PROGRESS_ROWS == 0)
		fprintf(stderr, "komposter: gtfs import: %s: %lu rows\n", kp_gtfs_file_name(ic->file), *n);
	return 0;
}

/* Reads one file into the import: ST_OK, storage's status, or ST_EINVAL
 * with ic->msg saying what is wrong with the file. */
static int load_file(struct import_ctx *ic, enum kp_gtfs_file file)
{
	static unsigned char buf[READ_CHUNK];
	char path[PATH_SIZE];
	struct kp_gtfs_csv p;
	FILE *f;
	size_t n;
	int rc = 0;

	ic->file = file;
	file_path(ic->dir, file, path);
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(ic->msg, sizeof ic->msg, "%s: %s", path, strerror(errno));
		return ST_EINVAL;
	}
	if (kp_gtfs_csv_init(&p, file, load_row, ic) != 0) {
		fclose(f);
		snprintf(ic->msg, sizeof ic->msg, "%s: out of memory", path);
		return ST_EINVAL;
	}
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
		rc = kp_gtfs_csv_feed(&p, buf, n);
	if (rc == 0 && ferror(f)) {
		snprintf(ic->msg, sizeof ic->msg, "%s: %s", path, strerror(errno));
		rc = -1;
	} else if (rc == 0) {
		rc = kp_gtfs_csv_finish(&p);
	}
	fclose(f);
	kp_gtfs_csv_free(&p);
	if (rc == 0)
		return ST_OK;
	if (p.stopped)
		return p.stopped; /* load_row's status; ic->msg set if it was the feed's fault */
	if (p.err[0])
		snprintf(ic->msg, sizeof ic->msg, "%s", p.err);
	return ST_EINVAL;
}

/* st_gtfs_import's fill: may run again from the start when the map grows. */
static int fill_import(void *ctx, struct st_gtfs_load *load)
{
	struct import_ctx *ic = ctx;
	int rc;

	ic->load = load;
	ic->routes = ic->stops = 0;
	ic->msg[0] = '\0';
	rc = load_file(ic, KP_GTFS_ROUTES);
	if (rc == ST_OK)
		rc = load_file(ic, KP_GTFS_STOPS);
	return rc;
}

/* Both files are there and readable before the database is touched. */
static int check_files(const char *cmd, const char *dir)
{
	const enum kp_gtfs_file files[] = {KP_GTFS_ROUTES, KP_GTFS_STOPS};
	char path[PATH_SIZE];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		FILE *f;

		file_path(dir, files[i], path);
		f = fopen(path, "rb");
		if (f == NULL)
			return cli_fail(cmd, "%s: %s", path, strerror(errno));
		fclose(f);
	}
	return KP_EXIT_OK;
}

static int gtfs_import(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "gtfs import";
	static const struct option longopts[] = { KP_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct import_ctx ic = { 0 };
	struct st_db *db = NULL;
	int status, rc;

	status = cli_parse_options(cli, cmd, import_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, NULL,
	                           NULL);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "feed DIR", &ic.dir);
	if (status != CLI_CONTINUE)
		return status;
	if (strlen(ic.dir) + sizeof "/routes.txt" > PATH_SIZE)
		return cli_usage(cmd, "DIR is longer than %d bytes", PATH_SIZE - (int)sizeof "/routes.txt");
	if (check_files(cmd, ic.dir) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (cli_open_db(cli, cmd, CLI_DB_CREATE, &db) != 0)
		return KP_EXIT_FAIL;
	rc = st_gtfs_import(db, fill_import, &ic);
	st_db_close(db);
	if (rc != ST_OK && ic.msg[0])
		return cli_fail(cmd, "%s", ic.msg);
	if (rc != ST_OK)
		return cli_fail(cmd, "storing the feed: %s", st_strerror(rc));
	printf("imported %lu routes and %lu stops from %s\n", ic.routes, ic.stops, ic.dir);
	return cli_finish_output(cmd);
}

/* ---------------------------------------------------------------- list */

static const char list_help[] =
	"Usage: komposter gtfs list routes|stops [--json]\n\n"
	"Lists the imported routes or stops in number order, as tab-separated\n"
	"lines under a header line:\n"
	"  routes: id, route_id, route_short_name, route_long_name, route_type\n"
	"  stops:  id, stop_id, stop_name, stop_lat, stop_lon, location_type\n"
	"id is komposter's number (what devices send); the rest is the feed's.\n"
	"A stop without a position has stop_lat and stop_lon empty.\n\n"
	"Options:\n"
	"      --json         print a JSON array of objects with the same names\n"
	"                     (stop_lat and stop_lon numbers, or null)\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

/* Degrees × 10^7 as decimal text without trailing zeros: "49.553516". */
static void format_degrees(int32_t e7, char out[DEGREES_SIZE])
{
	int64_t v = e7;
	uint64_t a = (uint64_t)(v < 0 ? -v : v);
	int n = snprintf(out, DEGREES_SIZE, "%s%" PRIu64 ".%07" PRIu64, v < 0 ? "-" : "", a / 10000000,
	                 a % 10000000);

	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

struct list_out {
	FILE *text; /* the text listing, or NULL */
	cJSON *arr; /* the JSON listing, or NULL */
};

static int route_json(cJSON *arr, const struct st_gtfs_route *r)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return json_add_u64(o, "id", r->id) || json_add_str(o, "route_id", r->gtfs_id) ||
	       json_add_str(o, "route_short_name", r->short_name) ||
	       json_add_str(o, "route_long_name", r->long_name) || json_add_u64(o, "route_type", r->type);
}

static int add_degrees(cJSON *o, const char *name, const struct st_gtfs_stop *s, int32_t e7)
{
	char text[DEGREES_SIZE];

	if (!s->has_position)
		return cJSON_AddNullToObject(o, name) == NULL ? -1 : 0;
	format_degrees(e7, text);
	return cJSON_AddRawToObject(o, name, text) == NULL ? -1 : 0;
}

static int stop_json(cJSON *arr, const struct st_gtfs_stop *s)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return json_add_u64(o, "id", s->id) || json_add_str(o, "stop_id", s->gtfs_id) ||
	       json_add_str(o, "stop_name", s->name) || add_degrees(o, "stop_lat", s, s->lat_e7) ||
	       add_degrees(o, "stop_lon", s, s->lon_e7) || json_add_u64(o, "location_type", s->location_type);
}

/* foreach callbacks: nonzero (stop, "out of memory") when the copy fails. */
static int list_route(void *ctx, const struct st_gtfs_route *r)
{
	struct list_out *lo = ctx;

	if (lo->arr)
		return route_json(lo->arr, r);
	return fprintf(lo->text, "%" PRIu32 "\t%s\t%s\t%s\t%u\n", r->id, r->gtfs_id, r->short_name, r->long_name,
	               r->type) < 0;
}

static int list_stop(void *ctx, const struct st_gtfs_stop *s)
{
	struct list_out *lo = ctx;
	char lat[DEGREES_SIZE] = "", lon[DEGREES_SIZE] = "";

	if (lo->arr)
		return stop_json(lo->arr, s);
	if (s->has_position) {
		format_degrees(s->lat_e7, lat);
		format_degrees(s->lon_e7, lon);
	}
	return fprintf(lo->text, "%" PRIu32 "\t%s\t%s\t%s\t%s\t%u\n", s->id, s->gtfs_id, s->name, lat, lon,
	               s->location_type) < 0;
}

static int read_list(struct st_db *db, const char *cmd, int stops, struct list_out *lo)
{
	struct st_read r;
	int rc;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = stops ? st_gtfs_stop_foreach(&r, list_stop, lo) : st_gtfs_route_foreach(&r, list_route, lo);
	st_read_end(&r);
	return cli_collect_status(cmd, rc, stops ? "stops" : "routes");
}

static int print_text(struct st_db *db, const char *cmd, int stops)
{
	struct list_out lo = { 0 };
	char *text = NULL;
	size_t len = 0;
	int status;

	lo.text = open_memstream(&text, &len);
	if (lo.text == NULL)
		return cli_fail(cmd, "out of memory");
	status = read_list(db, cmd, stops, &lo);
	if (fclose(lo.text) != 0 && status == KP_EXIT_OK)
		status = cli_fail(cmd, "out of memory");
	if (status == KP_EXIT_OK) {
		fputs(stops ? "id\tstop_id\tstop_name\tstop_lat\tstop_lon\tlocation_type\n"
		            : "id\troute_id\troute_short_name\troute_long_name\troute_type\n",
		      stdout);
		fwrite(text, 1, len, stdout);
		status = cli_finish_output(cmd);
	}
	free(text);
	return status;
}

static int print_json(struct st_db *db, const char *cmd, int stops)
{
	struct list_out lo = { 0 };
	int status;

	lo.arr = cJSON_CreateArray();
	if (lo.arr == NULL)
		return cli_fail(cmd, "out of memory");
	status = read_list(db, cmd, stops, &lo);
	if (status != KP_EXIT_OK) {
		cJSON_Delete(lo.arr);
		return status;
	}
	return json_print_answer(lo.arr, cmd);
}

static int gtfs_list(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "gtfs list";
	const char *what = NULL;
	struct st_db *db = NULL;
	int json = 0, stops, status;

	status = cli_parse_json_flag(cli, cmd, list_help, argc, argv, &json);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "routes or stops", &what);
	if (status != CLI_CONTINUE)
		return status;
	if (strcmp(what, "routes") != 0 && strcmp(what, "stops") != 0)
		return cli_usage(cmd, "'%s': list routes or stops", what);
	stops = strcmp(what, "stops") == 0;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = json ? print_json(db, cmd, stops) : print_text(db, cmd, stops);
	st_db_close(db);
	return status;
}

/* ------------------------------------------------------------- dispatch */

static const char gtfs_help[] =
	"Usage: komposter gtfs SUBCOMMAND [OPTIONS]\n\n"
	"The city's GTFS routes and stops, so that exports name routes and stops\n"
	"by their GTFS ids and names.\n\n"
	"Subcommands:\n"
	"  import   import routes.txt and stops.txt of a GTFS feed, replacing the last\n"
	"  list     list the imported routes or stops\n\n"
	"'komposter gtfs SUBCOMMAND --help' describes a subcommand.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_gtfs(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		/* Their summaries are in gtfs_help. */
		{ "import", gtfs_import, NULL },
		{ "list", gtfs_list, NULL },
	};

	return cli_run_subcommands(cli, "gtfs", gtfs_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
