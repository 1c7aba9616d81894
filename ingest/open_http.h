/*
 * open_http.h — the public open-data files under /open/, served from the
 * publish folder (publish_stage.h) with no token:
 *
 *   GET|HEAD /open/                 index.html
 *   GET|HEAD /open/index.json       index.json (and /open/index.html)
 *   GET|HEAD /open/DATE/vN/FILE     a file of a published package
 *
 * Each answer streams the file (http_body.h): the head carries its length,
 * the body preads it piece by piece. A package's files never change, so
 * they carry "Cache-Control: public, max-age=31536000, immutable" and an
 * ETag (a matching If-None-Match is answered 304); the index is no-cache.
 *
 * No path can leave the folder, by construction: DATE must be 8 digits of
 * a valid date, vN "v" and digits, FILE letters, digits, '_', '.' and '-'
 * without a leading dot; each is opened relative to the one before
 * (openat from the folder, O_NOFOLLOW at every step) and FILE must be a
 * regular file. Anything else, percent-escapes included, is 404 with
 * {"error": ...}.
 */
#ifndef KP_OPEN_HTTP_H
#define KP_OPEN_HTTP_H

#include "ingest/http.h"
#include "ingest/http_body.h"

#define KP_OPEN_IMMUTABLE "public, max-age=31536000, immutable"
#define KP_OPEN_FILE_NAME_MAX 64

/* The answer to a GET or HEAD whose path starts with /open, from
 * ctx->open_dir (NULL: every answer 404). Fills *out (free it with
 * kp_http_response_free). 0, or -1 when out of memory (*out empty). */
int kp_open_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                    struct kp_http_response *out);

#endif
