/*
 * fleet.c — see fleet.h. JSON (the simulator's summary, the tool's stats) is
 * read with cJSON, as any consumer would.
 */
#include "tests/e2e/fleet.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/db.h"
#include "storage/service_day.h"

int kp_daemon_share_key(struct kp_daemon_proc *to, const struct kp_daemon_proc *from)
{
	for (int i = 0; i < 2; i++) {
		char src[340], dst[340];
		const char *suffix = i ? ".pub" : "";

		snprintf(src, sizeof(src), "%s/server.key%s", from->dir, suffix);
		snprintf(dst, sizeof(dst), "%s/server.key%s", to->dir, suffix);
		char *argv[] = { "/bin/cp", src, dst, NULL };
		if (kp_run(argv, NULL) != 0)
			return -1;
	}
	return 0;
}

int kp_fleet_init(struct kp_fleet *f, const struct kp_daemon_proc *d, int devices)
{
	return kp_fleet_init_apcs(f, d, devices, 0);
}

int kp_fleet_init_apcs(struct kp_fleet *f, const struct kp_daemon_proc *d, int devices, int apcs)
{
	char n[16], a[16], fleet_txt[360];

	memset(f, 0, sizeof(*f));
	f->devices = devices;
	snprintf(f->state, sizeof(f->state), "%s/fleet", d->dir);
	snprintf(f->summary, sizeof(f->summary), "%s/summary.json", d->dir);
	snprintf(f->tokens, sizeof(f->tokens), "%s/tokens.txt", d->dir);
	snprintf(f->log, sizeof(f->log), "%s/validator-sim.log", d->dir);
	snprintf(n, sizeof(n), "%d", devices);
	snprintf(a, sizeof(a), "%d", apcs);
	char *sim = strdup(kp_bin("validators/validator-sim"));
	char *argv[] = { sim, "init", "--state", f->state, "--devices", n, "--apcs", a, "--quiet", NULL };
	int rc = kp_run(argv, NULL);
	free(sim);
	if (rc != 0) {
		fprintf(stderr, "fleet: validator-sim init exited %d\n", rc);
		return -1;
	}
	snprintf(fleet_txt, sizeof(fleet_txt), "%s/fleet.txt", f->state);
	return kp_enrol_fleet(d, fleet_txt);
}

int kp_fleet_bring_up(struct kp_broker *b, struct kp_daemon_proc *d, struct kp_fleet *f, int devices)
{
	if (kp_broker_start(b) != 0 || kp_daemon_setup(d, b, NULL) != 0 || kp_daemon_start(d) != 0)
		return -1;
	return kp_fleet_init(f, d, devices);
}

int kp_fleet_bring_up_cameras(struct kp_broker *b, struct kp_daemon_proc *d, struct kp_fleet *f, int devices,
                              const char *cameras)
{
	if (kp_broker_start(b) != 0 || kp_daemon_setup(d, b, NULL) != 0 || kp_daemon_start(d) != 0 ||
	    kp_fleet_init_apcs(f, d, devices, devices) != 0)
		return -1;
	return kp_fleet_map_cameras(d, f, cameras) == atoi(cameras) ? 0 : -1;
}

int kp_fleet_end(const struct kp_fleet *f, pid_t sim, double taps, struct kp_fleet_summary *sum)
{
	if (kp_wait(sim) != 0) {
		fprintf(stderr, "fleet: validator-sim did not empty every outbox; see %s\n", f->log);
		return -1;
	}
	if (kp_fleet_summary(f, sum) != 0)
		return -1;
	if (sum->taps != taps) {
		fprintf(stderr, "fleet: the summary counts %.0f taps, not %.0f\n", sum->taps, taps);
		return -1;
	}
	return 0;
}

