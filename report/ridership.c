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

/* Merges the sorted runs a[lo, mid) and a[mid, hi) into to[lo, hi). */
static void merge_runs(const struct kp_rs_group *a, struct kp_rs_group *to, size_t lo, size_t mid, size_t hi)
{
	size_t i = lo, j = mid, o = lo;

	while (i < mid && j < hi)
		to[o++] = group_cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
	while (i < mid)
		to[o++] = a[i++];
	while (j < hi)
		to[o++] = a[j++];
}

/* Sorts the groups by key: a natural merge sort, which merges the runs
 * that are already in order. The cells of one date come in LMDB's order
 * (date, hour, route, stop, fare), so grouped by route, stop, hour and fare
 * they are one run per hour, a few passes where qsort would compare and
 * copy n log n times. 0, or -1 out of memory. */
static int sort_groups(struct kp_rs_result *s)
{
	size_t *edge, nruns = 0;
	struct kp_rs_group *tmp, *from = s->g, *to;

	if (s->n < 2)
		return 0;
	edge = malloc((s->n + 1) * sizeof(*edge));
	tmp = malloc(s->n * sizeof(*tmp));
	if (edge == NULL || tmp == NULL) {
		free(edge);
		free(tmp);
		return -1;
	}
	edge[nruns++] = 0;
	for (size_t i = 1; i < s->n; i++)
		if (group_cmp(&s->g[i - 1], &s->g[i]) > 0)
			edge[nruns++] = i;
	edge[nruns] = s->n;
	to = tmp;
	while (nruns > 1) {
		size_t r = 0, out = 0;

		for (; r + 1 < nruns; r += 2, out++) {
			merge_runs(from, to, edge[r], edge[r + 1], edge[r + 2]);
			edge[out] = edge[r];
		}
		if (r < nruns) {
			memcpy(&to[edge[r]], &from[edge[r]], (edge[r + 1] - edge[r]) * sizeof(*to));
			edge[out++] = edge[r];
		}
		edge[out] = s->n;
		nruns = out;
		to = from;
		from = from == s->g ? tmp : s->g;
	}
	if (from != s->g)
		memcpy(s->g, from, s->n * sizeof(*s->g));
	free(tmp);
	free(edge);
	return 0;
}

/* A grouping in progress: the result, and an open-addressing hash table
 * from a key to its group (index + 1; 0 is an empty slot), at most half
 * full. */
struct grouping {
	struct kp_rs_result *s;
	size_t *slot;
	size_t nslots; /* a power of two */
	int distinct;  /* each cell is a group of its own: no hash table */
};

static size_t key_hash(const uint32_t k[KP_RS_BY_MAX], size_t mask)
{
	uint64_t h = ((uint64_t)k[0] << 32 | k[1]) * 0x9e3779b97f4a7c15ull;

	h ^= (((uint64_t)k[2] << 32 | k[3]) + (h >> 29)) * 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 31)) & mask;
}

/* The slot of k: its group's, or the empty one where it goes. */
static size_t *find_slot(const struct grouping *gr, const uint32_t k[KP_RS_BY_MAX])
{
	size_t mask = gr->nslots - 1, i = key_hash(k, mask);

	while (gr->slot[i] != 0 && memcmp(gr->s->g[gr->slot[i] - 1].k, k, sizeof(gr->s->g->k)) != 0)
		i = (i + 1) & mask;
	return &gr->slot[i];
}

/* Room for one more group, in the array and in the hash table. */
static int make_room(struct grouping *gr)
{
	struct kp_rs_result *s = gr->s;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : GROUPS_INITIAL;
		struct kp_rs_group *p = realloc(s->g, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		s->g = p;
		s->cap = cap;
	}
	if (!gr->distinct && 2 * (s->n + 1) > gr->nslots) {
		size_t n = gr->nslots ? gr->nslots * 2 : 2 * GROUPS_INITIAL;
		size_t *slot = calloc(n, sizeof(*slot));

		if (slot == NULL)
			return -1;
		free(gr->slot);
		gr->slot = slot;
		gr->nslots = n;
		for (size_t i = 0; i < s->n; i++)
			*find_slot(gr, s->g[i].k) = i + 1;
	}
	return 0;
}

/* A cell's dimensions, indexed by enum kp_rs_dim (0 for those it has not). */
typedef uint32_t cell_dims[KP_RS_DIMS];

/* Adds a cell to the group of its chosen dimensions (made when new) and
 * to the total. */
static int add_group(struct grouping *gr, const cell_dims dv, const uint64_t v[KP_RS_VALUES])
{
	struct kp_rs_result *s = gr->s;
	uint32_t k[KP_RS_BY_MAX] = { 0 };
	size_t *slot;

	for (size_t i = 0; i < s->q.nby; i++)
		k[i] = dv[s->q.by[i]];
	if (make_room(gr) != 0)
		return 1;
	val_add(s, s->total.v, v);
	slot = gr->distinct ? NULL : find_slot(gr, k);
	if (slot != NULL && *slot != 0) {
		val_add(s, s->g[*slot - 1].v, v);
		return 0;
	}
	s->g[s->n] = (struct kp_rs_group){ .k = { k[0], k[1], k[2], k[3] } };
	memcpy(s->g[s->n].v, v, sizeof(s->g->v));
	s->n++;
	if (slot != NULL)
		*slot = s->n;
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
	/* A tap cell's key is its date and the four dimensions: grouped by all
	 * four over one date, no two cells share a group. */
	struct grouping gr = { .s = out, .distinct = q->kind == KP_RS_TAPS && q->from == q->to && q->nby == 4 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->q = *q;
	out->with_load = q->kind == KP_RS_COUNTS;
	for (size_t i = 0; i < q->nby; i++)
		if (q->by[i] != KP_RS_ROUTE && q->by[i] != KP_RS_HOUR)
			out->with_load = 0;
	if (q->kind == KP_RS_TAPS) {
		rc = st_tap_agg_foreach(r, q->from, q->to, add_tap_cell, &gr);
	} else {
		rc = st_door_agg_foreach(r, q->from, q->to, add_door_cell, &gr);
		if (rc == ST_OK && out->with_load)
			rc = st_load_agg_foreach(r, q->from, q->to, add_load_cell, &gr);
	}
	free(gr.slot);
	if (rc == ST_OK && sort_groups(out) != 0)
		rc = ST_ESTOP;
	return rc;
}

int kp_rs_rollup(const struct kp_rs_result *fine, size_t nby, struct kp_rs_result *out)
{
	memset(out, 0, sizeof(*out));
	out->q = fine->q;
	out->q.nby = nby < fine->q.nby ? nby : fine->q.nby;
	out->with_load = fine->with_load;
	out->total = fine->total;
	out->g = malloc((fine->n ? fine->n : 1) * sizeof(*out->g));
	if (out->g == NULL)
		return ST_ESTOP;
	out->cap = fine->n;
	for (size_t i = 0; i < fine->n; i++) {
		struct kp_rs_group g = { 0 };

		memcpy(g.k, fine->g[i].k, out->q.nby * sizeof(g.k[0]));
		if (out->n > 0 && group_cmp(&out->g[out->n - 1], &g) == 0) {
			val_add(out, out->g[out->n - 1].v, fine->g[i].v);
			continue;
		}
		memcpy(g.v, fine->g[i].v, sizeof(g.v));
		out->g[out->n++] = g;
	}
	return ST_OK;
}

void kp_rs_free(struct kp_rs_result *res)
{
	free(res->g);
	res->g = NULL;
	res->n = res->cap = 0;
}
