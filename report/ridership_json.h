/*
 * ridership_json.h — the JSON documents of ridership answers, built with
 * cJSON, the same for `komposter stats --json` and the HTTP API (field
 * names are an interface: scripts and the open-data portal read them).
 *
 * Integers are 64-bit sums; cJSON keeps numbers as doubles, exact only up
 * to 2^53, so they are added as raw decimal text and come out exact. Each
 * builder returns a new document the caller deletes (cJSON_Delete), or
 * NULL when out of memory. kp_rs_json_text prints one as the command does
 * (cJSON_Print, indented, and a newline).
 */
#ifndef KP_REPORT_RIDERSHIP_JSON_H
#define KP_REPORT_RIDERSHIP_JSON_H

#include <cjson/cJSON.h>

#include "report/rate.h"
#include "report/ridership.h"

/* {"from", "to", "by": [names], "rows": [{<dims by json key>, <sums>}],
 * "total": {<sums>}}. Sums of taps: "accepted", "denied", "amount"; of
 * counts: "boardings", "alightings", and with_load "peak" and "mean"
 * (null without samples). */
cJSON *kp_rs_json(const struct kp_rs_result *res);

/* {"from", "to", "by": "route"|"stop", "rows": [{"date", "hour",
 * "route_id"|"stop_id", "source", "boardings", "alightings", "accepted",
 * "complete", "rate"}]}: rate null unless the row is complete with
 * boardings; with partial, an incomplete row with boardings has
 * "partial_rate" too. */
cJSON *kp_rate_json(const struct kp_rate_rows *rows, int partial);

/* doc as `komposter stats --json` prints it: indented, newline-terminated,
 * malloc'd (free it), NULL when out of memory. */
char *kp_rs_json_text(const cJSON *doc, size_t *len);

#endif
