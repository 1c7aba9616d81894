/*
 * cameras.c — the camera registry as JSON (cameras.h).
 */
#include "report/cameras.h"

#include <inttypes.h>
#include <stdio.h>

#include "storage/cameras.h"
#include "storage/nvr.h"

#define DECIMAL_MAX 24

static int add_i64(cJSON *o, const char *name, int64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return cJSON_AddRawToObject(o, name, text) == NULL ? -1 : 0;
}

/* last_event of c: ST_OK, ST_ESTOP (memory) or the storage error. */
static int add_last_event(struct st_read *r, cJSON *o, const char *camera)
{
	struct st_nvr_event ev;
	cJSON *e;
	int rc = st_nvr_event_last(r, camera, &ev);

	if (rc == ST_ENOTFOUND)
		return cJSON_AddNullToObject(o, "last_event") == NULL ? ST_ESTOP : ST_OK;
	if (rc != ST_OK)
		return rc;
	if ((e = cJSON_AddObjectToObject(o, "last_event")) == NULL ||
	    cJSON_AddStringToObject(e, "id", ev.id) == NULL || cJSON_AddStringToObject(e, "label", ev.label) == NULL ||
	    add_i64(e, "start", ev.start) || add_i64(e, "received_at", ev.received_at))
		return ST_ESTOP;
	return ST_OK;
}

struct list_ctx {
	struct st_read *r;
	cJSON *arr;
	int rc;
};

static int add_camera(void *ctx, const struct st_camera *c)
{
	struct list_ctx *l = ctx;
	cJSON *o = cJSON_CreateObject();

	l->rc = ST_ESTOP;
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return 1;
	}
	if (cJSON_AddStringToObject(o, "name", c->name) == NULL ||
	    cJSON_AddStringToObject(o, "place", st_camera_place_name(c->place)) == NULL ||
	    add_i64(o, "vehicle_id", c->vehicle_id) || add_i64(o, "door", c->door) ||
	    add_i64(o, "stop_id", c->stop_id) ||
	    cJSON_AddStringToObject(o, "boarding_zone", c->boarding_zone) == NULL ||
	    cJSON_AddStringToObject(o, "alighting_zone", c->alighting_zone) == NULL ||
	    add_i64(o, "created_at", c->created_at))
		return 1;
	l->rc = add_last_event(l->r, o, c->name);
	return l->rc != ST_OK;
}

static int keep_last_outage(void *ctx, const struct st_nvr_outage *o)
{
	*(struct st_nvr_outage *)ctx = *o;
	return 0;
}

/* nvr: {online, since}. Outages never overlap and come in start order, so
 * the last one visited says the state now. */
static int add_nvr(struct st_read *r, cJSON *doc)
{
	struct st_nvr_outage last = {0, 0};
	cJSON *n;
	int rc = st_nvr_outage_foreach(r, INT64_MIN, INT64_MAX, keep_last_outage, &last);

	if (rc != ST_OK)
		return rc;
	if ((n = cJSON_AddObjectToObject(doc, "nvr")) == NULL ||
	    cJSON_AddBoolToObject(n, "online", last.start == 0 || last.end != 0) == NULL)
		return ST_ESTOP;
	if (last.start == 0)
		return cJSON_AddNullToObject(n, "since") == NULL ? ST_ESTOP : ST_OK;
	return add_i64(n, "since", last.end != 0 ? last.end : last.start) ? ST_ESTOP : ST_OK;
}

int kp_cameras_json(struct st_read *r, cJSON **out)
{
	cJSON *doc = cJSON_CreateObject();
	struct list_ctx l = {.r = r, .rc = ST_OK};
	int rc;

	if (doc == NULL || (l.arr = cJSON_AddArrayToObject(doc, "cameras")) == NULL) {
		cJSON_Delete(doc);
		return ST_ESTOP;
	}
	rc = st_camera_foreach(r, add_camera, &l);
	if (rc == ST_ESTOP && l.rc != ST_OK)
		rc = l.rc;
	if (rc == ST_OK)
		rc = add_nvr(r, doc);
	if (rc != ST_OK) {
		cJSON_Delete(doc);
		return rc;
	}
	*out = doc;
	return ST_OK;
}
