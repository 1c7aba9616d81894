/*
 * ui_http.h — the dashboards' static files under /ui/, served with no
 * token (the operator page asks the browser for a token and sends it to
 * /v1/ itself; the files hold no data):
 *
 *   GET|HEAD /ui/, /ui/public.html     the citizens' page (open data)
 *   GET|HEAD /ui/operator.html         the operators' page (/v1/)
 *   GET|HEAD /ui/NAME                  style.css, i18n.js, common.js,
 *                                      operator.js, live.js, public.js
 *   GET|HEAD /ui/vendor/NAME           uPlot.iife.min.js, uPlot.min.css
 *
 * from ctx->ui_dir ([http] ui_dir, the repository's web/ folder); the
 * vendor files from its node_modules/uplot/dist/, as `npm ci` put them.
 * Only these names exist: the path is compared with a fixed table, so no
 * request can name another file, and each is opened below the folder with
 * openat and O_NOFOLLOW at every step, and must be a regular file.
 *
 * Caching: HTML "no-cache" (a new version of the daemon's pages is seen at
 * once), the scripts and styles "public, max-age=300" (five minutes
 * stale at most after an upgrade); every answer carries an ETag of the
 * file's size and modification time, and a matching If-None-Match is 304.
 * Anything else under /ui/ is 404 with {"error": ...}.
 */
#ifndef KP_UI_HTTP_H
#define KP_UI_HTTP_H

#include "ingest/http.h"
#include "ingest/http_body.h"

#define KP_UI_ASSET_CACHE "public, max-age=300"

/* The answer to a GET or HEAD whose path starts with /ui (ctx->ui_dir
 * NULL: every answer 404). Fills *out (free it with
 * kp_http_response_free). 0, or -1 when out of memory (*out empty). */
int kp_ui_respond(const struct kp_http_ctx *ctx, struct kp_http_request *req, int head_only,
                  struct kp_http_response *out);

/* Whether dir holds the pages and uPlot (every file of the table opens),
 * for komposterd's start-up check. 0, or -1 with one line in why naming
 * the first missing file. */
int kp_ui_dir_usable(const char *dir, char *why, size_t size);

#endif
