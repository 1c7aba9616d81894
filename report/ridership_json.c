/*
 * ridership_json.c — JSON of ridership answers (ridership_json.h). Moved
 * from `komposter stats` (cmd_stats.c, stats_rate.c) so that the command
 * and the HTTP API print the same bytes.
 */
#include "report/ridership_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/service_day.h"

#define DECIMAL_MAX 24 /* 20 digits of a uint64, a NUL */
#define DATE_SIZE 11

/* An exact integer: raw decimal text (see the header). */
static int add_u64(cJSON *o, const char *name, uint64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, name, text) == NULL ? -1 : 0;
}

static int add_str(cJSON *o, const char *name, const char *s)
{
	return cJSON_AddStringToObject(o, name, s) == NULL ? -1 : 0;
}

static int add_dates(cJSON *doc, uint32_t from, uint32_t to)
{
	char f[DATE_SIZE], t[DATE_SIZE];

	st_date_format(from, f);
	st_date_format(to, t);
	return add_str(doc, "from", f) || add_str(doc, "to", t) ? -1 : 0;
}

/* ---------------------------------------------------------- ridership */

/* Counts: "peak" and "mean" (null without samples) only with_load. */
static int add_sums(cJSON *o, const struct kp_rs_result *s, const uint64_t v[KP_RS_VALUES])
{
	if (s->q.kind == KP_RS_TAPS)
		return add_u64(o, "accepted", v[KP_RS_ACCEPTED]) || add_u64(o, "denied", v[KP_RS_DENIED]) ||
		               add_u64(o, "amount", v[KP_RS_AMOUNT])
		       ? -1
		       : 0;
	if (add_u64(o, "boardings", v[KP_RS_BOARDINGS]) || add_u64(o, "alightings", v[KP_RS_ALIGHTINGS]))
		return -1;
	if (!s->with_load)
		return 0;
	if (add_u64(o, "peak", v[KP_RS_PEAK]))
		return -1;
	if (v[KP_RS_SAMPLES] == 0)
		return cJSON_AddNullToObject(o, "mean") == NULL ? -1 : 0;
	return cJSON_AddNumberToObject(o, "mean", (double)v[KP_RS_LOAD_SUM] / (double)v[KP_RS_SAMPLES]) == NULL
	               ? -1
	               : 0;
}

static int add_rows(cJSON *doc, const struct kp_rs_result *s)
{
	cJSON *rows = cJSON_AddArrayToObject(doc, "rows");

	for (size_t i = 0; rows != NULL && i < s->n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(rows, o)) {
			cJSON_Delete(o);
			return -1;
		}
		for (size_t d = 0; d < s->q.nby; d++)
			if (add_u64(o, kp_rs_dim_json_key(s->q.by[d]), s->g[i].k[d]) != 0)
				return -1;
		if (add_sums(o, s, s->g[i].v) != 0)
			return -1;
	}
	return rows == NULL ? -1 : 0;
}

static int add_by(cJSON *doc, const struct kp_rs_result *s)
{
	cJSON *by = cJSON_AddArrayToObject(doc, "by");

	for (size_t i = 0; by != NULL && i < s->q.nby; i++) {
		cJSON *name = cJSON_CreateString(kp_rs_dim_name(s->q.by[i]));

		if (name == NULL || !cJSON_AddItemToArray(by, name)) {
			cJSON_Delete(name);
			return -1;
		}
	}
	return by == NULL ? -1 : 0;
}

cJSON *kp_rs_json(const struct kp_rs_result *res)
{
	cJSON *doc = cJSON_CreateObject(), *total;

	if (doc == NULL || add_dates(doc, res->q.from, res->q.to) || add_by(doc, res) || add_rows(doc, res))
		goto fail;
	total = cJSON_AddObjectToObject(doc, "total");
	if (total == NULL || add_sums(total, res, res->total.v))
		goto fail;
	return doc;
fail:
	cJSON_Delete(doc);
	return NULL;
}

/* --------------------------------------------------------------- rate */

static cJSON *rate_row_json(const struct st_reconcile_row *row, enum st_reconcile_level level, int partial)
{
	cJSON *o = cJSON_CreateObject();
	char date[DATE_SIZE];
	double rate;
	int bad;

	if (o == NULL)
		return NULL;
	st_date_format(row->service_date, date);
	bad = add_str(o, "date", date) || add_u64(o, "hour", row->hour) ||
	      add_u64(o, level == ST_RECONCILE_ROUTE ? "route_id" : "stop_id", row->place_id) ||
	      add_str(o, "source", kp_rate_source_name(row->source)) || add_u64(o, "boardings", row->boardings) ||
	      add_u64(o, "alightings", row->alightings) || add_u64(o, "accepted", row->accepted) ||
	      cJSON_AddBoolToObject(o, "complete", row->complete) == NULL;
	if (!bad)
		bad = st_reconcile_rate(row, &rate) ? cJSON_AddNumberToObject(o, "rate", rate) == NULL
		                                    : cJSON_AddNullToObject(o, "rate") == NULL;
	if (!bad && partial && kp_rate_partial(row, &rate))
		bad = cJSON_AddNumberToObject(o, "partial_rate", rate) == NULL;
	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *kp_rate_json(const struct kp_rate_rows *l, int partial)
{
	cJSON *doc = cJSON_CreateObject(), *rows;

	if (doc == NULL || add_dates(doc, l->from, l->to) || add_str(doc, "by", kp_rate_level_name(l->level)) ||
	    (rows = cJSON_AddArrayToObject(doc, "rows")) == NULL)
		goto fail;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = rate_row_json(&l->v[i], l->level, partial);

		if (o == NULL || !cJSON_AddItemToArray(rows, o)) {
			cJSON_Delete(o);
			goto fail;
		}
	}
	return doc;
fail:
	cJSON_Delete(doc);
	return NULL;
}

char *kp_rs_json_text(const cJSON *doc, size_t *len)
{
	char *text = cJSON_Print(doc), *out;
	size_t n;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	out = malloc(n + 2);
	if (out != NULL) {
		memcpy(out, text, n);
		out[n] = '\n';
		out[n + 1] = '\0';
		*len = n + 1;
	}
	cJSON_free(text);
	return out;
}
