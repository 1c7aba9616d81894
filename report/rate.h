/*
 * rate.h — the validation rate rows of a range of service dates: the rows
 * of st_reconcile_foreach (storage/reconcile.h), camera boardings and
 * alightings beside accepted taps, copied out of the read transaction (as
 * many as the camera cells of the range) so that the caller can answer
 * after the transaction ended. Used by `komposter stats --with-cameras`
 * and by /v1/ridership?with_cameras=1.
 */
#ifndef KP_REPORT_RATE_H
#define KP_REPORT_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"
#include "storage/reconcile.h"

struct kp_rate_rows {
	uint32_t from, to;
	enum st_reconcile_level level;
	struct st_reconcile_row *v; /* owned; n rows in reconcile's order */
	size_t n, cap;
};

/* Reads the rows of from..to at level in r, with completeness judged at
 * now_ms (Unix ms), into *out (initialised here: call kp_rate_free after,
 * whatever the result). Returns ST_OK, ST_ESTOP when out of memory, or the
 * storage error of the read. */
int kp_rate_collect(struct st_read *r, uint32_t from, uint32_t to, enum st_reconcile_level level, int64_t now_ms,
                    struct kp_rate_rows *out);

void kp_rate_free(struct kp_rate_rows *rows);

/* "signed", "nvr" or "unknown"; "route" or "stop". */
const char *kp_rate_source_name(uint8_t source);
const char *kp_rate_level_name(enum st_reconcile_level level);

/* The running rate of an incomplete row with boardings: 1 with *rate set,
 * 0 for a complete row or one without boardings (its rate, if any, is
 * st_reconcile_rate's). */
int kp_rate_partial(const struct st_reconcile_row *row, double *rate);

#endif
