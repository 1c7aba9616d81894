/*
 * cmd_camera.c — `komposter camera add|list|remove|events`: the camera
 * registry of storage/cameras.h, and the NVR events (storage/nvr.h) of the
 * cameras of one vehicle or stop, for an operator looking up a disputed
 * count.
 *
 * Times are read and shown in the database's time zone (the one its
 * service dates are computed in), as ISO 8601 with the UTC offset, so that
 * an event lines up with the service hour `stats --with-cameras` puts it
 * in. As everywhere in `komposter`, reads copy what they need out of one
 * short read transaction and print after it has ended.
 */
#define _DEFAULT_SOURCE /* timegm */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/cameras.h"
#include "storage/nvr.h"
#include "storage/zone.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

#define DOOR_MAX 255
#define LOCAL_TIME_SIZE 32 /* "2024-05-15T12:00:05+03:00" and a NUL */

enum {
	OPT_JSON = 0x200,
	OPT_VEHICLE,
	OPT_DOOR,
	OPT_STOP,
	OPT_BOARDING_ZONE,
	OPT_ALIGHTING_ZONE,
	OPT_CAMERA,
	OPT_FROM,
	OPT_TO,
};

/* ------------------------------------------------------------- growing */

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*items, want * size);
	if (p == NULL)
		return -1;
	*items = p;
	*cap = want;
	return 0;
}

struct cam_list {
	struct st_camera *v;
	size_t n, cap;
	/* The filter of `events`: 0 takes every camera. */
	uint32_t vehicle_id, stop_id;
};

static int collect_camera(void *ctx, const struct st_camera *c)
{
	struct cam_list *l = ctx;

	if (l->vehicle_id && (c->place != ST_CAMERA_ONBOARD || c->vehicle_id != l->vehicle_id))
		return 0;
	if (l->stop_id && (c->place != ST_CAMERA_STREET || c->stop_id != l->stop_id))
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
		return 1;
	l->v[l->n++] = *c;
	return 0;
}

/* ----------------------------------------------------------------- add */

static const char add_help[] =
	"Usage: komposter camera add NAME (--vehicle V [--door D] | --stop S)\n"
	"                            [--boarding-zone ZONE] [--alighting-zone ZONE]\n\n"
	"Adds an NVR (Frigate) camera, named as in Frigate's config: onboard in\n"
	"vehicle V at door D (its counts go to the route and stop the vehicle was\n"
	"last seen at), or a street camera at stop S (its counts go to the stop).\n"
	"The zones are Frigate zones of that camera: an object entering the\n"
	"boarding zone counts as a boarding, the alighting zone as an alighting.\n"
	"At least one zone is needed; a direction without one is not counted.\n"
	"A name that is taken fails: remove the camera first. The daemon sees\n"
	"the camera at once. Creates the database if it does not exist.\n\n"
	"Options:\n"
	"      --vehicle V            the vehicle id, 1..4294967295\n"
	"      --door D               the vehicle's door, 1-based; 0 the whole\n"
	"                             vehicle (default 0)\n"
	"      --stop S               the stop id, 1..4294967295\n"
	"      --boarding-zone ZONE   the zone meaning boarding\n"
	"      --alighting-zone ZONE  the zone meaning alighting\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

struct add_args {
	const char *vehicle, *door, *stop, *boarding, *alighting;
};

/* cli_option_fn: keeps the values; add_check checks them. */
static int add_option(void *ctx, int opt, const char *arg)
{
	struct add_args *a = ctx;

	switch (opt) {
	case OPT_VEHICLE: a->vehicle = arg; break;
	case OPT_DOOR: a->door = arg; break;
	case OPT_STOP: a->stop = arg; break;
	case OPT_BOARDING_ZONE: a->boarding = arg; break;
	case OPT_ALIGHTING_ZONE: a->alighting = arg; break;
	default: return CLI_OPT_UNKNOWN;
	}
	return CLI_CONTINUE;
}

/* An id option's value in 1..UINT32_MAX; CLI_CONTINUE or the usage error. */
static int parse_id(const char *cmd, const char *opt, const char *text, uint32_t *id)
{
	uint64_t v;

	if (cli_parse_u64(text, UINT32_MAX, &v) != 0 || v == 0)
		return cli_usage(cmd, "%s '%s' is not in 1..%" PRIu32, opt, text, UINT32_MAX);
	*id = (uint32_t)v;
	return CLI_CONTINUE;
}

