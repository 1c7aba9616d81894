/*
 * ridership.c — grouping and summing the aggregates of a date range
 * (ridership.h). Moved here from `komposter stats` so that the command and
 * the HTTP API share one implementation.
 */
#include "report/ridership.h"

#include <stdlib.h>
#include <string.h>

#include "storage/count_agg.h"
#include "storage/tap_agg.h"

#define GROUPS_INITIAL 1024

static const struct {
	const char *name, *json_key;
} dims[KP_RS_DIMS] = {
	[KP_RS_ROUTE] = { "route", "route_id" },
	[KP_RS_STOP] = { "stop", "stop_id" },
	[KP_RS_HOUR] = { "hour", "hour" },
	[KP_RS_FARE] = { "fare", "fare_product" },
	[KP_RS_DOOR] = { "door", "door" },
};

const char *kp_rs_dim_name(enum kp_rs_dim d)
{
	return (unsigned)d < KP_RS_DIMS ? dims[d].name : "?";
}

const char *kp_rs_dim_json_key(enum kp_rs_dim d)
{
	return (unsigned)d < KP_RS_DIMS ? dims[d].json_key : "?";
}

enum kp_rs_by_error kp_rs_parse_by(const char *list, struct kp_rs_query *q, const char **bad, size_t *bad_len)
{
	const char *p = list;

	q->nby = 0;
	while (1) {
		size_t len = strcspn(p, ","), d;

		*bad = p;
		*bad_len = len;
		for (d = 0; d < KP_RS_DIMS; d++)
			if (strlen(dims[d].name) == len && strncmp(p, dims[d].name, len) == 0)
				break;
		if (d == KP_RS_DIMS)
			return KP_RS_BY_UNKNOWN;
		for (size_t i = 0; i < q->nby; i++)
			if (q->by[i] == (enum kp_rs_dim)d)
				return KP_RS_BY_TWICE;
		if (q->nby == KP_RS_BY_MAX)
			return KP_RS_BY_TOO_MANY;
		q->by[q->nby++] = (enum kp_rs_dim)d;
		if (p[len] == '\0')
			return KP_RS_BY_OK;
		p += len + 1;
	}
}

enum kp_rs_by_error kp_rs_check(const struct kp_rs_query *q)
{
	for (size_t i = 0; i < q->nby; i++) {
		if (q->by[i] == KP_RS_FARE && q->kind == KP_RS_COUNTS)
			return KP_RS_BY_FARE_COUNTS;
		if (q->by[i] == KP_RS_DOOR && q->kind == KP_RS_TAPS)
			return KP_RS_BY_DOOR_TAPS;
	}
	return KP_RS_BY_OK;
}

/* ------------------------------------------------------------ grouping */

