/*
 * frigate_count.c — the counting rule, and the bounded set of counted
 * objects.
 *
 * The set is an array scanned in full: the daemon sees a few Frigate events
 * a second per camera, a scan of a few thousand 64-bit hashes is far below
 * that, and it keeps eviction (overwrite the oldest slot) trivially right.
 * The hash is FNV-1a over camera, a NUL, and id; it only speeds the scan,
 * equality is always decided on the strings.
 */
#include "ingest/frigate_count.h"

#include <string.h>

static const char *const outcome_names[KP_FRIGATE_OUTCOME_COUNT] = {
	[KP_FRIGATE_COUNTED] = "counted",
	[KP_FRIGATE_UNMAPPED_CAMERA] = "unmapped_camera",
	[KP_FRIGATE_NOT_PERSON] = "not_person",
	[KP_FRIGATE_FALSE_POSITIVE] = "false_positive",
	[KP_FRIGATE_NO_ZONE_MAPPED] = "no_zone_mapped",
	[KP_FRIGATE_ZONE_NOT_ENTERED] = "zone_not_entered",
	[KP_FRIGATE_ALREADY_COUNTED] = "already_counted",
};

const char *kp_frigate_outcome_name(enum kp_frigate_outcome outcome)
{
	if ((unsigned)outcome >= KP_FRIGATE_OUTCOME_COUNT)
		return "unknown";
	return outcome_names[outcome];
}

/* One direction: zone is the mapped zone (NULL or "" for none), flag its bit. */
static enum kp_frigate_outcome decide_one(const struct kp_frigate_event *ev, const char *zone,
					  unsigned flag, unsigned counted_before)
{
	if (zone == NULL || zone[0] == '\0')
		return KP_FRIGATE_NO_ZONE_MAPPED;
	if (!kp_frigate_zones_contain(&ev->entered_zones, zone))
		return KP_FRIGATE_ZONE_NOT_ENTERED;
	if (counted_before & flag)
		return KP_FRIGATE_ALREADY_COUNTED;
	return KP_FRIGATE_COUNTED;
}

struct kp_frigate_decision kp_frigate_count_decide(const struct kp_frigate_camera_zones *cam,
						   const struct kp_frigate_event *ev, unsigned counted_before)
{
	struct kp_frigate_decision d = { .counted = counted_before };
	enum kp_frigate_outcome both = KP_FRIGATE_COUNTED;

	/* Reasons that hold for the object as a whole come first, so the
	 * metrics say why an object never counts, not which zone it missed. */
	if (cam == NULL)
		both = KP_FRIGATE_UNMAPPED_CAMERA;
	else if (strcmp(ev->label, KP_FRIGATE_PERSON) != 0)
		both = KP_FRIGATE_NOT_PERSON;
	else if (ev->false_positive)
		both = KP_FRIGATE_FALSE_POSITIVE;
	if (both != KP_FRIGATE_COUNTED) {
		d.boarding = d.alighting = both;
		return d;
	}
	d.boarding = decide_one(ev, cam->boarding_zone, KP_FRIGATE_BOARDED, counted_before);
	d.alighting = decide_one(ev, cam->alighting_zone, KP_FRIGATE_ALIGHTED, counted_before);
	if (d.boarding == KP_FRIGATE_COUNTED)
		d.counted |= KP_FRIGATE_BOARDED;
	if (d.alighting == KP_FRIGATE_COUNTED)
		d.counted |= KP_FRIGATE_ALIGHTED;
	return d;
}

static uint64_t key_hash(const char *camera, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
	const char *parts[2] = { camera, id };

	for (size_t p = 0; p < 2; p++) {
		/* The NUL of each part goes in too, so ("ab","c") and ("a","bc") differ. */
		const unsigned char *s = (const unsigned char *)parts[p];
		do {
			h ^= *s;
			h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
		} while (*s++ != '\0');
	}
	return h;
}

int kp_frigate_counted_init(struct kp_frigate_counted *set, struct kp_frigate_counted_record *records,
			    size_t capacity)
{
	if (records == NULL || capacity == 0)
		return -1;
	set->records = records;
	set->capacity = capacity;
	set->count = 0;
	set->next = 0;
	return 0;
}

static struct kp_frigate_counted_record *find(const struct kp_frigate_counted *set, const char *camera,
					      const char *id)
{
	uint64_t h = key_hash(camera, id);

	for (size_t i = 0; i < set->count; i++) {
		struct kp_frigate_counted_record *r = &set->records[i];
		if (r->hash == h && strcmp(r->camera, camera) == 0 && strcmp(r->id, id) == 0)
			return r;
	}
	return NULL;
}

unsigned kp_frigate_counted_get(const struct kp_frigate_counted *set, const char *camera, const char *id)
{
	const struct kp_frigate_counted_record *r = find(set, camera, id);

	return r ? r->flags : 0;
}

int kp_frigate_counted_put(struct kp_frigate_counted *set, const char *camera, const char *id, unsigned flags)
{
	struct kp_frigate_counted_record *r;
	size_t camera_len = strlen(camera), id_len = strlen(id);

	if (camera_len > KP_FRIGATE_NAME_MAX || id_len > KP_FRIGATE_ID_MAX)
		return -1;
	r = find(set, camera, id);
	if (r == NULL) {
		/* Filled in insertion order, then overwritten oldest first. */
		if (set->count < set->capacity) {
			r = &set->records[set->count++];
		} else {
			r = &set->records[set->next];
			set->next = (set->next + 1) % set->capacity;
		}
		r->hash = key_hash(camera, id);
		memcpy(r->camera, camera, camera_len + 1);
		memcpy(r->id, id, id_len + 1);
	}
	r->flags = flags;
	return 0;
}

int kp_frigate_count_apply(struct kp_frigate_counted *set, const struct kp_frigate_camera_zones *cam,
			   const struct kp_frigate_event *ev, struct kp_frigate_decision *out)
{
	unsigned before = kp_frigate_counted_get(set, ev->camera, ev->id);
	struct kp_frigate_decision d = kp_frigate_count_decide(cam, ev, before);

	if (d.counted != before && kp_frigate_counted_put(set, ev->camera, ev->id, d.counted) != 0)
		return -1;
	*out = d;
	return 0;
}