/* Copies a string option into dst (cap bytes with the NUL); CLI_CONTINUE or
 * the usage error when it is too long. */
static int copy_text(const char *cmd, const char *what, const char *text, char *dst, size_t cap)
{
	if (strlen(text) >= cap)
		return cli_usage(cmd, "%s is longer than %zu bytes", what, cap - 1);
	memcpy(dst, text, strlen(text) + 1);
	return CLI_CONTINUE;
}

static int add_check(const struct add_args *a, const char *name, struct st_camera *c)
{
	static const char cmd[] = "camera add";
	uint64_t door = 0;
	int status;

	memset(c, 0, sizeof(*c));
	if ((a->vehicle == NULL) == (a->stop == NULL))
		return cli_usage(cmd, "give one of --vehicle and --stop");
	if (a->door != NULL && a->vehicle == NULL)
		return cli_usage(cmd, "--door needs --vehicle");
	if (a->boarding == NULL && a->alighting == NULL)
		return cli_usage(cmd, "give --boarding-zone, --alighting-zone or both");
	if ((status = copy_text(cmd, "the camera name", name, c->name, sizeof(c->name))) != CLI_CONTINUE)
		return status;
	if (a->vehicle != NULL) {
		c->place = ST_CAMERA_ONBOARD;
		if ((status = parse_id(cmd, "--vehicle", a->vehicle, &c->vehicle_id)) != CLI_CONTINUE)
			return status;
		if (a->door != NULL && cli_parse_u64(a->door, DOOR_MAX, &door) != 0)
			return cli_usage(cmd, "--door '%s' is not in 0..%d", a->door, DOOR_MAX);
		c->door = (uint8_t)door;
	} else {
		c->place = ST_CAMERA_STREET;
		if ((status = parse_id(cmd, "--stop", a->stop, &c->stop_id)) != CLI_CONTINUE)
			return status;
	}
	if (a->boarding != NULL &&
	    (status = copy_text(cmd, "--boarding-zone", a->boarding, c->boarding_zone,
	                        sizeof(c->boarding_zone))) != CLI_CONTINUE)
		return status;
	if (a->alighting != NULL &&
	    (status = copy_text(cmd, "--alighting-zone", a->alighting, c->alighting_zone,
	                        sizeof(c->alighting_zone))) != CLI_CONTINUE)
		return status;
	if (c->boarding_zone[0] == '\0' && c->alighting_zone[0] == '\0')
		return cli_usage(cmd, "the zones are empty");
	if (!st_camera_valid(c))
		return cli_usage(cmd, "'%s': a name is printable ASCII without spaces, '/', '+' or '#'; "
		                      "a zone is printable without ','", name);
	return CLI_CONTINUE;
}

static int camera_add(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "camera add";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "vehicle", required_argument, NULL, OPT_VEHICLE },
		{ "door", required_argument, NULL, OPT_DOOR },
		{ "stop", required_argument, NULL, OPT_STOP },
		{ "boarding-zone", required_argument, NULL, OPT_BOARDING_ZONE },
		{ "alighting-zone", required_argument, NULL, OPT_ALIGHTING_ZONE },
		{ NULL, 0, NULL, 0 },
	};
	struct add_args a = { 0 };
	const char *name = NULL;
	struct st_camera c;
	struct st_db *db = NULL;
	int status, rc;

	status = cli_parse_options(cli, cmd, add_help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                           add_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "camera NAME", &name);
	if (status == CLI_CONTINUE)
		status = add_check(&a, name, &c);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_CREATE, &db) != 0)
		return KP_EXIT_FAIL;
	c.created_at = cli_now_ms();
	rc = st_camera_add(db, &c);
	st_db_close(db);
	if (rc == ST_EEXIST)
		return cli_fail(cmd, "camera %s exists already; remove it first", c.name);
	if (rc != ST_OK)
		return cli_fail(cmd, "camera %s: %s", c.name, st_strerror(rc));
	printf("added camera %s\n", c.name);
	return cli_finish_output(cmd);
}

