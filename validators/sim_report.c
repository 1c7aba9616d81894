/*
 * sim_report.c — what validator-sim tells: a progress line every second and
 * the --summary JSON object.
 *
 * Design: the JSON is output only, with fixed keys and numbers, so printf
 * writes it; nothing here parses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "validators/sim.h"

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
	             ",\"elapsed_s\":%.3f,\"taps_per_s\":%.1f}\n",
	             t->devices, t->frames, t->taps, t->accepted, t->denied, t->amount, t->acks,
	             t->nacks, t->resent, t->ignored, t->remaining, t->elapsed_s,
	             per_second(t->taps, t->elapsed_s));
	if (fclose(f) != 0 || rc < 0)
		return vd_sim_fail("--summary %s: write failed", path);
	return 0;
}
