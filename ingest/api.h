/*
 * api.h — the operator API under /v1/ (README, "HTTP API"), answered on the
 * io_uring loop's thread from one short LMDB read transaction per request
 * (readers never wait on the writer; the answer is printed after the
 * transaction ended).
 *
 *   GET /v1/ridership?from=D&to=D&by=LIST[&with_cameras=1]
 *       the document of `komposter stats --json` (report/ridership_json.h),
 *       byte for byte; with_cameras=1 and by=route|stop: that of
 *       `stats --with-cameras --json`.
 *   GET /v1/devices, GET /v1/devices/{16 hex digits}: the registry
 *       (report/devices.h); an unknown id is 404.
 *   GET /v1/live: the daemon's own counters the live panel shows
 *       (kp_metrics_live, metrics.h), never cached.
 *
 * Every request needs `Authorization: Bearer <token>` (storage/tokens.h):
 * 401 with `WWW-Authenticate: Bearer` when missing, unknown or revoked; 403
 * when its scope does not cover the route (all routes today need read). A
 * token-like parameter in the query string (token=, access_token=) is 400,
 * before anything else, so that such URLs fail loudly instead of ending up
 * in logs that work. Query strings are parsed strictly (ingest/query.h);
 * an unknown parameter is 400 naming it.
 *
 * Errors are {"error": "..."} with Content-Type: application/json. A
 * ridership answer carries an ETag (a BLAKE2b-128 of the body); If-None-Match
 * with it is 304. Its range is closed when its last date had ended
 * KP_API_CLOSED_GRACE_MS before now (late taps of offline validators may
 * still arrive until then): a closed answer is
 * `Cache-Control: private, max-age=86400` (private: it was authorised, so
 * no shared cache may hand it to anyone else), any other `no-store`.
 */
#ifndef KP_API_H
#define KP_API_H

#include <stddef.h>

#include "ingest/http.h"

#define KP_API_CLOSED_GRACE_MS (24 * 3600 * 1000LL)
/* The longest range of service dates one ridership request may ask for:
 * the answer is built in memory and read in one read transaction on the
 * loop's thread, so a request for a century must not be one. */
#define KP_API_RANGE_DAYS_MAX 366
#define KP_API_CLOSED_CACHE "private, max-age=86400"

/* Fills r (http_body.h) with the answer to a request whose URL starts with
 * /v1. Returns 0, or -1 when out of memory. */
int kp_api_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                   struct kp_http_response *r);

/* {"error": msg} with status and extra_headers (CRLF-terminated lines, or
 * NULL); malloc'd, NULL when out of memory. */
char *kp_api_error(int status, const char *msg, const char *extra_headers, int head_only, size_t *len);

#endif