/* ---------------------------------------------------------------- list */

static const char list_help[] =
	"Usage: komposter camera list [--json]\n\n"
	"Lists the cameras in name order: name, place (onboard or street), vehicle\n"
	"and door or stop, boarding and alighting zones (\"-\" when not counted).\n\n"
	"Options:\n"
	"      --json         print a JSON array of cameras\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

static cJSON *camera_json(const struct st_camera *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (json_add_str(o, "name", c->name) || json_add_str(o, "place", st_camera_place_name(c->place)) ||
	    json_add_u64(o, "vehicle_id", c->vehicle_id) || json_add_u64(o, "door", c->door) ||
	    json_add_u64(o, "stop_id", c->stop_id) || json_add_str(o, "boarding_zone", c->boarding_zone) ||
	    json_add_str(o, "alighting_zone", c->alighting_zone) || json_add_i64(o, "created_at", c->created_at)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* json_print_list's view of camera_json. */
static cJSON *camera_json_of(const void *item)
{
	return camera_json(item);
}

static int print_list_json(const struct cam_list *l, const char *cmd)
{
	return json_print_list(l->v, l->n, sizeof(l->v[0]), camera_json_of, cmd);
}

static const char *zone_or_dash(const char *zone)
{
	return zone[0] ? zone : "-";
}

static int print_list_text(const struct cam_list *l, const char *cmd)
{
	printf("%-20s  %-7s  %10s  %4s  %10s  %-16s  %s\n", "NAME", "PLACE", "VEHICLE", "DOOR", "STOP",
	       "BOARDING", "ALIGHTING");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_camera *c = &l->v[i];

		printf("%-20s  %-7s  %10" PRIu32 "  %4u  %10" PRIu32 "  %-16s  %s\n", c->name,
		       st_camera_place_name(c->place), c->vehicle_id, c->door, c->stop_id,
		       zone_or_dash(c->boarding_zone), zone_or_dash(c->alighting_zone));
	}
	return cli_finish_output(cmd);
}

/* cli_load_fn: the cameras the filter of ctx, a struct cam_list, takes, in
 * name order. */
static int load_cameras(struct st_db *db, const char *cmd, void *ctx)
{
	struct st_read r;
	int rc;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_camera_foreach(&r, collect_camera, ctx);
	st_read_end(&r);
	return cli_collect_status(cmd, rc, "cameras");
}

static int camera_list(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "camera list";
	struct cam_list l = { 0 };
	int json = 0;
	int status = cli_list_load(cli, cmd, list_help, argc, argv, load_cameras, &l, &json);

	if (status == CLI_CONTINUE)
		status = json ? print_list_json(&l, cmd) : print_list_text(&l, cmd);
	free(l.v);
	return status;
}

/* -------------------------------------------------------------- remove */

static const char remove_help[] =
	"Usage: komposter camera remove NAME\n\n"
	"Removes a camera: the daemon counts nothing more from it. The counts and\n"
	"events already stored for it stay.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

static int camera_remove(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "camera remove";
	static const struct option longopts[] = { KP_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *name = NULL;
	struct st_db *db = NULL;
	int status, rc;

	status = cli_parse_options(cli, cmd, remove_help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                           NULL, NULL);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "camera NAME", &name);
	if (status != CLI_CONTINUE)
		return status;
	if (strlen(name) > ST_CAMERA_NAME_MAX)
		return cli_usage(cmd, "the camera name is longer than %d bytes", ST_CAMERA_NAME_MAX);
	if (cli_open_db(cli, cmd, CLI_DB_WRITE, &db) != 0)
		return KP_EXIT_FAIL;
	rc = st_camera_remove(db, name);
	st_db_close(db);
	if (rc == ST_ENOTFOUND)
		return cli_fail(cmd, "camera %s: not found", name);
	if (rc != ST_OK)
		return cli_fail(cmd, "camera %s: %s", name, st_strerror(rc));
	printf("removed camera %s\n", name);
	return cli_finish_output(cmd);
}

/* -------------------------------------------------------------- events */

static const char events_help[] =
	"Usage: komposter camera events (--camera NAME | --vehicle V | --stop S)\n"
	"                               --from TIME --to TIME [--json]\n\n"
	"Lists the NVR events of one camera, of the onboard cameras of vehicle V or\n"
	"of the street cameras at stop S, whose object appeared from --from until\n"
	"before --to, in start order: start, end, camera, label, the zones the\n"
	"object entered, whether the NVR kept a clip, whether it judged the object\n"
	"a false positive, and the NVR's event id. Events of false positives are\n"
	"listed too (they were not counted).\n"
	"TIME is YYYY-MM-DD or YYYY-MM-DDTHH:MM in the database's time zone; a\n"
	"--to date alone includes that whole date. Times are shown in that zone,\n"
	"ISO 8601 with the UTC offset.\n\n"
	"Options:\n"
	"      --camera NAME  one camera\n"
	"      --vehicle V    the onboard cameras of vehicle V\n"
	"      --stop S       the street cameras at stop S\n"
	"      --from TIME    the first start time (required)\n"
	"      --to TIME      the end of the range, excluded (required)\n"
	"      --json         print a JSON array of events; zones as an array of\n"
	"                     names, end null while the object lasts\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

struct events_args {
	const char *camera, *vehicle, *stop, *from, *to;
	int json;
};

static int events_option(void *ctx, int opt, const char *arg)
{
	struct events_args *a = ctx;

	switch (opt) {
	case OPT_CAMERA: a->camera = arg; break;
	case OPT_VEHICLE: a->vehicle = arg; break;
	case OPT_STOP: a->stop = arg; break;
	case OPT_FROM: a->from = arg; break;
	case OPT_TO: a->to = arg; break;
	case OPT_JSON: a->json = 1; break;
	default: return CLI_OPT_UNKNOWN;
	}
	return CLI_CONTINUE;
}

/* A wall-clock time: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM". 0 or -1. */
struct wall {
	struct tm tm;
	int has_time;
};

static int parse_wall(const char *text, struct wall *w)
{
	unsigned y, mo, d, h = 0, mi = 0;
	int n = -1;
	size_t len = strlen(text);

	memset(w, 0, sizeof(*w));
	if (len == 10 && sscanf(text, "%4u-%2u-%2u%n", &y, &mo, &d, &n) == 3 && n == 10) {
		w->has_time = 0;
	} else if (len == 16 && sscanf(text, "%4u-%2u-%2uT%2u:%2u%n", &y, &mo, &d, &h, &mi, &n) == 5 &&
	           n == 16) {
		w->has_time = 1;
	} else {
		return -1;
	}
	for (size_t i = 0; i < len; i++) /* sscanf takes signs and spaces; dates have none */
		if (!((text[i] >= '0' && text[i] <= '9') || i == 4 || i == 7 || i == 10 || i == 13))
			return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return -1;
	w->tm.tm_year = (int)y - 1900;
	w->tm.tm_mon = (int)mo - 1;
	w->tm.tm_mday = (int)d;
	w->tm.tm_hour = (int)h;
	w->tm.tm_min = (int)mi;
	/* timegm normalises 31 February into March: refuse what moved. */
	{
		struct tm check = w->tm;

		if (timegm(&check) == (time_t)-1 || check.tm_mday != w->tm.tm_mday)
			return -1;
	}
	return 0;
}

/* Unix ms of a wall-clock time in zone (the offset of the instant it names;
 * in a gap or a repeat, the later offset's reading). */
static int64_t wall_to_ms(const struct st_zone *zone, struct tm tm)
{
	int64_t local = (int64_t)timegm(&tm);
	int64_t guess = local - st_zone_offset(zone, local);

	return (local - st_zone_offset(zone, guess)) * 1000;
}

/* "2024-05-15T12:00:05+03:00": ms in zone. */
static void format_local(const struct st_zone *zone, int64_t ms, char out[LOCAL_TIME_SIZE])
{
	int64_t s = ms / 1000 - (ms % 1000 < 0);
	int32_t off = st_zone_offset(zone, s);
	time_t t = (time_t)(s + off);
	int32_t a = off < 0 ? -off : off;
	struct tm tm;
	size_t len;

	if (gmtime_r(&t, &tm) == NULL ||
	    (len = strftime(out, LOCAL_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm)) == 0 ||
	    len + sizeof("+hh:mm") > LOCAL_TIME_SIZE) {
		snprintf(out, LOCAL_TIME_SIZE, "-");
		return;
	}
	snprintf(out + len, LOCAL_TIME_SIZE - len, "%c%02u:%02u", off < 0 ? '-' : '+', (unsigned)(a / 3600) % 100u,
	         (unsigned)(a % 3600 / 60));
}

struct ev_list {
	struct st_nvr_event *v;
	size_t n, cap;
};

static int collect_event(void *ctx, const struct st_nvr_event *ev)
{
	struct ev_list *l = ctx;

	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
		return 1;
	l->v[l->n++] = *ev;
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct st_nvr_event *x = a, *y = b;
	int c;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	c = strcmp(x->camera, y->camera);
	return c ? c : strcmp(x->id, y->id);
}

static int add_zones(cJSON *o, const char *zones)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "zones");
	const char *p = zones;

	if (arr == NULL)
		return -1;
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[ST_NVR_ZONES_MAX + 1];
		cJSON *s;

		memcpy(name, p, len);
		name[len] = '\0';
		s = cJSON_CreateString(name);
		if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static cJSON *event_json(const struct st_zone *zone, const struct st_nvr_event *ev)
{
	char start[LOCAL_TIME_SIZE], end[LOCAL_TIME_SIZE];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	format_local(zone, ev->start, start);
	format_local(zone, ev->end, end);
	if (json_add_str(o, "id", ev->id) || json_add_str(o, "camera", ev->camera) ||
	    json_add_str(o, "label", ev->label) || add_zones(o, ev->zones) || json_add_str(o, "start", start) ||
	    (ev->end ? json_add_str(o, "end", end) : cJSON_AddNullToObject(o, "end") == NULL) ||
	    cJSON_AddBoolToObject(o, "has_clip", ev->has_clip) == NULL ||
	    cJSON_AddBoolToObject(o, "false_positive", ev->false_positive) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_events_json(const struct st_zone *zone, const struct ev_list *l, const char *cmd)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr != NULL && i < l->n; i++) {
		cJSON *o = event_json(zone, &l->v[i]);

		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	return json_print_answer(arr, cmd);
}

static int print_events_text(const struct st_zone *zone, const struct ev_list *l, const char *cmd)
{
	char start[LOCAL_TIME_SIZE], end[LOCAL_TIME_SIZE];

	printf("%-25s  %-25s  %-20s  %-10s  %-24s  %-4s  %-2s  %s\n", "START", "END", "CAMERA", "LABEL",
	       "ZONES", "CLIP", "FP", "ID");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_nvr_event *ev = &l->v[i];

		format_local(zone, ev->start, start);
		if (ev->end)
			format_local(zone, ev->end, end);
		else
			snprintf(end, sizeof(end), "-");
		printf("%-25s  %-25s  %-20s  %-10s  %-24s  %-4s  %-2s  %s\n", start, end, ev->camera, ev->label,
		       ev->zones[0] ? ev->zones : "-", ev->has_clip ? "yes" : "no",
		       ev->false_positive ? "fp" : "-", ev->id);
	}
	return cli_finish_output(cmd);
}