pid_t kp_fleet_start(struct kp_fleet *f, const struct kp_broker *b, const struct kp_daemon_proc *d,
                     int taps_per_device, ...)
{
	char taps[16];
	char *argv[40];
	int n = 0;
	va_list ap;

	snprintf(taps, sizeof(taps), "%d", taps_per_device);
	argv[n++] = strdup(kp_bin("validators/validator-sim"));
	argv[n++] = "run";
	argv[n++] = "--state";
	argv[n++] = f->state;
	argv[n++] = "--broker";
	argv[n++] = (char *)b->uri;
	argv[n++] = "--server-pub";
	argv[n++] = (char *)d->server_pub;
	argv[n++] = "--taps-per-device";
	argv[n++] = taps;
	argv[n++] = "--summary";
	argv[n++] = f->summary;
	argv[n++] = "--tokens-out";
	argv[n++] = f->tokens;
	argv[n++] = "--quiet";
	va_start(ap, taps_per_device);
	for (char *a; n < 39 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	pid_t pid = kp_start(argv, f->log);
	free(argv[0]);
	return pid;
}

int kp_fleet_map_cameras(const struct kp_daemon_proc *d, const struct kp_fleet *f, const char *cameras)
{
	char *listing = NULL, *save = NULL;
	char *argv[] = { strdup(kp_bin("validators/validator-sim")), "cameras", "--state", (char *)f->state,
	                 "--street-cameras", (char *)cameras, NULL };
	int n = 0;

	int rc = kp_run(argv, &listing);
	free(argv[0]);
	if (rc != 0) {
		fprintf(stderr, "fleet: validator-sim cameras exited %d\n", rc);
		free(listing);
		return -1;
	}
	for (char *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], stop[16], in[64], out[64];
		if (sscanf(line, "%63s %15s %63s %63s", name, stop, in, out) != 4) {
			fprintf(stderr, "fleet: validator-sim cameras listed '%s'\n", line);
			n = -1;
			break;
		}
		rc = kp_komposter(d, NULL, "camera", "add", name, "--stop", stop, "--boarding-zone", in,
		                  "--alighting-zone", out, NULL);
		if (rc != 0) {
			fprintf(stderr, "fleet: komposter camera add %s exited %d\n", name, rc);
			n = -1;
			break;
		}
		n++;
	}
	free(listing);
	return n;
}

static double number(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

int kp_fleet_summary(const struct kp_fleet *f, struct kp_fleet_summary *s)
{
	uint8_t *text;
	size_t len;

	if (kp_file_read(f->summary, &text, &len) != 0)
		return -1;
	cJSON *j = cJSON_Parse((const char *)text);
	free(text);
	if (!j)
		return -1;
	s->devices = number(j, "devices");
	s->frames = number(j, "frames");
	s->taps = number(j, "taps");
	s->accepted = number(j, "accepted");
	s->denied = number(j, "denied");
	s->amount = number(j, "amount");
	s->elapsed_s = number(j, "elapsed_s");
	s->boardings = number(j, "boardings"); /* -1 without counters */
	cJSON_Delete(j);
	return 0;
}

static void date_around_today(int days, char out[16])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The fields names[0..n) of the total of `komposter stats [--counts]
 * --json` over a week around today into v[0..n). */
static int stats_total(const struct kp_daemon_proc *d, int counts, const char *const *names, double *v,
                       size_t n)
{
	char from[16], to[16];
	char *out = NULL;
	int rc;

	date_around_today(-3, from);
	date_around_today(3, to);
	if (counts)
		rc = kp_komposter(d, &out, "stats", "--counts", "--from", from, "--to", to, "--by", "route",
		                  "--json", NULL);
	else
		rc = kp_komposter(d, &out, "stats", "--from", from, "--to", to, "--by", "route", "--json", NULL);
	if (rc != 0) {
		free(out);
		return -1;
	}
	cJSON *j = cJSON_Parse(out);
	free(out);
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(j, "total");
	if (!total) {
		cJSON_Delete(j);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = number(total, names[i]);
	cJSON_Delete(j);
	return 0;
}

int kp_stats_totals(const struct kp_daemon_proc *d, double *accepted, double *denied, double *amount)
{
	static const char *const names[] = { "accepted", "denied", "amount" };
	double v[3];

	if (stats_total(d, 0, names, v, 3) != 0)
		return -1;
	*accepted = v[0];
	*denied = v[1];
	*amount = v[2];
	return 0;
}

int kp_count_totals(const struct kp_daemon_proc *d, double *boardings, double *alightings)
{
	static const char *const names[] = { "boardings", "alightings" };
	double v[2];

	if (stats_total(d, 1, names, v, 2) != 0)
		return -1;
	*boardings = v[0];
	*alightings = v[1];
	return 0;
}

cJSON *kp_stats_rate(const struct kp_daemon_proc *d, const char *by)
{
	char from[16], to[16];
	char *out = NULL;

	date_around_today(-3, from);
	date_around_today(3, to);
	int rc = kp_komposter(d, &out, "stats", "--with-cameras", "--partial", "--from", from, "--to", to, "--by", by,
	                      "--json", NULL);
	cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL;
	if (!j)
		fprintf(stderr, "fleet: stats --with-cameras --by %s exited %d: %.200s\n", by, rc, out ? out : "");
	free(out);
	return j;
}

int kp_rate_reported(const cJSON *row, double *rate)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(row, "rate");

	if (!cJSON_IsNumber(r))
		r = cJSON_GetObjectItemCaseSensitive(row, "partial_rate");
	if (!cJSON_IsNumber(r))
		return -1;
	*rate = r->valuedouble;
	return 0;
}

int kp_service_hour(const struct kp_daemon_proc *d, int64_t t, struct kp_service_hour *out)
{
	struct st_options opts;
	struct st_db *db = NULL;
	struct st_when when;
	char path[300];

	st_options_default(&opts);
	snprintf(path, sizeof(path), "%s/data", d->dir);
	opts.path = path;
	opts.read_only = 1;
	int rc = st_db_open(&db, &opts);
	if (rc != ST_OK) {
		fprintf(stderr, "fleet: open %s: %s\n", path, st_strerror(rc));
		return -1;
	}
	rc = st_service_day(st_db_zone(db), t * 1000, st_db_options(db)->service_day_start_hour, &when);
	st_db_close(db);
	if (rc != 0)
		return -1;
	out->service_date = when.service_date;
	out->hour = when.hour;
	return 0;
}

const cJSON *kp_rate_row(const cJSON *doc, const struct kp_service_hour *h, const char *place_key,
                         uint32_t place, const char *source)
{
	char date[11];
	const cJSON *row;

	st_date_format(h->service_date, date);
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(doc, "rows")) {
		const cJSON *dt = cJSON_GetObjectItemCaseSensitive(row, "date");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(row, "source");
		if (cJSON_IsString(dt) && !strcmp(dt->valuestring, date) && number(row, "hour") == h->hour &&
		    number(row, place_key) == place && cJSON_IsString(src) && !strcmp(src->valuestring, source))
			return row;
	}
	return NULL;
}

