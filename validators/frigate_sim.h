/*
 * frigate_sim.h — street cameras for validator-sim: what a Frigate NVR
 * watching a stop would publish on `{prefix}/events` for the riders the
 * simulator boards and alights there, and the per (stop, hour) tally a
 * daemon counting those events should find.
 *
 * A camera is named "stop<stop id>" and has two zones, "boarding" and
 * "alighting". Each rider who boards at a camera's stop (taps or not) is one
 * tracked `person` object: `new` (no zone yet), one or two `update`s (the
 * first enters the boarding zone), `end` (end_time set, has_clip true); each
 * rider who alights is the same with the alighting zone. The payloads have
 * the shape of Frigate 0.14's TrackedObject.to_dict() (type, before, after;
 * json.dumps spacing). after.start_time is the time of the boarding, so a
 * consumer that dates a count by start_time puts it in the hour of the taps.
 * Now and then (from the seed) a distraction follows that a correct consumer
 * counts nothing for: a `car` through the boarding zone, a person that stays
 * a false positive, a person that never enters a zone, or the previous
 * object's `end` once more, byte for byte.
 *
 * Deterministic: the same seed and the same calls give the same payloads
 * byte for byte. Object ids are "<start_time>-<6 lowercase alnum>"; the six
 * characters come from a bijection of the object's serial number, so no two
 * objects of one simulator share an id (up to 36^6 objects).
 *
 * No I/O: messages go to the caller's emit function (the simulator publishes
 * them; a test parses them). One simulator, used by one thread. Functions
 * returning int give 0, or -1: out of memory, a payload over
 * VD_FRIGATE_PAYLOAD_MAX (not with the names made here), or the emit
 * function's own nonzero return, which stops the call at once.
 */
#ifndef VD_FRIGATE_SIM_H
#define VD_FRIGATE_SIM_H

#include <stddef.h>
#include <stdint.h>

#define VD_FRIGATE_PREFIX_DEFAULT "frigate"
#define VD_FRIGATE_PREFIX_MAX 64 /* bytes, without the NUL */
#define VD_FRIGATE_BOARDING_ZONE "boarding"
#define VD_FRIGATE_ALIGHTING_ZONE "alighting"
#define VD_FRIGATE_CAMERA_NAME_SIZE 24 /* "stop" and a uint32 fit */
#define VD_FRIGATE_TOPIC_SIZE (VD_FRIGATE_PREFIX_MAX + 16)
/* A before/after pair of 0.14 objects is about 1.6 KB. */
#define VD_FRIGATE_PAYLOAD_MAX 4096
#define VD_FRIGATE_AVAILABLE_ONLINE "online"
#define VD_FRIGATE_AVAILABLE_OFFLINE "offline"

/* What a message belongs to: the object it is about, for tests. */
enum vd_frigate_object {
	VD_FRIGATE_OBJ_BOARDING = 0, /* a rider boarding: counts one boarding */
	VD_FRIGATE_OBJ_ALIGHTING,    /* a rider alighting: counts one alighting */
	VD_FRIGATE_OBJ_CAR,          /* distraction: label "car" through the boarding zone */
	VD_FRIGATE_OBJ_FALSE_POSITIVE, /* distraction: a person with false_positive true in the zone */
	VD_FRIGATE_OBJ_NO_ZONE,      /* distraction: a person who never enters a zone */
	VD_FRIGATE_OBJ_REPEATED_END, /* distraction: the previous object's end, again */
};
#define VD_FRIGATE_OBJ_COUNT (VD_FRIGATE_OBJ_REPEATED_END + 1)

struct vd_frigate_message {
	const char *topic;   /* "{prefix}/events" */
	const char *payload; /* JSON, NUL-terminated; valid until emit returns */
	size_t len;          /* without the NUL */
	enum vd_frigate_object object;
	uint32_t stop_id;
};

/* Called for each message in publishing order; nonzero stops the call. */
typedef int (*vd_frigate_emit_fn)(void *arg, const struct vd_frigate_message *m);

/* One (stop, hour) of a camera stop: what its camera saw, what its
 * validators took. accepted / boardings is the validation rate the daemon
 * should find there. */
struct vd_frigate_stop_hour {
	uint32_t stop_id;
	int64_t hour_s;      /* Unix seconds at the start of the UTC hour */
	uint64_t boardings;  /* persons through the boarding zone */
	uint64_t alightings; /* persons through the alighting zone */
	uint64_t taps;       /* taps made at the stop (any route, any vehicle) */
	uint64_t accepted;   /* of them, accepted */
};

struct vd_frigate_camera {
	char name[VD_FRIGATE_CAMERA_NAME_SIZE]; /* "stop<stop id>" */
	uint32_t stop_id;
};

struct vd_frigate_sim; /* opaque */

/* Picks ncameras distinct stops out of stops[nstops] (the stops riders use),
 * from the seed alone, and starts the simulator. prefix: the topic prefix
 * (1..VD_FRIGATE_PREFIX_MAX bytes, no '+' or '#'). Returns 0, or -1 with
 * errno EINVAL (ncameras > nstops, a bad prefix) or ENOMEM. */
int vd_frigate_sim_create(uint64_t seed, const char *prefix, const uint32_t *stops, size_t nstops,
                          size_t ncameras, struct vd_frigate_sim **out);
void vd_frigate_sim_destroy(struct vd_frigate_sim *fs);

/* The cameras, ascending stop id; borrowed, as long as fs lives. */
const struct vd_frigate_camera *vd_frigate_sim_cameras(const struct vd_frigate_sim *fs, size_t *n);
/* "{prefix}/events" and "{prefix}/available". */
const char *vd_frigate_sim_events_topic(const struct vd_frigate_sim *fs);
const char *vd_frigate_sim_available_topic(const struct vd_frigate_sim *fs);

/* One rider boards at stop_id at at_ms (Unix ms): at a camera stop, the
 * person's messages and perhaps a distraction's; elsewhere nothing. */
int vd_frigate_sim_board(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms,
                         vd_frigate_emit_fn emit, void *arg);
/* One rider alights at stop_id at at_ms: likewise, with the alighting zone. */
int vd_frigate_sim_alight(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms,
                          vd_frigate_emit_fn emit, void *arg);
/* A validator took a tap at stop_id at at_ms: tallied at a camera stop. */
int vd_frigate_sim_tap(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms, int accepted);

/* The tally, ascending (stop, hour); borrowed until the next call. */
const struct vd_frigate_stop_hour *vd_frigate_sim_stop_hours(const struct vd_frigate_sim *fs,
                                                             size_t *n);

#endif
