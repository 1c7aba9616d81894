/*
 * frigate_event.c — cJSON tree in, fixed struct out.
 *
 * The size limit is checked before cJSON sees a byte, so a payload of a
 * megabyte costs a comparison, not a parse. Keys are looked up
 * case-sensitively, as Frigate writes them with Python's json.dumps; a
 * repeated key counts once (cJSON finds the first). Every string is copied
 * into the caller's struct with its bound checked, so nothing points into the
 * tree, which is deleted on the one exit path.
 */
#include "ingest/frigate_event.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static const char *const err_names[KP_FRIGATE_ERR_COUNT] = {
	[KP_FRIGATE_OK] = "ok",
	[KP_FRIGATE_ETOO_LARGE] = "too_large",
	[KP_FRIGATE_EMALFORMED] = "malformed_json",
	[KP_FRIGATE_EMISSING] = "missing_field",
	[KP_FRIGATE_EWRONG_TYPE] = "wrong_type",
	[KP_FRIGATE_EUNKNOWN_TYPE] = "unknown_type",
	[KP_FRIGATE_EBAD_VALUE] = "bad_value",
	[KP_FRIGATE_ETOO_LONG] = "too_long",
	[KP_FRIGATE_ETOO_MANY_ZONES] = "too_many_zones",
};

static const char *const type_names[] = {
	[KP_FRIGATE_NEW] = "new",
	[KP_FRIGATE_UPDATE] = "update",
	[KP_FRIGATE_END] = "end",
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

const char *kp_frigate_err_name(enum kp_frigate_err err)
{
	if ((unsigned)err >= KP_FRIGATE_ERR_COUNT)
		return "unknown";
	return err_names[err];
}

const char *kp_frigate_type_name(enum kp_frigate_type type)
{
	if ((unsigned)type >= TYPE_COUNT)
		return "unknown";
	return type_names[type];
}

bool kp_frigate_zones_contain(const struct kp_frigate_zones *zones, const char *zone)
{
	for (size_t i = 0; i < zones->n; i++)
		if (strcmp(zones->name[i], zone) == 0)
			return true;
	return false;
}

/* Copies a non-empty string of at most max bytes into out[max + 1]. */
static enum kp_frigate_err copy_name(const cJSON *item, char *out, size_t max)
{
	size_t len;

	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return KP_FRIGATE_EWRONG_TYPE;
	len = strlen(item->valuestring);
	if (len == 0)
		return KP_FRIGATE_EBAD_VALUE;
	if (len > max)
		return KP_FRIGATE_ETOO_LONG;
	memcpy(out, item->valuestring, len + 1);
	return KP_FRIGATE_OK;
}

static enum kp_frigate_err get_name(const cJSON *obj, const char *key, char *out, size_t max)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item == NULL)
		return KP_FRIGATE_EMISSING;
	return copy_name(item, out, max);
}

static enum kp_frigate_err get_bool(const cJSON *obj, const char *key, bool *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item == NULL)
		return KP_FRIGATE_EMISSING;
	if (!cJSON_IsBool(item))
		return KP_FRIGATE_EWRONG_TYPE;
	*out = cJSON_IsTrue(item);
	return KP_FRIGATE_OK;
}

/* A time in Unix seconds; null is taken (and *present cleared) only when
 * present is not NULL. cJSON reads 1e999 as infinity: refused. */
static enum kp_frigate_err get_time(const cJSON *obj, const char *key, double *out, bool *present)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item == NULL)
		return KP_FRIGATE_EMISSING;
	if (present != NULL && cJSON_IsNull(item)) {
		*present = false;
		*out = 0;
		return KP_FRIGATE_OK;
	}
	if (!cJSON_IsNumber(item))
		return KP_FRIGATE_EWRONG_TYPE;
	if (!isfinite(item->valuedouble) || item->valuedouble < 0)
		return KP_FRIGATE_EBAD_VALUE;
	*out = item->valuedouble;
	if (present != NULL)
		*present = true;
	return KP_FRIGATE_OK;
}