int kp_rate_rows_of(const cJSON *doc, const char *source)
{
	const cJSON *row;
	int n = 0;

	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(doc, "rows")) {
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(row, "source");
		n += cJSON_IsString(src) && !strcmp(src->valuestring, source);
	}
	return n;
}

/* Waits, bounded, until the sample `name` is within [lo, hi]. 0 or -1. */
static int wait_sample(const struct kp_daemon_proc *d, const char *name, double lo, double hi, int timeout_ms)
{
	struct timespec pause = { 0, 20 * 1000000L };
	double v = -1;

	for (int waited = 0; waited < timeout_ms; waited += 20) {
		v = kp_daemon_metric(d, name);
		if (v >= lo && v <= hi)
			return 0;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "fleet: %s stayed %g, never in [%g, %g]\n", name, v, lo, hi);
	return -1;
}

int kp_wait_metric(const struct kp_daemon_proc *d, const char *name, double at_least, int timeout_ms)
{
	return wait_sample(d, name, at_least, HUGE_VAL, timeout_ms);
}

long kp_dump_count(const struct kp_daemon_proc *d)
{
	char *dump = NULL;
	long lines = 0;

	if (kp_komposter(d, &dump, "dump", NULL) != 0) {
		free(dump);
		return -1;
	}
	for (char *p = dump; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	free(dump);
	return lines;
}

long kp_dropped_at_stop(const struct kp_daemon_proc *d)
{
	static const char said[] = " messages dropped while stopping";
	char path[300];
	uint8_t *log = NULL;
	size_t len = 0;
	long n = -1;

	snprintf(path, sizeof(path), "%s/komposterd.log", d->dir);
	if (kp_file_read(path, &log, &len) != 0)
		return -1;
	const char *text = (const char *)log, *last = NULL;
	for (const char *p = text; (p = strstr(p, said)) != NULL; p++)
		last = p;
	if (last) {
		const char *digits = last;
		while (digits > text && digits[-1] >= '0' && digits[-1] <= '9')
			digits--;
		if (digits < last)
			n = strtol(digits, NULL, 10);
	}
	free(log);
	return n;
}

int kp_wait_frigate_offline(const struct kp_daemon_proc *d, int timeout_ms)
{
	return wait_sample(d, "komposter_frigate_available", 0, 0, timeout_ms);
}

/* The (service date, hour) of a summary cell's hour_s; 0 or -1. */
static int cell_hour(const struct kp_daemon_proc *d, const cJSON *cell, struct kp_service_hour *h)
{
	return kp_service_hour(d, (int64_t)number(cell, "hour_s"), h);
}

int kp_check_route_hours_exact(const struct kp_daemon_proc *d, const cJSON *sum)
{
	const cJSON *cell;
	int cells = 0, bad = 0;
	cJSON *doc = kp_stats_rate(d, "route");

	if (!doc)
		return -1;
	cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(sum, "route_hours")) {
		uint32_t route = (uint32_t)number(cell, "route_id");
		struct kp_service_hour h;
		const cJSON *row = cell_hour(d, cell, &h) == 0 ? kp_rate_row(doc, &h, "route_id", route, "signed") : NULL;

		cells++;
		if (!row || number(row, "boardings") != number(cell, "boardings") ||
		    number(row, "accepted") != number(cell, "accepted")) {
			fprintf(stderr, "fleet: route %u hour %d: stored %g boardings, %g accepted; sent %g, %g\n", route,
			        h.hour, row ? number(row, "boardings") : -1, row ? number(row, "accepted") : -1,
			        number(cell, "boardings"), number(cell, "accepted"));
			bad++;
		}
	}
	if (cells == 0 || kp_rate_rows_of(doc, "signed") != cells) {
		fprintf(stderr, "fleet: %d signed rows stored, %d (route, hour) cells sent\n",
		        kp_rate_rows_of(doc, "signed"), cells);
		bad++;
	}
	cJSON_Delete(doc);
	return bad ? -1 : 0;
}

