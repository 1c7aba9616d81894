/* libFuzzer target: the Frigate adapter. Parses the input as one
 * frigate/events payload and, when it parses, checks what the header
 * promises (names within bounds and NUL-terminated, zone lists within
 * bounds) and runs the counting rule twice on a small set of counted
 * objects: the second time must count nothing, and nothing may count that
 * is not a person, not a false positive, with the zone entered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/frigate_count.h"

static void check_zones(const struct kp_frigate_zones *z)
{
	if (z->n > KP_FRIGATE_ZONES_MAX)
		abort();
	for (size_t i = 0; i < z->n; i++)
		if (memchr(z->name[i], '\0', sizeof(z->name[i])) == NULL || z->name[i][0] == '\0')
			abort();
}

static void check_counted(const struct kp_frigate_event *ev, enum kp_frigate_outcome o, const char *zone)
{
	if (o != KP_FRIGATE_COUNTED)
		return;
	if (strcmp(ev->label, KP_FRIGATE_PERSON) != 0 || ev->false_positive ||
	    !kp_frigate_zones_contain(&ev->entered_zones, zone))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kp_frigate_camera_zones cam = { .boarding_zone = "door_in", .alighting_zone = "door_out" };
	static struct kp_frigate_counted_record records[4];
	struct kp_frigate_counted set;
	struct kp_frigate_event ev;
	struct kp_frigate_decision first, again;
	enum kp_frigate_err err = kp_frigate_event_parse(data, size, &ev);

	if (strcmp(kp_frigate_err_name(err), "unknown") == 0)
		abort();
	if (err != KP_FRIGATE_OK)
		return 0;
	if (memchr(ev.id, '\0', sizeof(ev.id)) == NULL || memchr(ev.camera, '\0', sizeof(ev.camera)) == NULL ||
	    memchr(ev.label, '\0', sizeof(ev.label)) == NULL || ev.id[0] == '\0' || ev.camera[0] == '\0')
		abort();
	check_zones(&ev.entered_zones);
	check_zones(&ev.current_zones);
	if (kp_frigate_counted_init(&set, records, sizeof(records) / sizeof(records[0])) != 0)
		abort();
	if (kp_frigate_count_apply(&set, &cam, &ev, &first) != 0 || kp_frigate_count_apply(&set, &cam, &ev, &again) != 0)
		abort();
	check_counted(&ev, first.boarding, cam.boarding_zone);
	check_counted(&ev, first.alighting, cam.alighting_zone);
	if (again.boarding == KP_FRIGATE_COUNTED || again.alighting == KP_FRIGATE_COUNTED ||
	    again.counted != first.counted)
		abort();
	return 0;
}