/* Checks the selector and the times; CLI_CONTINUE or the usage error. */
static int events_check(const struct events_args *a, struct cam_list *sel, struct wall *from, struct wall *to)
{
	static const char cmd[] = "camera events";
	int status;

	if ((a->camera != NULL) + (a->vehicle != NULL) + (a->stop != NULL) != 1)
		return cli_usage(cmd, "give one of --camera, --vehicle and --stop");
	if (a->from == NULL || a->to == NULL)
		return cli_usage(cmd, "--from and --to are required");
	if (a->camera != NULL && strlen(a->camera) > ST_CAMERA_NAME_MAX)
		return cli_usage(cmd, "the camera name is longer than %d bytes", ST_CAMERA_NAME_MAX);
	if (a->vehicle != NULL && (status = parse_id(cmd, "--vehicle", a->vehicle, &sel->vehicle_id)) != CLI_CONTINUE)
		return status;
	if (a->stop != NULL && (status = parse_id(cmd, "--stop", a->stop, &sel->stop_id)) != CLI_CONTINUE)
		return status;
	if (parse_wall(a->from, from) != 0)
		return cli_usage(cmd, "--from '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM", a->from);
	if (parse_wall(a->to, to) != 0)
		return cli_usage(cmd, "--to '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM", a->to);
	if (!to->has_time)
		to->tm.tm_mday++; /* the whole date; timegm normalises */
	return CLI_CONTINUE;
}

