/*
 * sim_cameras.c — `validator-sim cameras`: the street cameras a run with
 * the same fleet, --street-cameras and --seed will have, one line each, so
 * an operator (or the demo) can map them in komposter before the run
 * publishes anything; and the stops they are picked from, which `run`
 * uses too.
 *
 * Design: the pick is frigate_sim's, from the seed and the stops the
 * fleet's validators ride, so listing and running can never disagree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validators/fleet.h"
#include "validators/frigate_sim.h"
#include "validators/sim.h"
#include "validators/tapgen.h"

#define SIM_PATH_MAX 4096

_Static_assert(VD_SIM_STOPS_MAX == VD_TAPGEN_ROUTES * VD_TAPGEN_STOPS, "every stop fits");

size_t vd_sim_camera_stops(const struct vd_fleet_entry *fleet, size_t n,
                           uint32_t stops[VD_SIM_STOPS_MAX])
{
	int rides[VD_TAPGEN_ROUTES] = {0};
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (fleet[i].kind == VD_KIND_VALIDATOR)
			rides[i % VD_TAPGEN_ROUTES] = 1; /* vd_tapgen_vehicle's route of vehicle i */
	}
	for (unsigned r = 0; r < VD_TAPGEN_ROUTES; r++) {
		for (unsigned k = 0; rides[r] && k < VD_TAPGEN_STOPS; k++)
			stops[m++] = vd_tapgen_stop_at(r, k);
	}
	return m;
}

int vd_sim_cameras_pick(const struct vd_fleet_entry *fleet, size_t n, uint64_t street_cameras,
                        uint64_t seed, const char *prefix, struct vd_frigate_sim **out)
{
	uint32_t stops[VD_SIM_STOPS_MAX];
	size_t m = vd_sim_camera_stops(fleet, n, stops);

	if (street_cameras > m)
		return vd_sim_fail("--street-cameras %" PRIu64 ": the fleet's vehicles stop at %zu stops only",
		                   street_cameras, m);
	if (vd_frigate_sim_create(seed, prefix ? prefix : VD_FRIGATE_PREFIX_DEFAULT, stops, m,
	                          (size_t)street_cameras, out) != 0)
		return vd_sim_fail("street cameras: %s", strerror(errno));
	return 0;
}

int vd_sim_cameras(const struct vd_sim_cameras_opts *o)
{
	char path[SIM_PATH_MAX], err[VD_FLEET_ERR_SIZE];
	struct vd_fleet_entry *fleet = NULL;
	struct vd_frigate_sim *fs = NULL;
	const struct vd_frigate_camera *cams;
	size_t n, ncams;
	int rc = 1;

	if (snprintf(path, sizeof path, "%s/%s", o->state, VD_FLEET_FILE) >= (int)sizeof path)
		return vd_sim_fail("%s: path too long", o->state);
	if (vd_fleet_read(path, &fleet, &n, err) != 0)
		return vd_sim_fail("%s", err);
	if (vd_sim_cameras_pick(fleet, n, o->street_cameras, o->seed, o->frigate_prefix, &fs) != 0)
		goto out;
	cams = vd_frigate_sim_cameras(fs, &ncams);
	for (size_t i = 0; i < ncams; i++) {
		if (printf("%s %" PRIu32 " %s %s\n", cams[i].name, cams[i].stop_id,
		           VD_FRIGATE_BOARDING_ZONE, VD_FRIGATE_ALIGHTING_ZONE) < 0)
			goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : vd_sim_fail("stdout: %s", strerror(errno));
out:
	vd_frigate_sim_destroy(fs);
	free(fleet);
	return rc;
}
