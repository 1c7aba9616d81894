/*
 * fleet.c — reading and writing DIR/fleet.txt.
 *
 * Design: a plain text file so shell scripts can loop over it; written
 * whole into a temporary file and renamed, so a crash never leaves half a
 * fleet; read strictly (every field checked, nothing extra on a line) since
 * a typo here would enrol or drive the wrong device.
 */
#include "validators/fleet.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware-proto/hex.h"

#define FLEET_LINE_MAX 256
#define FLEET_KIND_APC "apc"

static int fleet_fail(char *err, const char *what, const char *path)
{
	snprintf(err, VD_FLEET_ERR_SIZE, "%s %.160s: %s", what, path, strerror(errno));
	return -1;
}

static int write_lines(FILE *f, const struct vd_fleet_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char id[KP_DEVICE_ID_TEXT_SIZE], pk[2 * KP_PUBLIC_KEY_SIZE + 1];
		kp_device_id_format(e[i].device_id, id);
		kp_hex_encode(e[i].public_key, sizeof e[i].public_key, pk);
		if (fprintf(f, "%s %u %s %" PRIu32 "%s\n", id, e[i].key_id, pk, e[i].vehicle_id,
		            e[i].kind == VD_KIND_APC ? " " FLEET_KIND_APC : "") < 0)
			return -1;
	}
	return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

int vd_fleet_write(const char *path, const struct vd_fleet_entry *e, size_t n, char *err)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return fleet_fail(err, "write", path);
	}
	f = fopen(tmp, "w");
	if (!f)
		return fleet_fail(err, "create", tmp);
	if (write_lines(f, e, n) != 0) {
		fleet_fail(err, "write", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0) {
		fleet_fail(err, "close", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0)
		return fleet_fail(err, "rename to", path);
	return 0;
}

static int parse_line(char *line, struct vd_fleet_entry *e)
{
	char id[32], pk[80], kind[8];
	unsigned key_id;
	uint32_t vehicle;
	int used = 0, kind_used = 0;

	if (sscanf(line, "%31s %u %79s %" SCNu32 " %n", id, &key_id, pk, &vehicle, &used) != 4)
		return -1;
	e->kind = VD_KIND_VALIDATOR;
	if (line[used] != '\0') {
		if (sscanf(line + used, "%7s %n", kind, &kind_used) != 1 ||
		    strcmp(kind, FLEET_KIND_APC) != 0 || line[used + kind_used] != '\0')
			return -1;
		e->kind = VD_KIND_APC;
	}
	if (key_id > 255)
		return -1;
	if (kp_device_id_parse(id, &e->device_id) != 0)
		return -1;
	if (kp_hex_decode(pk, e->public_key, sizeof e->public_key) != 0)
		return -1;
	e->key_id = (uint8_t)key_id;
	e->vehicle_id = vehicle;
	return 0;
}

static int append_entry(struct vd_fleet_entry **v, size_t *n, size_t *cap,
                        const struct vd_fleet_entry *e)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct vd_fleet_entry *nv = realloc(*v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *e;
	return 0;
}

static int read_lines(FILE *f, const char *path, struct vd_fleet_entry **v, size_t *n,
                      char *err)
{
	char line[FLEET_LINE_MAX];
	size_t cap = 0, lineno = 0;

	while (fgets(line, sizeof line, f)) {
		struct vd_fleet_entry e;
		lineno++;
		if (parse_line(line, &e) != 0) {
			snprintf(err, VD_FLEET_ERR_SIZE, "%s:%zu: not <device_id> <key_id> <public key> <vehicle_id>[ apc]",
			         path, lineno);
			return -1;
		}
		if (append_entry(v, n, &cap, &e) != 0) {
			snprintf(err, VD_FLEET_ERR_SIZE, "%s: out of memory", path);
			return -1;
		}
	}
	if (ferror(f))
		return fleet_fail(err, "read", path);
	if (*n == 0) {
		snprintf(err, VD_FLEET_ERR_SIZE, "%s: no devices", path);
		return -1;
	}
	return 0;
}

int vd_fleet_read(const char *path, struct vd_fleet_entry **out, size_t *n, char *err)
{
	struct vd_fleet_entry *v = NULL;
	size_t count = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return fleet_fail(err, "open", path);
	if (read_lines(f, path, &v, &count, err) != 0) {
		fclose(f);
		free(v);
		return -1;
	}
	fclose(f);
	*out = v;
	*n = count;
	return 0;
}