/* The selected cameras (one, or those of the vehicle or stop) and their
 * events in [from, to), in one read transaction. */
static int load_events(struct st_db *db, const char *camera, struct cam_list *cams, int64_t from, int64_t to,
                       struct ev_list *evs)
{
	static const char cmd[] = "camera events";
	struct st_read r;
	int rc, status = KP_EXIT_OK;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (camera != NULL) {
		struct st_camera c;

		rc = st_camera_get(&r, camera, &c);
		if (rc == ST_OK)
			rc = collect_camera(cams, &c) ? ST_ESTOP : ST_OK;
		if (rc == ST_ENOTFOUND)
			status = cli_fail(cmd, "camera %s: not found", camera);
		else
			status = cli_collect_status(cmd, rc, "cameras");
	} else {
		status = cli_collect_status(cmd, st_camera_foreach(&r, collect_camera, cams), "cameras");
	}
	for (size_t i = 0; status == KP_EXIT_OK && i < cams->n; i++)
		status = cli_collect_status(cmd, st_nvr_event_foreach(&r, cams->v[i].name, from, to, collect_event, evs),
		                            "events");
	st_read_end(&r);
	if (status == KP_EXIT_OK && cams->n == 0)
		status = cams->vehicle_id ? cli_fail(cmd, "no camera in vehicle %" PRIu32, cams->vehicle_id)
		                          : cli_fail(cmd, "no camera at stop %" PRIu32, cams->stop_id);
	return status;
}

