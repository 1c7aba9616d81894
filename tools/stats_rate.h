/*
 * stats_rate.h — `komposter stats --with-cameras`: the rows of
 * st_reconcile_foreach (storage/reconcile.h) for a range of service dates,
 * camera boardings and alightings beside the accepted taps, with the
 * validation rate where the row is complete. cmd_stats.c parses the
 * command line and calls this.
 */
#ifndef KP_STATS_RATE_H
#define KP_STATS_RATE_H

#include <stdint.h>

#include "storage/db.h"
#include "storage/reconcile.h"

/* Reads the rows of from..to at level in one read transaction, ended
 * before anything is printed; prints a table, or with json an object
 * {"from", "to", "by", "rows": [...]}. With partial, an incomplete row
 * with boardings shows its running rate too, marked '*' in the table and
 * as "partial_rate" in JSON ("rate" stays null). Returns the exit status
 * (enum kp_exit); failures are reported as cmd's. */
int stats_rate_print(struct st_db *db, const char *cmd, uint32_t from, uint32_t to,
                     enum st_reconcile_level level, int json, int partial);

#endif
