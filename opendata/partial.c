/*
 * partial.c — writes one instance's signed partial of a date (partial.h).
 */
#include "opendata/partial.h"
#include "opendata/signed_file.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/ridership.h"
#include "storage/chain.h"
#include "storage/gtfs.h"
#include "storage/count_agg.h"
#include "storage/derive.h"
#include "storage/log.h"
#include "storage/reconcile.h"
#include "storage/riders.h"
#include "storage/service_day.h"
#include "storage/vehicle_hours.h"

struct partial_read {
	cJSON *doc, *riders, *routes, *stops, *vehicle_hours, *doors;
	uint32_t date;
	struct st_read *r;
	int rc;
};

/* st_riders_foreach: each stored sketch of the date as base64. */
static int add_sketch(void *ctx, uint32_t date, uint32_t route, double estimate)
{
	struct partial_read *pr = ctx;
	uint8_t buf[ST_HLL_SERIALIZED_MAX];
	char b64[sodium_base64_ENCODED_LEN(ST_HLL_SERIALIZED_MAX, sodium_base64_VARIANT_ORIGINAL)];
	size_t len;
	cJSON *o;

	(void)estimate;
	pr->rc = st_riders_sketch_get(pr->r, date, route, buf, sizeof(buf), &len);
	if (pr->rc != ST_OK)
		return 1;
	sodium_bin2base64(b64, sizeof(b64), buf, len, sodium_base64_VARIANT_ORIGINAL);
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddItemToArray(pr->riders, o) ||
	    !(route == ST_RIDERS_ALL ? cJSON_AddStringToObject(o, "route", "all")
	                             : cJSON_AddNumberToObject(o, "route", route)) ||
	    !cJSON_AddStringToObject(o, "sketch", b64)) {
		pr->rc = ST_ESTOP;
		return 1;
	}
	return 0;
}

/* A row of numbers into an array; 0, or 1 (out of memory: stop). */
static int add_numbers(cJSON *to, const double *v, int n)
{
	cJSON *a = cJSON_CreateDoubleArray(v, n);

	return a == NULL || !cJSON_AddItemToArray(to, a);
}

/* st_vehicle_hours_foreach: a vehicle's hour, its taps and counts. */
static int add_vehicle_hour(void *ctx, const struct st_vehicle_hour_key *k, const struct st_vehicle_hour_val *v)
{
	struct partial_read *pr = ctx;
	const struct st_vehicle_hour_counts *s = v->source, *n = &v->source[1];
	const double row[10] = { k->hour,         k->route_id,   k->vehicle_id, (double)v->accepted,
		                 (double)s->records, (double)s->boardings, (double)s->alightings,
		                 (double)n->records, (double)n->boardings, (double)n->alightings };

	return add_numbers(pr->vehicle_hours, row, 10);
}

/* st_door_agg_foreach: a street camera's door cell (route 0); the others
 * are in the vehicle hours already. */
static int add_door(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	struct partial_read *pr = ctx;
	const double row[7] = { k->hour,         k->stop_id,         k->door,          k->source,
		                (double)v->boardings, (double)v->alightings, (double)v->cycles };

	return k->route_id != 0 ? 0 : add_numbers(pr->doors, row, 7);
}

/* The camera side: vehicle hours, street door cells, and the hours this
 * instance holds complete (storage/reconcile.h) at now_ms. */
static int read_cameras(struct partial_read *pr, int64_t now_ms)
{
	uint32_t complete[2];
	cJSON *c;

	pr->vehicle_hours = cJSON_AddArrayToObject(pr->doc, "vehicle_hours");
	pr->doors = cJSON_AddArrayToObject(pr->doc, "doors");
	if (pr->vehicle_hours == NULL || pr->doors == NULL)
		return ST_ESTOP;
	int rc = st_vehicle_hours_foreach(pr->r, pr->date, pr->date, add_vehicle_hour, pr);
	if (rc == ST_OK)
		rc = st_door_agg_foreach(pr->r, pr->date, pr->date, add_door, pr);
	if (rc == ST_OK)
		rc = st_reconcile_complete_hours(pr->r, pr->date, now_ms, complete);
	if (rc != ST_OK)
		return rc;
	c = cJSON_AddObjectToObject(pr->doc, "complete_hours");
	if (c == NULL || !cJSON_AddNumberToObject(c, "signed", complete[0]) ||
	    !cJSON_AddNumberToObject(c, "nvr", complete[1]))
		return ST_ESTOP;
	return ST_OK;
}

static int add_route(void *ctx, const struct st_gtfs_route *route)
{
	struct partial_read *pr = ctx;
	cJSON *a = cJSON_CreateArray();

	return a == NULL || !cJSON_AddItemToArray(pr->routes, a) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateNumber(route->id)) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateString(route->gtfs_id)) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateString(route->short_name)) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateString(route->long_name));
}

static int add_stop(void *ctx, const struct st_gtfs_stop *stop)
{
	struct partial_read *pr = ctx;
	cJSON *a = cJSON_CreateArray();

	return a == NULL || !cJSON_AddItemToArray(pr->stops, a) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateNumber(stop->id)) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateString(stop->gtfs_id)) ||
	       !cJSON_AddItemToArray(a, cJSON_CreateString(stop->name));
}