static enum kp_frigate_err get_zones(const cJSON *obj, const char *key, struct kp_frigate_zones *out)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *zone;
	enum kp_frigate_err err;

	out->n = 0;
	if (arr == NULL)
		return KP_FRIGATE_EMISSING;
	if (!cJSON_IsArray(arr))
		return KP_FRIGATE_EWRONG_TYPE;
	cJSON_ArrayForEach(zone, arr) {
		if (out->n == KP_FRIGATE_ZONES_MAX)
			return KP_FRIGATE_ETOO_MANY_ZONES;
		err = copy_name(zone, out->name[out->n], KP_FRIGATE_NAME_MAX);
		if (err != KP_FRIGATE_OK)
			return err;
		out->n++;
	}
	return KP_FRIGATE_OK;
}

static enum kp_frigate_err get_type(const cJSON *root, enum kp_frigate_type *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "type");

	if (item == NULL)
		return KP_FRIGATE_EMISSING;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return KP_FRIGATE_EWRONG_TYPE;
	for (size_t t = 0; t < TYPE_COUNT; t++) {
		if (strcmp(item->valuestring, type_names[t]) == 0) {
			*out = (enum kp_frigate_type)t;
			return KP_FRIGATE_OK;
		}
	}
	return KP_FRIGATE_EUNKNOWN_TYPE;
}

static enum kp_frigate_err read_after(const cJSON *after, struct kp_frigate_event *ev)
{
	enum kp_frigate_err err;

	if ((err = get_name(after, "id", ev->id, KP_FRIGATE_ID_MAX)) != KP_FRIGATE_OK ||
	    (err = get_name(after, "camera", ev->camera, KP_FRIGATE_NAME_MAX)) != KP_FRIGATE_OK ||
	    (err = get_name(after, "label", ev->label, KP_FRIGATE_NAME_MAX)) != KP_FRIGATE_OK ||
	    (err = get_bool(after, "false_positive", &ev->false_positive)) != KP_FRIGATE_OK ||
	    (err = get_bool(after, "has_clip", &ev->has_clip)) != KP_FRIGATE_OK ||
	    (err = get_time(after, "start_time", &ev->start_time, NULL)) != KP_FRIGATE_OK ||
	    (err = get_time(after, "end_time", &ev->end_time, &ev->has_end_time)) != KP_FRIGATE_OK ||
	    (err = get_zones(after, "entered_zones", &ev->entered_zones)) != KP_FRIGATE_OK)
		return err;
	return get_zones(after, "current_zones", &ev->current_zones);
}

/* Whether only JSON whitespace lies in [p, end). */
static bool only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

enum kp_frigate_err kp_frigate_event_parse(const void *payload, size_t len, struct kp_frigate_event *ev)
{
	const char *text = payload;
	const char *parse_end = NULL;
	const cJSON *after;
	cJSON *root;
	enum kp_frigate_err err;

	if (len > KP_FRIGATE_PAYLOAD_MAX)
		return KP_FRIGATE_ETOO_LARGE;
	memset(ev, 0, sizeof(*ev));
	if (len == 0)
		return KP_FRIGATE_EMALFORMED;
	root = cJSON_ParseWithLengthOpts(text, len, &parse_end, 0);
	if (root == NULL)
		return KP_FRIGATE_EMALFORMED;
	if (parse_end == NULL || parse_end < text || parse_end > text + len ||
	    !only_space(parse_end, text + len)) {
		err = KP_FRIGATE_EMALFORMED;
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		err = KP_FRIGATE_EWRONG_TYPE;
		goto out;
	}
	if ((err = get_type(root, &ev->type)) != KP_FRIGATE_OK)
		goto out;
	after = cJSON_GetObjectItemCaseSensitive(root, "after");
	if (after == NULL)
		err = KP_FRIGATE_EMISSING;
	else if (!cJSON_IsObject(after))
		err = KP_FRIGATE_EWRONG_TYPE;
	else
		err = read_after(after, ev);
out:
	cJSON_Delete(root);
	return err;
}
