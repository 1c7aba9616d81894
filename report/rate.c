/*
 * rate.c — collecting validation rate rows (rate.h).
 */
#include "report/rate.h"

#include <stdlib.h>
#include <string.h>

#include "storage/count_agg.h"

#define ROWS_INITIAL 256

static int collect_row(void *ctx, const struct st_reconcile_row *row)
{
	struct kp_rate_rows *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : ROWS_INITIAL;
		struct st_reconcile_row *p = realloc(l->v, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *row;
	return 0;
}

int kp_rate_collect(struct st_read *r, uint32_t from, uint32_t to, enum st_reconcile_level level, int64_t now_ms,
                    struct kp_rate_rows *out)
{
	memset(out, 0, sizeof(*out));
	out->from = from;
	out->to = to;
	out->level = level;
	return st_reconcile_foreach(r, from, to, level, now_ms, collect_row, out);
}

void kp_rate_free(struct kp_rate_rows *rows)
{
	free(rows->v);
	rows->v = NULL;
	rows->n = rows->cap = 0;
}

const char *kp_rate_source_name(uint8_t source)
{
	switch (source) {
	case ST_COUNT_SOURCE_SIGNED: return "signed";
	case ST_COUNT_SOURCE_NVR: return "nvr";
	default: return "unknown";
	}
}

const char *kp_rate_level_name(enum st_reconcile_level level)
{
	return level == ST_RECONCILE_ROUTE ? "route" : "stop";
}

int kp_rate_partial(const struct st_reconcile_row *row, double *rate)
{
	if (row->complete || row->boardings == 0)
		return 0;
	*rate = (double)row->accepted / (double)row->boardings;
	return 1;
}
