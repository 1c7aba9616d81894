/*
 * cameras.h — the camera registry: which Frigate (NVR) cameras komposter
 * counts, where each one stands, and which of its zones mean boarding and
 * alighting.
 *
 * A camera is named as in Frigate's config (the `camera` of its events).
 * It is either onboard (in vehicle V at door D: its counts go to the route
 * and stop V was last seen at, vehicle_pos.h) or a street camera at stop S
 * (its counts go to stop S, route 0). Each zone name is a zone of that
 * camera in Frigate's config; "" means the camera does not count that
 * direction (a camera over an exit-only door).
 *
 * Promises: a change is visible to every read transaction begun after the
 * call returns, so the daemon picks up `komposter camera add` without a
 * restart. Names and zones are checked (st_camera_valid) before anything is
 * written. Write calls open and commit their own write transaction.
 */
#ifndef ST_CAMERAS_H
#define ST_CAMERAS_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/db.h"

/* Lengths in bytes without the NUL; the same bounds as Frigate's parser
 * (ingest/frigate_event.h), so every event it accepts can be looked up. */
#define ST_CAMERA_NAME_MAX 63
#define ST_CAMERA_ZONE_MAX 63

enum st_camera_place {
	ST_CAMERA_ONBOARD = 1, /* in a vehicle, at a door */
	ST_CAMERA_STREET = 2,  /* at a stop */
};

struct st_camera {
	char name[ST_CAMERA_NAME_MAX + 1];
	uint8_t place;        /* enum st_camera_place */
	uint32_t vehicle_id;  /* onboard: != 0; street: 0 */
	uint8_t door;         /* onboard: 1-based door, 0 the whole vehicle; street: 0 */
	uint32_t stop_id;     /* street: != 0; onboard: 0 */
	char boarding_zone[ST_CAMERA_ZONE_MAX + 1];  /* "" when not counted */
	char alighting_zone[ST_CAMERA_ZONE_MAX + 1]; /* "" when not counted */
	int64_t created_at;   /* ms */
};

/* Whether c may be stored: a non-empty name of printable ASCII without '/',
 * '+', '#' or spaces; place known with the ids it needs and zero for the
 * others; at least one zone; zones printable without ','. NUL-terminated
 * strings within their arrays. */
bool st_camera_valid(const struct st_camera *c);

/* Adds c. ST_EINVAL when !st_camera_valid, ST_EEXIST when the name is taken
 * (nothing changes; remove it first). */
int st_camera_add(struct st_db *db, const struct st_camera *c);
/* Removes a camera; ST_ENOTFOUND when there is none. Counts already stored
 * for it stay. */
int st_camera_remove(struct st_db *db, const char *name);

/* ST_OK with *out filled, ST_ENOTFOUND, ST_EINVAL for a name over the bound. */
int st_camera_get(struct st_read *r, const char *name, struct st_camera *out);
/* Every camera in name order (bytewise). fn returns 0 to go on, nonzero to
 * stop (then ST_ESTOP). */
int st_camera_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_camera *c), void *ctx);

const char *st_camera_place_name(uint8_t place); /* "onboard", "street"; "unknown" otherwise */
int st_camera_place_parse(const char *name);      /* enum value, or -1 */

#endif
