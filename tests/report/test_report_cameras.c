/*
 * Description: kp_cameras_json over a scratch LMDB: a camera with NVR
 * rows gives its latest-started row as last_event, one without gives
 * null; the NVR reads online with since null before any outage, offline
 * since the open outage's start, then online since its end.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../storage/helpers.h"
#include "report/cameras.h"
#include "storage/cameras.h"
#include "storage/nvr.h"

TestSuite(cameras_json, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

static void add_camera(const char *name, uint32_t stop)
{
	struct st_camera c = {.place = ST_CAMERA_STREET, .stop_id = stop, .created_at = noon};

	strcpy(c.name, name);
	strcpy(c.boarding_zone, "in");
	cr_assert_eq(st_camera_add(tdb.db, &c), ST_OK);
}

static void add_event(const char *camera, const char *id, int64_t start)
{
	struct st_nvr_event e = {.type = ST_NVR_NEW, .start = start, .received_at = start + 7};
	struct st_nvr_limits lim = {100};

	strcpy(e.camera, camera);
	strcpy(e.id, id);
	strcpy(e.label, "person");
	cr_assert_eq(st_nvr_commit(tdb.db, &e, 1, &lim, NULL), ST_OK);
}

/* The document as the API sends it: printed and read back (numbers are
 * raw items until printed). */
static cJSON *doc_now(void)
{
	struct st_read r;
	cJSON *doc = NULL, *back;
	char *text;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(kp_cameras_json(&r, &doc), ST_OK);
	st_read_end(&r);
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	cr_assert_not_null(text);
	back = cJSON_Parse(text);
	cJSON_free(text);
	cr_assert_not_null(back);
	return back;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(o, name);

	cr_assert(cJSON_IsNumber(v), "no number %s", name);
	return v->valuedouble;
}

Test(cameras_json, last_event_is_the_latest_started_row_and_null_without_one)
{
	cJSON *doc, *cams, *last;

	tdb_open();
	add_camera("a-cam", 7);
	add_camera("b-cam", 8);
	add_event("a-cam", "o2", noon + 2000);
	add_event("a-cam", "o1", noon + 1000);
	doc = doc_now();
	cams = cJSON_GetObjectItem(doc, "cameras");
	cr_assert_eq(cJSON_GetArraySize(cams), 2);
	last = cJSON_GetObjectItem(cJSON_GetArrayItem(cams, 0), "last_event");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "id")), "o2");
	cr_expect_eq(num(last, "start"), noon + 2000);
	cr_expect_eq(num(last, "received_at"), noon + 2007);
	cr_expect_eq(num(cJSON_GetArrayItem(cams, 1), "stop_id"), 8);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cams, 1), "last_event")));
	cJSON_Delete(doc);
}

Test(cameras_json, nvr_is_offline_since_the_open_outage_then_online_since_its_end)
{
	cJSON *doc, *nvr;

	tdb_open();
	doc = doc_now();
	nvr = cJSON_GetObjectItem(doc, "nvr");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(nvr, "online")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(nvr, "since")));
	cJSON_Delete(doc);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, noon), ST_OK);
	doc = doc_now();
	nvr = cJSON_GetObjectItem(doc, "nvr");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(nvr, "online")));
	cr_expect_eq(num(nvr, "since"), noon);
	cJSON_Delete(doc);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, noon + 60000), ST_OK);
	doc = doc_now();
	nvr = cJSON_GetObjectItem(doc, "nvr");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(nvr, "online")));
	cr_expect_eq(num(nvr, "since"), noon + 60000);
	cJSON_Delete(doc);
}
