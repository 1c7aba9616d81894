/*
 * stats_riders.h — `komposter stats --riders`: the distinct riders of a
 * range of service dates per route and per date (storage/riders.h), as
 * estimated by their HyperLogLog sketches, rounded, with the error stated.
 * cmd_stats.c parses the command line and calls this.
 */
#ifndef KP_STATS_RIDERS_H
#define KP_STATS_RIDERS_H

#include <stdint.h>

#include "storage/db.h"

/* Reads the cells of from..to in one read transaction, ended before
 * anything is printed; prints a table (route "all" for the date's total),
 * or with json an object {"from", "to", "standard_error", "rows": [{"date",
 * "route_id" (null for the date's total), "riders"}]}. Returns the exit
 * status (enum kp_exit); failures are reported as cmd's. */
int stats_riders_print(struct st_db *db, const char *cmd, uint32_t from, uint32_t to, int json);

#endif
