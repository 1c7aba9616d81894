/*
 * frigate_count.h — which Frigate events are passengers, and each one once.
 *
 * A camera is mapped to a boarding zone and an alighting zone (names of
 * zones in Frigate's config). One tracked object (one after.id on one camera)
 * counts one boarding when its label is "person", it is not a false positive,
 * and after.entered_zones holds the boarding zone; one alighting likewise. Each
 * direction counts at most once per object, whatever arrives: new, any number
 * of updates, a repeated message, a repeated end, or an update whose new never
 * reached us (Frigate ran before we did). Frigate's entered_zones only grows
 * over an object's life, so the first message that holds the zone counts and
 * every later one is "already_counted".
 *
 * The decision (kp_frigate_count_decide) is a pure function of the mapping,
 * the event and what was counted before for that object. Remembering what was
 * counted is the caller's: kp_frigate_counted is a small bounded set of fixed
 * records, one per object, that this module keeps in memory for tests and for
 * the fuzz target. The daemon will keep the same records in LMDB, written in
 * the same transaction as the counts they record, so a crash can neither count
 * an object twice nor lose its mark; bounded the same way (the oldest record
 * goes first once the set is full).
 */
#ifndef KP_FRIGATE_COUNT_H
#define KP_FRIGATE_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/frigate_event.h"

/* The label Frigate gives people (its COCO label map). */
#define KP_FRIGATE_PERSON "person"

/* What a mapped camera counts. Borrowed; NULL or "" for a direction the
 * camera does not count (a camera over an exit-only door). */
struct kp_frigate_camera_zones {
	const char *boarding_zone;
	const char *alighting_zone;
};

/* Flags of what was counted for one object. */
#define KP_FRIGATE_BOARDED 1u
#define KP_FRIGATE_ALIGHTED 2u

/* The outcome for one direction. Each name (kp_frigate_outcome_name) is a
 * Prometheus label value. */
enum kp_frigate_outcome {
	KP_FRIGATE_COUNTED = 0,         /* "counted": count one now */
	KP_FRIGATE_UNMAPPED_CAMERA,     /* "unmapped_camera": no mapping given for the camera */
	KP_FRIGATE_NOT_PERSON,          /* "not_person": label other than "person" */
	KP_FRIGATE_FALSE_POSITIVE,      /* "false_positive": after.false_positive is true */
	KP_FRIGATE_NO_ZONE_MAPPED,      /* "no_zone_mapped": the camera counts nothing in this direction */
	KP_FRIGATE_ZONE_NOT_ENTERED,    /* "zone_not_entered": not (yet) in after.entered_zones */
	KP_FRIGATE_ALREADY_COUNTED,     /* "already_counted": counted for this object before */
};
#define KP_FRIGATE_OUTCOME_COUNT (KP_FRIGATE_ALREADY_COUNTED + 1)

struct kp_frigate_decision {
	enum kp_frigate_outcome boarding;
	enum kp_frigate_outcome alighting;
	unsigned counted; /* flags before the event, with those counted now added: store this */
};

/* Decides for one parsed event. cam is NULL for a camera without a mapping.
 * counted_before holds the KP_FRIGATE_BOARDED / KP_FRIGATE_ALIGHTED flags
 * remembered for (ev->camera, ev->id), 0 for an object not seen before. */
struct kp_frigate_decision kp_frigate_count_decide(const struct kp_frigate_camera_zones *cam,
						   const struct kp_frigate_event *ev, unsigned counted_before);

/* "counted", "not_person", ...: static strings; "unknown" outside the enum. */
const char *kp_frigate_outcome_name(enum kp_frigate_outcome outcome);

/* One remembered object: its camera, its Frigate id, what was counted. */
struct kp_frigate_counted_record {
	uint64_t hash; /* of camera and id, to skip most comparisons */
	char camera[KP_FRIGATE_NAME_MAX + 1];
	char id[KP_FRIGATE_ID_MAX + 1];
	unsigned flags;
};

/* A bounded set of records in an array the caller owns (capacity records).
 * Once full, recording a new object drops the oldest recorded one: an object
 * is remembered for at least the next capacity - 1 objects, so choose a
 * capacity well above the objects alive at once on every camera together. */
struct kp_frigate_counted {
	struct kp_frigate_counted_record *records; /* borrowed */
	size_t capacity;
	size_t count;
	size_t next; /* where the next new record goes once count == capacity */
};

/* Starts an empty set over records[capacity]. Returns 0, or -1 when records
 * is NULL or capacity is 0. */
int kp_frigate_counted_init(struct kp_frigate_counted *set, struct kp_frigate_counted_record *records,
			    size_t capacity);
/* The flags recorded for (camera, id), 0 when none are. */
unsigned kp_frigate_counted_get(const struct kp_frigate_counted *set, const char *camera, const char *id);
/* Sets the flags of (camera, id), adding a record (and dropping the oldest
 * when full) for an object not yet recorded. Returns 0, or -1 when camera or
 * id is longer than a record holds (nothing changes). */
int kp_frigate_counted_put(struct kp_frigate_counted *set, const char *camera, const char *id, unsigned flags);

/* Decides for ev with what set remembers and records the flags when something
 * was counted: the in-memory form of what the daemon will do in one LMDB
 * transaction. Returns 0 with *out filled, or -1 when ev's camera or id does
 * not fit a record (never for an event kp_frigate_event_parse returned): then
 * nothing is recorded and *out is unspecified. */
int kp_frigate_count_apply(struct kp_frigate_counted *set, const struct kp_frigate_camera_zones *cam,
			   const struct kp_frigate_event *ev, struct kp_frigate_decision *out);

#endif
