/*
 * auth.h — who may ask: the bearer token of an operator request, checked
 * against the stored tokens (storage/tokens.h), and the refusal of a token
 * sent in a query string. Shared by every route that needs a token (api.c,
 * export_api.c), so that they all answer the same status for the same
 * mistake:
 *   - no `Authorization: Bearer <token>`: 401 with a Bearer challenge;
 *   - an unknown or revoked token: 401, error="invalid_token";
 *   - a token whose scope does not cover the route: 403;
 *   - an address that sent too many unknown or revoked tokens
 *     (auth_limit.h): 429 with Retry-After, before its token is looked at;
 *   - a token in the query (anything holding "kpt_", as sent or once its
 *     %XX escapes are decoded, or a token= or access_token= parameter): 400, checked before anything else so that
 *     such URLs fail loudly instead of ending up in logs that work.
 * A presented token is never compared with a stored one: its BLAKE2b hash
 * is the key of an LMDB lookup (storage/tokens.h), so the time of the
 * answer does not depend on how much of a valid token a guess matches.
 */
#ifndef KP_AUTH_H
#define KP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/http.h"
#include "ingest/query.h"
#include "storage/db.h"

#define KP_AUTH_MSG_MAX 256

/* Why a request was refused: the status, its extra headers (CRLF-ended
 * lines, static, or NULL) and a message fit for the answer. */
struct kp_auth_refusal {
	int status;
	const char *extra; /* static, or extra_buf */
	char extra_buf[64];
	char msg[KP_AUTH_MSG_MAX];
};

/* 0 when req's bearer token, looked up in r, is valid and its scope covers
 * needed (enum st_token_scope); -1 with *why filled otherwise (500 when the
 * tokens cannot be read). With ctx->auth_limit, an unknown or revoked token
 * counts against req->peer and a throttled peer is refused 429; both are
 * counted in ctx->m. */
int kp_auth_check(const struct kp_http_ctx *ctx, struct st_read *r, const struct kp_http_request *req,
                  uint8_t needed, struct kp_auth_refusal *why);

/* Whether the raw query text (len bytes, NULL for none) holds something
 * that looks like a token, as sent or decoded (kp_query_decode): to be
 * checked before it is parsed, whose errors may quote it. */
int kp_auth_token_in_query_text(const char *query, size_t len);
/* Whether the parsed query has a token= or access_token= parameter. */
int kp_auth_token_in_query(const struct kp_query *q);

#define KP_AUTH_QUERY_MSG "tokens go in the Authorization header"

/* The target of a request to a route that needs a token: splits req's URL
 * (http_parser_parse_url), refuses a token in its query before anything
 * else, then parses the query strictly into q. 0 with the path in
 * path[0..path_len) (borrowed from req), or -1 with the answer's message
 * in msg: every such mistake is a 400. */
int kp_auth_target(const struct kp_http_request *req, struct kp_query *q, const char **path, size_t *path_len,
                   char msg[KP_AUTH_MSG_MAX]);

#endif
