/*
 * export_api.h — the record-level exports under /v1/export/ (README,
 * "Record-level exports (TIDES)"), streamed: the answer's head is made at
 * once, its body row by row on the loop (ingest/http_body.h) by the TIDES
 * producer (report/tides.h).
 *
 *   GET|HEAD /v1/export/fare_transactions.csv?from=D&to=D
 *   GET|HEAD /v1/export/passenger_events.csv?from=D&to=D
 *       D is YYYY-MM-DD; to defaults to today's service date, from to to;
 *       from..to spans at most KP_API_RANGE_DAYS_MAX days (api.h).
 *       200: text/csv, Transfer-Encoding: chunked, Cache-Control: no-store
 *       (record-level rows are never cached anywhere).
 *
 * Refusals, as {"error": "..."} (api.h's kp_api_error), in this order: a
 * token in the query 400; a malformed query 400; no, an unknown or a
 * revoked token 401; a token without the export scope 403 (auth.h);
 * another path under /v1/export/ 404; an unknown parameter, a bad date or
 * range 400; no database 503. The token is checked and the export's
 * snapshot (the log's last seq) taken in the same read transaction, so an
 * export begun by a token revoked a moment later still ends, and sees
 * nothing written after it began. A storage error in the middle of the
 * body cuts the connection (http_body.h): the client sees a truncated
 * answer, never a short one.
 */
#ifndef KP_EXPORT_API_H
#define KP_EXPORT_API_H

#include "ingest/http.h"
#include "ingest/http_body.h"

#define KP_EXPORT_PREFIX "/v1/export/"
#define KP_EXPORT_CSV_TYPE "text/csv; charset=utf-8; header=present"

/* The answer to a request whose URL starts with KP_EXPORT_PREFIX, into
 * *out (owned by the caller: kp_http_response_free). 0, or -1 when out of
 * memory (*out then empty). A refusal is a whole answer in out->head with
 * no body; a 200 has a body unless head_only. */
int kp_export_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                      struct kp_http_response *out);

#endif
