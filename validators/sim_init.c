/*
 * sim_init.c — `validator-sim init`: makes a fleet's state directory.
 *
 * Design: each device gets DIR/<device_id>/ holding its key pair (made by
 * kp_keyfile_generate, so exactly what `komposter keygen` would write) and,
 * later, its outbox. Device ids are consecutive from --first-id; vehicle ids
 * are distinct fleet numbers drawn from --seed. --apcs N adds a passenger
 * counter to each of the first N vehicles, as devices of their own numbered
 * after the validators (kind apc in the fleet file). DIR/fleet.txt is written last,
 * in one rename, so its presence means the fleet is complete; init refuses a
 * directory that already has one rather than mint new keys for old devices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
#include "validators/fleet.h"
#include "validators/sim.h"
#include "validators/sim_rng.h"

#define SIM_PATH_MAX 4096
#define SIM_VEHICLE_BASE 100
#define SIM_VEHICLE_SPREAD 10

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return vd_sim_fail("mkdir %s: %s", path, strerror(errno));
	return 0;
}

static int make_device(const char *state, struct vd_fleet_entry *e)
{
	char dir[SIM_PATH_MAX], key[SIM_PATH_MAX], id[KP_DEVICE_ID_TEXT_SIZE], err[KP_KEYFILE_ERR_SIZE];

	kp_device_id_format(e->device_id, id);
	if (snprintf(dir, sizeof dir, "%s/%s", state, id) >= (int)sizeof dir ||
	    snprintf(key, sizeof key, "%s/%s", dir, VD_SIM_KEY_FILE) >= (int)sizeof key)
		return vd_sim_fail("%s: path too long", state);
	if (make_dir(dir) != 0)
		return 1;
	if (kp_keyfile_generate(key, 0, e->public_key, err) != 0)
		return vd_sim_fail("%s", err);
	e->key_id = VD_SIM_KEY_ID;
	return 0;
}

static int check_ids(const struct vd_sim_init_opts *o)
{
	if (o->devices == 0)
		return vd_sim_fail("--devices must be at least 1");
	if (o->apcs > o->devices)
		return vd_sim_fail("--apcs: at most one counter per vehicle (%llu)",
		                   (unsigned long long)o->devices);
	if (o->first_id == 0 || o->first_id - 1 > UINT64_MAX - o->devices - o->apcs)
		return vd_sim_fail("--first-id: device ids must be nonzero and fit 64 bits");
	if (o->devices > (UINT32_MAX - SIM_VEHICLE_BASE) / SIM_VEHICLE_SPREAD)
		return vd_sim_fail("--devices: too many");
	return 0;
}

static int make_fleet(const struct vd_sim_init_opts *o, struct vd_fleet_entry *fleet)
{
	struct vd_rng rng;

	vd_rng_seed(&rng, o->seed);
	for (uint64_t i = 0; i < o->devices; i++) {
		fleet[i].device_id = o->first_id + i;
		fleet[i].vehicle_id = (uint32_t)(SIM_VEHICLE_BASE + i * SIM_VEHICLE_SPREAD +
		                                 vd_rng_below(&rng, SIM_VEHICLE_SPREAD));
		if (make_device(o->state, &fleet[i]) != 0)
			return 1;
	}
	for (uint64_t j = 0; j < o->apcs; j++) {
		struct vd_fleet_entry *e = &fleet[o->devices + j];
		e->device_id = o->first_id + o->devices + j;
		e->vehicle_id = fleet[j].vehicle_id;
		e->kind = VD_KIND_APC;
		if (make_device(o->state, e) != 0)
			return 1;
	}
	return 0;
}

int vd_sim_init(const struct vd_sim_init_opts *o)
{
	char path[SIM_PATH_MAX], err[VD_FLEET_ERR_SIZE];
	struct vd_fleet_entry *fleet;
	int rc;

	if (check_ids(o) != 0 || make_dir(o->state) != 0)
		return 1;
	if (snprintf(path, sizeof path, "%s/%s", o->state, VD_FLEET_FILE) >= (int)sizeof path)
		return vd_sim_fail("%s: path too long", o->state);
	if (access(path, F_OK) == 0)
		return vd_sim_fail("%s exists: %s already holds a fleet", path, o->state);
	fleet = calloc(o->devices + o->apcs, sizeof *fleet);
	if (!fleet)
		return vd_sim_fail("out of memory");
	rc = make_fleet(o, fleet);
	if (rc == 0 && vd_fleet_write(path, fleet, o->devices + o->apcs, err) != 0)
		rc = vd_sim_fail("%s", err);
	free(fleet);
	if (rc == 0 && !o->quiet && o->apcs == 0)
		fprintf(stderr, "validator-sim: %llu devices in %s\n", (unsigned long long)o->devices,
		        o->state);
	else if (rc == 0 && !o->quiet)
		fprintf(stderr, "validator-sim: %llu devices and %llu passenger counters in %s\n",
		        (unsigned long long)o->devices, (unsigned long long)o->apcs, o->state);
	return rc;
}