int kp_check_stop_hours_at_most(const struct kp_daemon_proc *d, const cJSON *sum)
{
	const cJSON *cell;
	int rows = 0, bad = 0;
	double stored = 0, sent = 0;
	cJSON *doc = kp_stats_rate(d, "stop");

	if (!doc)
		return -1;
	cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(sum, "stop_hours")) {
		uint32_t stop = (uint32_t)number(cell, "stop_id");
		struct kp_service_hour h;

		if (cell_hour(d, cell, &h) != 0) {
			bad++;
			continue;
		}
		sent += number(cell, "boardings");
		const cJSON *row = kp_rate_row(doc, &h, "stop_id", stop, "nvr");
		if (!row)
			continue; /* every event of the hour lost, or none counted */
		if (number(row, "boardings") > number(cell, "boardings") ||
		    number(row, "alightings") > number(cell, "alightings") ||
		    number(row, "accepted") != number(cell, "accepted")) {
			fprintf(stderr, "fleet: stop %u hour %d: stored %g/%g/%g (boardings/alightings/accepted), "
			                "sent %g/%g/%g\n", stop, h.hour, number(row, "boardings"),
			        number(row, "alightings"), number(row, "accepted"), number(cell, "boardings"),
			        number(cell, "alightings"), number(cell, "accepted"));
			bad++;
		}
		stored += number(row, "boardings");
		rows++;
	}
	if (kp_rate_rows_of(doc, "nvr") != rows || stored <= 0 || stored > sent) {
		fprintf(stderr, "fleet: %d nvr rows stored for %d cells; %g camera boardings stored, %g sent\n",
		        kp_rate_rows_of(doc, "nvr"), rows, stored, sent);
		bad++;
	}
	cJSON_Delete(doc);
	return bad ? -1 : 0;
}

int kp_check_taps_stored_once(const struct kp_daemon_proc *d, const struct kp_fleet_summary *sum)
{
	double accepted, denied, amount;
	int bad = 0;

	if (kp_stats_totals(d, &accepted, &denied, &amount) != 0)
		return -1;
	if (accepted != sum->accepted || denied != sum->denied || amount != sum->amount) {
		fprintf(stderr, "fleet: stored %.0f accepted, %.0f denied, amount %.0f; sent %.0f, %.0f, %.0f\n",
		        accepted, denied, amount, sum->accepted, sum->denied, sum->amount);
		bad++;
	}
	if (kp_komposter(d, NULL, "check", NULL) != 0) {
		fprintf(stderr, "fleet: komposter check failed\n");
		bad++;
	}
	return bad ? -1 : 0;
}

int kp_check_fleet_stored_once(const struct kp_daemon_proc *d, const struct kp_fleet *f,
                               const struct kp_fleet_summary *sum)
{
	double boardings = -1, alightings = -1;
	uint8_t *text;
	size_t len;
	int bad = kp_check_taps_stored_once(d, sum) != 0;

	if (kp_count_totals(d, &boardings, &alightings) != 0 || boardings != sum->boardings) {
		fprintf(stderr, "fleet: signed boardings %.0f stored, %.0f sent\n", boardings, sum->boardings);
		bad++;
	}
	if (kp_file_read(f->summary, &text, &len) != 0)
		return -1;
	cJSON *j = cJSON_Parse((const char *)text);
	free(text);
	if (!j)
		return -1;
	bad += kp_check_route_hours_exact(d, j) != 0;
	bad += kp_check_stop_hours_at_most(d, j) != 0;
	cJSON_Delete(j);
	return bad ? -1 : 0;
}