static int camera_events(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "camera events";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "camera", required_argument, NULL, OPT_CAMERA },
		{ "vehicle", required_argument, NULL, OPT_VEHICLE },
		{ "stop", required_argument, NULL, OPT_STOP },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct events_args a = { 0 };
	struct cam_list cams = { 0 };
	struct ev_list evs = { 0 };
	struct wall from, to;
	struct st_db *db = NULL;
	int64_t from_ms, to_ms;
	int status;

	status = cli_parse_options(cli, cmd, events_help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                           events_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status == CLI_CONTINUE)
		status = events_check(&a, &cams, &from, &to);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	from_ms = wall_to_ms(st_db_zone(db), from.tm);
	to_ms = wall_to_ms(st_db_zone(db), to.tm);
	if (from_ms >= to_ms) {
		st_db_close(db);
		return cli_usage(cmd, "--from is not before --to");
	}
	status = load_events(db, a.camera, &cams, from_ms, to_ms, &evs);
	if (status == KP_EXIT_OK) {
		qsort(evs.v, evs.n, sizeof(*evs.v), event_cmp);
		status = a.json ? print_events_json(st_db_zone(db), &evs, cmd)
		                : print_events_text(st_db_zone(db), &evs, cmd);
	}
	st_db_close(db);
	free(cams.v);
	free(evs.v);
	return status;
}

/* ------------------------------------------------------------- dispatch */

static const char camera_help[] =
	"Usage: komposter camera SUBCOMMAND [OPTIONS]\n\n"
	"The NVR (Frigate) cameras komposter counts passengers with: where each\n"
	"one stands and which of its zones mean boarding and alighting.\n\n"
	"Subcommands:\n"
	"  add      add a camera (onboard a vehicle, or at a stop)\n"
	"  list     list the cameras\n"
	"  remove   remove a camera\n"
	"  events   list the NVR events of a camera, vehicle or stop\n\n"
	"'komposter camera SUBCOMMAND --help' describes a subcommand.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_camera(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		/* Their summaries are in camera_help. */
		{ "add", camera_add, NULL },
		{ "list", camera_list, NULL },
		{ "remove", camera_remove, NULL },
		{ "events", camera_events, NULL },
	};

	return cli_run_subcommands(cli, "camera", camera_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
