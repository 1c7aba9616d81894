/*
 * devices.h — the device registry as JSON, for the HTTP API's /v1/devices:
 * per device its id (16 hex digits), kind, state, operator, vehicle_id,
 * created_at, revoked_at (null while active), keys (key_id, public_key,
 * state, added_at, revoked_at) and watermark (storage/once.h: the highest
 * batch sequence below which every frame of the device is stored), and its
 * traffic (storage/device_stats.h): last_seen (ms, null while no frame is
 * stored), last_sent_at and clock_skew_ms (null likewise), frames, gaps,
 * and rejects, an object of one count per NACK reason (bad_signature,
 * unknown_device, revoked, malformed, topic_mismatch, time_window,
 * storage_full). The field names are `komposter device show --json`'s.
 *
 * Built inside the caller's read transaction (memory only, no I/O); the
 * document is the caller's to delete. Returns ST_OK with *out set,
 * ST_ENOTFOUND (one device that is not enrolled), ST_ESTOP when out of
 * memory, or the storage error.
 */
#ifndef KP_REPORT_DEVICES_H
#define KP_REPORT_DEVICES_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "storage/db.h"

/* {"devices": [device, ...]} in id order. */
int kp_devices_json(struct st_read *r, cJSON **out);
/* One device's object. */
int kp_device_json(struct st_read *r, uint64_t device_id, cJSON **out);

#endif
