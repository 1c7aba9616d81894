/*
 * cameras.h — the camera registry as JSON, for the HTTP API's /v1/cameras:
 * per mapped camera (storage/cameras.h) its name, place ("onboard" or
 * "street"), vehicle_id and door (onboard) or stop_id (street), the other
 * ids 0, boarding_zone and alighting_zone ("" when not counted),
 * created_at, and last_event: the latest-started object the NVR reported
 * for it (storage/nvr.h) as {id, label, start, received_at} (ms; start on
 * Frigate's clock, received_at on ours), null when it has none. Beside the
 * cameras, nvr: {online, since}: whether the NVR is available now (no open
 * outage) and since when (the open outage's start, or the last outage's
 * end; null when no outage was ever stored).
 *
 * Built inside the caller's read transaction (memory only, no I/O); the
 * document is the caller's to delete. Returns ST_OK with *out set,
 * ST_ESTOP when out of memory, or the storage error.
 */
#ifndef KP_REPORT_CAMERAS_H
#define KP_REPORT_CAMERAS_H

#include <cjson/cJSON.h>

#include "storage/db.h"

/* {"cameras": [camera, ...] in name order, "nvr": {...}}. */
int kp_cameras_json(struct st_read *r, cJSON **out);

#endif
