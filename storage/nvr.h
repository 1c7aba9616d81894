/*
 * nvr.h — what komposter keeps of an NVR's (Frigate's) camera events:
 * passenger counts, each tracked object counted at most once per direction;
 * the events themselves, for an operator looking up a disputed count; and
 * when the NVR was offline, so its missing hours read as missing, not as
 * zero riders.
 *
 * Counts: each st_nvr_event names a cell (count_agg.h) and the directions
 * the message qualifies for (the ingest side decides that from Frigate's
 * semantics, ingest/frigate_count.h). st_nvr_commit adds one boarding or
 * alighting for a direction not yet counted for (camera, object id), under
 * ST_COUNT_SOURCE_NVR, and records it counted in the same transaction: a
 * crash can neither count an object twice nor lose its mark. The set of
 * counted objects is bounded (st_nvr_limits.counted_max): when it is full
 * the oldest-recorded object is forgotten first (Frigate sends nothing more
 * for an object once it has ended, so a bound far above the objects alive
 * at once loses nothing).
 *
 * Events: one row per (camera, object id), keyed by (camera, start, id),
 * holding the latest message's state (label, entered zones, start, end,
 * has_clip). Rows of false positives are kept too (the operator sees what
 * the NVR saw); rows are never pruned yet (retention is planned). An
 * object keeps one row because Frigate sends the same start_time in every
 * message of an object; a message with another start would make a second
 * row for the same id (counting is unaffected: it is keyed by camera and id).
 *
 * Outages: intervals [start, end) during which the NVR said it was offline
 * (Frigate's retained `available` topic), end 0 while it lasts. They never
 * overlap: an outage opened before the last one's end (the clock stepped
 * back) starts at that end.
 *
 * Only the daemon's Frigate stage writes here (one thread); its
 * transactions grow the map on MDB_MAP_FULL like st_commit_group, and a
 * full map or disk is ST_EFULL with nothing of the group stored.
 */
#ifndef ST_NVR_H
#define ST_NVR_H

#include <stddef.h>
#include <stdint.h>

#include "storage/cameras.h"
#include "storage/count_agg.h"
#include "storage/db.h"

#define ST_NVR_ID_MAX 63
#define ST_NVR_LABEL_MAX 63
#define ST_NVR_ZONES_MAX 255 /* entered zones joined with ',' (bytes, without the NUL) */

/* Directions, as flags. */
#define ST_NVR_BOARDED 1u
#define ST_NVR_ALIGHTED 2u

enum st_nvr_type {
	ST_NVR_NEW = 0,
	ST_NVR_UPDATE = 1,
	ST_NVR_END = 2,
};

/* One message of one object. */
struct st_nvr_event {
	char camera[ST_CAMERA_NAME_MAX + 1];
	char id[ST_NVR_ID_MAX + 1];
	char label[ST_NVR_LABEL_MAX + 1];
	uint8_t type;           /* enum st_nvr_type: the latest message's */
	uint8_t false_positive; /* 0 or 1 */
	uint8_t has_clip;       /* 0 or 1 */
	int64_t start;          /* ms */
	int64_t end;            /* ms; 0 until the object ended */
	char zones[ST_NVR_ZONES_MAX + 1]; /* entered zones, ','-joined, in order */
	int64_t received_at;    /* ms, server clock */
	/* What to count (ignored when want is 0): */
	unsigned want;                /* ST_NVR_BOARDED | ST_NVR_ALIGHTED this message qualifies for */
	struct st_door_agg_key cell;  /* where; its source is set to ST_COUNT_SOURCE_NVR */
	uint32_t vehicle_id;          /* an onboard camera's vehicle, 0 for a street camera: the
	                               * counts go to that vehicle's hour too (vehicle_hours.h) */
	/* Filled by st_nvr_commit: */
	unsigned counted;             /* directions counted now (want minus those counted before) */
};

struct st_nvr_limits {
	size_t counted_max; /* objects remembered as counted, >= 1 */
};

struct st_nvr_stats {
	uint64_t boardings;  /* added by this call */
	uint64_t alightings;
	uint64_t forgotten;  /* counted objects dropped to stay within counted_max */
};

/* Stores a group of events in one synced write transaction, in order (two
 * messages of one object in one group behave as in two groups, the bound
 * included). ST_OK: every event's row upserted, counts added, ->counted
 * filled, *stats (may be NULL) set. Each message that counts adds its new
 * directions to boardings and alightings and 1 to cycles of its cell.
 * ST_EINVAL for limits NULL or counted_max 0, or an event with an empty
 * camera or id, a string without its NUL, a type, false_positive or
 * has_clip out of range, want with other bits than the two directions, or
 * want with a cell of service_date 0 or hour over 23: nothing stored.
 * ST_EFULL: nothing stored. On any error ->counted and *stats are 0. */
int st_nvr_commit(struct st_db *db, struct st_nvr_event *events, size_t n,
                  const struct st_nvr_limits *limits, struct st_nvr_stats *stats);

/* The directions recorded counted for (camera, id), 0 when none (or
 * forgotten). A name over its bound, or a record that cannot be read, also
 * reads as 0: this is for display and tests; st_nvr_commit does its own
 * lookup and fails on such errors. */
unsigned st_nvr_counted_get(struct st_read *r, const char *camera, const char *id);
/* How many objects are remembered as counted. */
int st_nvr_counted_size(struct st_read *r, uint64_t *n);

/* Rows of one camera whose start is in [from, to) (ms), in start order;
 * nothing when from >= to. The row's want, cell and counted are 0. fn
 * returns 0 to go on, nonzero to stop (then ST_ESTOP). ST_EINVAL for an
 * empty camera or one over ST_CAMERA_NAME_MAX. */
int st_nvr_event_foreach(struct st_read *r, const char *camera, int64_t from, int64_t to,
                         int (*fn)(void *ctx, const struct st_nvr_event *ev), void *ctx);

/* The row of camera's latest-started object (greatest start): ST_OK with
 * *out filled, ST_ENOTFOUND when the camera has no row, ST_EINVAL as
 * st_nvr_event_foreach. One seek: cheap for a dashboard polling it. */
int st_nvr_event_last(struct st_read *r, const char *camera, struct st_nvr_event *out);

/* Records the NVR's availability at `at` (ms): offline opens an outage
 * unless one is open; online closes the open one (end = at, or its start
 * if at is before it). Repeats of the same state change nothing. One
 * synced transaction. ST_EINVAL for at <= 0 (end 0 means open). */
int st_nvr_set_available(struct st_db *db, int online, int64_t at);

struct st_nvr_outage {
	int64_t start; /* ms */
	int64_t end;   /* ms; 0 while it lasts */
};
/* Outages overlapping [from, to) (ms), in start order; an open one
 * overlaps everything after its start. */
int st_nvr_outage_foreach(struct st_read *r, int64_t from, int64_t to,
                          int (*fn)(void *ctx, const struct st_nvr_outage *o), void *ctx);

#endif
