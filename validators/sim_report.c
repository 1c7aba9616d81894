/*
 * sim_report.c — what validator-sim tells: a progress line every second, the
 * --summary JSON object, and the one line of an error (vd_sim_fail).
 *
 * Design: the JSON is output only, with fixed keys and numbers, so printf
 * writes it; nothing here parses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validators/sim.h"

int vd_sim_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("validator-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void vd_sim_progress(const struct vd_sim_totals *t)
{
	fprintf(stderr,
	        "validator-sim: %.0fs taps %" PRIu64 "/%" PRIu64 " frames %" PRIu64 " acks %" PRIu64
	        " nacks %" PRIu64 " resent %" PRIu64 " pending %" PRIu64 " online %" PRIu64
	        "/%" PRIu64 "\n",
	        t->elapsed_s, t->taps, t->taps_target, t->frames, t->acks, t->nacks, t->resent,
	        t->remaining, t->online, t->devices);
}

static double per_second(uint64_t n, double seconds)
{
	return seconds > 0 ? (double)n / seconds : 0.0;
}

/* accepted / boardings with 6 decimals, or null where nobody was seen boarding. */
static void format_rate(char *buf, size_t size, uint64_t accepted, uint64_t boardings)
{
	if (boardings)
		snprintf(buf, size, "%.6f", (double)accepted / (double)boardings);
	else
		snprintf(buf, size, "null");
}

static int write_cell(FILE *f, const char *sep, const struct vd_sim_route_hour *r, int with_hour)
{
	char rate[32], hour[40] = "";

	format_rate(rate, sizeof rate, r->accepted, r->boardings);
	if (with_hour)
		snprintf(hour, sizeof hour, ",\"hour_s\":%" PRId64, r->hour_s);
	return fprintf(f,
	               "%s{\"route_id\":%" PRIu32 "%s,\"boardings\":%" PRIu64 ",\"evaded\":%" PRIu64
	               ",\"taps\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"validation_rate\":%s}",
	               sep, r->route_id, hour, r->boardings, r->evaded, r->taps, r->accepted, rate) < 0
	               ? -1 : 0;
}

/* The route_hours summed per route: they are sorted by route first. */
static int write_routes(FILE *f, const struct vd_sim_totals *t)
{
	struct vd_sim_route_hour sum;
	const char *sep = "";

	for (size_t i = 0; i < t->nroute_hours; i++) {
		const struct vd_sim_route_hour *r = &t->route_hours[i];
		if (i == 0 || r->route_id != sum.route_id)
			sum = (struct vd_sim_route_hour){.route_id = r->route_id};
		sum.boardings += r->boardings;
		sum.evaded += r->evaded;
		sum.taps += r->taps;
		sum.accepted += r->accepted;
		if (i + 1 < t->nroute_hours && t->route_hours[i + 1].route_id == r->route_id)
			continue;
		if (write_cell(f, sep, &sum, 0) != 0)
			return -1;
		sep = ",";
	}
	return 0;
}

/* With counters: what they saw beside what the validators took, per route
 * and per (route, hour), so a test can hold the daemon's validation rate
 * against it. */
static int write_counters(FILE *f, const struct vd_sim_totals *t)
{
	if (fprintf(f,
	            ",\"apcs\":%" PRIu64 ",\"evasion_rate\":%.6f,\"counts\":%" PRIu64
	            ",\"boardings\":%" PRIu64 ",\"evaded\":%" PRIu64 ",\"routes\":[",
	            t->apcs, t->evasion_rate, t->counts, t->boardings, t->evaded) < 0 ||
	    write_routes(f, t) != 0 || fputs("],\"route_hours\":[", f) == EOF)
		return -1;
	for (size_t i = 0; i < t->nroute_hours; i++) {
		if (write_cell(f, i ? "," : "", &t->route_hours[i], 1) != 0)
			return -1;
	}
	return fputc(']', f) == EOF ? -1 : 0;
}

/* With street cameras: which stops have one, and per (stop, hour) what the
 * camera saw beside the taps made there. */
static int write_cameras(FILE *f, const struct vd_sim_totals *t)
{
	if (fputs(",\"street_cameras\":[", f) == EOF)
		return -1;
	for (size_t i = 0; i < t->ncameras; i++) {
		if (fprintf(f,
		            "%s{\"camera\":\"%s\",\"stop_id\":%" PRIu32 ",\"boarding_zone\":\"%s\""
		            ",\"alighting_zone\":\"%s\"}",
		            i ? "," : "", t->cameras[i].name, t->cameras[i].stop_id,
		            VD_FRIGATE_BOARDING_ZONE, VD_FRIGATE_ALIGHTING_ZONE) < 0)
			return -1;
	}
	if (fprintf(f, "],\"frigate_prefix\":\"%s\",\"frigate_events\":%" PRIu64 ",\"stop_hours\":[",
	            t->frigate_prefix, t->frigate_events) < 0)
		return -1;
	for (size_t i = 0; i < t->nstop_hours; i++) {
		const struct vd_frigate_stop_hour *h = &t->stop_hours[i];
		char rate[32];
		format_rate(rate, sizeof rate, h->accepted, h->boardings);
		if (fprintf(f,
		            "%s{\"stop_id\":%" PRIu32 ",\"hour_s\":%" PRId64 ",\"boardings\":%" PRIu64
		            ",\"alightings\":%" PRIu64 ",\"taps\":%" PRIu64 ",\"accepted\":%" PRIu64
		            ",\"validation_rate\":%s}",
		            i ? "," : "", h->stop_id, h->hour_s, h->boardings, h->alightings, h->taps,
		            h->accepted, rate) < 0)
			return -1;
	}
	return fputc(']', f) == EOF ? -1 : 0;
}

int vd_sim_write_summary(const char *path, const struct vd_sim_totals *t)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return vd_sim_fail("--summary %s: %s", path, strerror(errno));
	rc = fprintf(f,
	             "{\"devices\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"taps\":%" PRIu64
	             ",\"accepted\":%" PRIu64 ",\"denied\":%" PRIu64 ",\"amount\":%" PRIu64
	             ",\"acks\":%" PRIu64 ",\"nacks\":%" PRIu64 ",\"resent\":%" PRIu64
	             ",\"ignored\":%" PRIu64 ",\"remaining\":%" PRIu64
	             ",\"elapsed_s\":%.3f,\"taps_per_s\":%.1f",
	             t->devices, t->frames, t->taps, t->accepted, t->denied, t->amount, t->acks,
	             t->nacks, t->resent, t->ignored, t->remaining, t->elapsed_s,
	             per_second(t->taps, t->elapsed_s));
	if (rc >= 0 && t->apcs > 0)
		rc = write_counters(f, t);
	if (rc >= 0 && t->ncameras > 0)
		rc = write_cameras(f, t);
	if (rc >= 0)
		rc = fputs("}\n", f);
	if (fclose(f) != 0 || rc < 0)
		return vd_sim_fail("--summary %s: write failed", path);
	return 0;
}