static int add_cells(cJSON *doc, const struct kp_rs_result *res)
{
	cJSON *cells = cJSON_AddArrayToObject(doc, "cells");

	for (size_t i = 0; cells != NULL && i < res->n; i++) {
		const struct kp_rs_group *g = &res->g[i];
		const double v[7] = { g->k[0], g->k[1], g->k[2], g->k[3], (double)g->v[KP_RS_ACCEPTED],
			              (double)g->v[KP_RS_DENIED], (double)g->v[KP_RS_AMOUNT] };
		cJSON *a = cJSON_CreateDoubleArray(v, 7);

		if (a == NULL || !cJSON_AddItemToArray(cells, a))
			return -1;
	}
	return cells != NULL ? 0 : -1;
}

/* The header, chain head and cells of the partial, read in r. */
static int read_into(struct partial_read *pr, struct st_db *db, const struct kp_partition *p, int64_t now_ms)
{
	const struct kp_rs_query q = { .kind = KP_RS_TAPS, .from = pr->date, .to = pr->date,
		                       .by = { KP_RS_ROUTE, KP_RS_STOP, KP_RS_HOUR, KP_RS_FARE }, .nby = 4 };
	struct kp_rs_result res = { 0 };
	uint8_t head[ST_CHAIN_HEAD_SIZE];
	char head_hex[2 * ST_CHAIN_HEAD_SIZE + 1], date[11], part[KP_PARTITION_TEXT_SIZE];
	uint64_t seq;
	cJSON *chain;

	st_date_format(pr->date, date);
	kp_partition_format(p, part);
	pr->rc = kp_rs_sum(pr->r, &q, &res);
	uint64_t last;

	/* The chain as far as the cells hold the log (storage/derive.h): a
	 * running komposterd may have stored more since the open waited. */
	if (pr->rc == ST_OK)
		pr->rc = st_derive_behind(pr->r, &seq, &last);
	if (pr->rc == ST_OK)
		pr->rc = st_chain_head(pr->r, seq, head);
	if (pr->rc != ST_OK) {
		kp_rs_free(&res);
		return -1;
	}
	sodium_bin2hex(head_hex, sizeof(head_hex), head, sizeof(head));
	pr->rc = ST_ESTOP;
	int ok = cJSON_AddStringToObject(pr->doc, "format", OD_PARTIAL_FORMAT) &&
	         cJSON_AddStringToObject(pr->doc, "service_date", date) &&
	         cJSON_AddStringToObject(pr->doc, "partition", part) &&
	         cJSON_AddNumberToObject(pr->doc, "service_day_start_hour",
	                                 st_db_options(db)->service_day_start_hour) &&
	         cJSON_AddNumberToObject(pr->doc, "created", (double)now_ms) &&
	         (chain = cJSON_AddObjectToObject(pr->doc, "chain")) != NULL &&
	         cJSON_AddNumberToObject(chain, "seq", (double)seq) && cJSON_AddStringToObject(chain, "head", head_hex) &&
	         add_cells(pr->doc, &res) == 0 && (pr->riders = cJSON_AddArrayToObject(pr->doc, "riders")) != NULL &&
	         (pr->routes = cJSON_AddArrayToObject(pr->doc, "routes")) != NULL &&
	         (pr->stops = cJSON_AddArrayToObject(pr->doc, "stops")) != NULL;
	kp_rs_free(&res);
	if (!ok)
		return -1;
	pr->rc = ST_OK;
	int rc = st_riders_foreach(pr->r, pr->date, pr->date, add_sketch, pr);

	if (rc == ST_ESTOP)
		return -1; /* add_sketch says why in pr->rc */
	pr->rc = rc;
	if (pr->rc == ST_OK)
		pr->rc = st_gtfs_route_foreach(pr->r, add_route, pr);
	if (pr->rc == ST_OK)
		pr->rc = st_gtfs_stop_foreach(pr->r, add_stop, pr);
	if (pr->rc == ST_OK)
		pr->rc = read_cameras(pr, now_ms);
	return pr->rc == ST_OK ? 0 : -1;
}

static int sign_and_write(const char *text, uint32_t date, const struct kp_partition *p,
                          const uint8_t sk[OD_MINISIGN_SK_SIZE], const char *path, char err[OD_ERR_SIZE])
{
	char comment[64], day[11], part[KP_PARTITION_TEXT_SIZE];

	st_date_format(date, day);
	kp_partition_format(p, part);
	snprintf(comment, sizeof(comment), "komposter partial %s %s", day, part);
	return od_signed_write(path, text, comment, sk, err);
}

int od_partial_write(struct st_db *db, uint32_t date, const struct kp_partition *p,
                     const uint8_t sk[OD_MINISIGN_SK_SIZE], const char *path, int64_t now_ms,
                     char err[OD_ERR_SIZE])
{
	struct st_read r;
	struct partial_read pr = { .date = date, .r = &r };
	char *text = NULL;
	int rc;

	rc = st_read_begin(db, &r);
	if (rc != ST_OK) {
		snprintf(err, OD_ERR_SIZE, "reading the database: %s", st_strerror(rc));
		return -1;
	}
	pr.doc = cJSON_CreateObject();
	rc = pr.doc != NULL ? read_into(&pr, db, p, now_ms) : -1;
	st_read_end(&r);
	if (rc != 0) {
		cJSON_Delete(pr.doc);
		snprintf(err, OD_ERR_SIZE, "reading the aggregates: %s",
		         pr.rc == ST_ESTOP || pr.rc == ST_OK ? "out of memory" : st_strerror(pr.rc));
		return -1;
	}
	text = cJSON_PrintUnformatted(pr.doc);
	cJSON_Delete(pr.doc);
	if (text == NULL) {
		snprintf(err, OD_ERR_SIZE, "out of memory");
		return -1;
	}
	rc = sign_and_write(text, date, p, sk, path, err);
	cJSON_free(text);
	return rc;
}
