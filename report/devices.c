/*
 * devices.c — the device registry as JSON (devices.h).
 */
#include "report/devices.h"

#include <inttypes.h>
#include <stdio.h>

#include "firmware-proto/hex.h"
#include "storage/device_stats.h"
#include "storage/devices.h"
#include "storage/once.h"

#define DECIMAL_MAX 24

static int add_u64(cJSON *o, const char *name, uint64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, name, text) == NULL ? -1 : 0;
}

static int add_i64(cJSON *o, const char *name, int64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return cJSON_AddRawToObject(o, name, text) == NULL ? -1 : 0;
}

static int add_time_or_null(cJSON *o, const char *name, int64_t ms)
{
	if (ms == 0)
		return cJSON_AddNullToObject(o, name) == NULL ? -1 : 0;
	return add_i64(o, name, ms);
}

static const char *state_name(uint8_t state)
{
	return state == ST_STATE_ACTIVE ? "active" : state == ST_STATE_REVOKED ? "revoked" : "unknown";
}

static int add_key(void *ctx, const struct st_device_key *k)
{
	cJSON *keys = ctx, *o = cJSON_CreateObject();
	char hex[2 * KP_PUBLIC_KEY_SIZE + 1];

	if (o == NULL || !cJSON_AddItemToArray(keys, o)) {
		cJSON_Delete(o);
		return 1;
	}
	kp_hex_encode(k->public_key, KP_PUBLIC_KEY_SIZE, hex);
	return add_u64(o, "key_id", k->key_id) || cJSON_AddStringToObject(o, "public_key", hex) == NULL ||
	       cJSON_AddStringToObject(o, "state", state_name(k->state)) == NULL ||
	       add_i64(o, "added_at", k->added_at) || add_time_or_null(o, "revoked_at", k->revoked_at);
}

/* last_seen, last_sent_at, clock_skew_ms (null while no frame is
 * stored), clock_skewed (st_device_clock_skewed), frames, gaps and
 * rejects {reason: count}. */
static int add_stats(struct st_read *r, cJSON *o, uint64_t id)
{
	struct st_device_stats s;
	cJSON *rej;
	int rc = st_device_stats_get(r, id, &s);

	if (rc == ST_ENOTFOUND)
		s = (struct st_device_stats){.device_id = id};
	else if (rc != ST_OK)
		return rc;
	if (add_time_or_null(o, "last_seen", s.last_seen) ||
	    (s.frames ? add_i64(o, "last_sent_at", s.last_sent_at) || add_i64(o, "clock_skew_ms", s.clock_skew_ms)
	              : cJSON_AddNullToObject(o, "last_sent_at") == NULL ||
	                        cJSON_AddNullToObject(o, "clock_skew_ms") == NULL) ||
	    cJSON_AddBoolToObject(o, "clock_skewed", st_device_clock_skewed(&s)) == NULL ||
	    add_u64(o, "frames", s.frames) || add_u64(o, "gaps", s.gaps) ||
	    (rej = cJSON_AddObjectToObject(o, "rejects")) == NULL)
		return ST_ESTOP;
	for (unsigned i = 1; i < ST_REJECT_SLOTS; i++)
		if (add_u64(rej, st_reject_field(i), s.rejects[i]))
			return ST_ESTOP;
	return ST_OK;
}

/* The object of dev, with its keys and watermark: ST_OK, ST_ESTOP (memory), or a storage error. */
static int device_object(struct st_read *r, const struct st_device *d, cJSON **out)
{
	cJSON *o = cJSON_CreateObject(), *keys;
	char id[KP_DEVICE_ID_TEXT_SIZE];
	uint64_t wm = 0;
	int rc = ST_ESTOP;

	snprintf(id, sizeof(id), "%016" PRIx64, d->id);
	if (o == NULL || cJSON_AddStringToObject(o, "id", id) == NULL ||
	    cJSON_AddStringToObject(o, "kind", st_device_kind_name(d->kind)) == NULL ||
	    cJSON_AddStringToObject(o, "state", state_name(d->state)) == NULL ||
	    cJSON_AddStringToObject(o, "operator", d->operator_name) == NULL ||
	    add_u64(o, "vehicle_id", d->vehicle_id) || add_i64(o, "created_at", d->created_at) ||
	    add_time_or_null(o, "revoked_at", d->revoked_at) ||
	    (keys = cJSON_AddArrayToObject(o, "keys")) == NULL)
		goto fail;
	rc = st_device_key_foreach(r, d->id, add_key, keys);
	if (rc != ST_OK)
		goto fail;
	rc = st_once_watermark(r, d->id, &wm);
	if (rc != ST_OK)
		goto fail;
	rc = ST_ESTOP;
	if (add_u64(o, "watermark", wm))
		goto fail;
	rc = add_stats(r, o, d->id);
	if (rc != ST_OK)
		goto fail;
	*out = o;
	return ST_OK;
fail:
	cJSON_Delete(o);
	return rc;
}

struct list_ctx {
	struct st_read *r;
	cJSON *arr;
	int rc;
};

static int add_device(void *ctx, const struct st_device *d)
{
	struct list_ctx *l = ctx;
	cJSON *o = NULL;

	l->rc = device_object(l->r, d, &o);
	if (l->rc != ST_OK)
		return 1;
	if (!cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		l->rc = ST_ESTOP;
		return 1;
	}
	return 0;
}

int kp_devices_json(struct st_read *r, cJSON **out)
{
	cJSON *doc = cJSON_CreateObject();
	struct list_ctx l = { .r = r, .rc = ST_OK };
	int rc;

	if (doc == NULL || (l.arr = cJSON_AddArrayToObject(doc, "devices")) == NULL) {
		cJSON_Delete(doc);
		return ST_ESTOP;
	}
	rc = st_device_foreach(r, add_device, &l);
	if (rc == ST_ESTOP && l.rc != ST_OK)
		rc = l.rc;
	if (rc != ST_OK) {
		cJSON_Delete(doc);
		return rc;
	}
	*out = doc;
	return ST_OK;
}

int kp_device_json(struct st_read *r, uint64_t device_id, cJSON **out)
{
	struct st_device d;
	int rc = st_device_get(r, device_id, &d);

	if (rc != ST_OK)
		return rc;
	return device_object(r, &d, out);
}