static int group_cmp(const void *a, const void *b)
{
	const struct kp_rs_group *x = a, *y = b;

	for (size_t i = 0; i < KP_RS_BY_MAX; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	return 0;
}

/* Sums every value but the peak of a load, which is the highest. */
static void val_add(const struct kp_rs_result *s, uint64_t to[KP_RS_VALUES], const uint64_t v[KP_RS_VALUES])
{
	for (size_t i = 0; i < KP_RS_VALUES; i++) {
		if (s->q.kind == KP_RS_COUNTS && i == KP_RS_PEAK)
			to[i] = v[i] > to[i] ? v[i] : to[i];
		else
			to[i] += v[i];
	}
}

/* Sorts the groups and merges equal keys. */
static void compact(struct kp_rs_result *s)
{
	size_t out = 0;

	if (s->n == 0)
		return;
	qsort(s->g, s->n, sizeof(*s->g), group_cmp);
	for (size_t i = 1; i < s->n; i++) {
		if (group_cmp(&s->g[out], &s->g[i]) == 0)
			val_add(s, s->g[out].v, s->g[i].v);
		else
			s->g[++out] = s->g[i];
	}
	s->n = out + 1;
}

/* Room for one more group: compact first, grow when that frees too little. */
static int make_room(struct kp_rs_result *s)
{
	size_t cap;
	struct kp_rs_group *p;

	if (s->n < s->cap)
		return 0;
	compact(s);
	if (s->n < s->cap / 2)
		return 0;
	cap = s->cap ? s->cap * 2 : GROUPS_INITIAL;
	p = realloc(s->g, cap * sizeof(*p));
	if (p == NULL)
		return -1;
	s->g = p;
	s->cap = cap;
	return 0;
}

/* A cell's dimensions, indexed by enum kp_rs_dim (0 for those it has not). */
typedef uint32_t cell_dims[KP_RS_DIMS];

/* Appends a cell as a group of the chosen dimensions and adds it to the total. */
static int add_group(struct kp_rs_result *s, const cell_dims dv, const uint64_t v[KP_RS_VALUES])
{
	struct kp_rs_group *g;

	if (make_room(s) != 0)
		return 1;
	g = &s->g[s->n++];
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < s->q.nby; i++)
		g->k[i] = dv[s->q.by[i]];
	memcpy(g->v, v, sizeof(g->v));
	val_add(s, s->total.v, v);
	return 0;
}

static int add_tap_cell(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	const cell_dims dv = { [KP_RS_ROUTE] = k->route_id, [KP_RS_STOP] = k->stop_id, [KP_RS_HOUR] = k->hour,
		               [KP_RS_FARE] = k->fare_product };

	return add_group(ctx, dv, (const uint64_t[KP_RS_VALUES]){ v->accepted, v->denied, v->amount });
}

/* Counts are the signed counts of APCs only: NVR cells (count_agg.h) rest
 * on no signature and are reported beside taps by reconcile.h, source apart. */
static int add_door_cell(void *ctx, const struct st_door_agg_key *k, const struct st_door_agg_val *v)
{
	const cell_dims dv = { [KP_RS_ROUTE] = k->route_id, [KP_RS_STOP] = k->stop_id, [KP_RS_HOUR] = k->hour,
		               [KP_RS_DOOR] = k->door };

	if (k->source != ST_COUNT_SOURCE_SIGNED)
		return 0;
	return add_group(ctx, dv, (const uint64_t[KP_RS_VALUES]){ v->boardings, v->alightings });
}

static int add_load_cell(void *ctx, const struct st_load_agg_key *k, const struct st_load_agg_val *v)
{
	const cell_dims dv = { [KP_RS_ROUTE] = k->route_id, [KP_RS_HOUR] = k->hour };

	if (k->source != ST_COUNT_SOURCE_SIGNED)
		return 0;
	return add_group(ctx, dv, (const uint64_t[KP_RS_VALUES]){ [KP_RS_PEAK] = v->peak, [KP_RS_LOAD_SUM] = v->sum,
		                                                  [KP_RS_SAMPLES] = v->samples });
}

int kp_rs_sum(struct st_read *r, const struct kp_rs_query *q, struct kp_rs_result *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->q = *q;
	out->with_load = q->kind == KP_RS_COUNTS;
	for (size_t i = 0; i < q->nby; i++)
		if (q->by[i] != KP_RS_ROUTE && q->by[i] != KP_RS_HOUR)
			out->with_load = 0;
	if (q->kind == KP_RS_TAPS) {
		rc = st_tap_agg_foreach(r, q->from, q->to, add_tap_cell, out);
	} else {
		rc = st_door_agg_foreach(r, q->from, q->to, add_door_cell, out);
		if (rc == ST_OK && out->with_load)
			rc = st_load_agg_foreach(r, q->from, q->to, add_load_cell, out);
	}
	if (rc == ST_OK)
		compact(out);
	return rc;
}

void kp_rs_free(struct kp_rs_result *res)
{
	free(res->g);
	res->g = NULL;
	res->n = res->cap = 0;
}
