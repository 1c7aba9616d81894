/*
 * merge.c — checks the partials of one date and builds the city-wide
 * tables from their sum (partial.h), through tables.c's disclosure control.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opendata/partial.h"
#include "opendata/signed_file.h"
#include "opendata/tables_internal.h"
#include "storage/count_agg.h"
#include "storage/hll.h"
#include "storage/reconcile.h"
#include "storage/riders.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"
#include "storage/vehicle_hours.h"

/* A partial is a day's aggregates: far below this. */
#define PARTIAL_MAX (256u << 20)

struct loaded {
	const char *path;
	cJSON *doc;
	struct kp_partition p;
	uint64_t seq;
	uint8_t head[ST_CHAIN_HEAD_SIZE];
	int start_hour;
};

struct sketch {
	uint32_t route;
	struct st_hll *h;
};

struct vehicle_hour {
	struct st_vehicle_hour_key k;
	struct st_vehicle_hour_val v;
};

#define ALL_HOURS 0xffffffu /* bits 0..23 */

struct merging {
	struct kp_rs_result cells;
	struct sketch *s;
	size_t ns, scap;
	struct vehicle_hour *vh; /* every partial's, summed per vehicle hour at the end */
	size_t nvh, vhcap;
	struct st_reconcile_rows rows[2]; /* route, stop */
	uint32_t complete[2];             /* per source: the hours every partial holds complete */
};

static int whole_number(const cJSON *j, double max, uint64_t *out)
{
	if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > max || floor(j->valuedouble) != j->valuedouble)
		return -1;
	*out = (uint64_t)j->valuedouble;
	return 0;
}

/* The header of a signed partial: format, date, partition, chain head. */
static int read_header(struct loaded *l, uint32_t date, char err[OD_ERR_SIZE])
{
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(l->doc, "format");
	const cJSON *day = cJSON_GetObjectItemCaseSensitive(l->doc, "service_date");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(l->doc, "partition");
	const cJSON *hour = cJSON_GetObjectItemCaseSensitive(l->doc, "service_day_start_hour");
	const cJSON *chain = cJSON_GetObjectItemCaseSensitive(l->doc, "chain");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(chain, "seq");
	const cJSON *head = cJSON_GetObjectItemCaseSensitive(chain, "head");
	uint32_t d;
	uint64_t v;
	char want[11];

	if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, OD_PARTIAL_FORMAT_1) == 0) {
		snprintf(err, OD_ERR_SIZE, "%.120s: a %s partial has no camera data: make it again with this komposter",
		         l->path, OD_PARTIAL_FORMAT_1);
		return -1;
	}
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, OD_PARTIAL_FORMAT) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: not a %s partial", l->path, OD_PARTIAL_FORMAT);
		return -1;
	}
	if (!cJSON_IsString(day) || st_date_parse(day->valuestring, &d) != 0 || d != date) {
		st_date_format(date, want);
		snprintf(err, OD_ERR_SIZE, "%.160s: a partial of %.10s, not of %s", l->path,
		         cJSON_IsString(day) ? day->valuestring : "no date", want);
		return -1;
	}
	if (!cJSON_IsString(part) || kp_partition_parse(part->valuestring, &l->p) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: no partition K/N", l->path);
		return -1;
	}
	if (whole_number(hour, 23, &v) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: no service_day_start_hour", l->path);
		return -1;
	}
	l->start_hour = (int)v;
	if (whole_number(seq, 9007199254740992.0, &l->seq) != 0 || !cJSON_IsString(head) ||
	    strlen(head->valuestring) != 2 * ST_CHAIN_HEAD_SIZE ||
	    sodium_hex2bin(l->head, sizeof(l->head), head->valuestring, 2 * ST_CHAIN_HEAD_SIZE, NULL, NULL, NULL) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.160s: no hash-chain head", l->path);
		return -1;
	}
	return 0;
}

static int load(const char *path, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk, uint32_t date,
                struct loaded *l, char err[OD_ERR_SIZE])
{
	size_t len;
	char *text;

