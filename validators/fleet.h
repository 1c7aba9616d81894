/*
 * fleet.h — the simulator's fleet file, DIR/fleet.txt: one line per device,
 *   <device_id 16 hex> <key_id> <public key 64 hex> <vehicle_id>[ apc]
 * separated by single spaces, in the order the devices were made: the
 * validators, then the passenger counters, whose lines end in " apc" (a
 * validator's line has no fifth field, as before counters existed). The
 * lead's scripts enrol each line with `komposter` (`--kind apc` for an apc
 * line); `validator-sim run` reads it back
 * to know the devices, and their keys sit in DIR/<device_id>/device.key.
 * Functions return 0 or -1 with one line in err (VD_FLEET_ERR_SIZE bytes).
 */
#ifndef VD_FLEET_H
#define VD_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "validators/device.h"

#define VD_FLEET_ERR_SIZE 256
#define VD_FLEET_FILE "fleet.txt"

struct vd_fleet_entry {
	uint64_t device_id;
	uint8_t key_id;
	uint8_t public_key[KP_PUBLIC_KEY_SIZE];
	uint32_t vehicle_id;
	enum vd_device_kind kind;
};

/* Writes all entries to path (through path.tmp, fsync, rename). */
int vd_fleet_write(const char *path, const struct vd_fleet_entry *e, size_t n, char *err);
/* Reads the file; *out is malloc'd (caller frees), *n its length (>= 1). */
int vd_fleet_read(const char *path, struct vd_fleet_entry **out, size_t *n, char *err);

#endif
