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

/* With counters: what they saw beside what the validators took, per route
 * and hour, so a test can hold the daemon's validation rate against it. */
static int write_counters(FILE *f, const struct vd_sim_totals *t)
{
	if (fprintf(f,
	            ",\"apcs\":%" PRIu64 ",\"evasion_rate\":%.6f,\"counts\":%" PRIu64
	            ",\"boardings\":%" PRIu64 ",\"evaded\":%" PRIu64 ",\"route_hours\":[",
	            t->apcs, t->evasion_rate, t->counts, t->boardings, t->evaded) < 0)
		return -1;
	for (size_t i = 0; i < t->nroute_hours; i++) {
		const struct vd_sim_route_hour *r = &t->route_hours[i];
		char rate[32] = "null"; /* no counter on the route that hour: no rate */
		if (r->boardings)
			snprintf(rate, sizeof rate, "%.6f", (double)r->accepted / (double)r->boardings);
		if (fprintf(f,
		            "%s{\"route_id\":%" PRIu32 ",\"hour_s\":%" PRId64 ",\"boardings\":%" PRIu64
		            ",\"evaded\":%" PRIu64 ",\"taps\":%" PRIu64 ",\"accepted\":%" PRIu64
		            ",\"validation_rate\":%s}",
		            i ? "," : "", r->route_id, r->hour_s, r->boardings, r->evaded, r->taps,
		            r->accepted, rate) < 0)
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
	if (rc >= 0)
		rc = fputs("}\n", f);
	if (fclose(f) != 0 || rc < 0)
		return vd_sim_fail("--summary %s: write failed", path);
	return 0;
}