	l->path = path;
	if (od_signed_read(path, PARTIAL_MAX, pks, npk, &text, &len, err) != 0)
		return -1;
	l->doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (l->doc == NULL) {
		snprintf(err, OD_ERR_SIZE, "%.160s: not JSON", path);
		return -1;
	}
	return read_header(l, date, err);
}

/* Exactly the partitions 0/N..N-1/N, each once, one service-day start. */
static int check_set(const struct loaded *l, size_t n, char err[OD_ERR_SIZE])
{
	const uint32_t want = l[0].p.n;

	for (size_t i = 0; i < n; i++) {
		if (l[i].p.n != want) {
			snprintf(err, OD_ERR_SIZE, "%.100s is a partition of %u instances, %.100s of %u: they overlap",
			         l[i].path, (unsigned)l[i].p.n, l[0].path, (unsigned)want);
			return -1;
		}
		if (l[i].start_hour != l[0].start_hour) {
			snprintf(err, OD_ERR_SIZE, "%.100s and %.100s start the service day at other hours", l[0].path,
			         l[i].path);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (l[j].p.k == l[i].p.k) {
				snprintf(err, OD_ERR_SIZE, "two partials of partition %u/%u: %.100s and %.100s",
				         (unsigned)l[i].p.k, (unsigned)want, l[j].path, l[i].path);
				return -1;
			}
	}
	if (n != want) {
		/* n < want here: more would have repeated a partition. */
		for (uint32_t k = 0; k < want; k++) {
			size_t i = 0;

			while (i < n && l[i].p.k != k)
				i++;
			if (i == n) {
				snprintf(err, OD_ERR_SIZE, "partition %u/%u is missing: the set is not complete",
				         (unsigned)k, (unsigned)want);
				return -1;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ merging */

static int add_group(struct kp_rs_result *res, const struct kp_rs_group *g)
{
	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 1024;
		struct kp_rs_group *p = realloc(res->g, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		res->g = p;
		res->cap = cap;
	}
	res->g[res->n++] = *g;
	return 0;
}

static int group_cmp(const void *a, const void *b)
{
	const struct kp_rs_group *x = a, *y = b;

	for (int i = 0; i < 4; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	return 0;
}

/* Sorts the cells of every partial and adds those of the same key. */
static void sum_cells(struct kp_rs_result *res)
{
	size_t w = 0;

	if (res->n > 1)
		qsort(res->g, res->n, sizeof(res->g[0]), group_cmp);
	for (size_t i = 0; i < res->n; i++) {
		if (w > 0 && group_cmp(&res->g[w - 1], &res->g[i]) == 0) {
			for (int v = 0; v < KP_RS_VALUES; v++)
				res->g[w - 1].v[v] += res->g[i].v[v];
			continue;
		}
		res->g[w++] = res->g[i];
	}
	res->n = w;
	for (size_t i = 0; i < res->n; i++)
		for (int v = 0; v < KP_RS_VALUES; v++)
			res->total.v[v] += res->g[i].v[v];
}

/* The n whole numbers of array a into v; each at most max[i]. */
static int numbers(const cJSON *a, int n, const double *max, uint64_t *v)
{
	const cJSON *x;
	int i = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
		return -1;
	cJSON_ArrayForEach(x, a)
	{
		if (whole_number(x, max[i], &v[i]) != 0)
			return -1;
		i++;
	}
	return 0;
}

#define U32 4294967295.0
#define COUNT 9007199254740992.0

/* A cell is [route, stop, hour, fare product, accepted, denied, amount]:
 * the tables index fares by their 16 bits and hours by the day's 24, so a
 * signed partial holding more is refused, not read past an array. */
static int read_cells(const struct loaded *l, struct kp_rs_result *res, char err[OD_ERR_SIZE])
{
	static const double max[7] = { U32, U32, 23, 65535, COUNT, COUNT, COUNT };
	const cJSON *cells = cJSON_GetObjectItemCaseSensitive(l->doc, "cells"), *c;

	if (!cJSON_IsArray(cells))
		goto bad;
	cJSON_ArrayForEach(c, cells)
	{
		struct kp_rs_group g = { 0 };
		uint64_t v[7];

		if (numbers(c, 7, max, v) != 0)
			goto bad;
		for (int i = 0; i < 4; i++)
			g.k[i] = (uint32_t)v[i];
		g.v[KP_RS_ACCEPTED] = v[4];
		g.v[KP_RS_DENIED] = v[5];
		g.v[KP_RS_AMOUNT] = v[6];
		if (add_group(res, &g) != 0) {
			snprintf(err, OD_ERR_SIZE, "out of memory");
			return -1;
		}
	}
	return 0;
bad:
	snprintf(err, OD_ERR_SIZE, "%.160s: malformed cells", l->path);
	return -1;
}

static struct st_hll *sketch_of(struct merging *m, uint32_t route)
{
	for (size_t i = 0; i < m->ns; i++)
		if (m->s[i].route == route)
			return m->s[i].h;
	if (m->ns == m->scap) {
		size_t cap = m->scap ? m->scap * 2 : 16;
		struct sketch *p = realloc(m->s, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		m->s = p;
		m->scap = cap;
	}
	struct st_hll *h = malloc(sizeof(*h));

	if (h == NULL)
		return NULL;
	st_hll_clear(h);
	m->s[m->ns++] = (struct sketch){ route, h };
	return h;
}

static int read_riders(const struct loaded *l, struct merging *m, char err[OD_ERR_SIZE])
{
	const cJSON *riders = cJSON_GetObjectItemCaseSensitive(l->doc, "riders"), *o;
	uint8_t bytes[ST_HLL_SERIALIZED_MAX];

	if (!cJSON_IsArray(riders))
		goto bad;
	cJSON_ArrayForEach(o, riders)
	{
		const cJSON *route = cJSON_GetObjectItemCaseSensitive(o, "route");
		const cJSON *sk = cJSON_GetObjectItemCaseSensitive(o, "sketch");
		uint64_t id;
		size_t len;

		if (cJSON_IsString(route) && strcmp(route->valuestring, "all") == 0)
			id = ST_RIDERS_ALL;
		else if (whole_number(route, 4294967294.0, &id) != 0)
			goto bad;
		if (!cJSON_IsString(sk) ||
		    sodium_base642bin(bytes, sizeof(bytes), sk->valuestring, strlen(sk->valuestring), NULL, &len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0)
			goto bad;
		struct st_hll *h = sketch_of(m, (uint32_t)id);

		if (h == NULL) {
			snprintf(err, OD_ERR_SIZE, "out of memory");
			return -1;
		}
		if (st_hll_merge_bytes(h, bytes, len) != 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, OD_ERR_SIZE, "%.160s: malformed riders", l->path);
	return -1;
}


static int push_vehicle_hour(struct merging *m, const struct vehicle_hour *vh)
{
	if (m->nvh == m->vhcap) {
		size_t cap = m->vhcap ? m->vhcap * 2 : 256;
		struct vehicle_hour *p = realloc(m->vh, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		m->vh = p;
		m->vhcap = cap;
	}
	m->vh[m->nvh++] = *vh;
	return 0;
}

/* A partial's vehicle hours, street door cells and complete hours. */
static int read_cameras(const struct loaded *l, struct merging *m, uint32_t date, char err[OD_ERR_SIZE])
{
	static const double vh_max[10] = { 23, U32, U32, COUNT, COUNT, COUNT, COUNT, COUNT, COUNT, COUNT };
	static const double door_max[7] = { 23, U32, 255, ST_COUNT_SOURCE_NVR, COUNT, COUNT, COUNT };
	const cJSON *vhs = cJSON_GetObjectItemCaseSensitive(l->doc, "vehicle_hours");
	const cJSON *doors = cJSON_GetObjectItemCaseSensitive(l->doc, "doors");
	const cJSON *complete = cJSON_GetObjectItemCaseSensitive(l->doc, "complete_hours"), *a;
	const char *what = "vehicle_hours";
	uint64_t v[10];

	if (!cJSON_IsArray(vhs) || !cJSON_IsArray(doors))
		goto bad;
	cJSON_ArrayForEach(a, vhs)
	{
		if (numbers(a, 10, vh_max, v) != 0)
			goto bad;
		struct vehicle_hour vh = { { date, (uint8_t)v[0], (uint32_t)v[1], (uint32_t)v[2] }, { v[3], { { 0 } } } };
		for (int s = 0; s < 2; s++)
			vh.v.source[s] = (struct st_vehicle_hour_counts){ v[5 + 3 * s], v[6 + 3 * s], v[4 + 3 * s] };
		if (push_vehicle_hour(m, &vh) != 0)
			goto oom;
	}
	what = "doors";
	cJSON_ArrayForEach(a, doors)
	{
		if (numbers(a, 7, door_max, v) != 0 || v[3] < ST_COUNT_SOURCE_SIGNED)
			goto bad;
		const struct st_door_agg_key k = { date, (uint8_t)v[0], 0, (uint32_t)v[1], (uint8_t)v[2], (uint8_t)v[3] };
		const struct st_door_agg_val dv = { v[4], v[5], v[6] };
		if (st_reconcile_add_door(&m->rows[1], &k, &dv) != 0)
			goto oom;
	}
	what = "complete_hours";
	for (int s = 0; s < 2; s++) {
		uint64_t bits;

		if (whole_number(cJSON_GetObjectItemCaseSensitive(complete, s ? "nvr" : "signed"), ALL_HOURS, &bits) != 0)
			goto bad;
		m->complete[s] &= (uint32_t)bits;
	}
	return 0;
bad:
	snprintf(err, OD_ERR_SIZE, "%.160s: malformed %s", l->path, what);
	return -1;
oom:
	snprintf(err, OD_ERR_SIZE, "out of memory");
	return -1;
}

static int vehicle_hour_cmp(const void *a, const void *b)
{
	const struct st_vehicle_hour_key *x = &((const struct vehicle_hour *)a)->k;
	const struct st_vehicle_hour_key *y = &((const struct vehicle_hour *)b)->k;

	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	if (x->route_id != y->route_id)
		return x->route_id < y->route_id ? -1 : 1;
	return x->vehicle_id < y->vehicle_id ? -1 : x->vehicle_id > y->vehicle_id;
}

/* Route level: each vehicle's hour summed over the partials (its
 * validators and its counter may belong to other instances), then set
 * against its counts by reconcile. */
static int route_rows(struct merging *m)
{
	if (m->nvh > 1)
		qsort(m->vh, m->nvh, sizeof(m->vh[0]), vehicle_hour_cmp);
	for (size_t i = 0; i < m->nvh;) {
		struct vehicle_hour sum = m->vh[i];

		for (i++; i < m->nvh && vehicle_hour_cmp(&sum, &m->vh[i]) == 0; i++) {
			sum.v.accepted += m->vh[i].v.accepted;
			for (int s = 0; s < 2; s++) {
				sum.v.source[s].records += m->vh[i].v.source[s].records;
				sum.v.source[s].boardings += m->vh[i].v.source[s].boardings;
				sum.v.source[s].alightings += m->vh[i].v.source[s].alightings;
			}
		}
		if (st_reconcile_add_vehicle_hour(&m->rows[0], &sum.k, &sum.v) != 0)
			return -1;
	}
	st_reconcile_merge(&m->rows[0]);
	return 0;
}

/* The validation rate's rows into b, as st_reconcile_foreach gives them to
 * an export of one database: the stop level's door cells against the
 * merged tap cells, completeness from every partial's complete hours. */
static int rate_rows(struct merging *m, struct build *b, uint32_t date)
{
	if (route_rows(m) != 0)
		return -1;
	st_reconcile_merge(&m->rows[1]);
	for (size_t i = 0; m->rows[1].n > 0 && i < b->rs.rshf.n; i++) {
		const struct kp_rs_group *g = &b->rs.rshf.g[i];
		const struct st_tap_agg_key k = { date, (uint8_t)g->k[2], g->k[0], g->k[1], (uint16_t)g->k[3] };
		const struct st_tap_agg_val v = { g->v[KP_RS_ACCEPTED], g->v[KP_RS_DENIED], g->v[KP_RS_AMOUNT] };

		st_reconcile_add_taps(&m->rows[1], &k, &v);
	}
	for (int l = 0; l < 2; l++) {
		struct st_reconcile_rows *rows = &m->rows[l];

		for (size_t i = 0; i < rows->n; i++)
			rows->v[i].complete = (m->complete[rows->v[i].source - 1] >> rows->v[i].hour) & 1;
		st_reconcile_service_order(rows, b->start_hour);
		b->rs.rate[l] = (struct kp_rate_rows){ .from = date, .to = date,
			                               .level = l ? ST_RECONCILE_STOP : ST_RECONCILE_ROUTE,
			                               .v = rows->v, .n = rows->n, .cap = rows->cap };
		*rows = (struct st_reconcile_rows){ 0 };
	}
	return 0;
}

static int text_field(const cJSON *a, int i, char *out)
{
	const cJSON *s = cJSON_GetArrayItem(a, i);

	if (!cJSON_IsString(s) || strlen(s->valuestring) > ST_GTFS_TEXT_MAX)
		return -1;
	memcpy(out, s->valuestring, strlen(s->valuestring) + 1);
	return 0;
}

/* The feed of partition 0 (every instance imports the city's one feed). */
static int read_feed(const struct loaded *l, struct od_tables *out, char err[OD_ERR_SIZE])
{
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(l->doc, "routes");
	const cJSON *stops = cJSON_GetObjectItemCaseSensitive(l->doc, "stops"), *a;
	uint64_t id;

	if (!cJSON_IsArray(routes) || !cJSON_IsArray(stops))
		goto bad;
	out->routes = calloc((size_t)cJSON_GetArraySize(routes) + 1, sizeof(*out->routes));
	out->stops = calloc((size_t)cJSON_GetArraySize(stops) + 1, sizeof(*out->stops));
	if (out->routes == NULL || out->stops == NULL) {
		snprintf(err, OD_ERR_SIZE, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(a, routes)
	{
		struct st_gtfs_route *r = &out->routes[out->nroutes];

		if (cJSON_GetArraySize(a) != 4 || whole_number(cJSON_GetArrayItem(a, 0), 4294967295.0, &id) != 0 ||
		    text_field(a, 1, r->gtfs_id) || text_field(a, 2, r->short_name) || text_field(a, 3, r->long_name))
			goto bad;
		r->id = (uint32_t)id;
		out->nroutes++;
	}
	cJSON_ArrayForEach(a, stops)
	{
		struct st_gtfs_stop *s = &out->stops[out->nstops];

		if (cJSON_GetArraySize(a) != 3 || whole_number(cJSON_GetArrayItem(a, 0), 4294967295.0, &id) != 0 ||
		    text_field(a, 1, s->gtfs_id) || text_field(a, 2, s->name))
			goto bad;
		s->id = (uint32_t)id;
		out->nstops++;
	}
	out->routes_cap = out->nroutes;
	out->stops_cap = out->nstops;
	return 0;
bad:
	snprintf(err, OD_ERR_SIZE, "%.160s: malformed GTFS feed", l->path);
	return -1;
}

static int riders_cmp(const void *a, const void *b)
{
	const struct route_riders *x = a, *y = b;

	return x->route < y->route ? -1 : x->route > y->route;
}

/* The merged sketches' estimates into b's read set, routes in order. */
static int estimates(const struct merging *m, struct build *b)
{
	b->rs.riders = calloc(m->ns + 1, sizeof(*b->rs.riders));
	if (b->rs.riders == NULL)
		return -1;
	for (size_t i = 0; i < m->ns; i++) {
		double e = st_hll_estimate(m->s[i].h);

		if (m->s[i].route == ST_RIDERS_ALL) {
			b->rs.have_day_riders = 1;
			b->rs.day_riders = e;
		} else {
			b->rs.riders[b->rs.nriders++] = (struct route_riders){ m->s[i].route, e };
		}
	}
	b->rs.riders_cap = m->ns + 1;
	if (b->rs.nriders > 1)
		qsort(b->rs.riders, b->rs.nriders, sizeof(b->rs.riders[0]), riders_cmp);
	return 0;
}

/* Provenance: BLAKE2b-256 of the heads in partition order; seq their sum. */
static void chain_of(const struct loaded *l, size_t n, struct od_tables *out)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, ST_CHAIN_HEAD_SIZE);
	out->chain_seq = 0;
	for (uint32_t k = 0; k < n; k++)
		for (size_t i = 0; i < n; i++)
			if (l[i].p.k == k) {
				crypto_generichash_update(&st, l[i].head, sizeof(l[i].head));
				out->chain_seq += l[i].seq;
			}
	crypto_generichash_final(&st, out->chain_head, ST_CHAIN_HEAD_SIZE);
}

static int merge_loaded(const struct loaded *l, size_t n, const struct od_disclosure *d, struct od_tables *out,
                        char err[OD_ERR_SIZE])
{
	struct merging m = { .complete = { ALL_HOURS, ALL_HOURS } };
	struct build b = { .out = out, .d = d, .start_hour = l[0].start_hour };
	int rc = 0;

	m.cells.q = (struct kp_rs_query){ .kind = KP_RS_TAPS, .from = out->service_date, .to = out->service_date,
		                          .by = { KP_RS_ROUTE, KP_RS_STOP, KP_RS_HOUR, KP_RS_FARE }, .nby = 4 };
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = read_cells(&l[i], &m.cells, err);
		if (rc == 0)
			rc = read_riders(&l[i], &m, err);
		if (rc == 0)
			rc = read_cameras(&l[i], &m, out->service_date, err);
		if (rc == 0 && l[i].p.k == 0)
			rc = read_feed(&l[i], out, err);
	}
	if (rc == 0) {
		sum_cells(&m.cells);
		b.rs.rshf = m.cells;
		m.cells = (struct kp_rs_result){ 0 };
		if (kp_rs_rollup(&b.rs.rshf, 3, &b.rs.rsh) != ST_OK || estimates(&m, &b) != 0 ||
		    rate_rows(&m, &b, out->service_date) != 0) {
			snprintf(err, OD_ERR_SIZE, "out of memory");
			rc = -1;
		}
	}
	if (rc == 0) {
		chain_of(l, n, out);
		rc = tb_build_tables(&b, err);
	}
	tb_build_free(&b);
	kp_rs_free(&m.cells);
	for (size_t i = 0; i < m.ns; i++)
		free(m.s[i].h);
	free(m.s);
	free(m.vh);
	free(m.rows[0].v);
	free(m.rows[1].v);
	return rc;
}

int od_merge_build(const char *const *paths, size_t n, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                   uint32_t date, const struct od_disclosure *d, struct od_tables *out, char err[OD_ERR_SIZE])
{
	struct loaded *l = calloc(n ? n : 1, sizeof(*l));
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->service_date = date;
	if (l == NULL || n == 0) {
		snprintf(err, OD_ERR_SIZE, l == NULL ? "out of memory" : "no partial given");
		free(l);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load(paths[i], pks, npk, date, &l[i], err);
	if (rc == 0)
		rc = check_set(l, n, err);
	if (rc == 0)
		rc = merge_loaded(l, n, d, out, err);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(l[i].doc);
	free(l);
	return rc;
}
