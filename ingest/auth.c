/*
 * auth.c — bearer tokens of operator requests (auth.h).
 */
#define _GNU_SOURCE /* memmem */
#include "ingest/auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/auth_limit.h"
#include "ingest/clock.h"
#include "storage/tokens.h"

#define AUTH_CHALLENGE "WWW-Authenticate: Bearer realm=\"komposter\"\r\n"
#define AUTH_INVALID "WWW-Authenticate: Bearer realm=\"komposter\", error=\"invalid_token\"\r\n"
#define BEARER "Bearer "

/* The token of "Bearer <token>", or NULL. */
static const char *bearer(const struct kp_http_value *v, size_t *len)
{
	const char *p = v->v;
	size_t n = v->len;

	if (!v->present || v->overflow || n < strlen(BEARER) || strncasecmp(p, BEARER, strlen(BEARER)) != 0)
		return NULL;
	p += strlen(BEARER);
	n -= strlen(BEARER);
	while (n > 0 && *p == ' ')
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*len = n;
	return n > 0 ? p : NULL;
}

static int refuse(struct kp_auth_refusal *why, int status, const char *extra, const char *msg)
{
	why->status = status;
	why->extra = extra;
	snprintf(why->msg, sizeof why->msg, "%s", msg);
	return -1;
}

/* 429 when req's address is throttled (auth_limit.h). */
static int throttled(const struct kp_http_ctx *ctx, const struct kp_http_request *req, uint64_t now_ms,
                     struct kp_auth_refusal *why)
{
	uint32_t wait = kp_auth_limit_wait(ctx->auth_limit, req->peer, now_ms);

	if (wait == 0)
		return 0;
	if (ctx->m != NULL)
		atomic_fetch_add_explicit(&ctx->m->http_auth_throttled, 1, memory_order_relaxed);
	snprintf(why->extra_buf, sizeof why->extra_buf, "Retry-After: %u\r\n", (unsigned)wait);
	refuse(why, 429, why->extra_buf, "");
	snprintf(why->msg, sizeof why->msg,
	         "too many wrong tokens from this address; try again in %u s", (unsigned)wait);
	return -1;
}

int kp_auth_check(const struct kp_http_ctx *ctx, struct st_read *r, const struct kp_http_request *req,
                  uint8_t needed, struct kp_auth_refusal *why)
{
	uint64_t now_ms = kp_now_mono_ns() / 1000000u;
	struct st_token t;
	size_t len = 0;
	const char *tok = bearer(&req->authorization, &len);
	int rc;

	if (tok == NULL)
		return refuse(why, 401, AUTH_CHALLENGE, "an operator token is needed: Authorization: Bearer <token>");
	/* Before the lookup: a throttled address learns nothing of its guess. */
	if (ctx->auth_limit != NULL && throttled(ctx, req, now_ms, why) != 0)
		return -1;
	rc = st_token_lookup(r, tok, len, &t);
	if (rc == ST_ENOTFOUND || (rc == ST_OK && t.revoked_at != 0)) {
		if (ctx->m != NULL)
			atomic_fetch_add_explicit(&ctx->m->http_auth_failures, 1, memory_order_relaxed);
		if (ctx->auth_limit != NULL)
			kp_auth_limit_fail(ctx->auth_limit, req->peer, now_ms);
		return refuse(why, 401, AUTH_INVALID, "the token is unknown or revoked");
	}
	if (rc != ST_OK) {
		refuse(why, 500, NULL, "");
		snprintf(why->msg, sizeof why->msg, "reading tokens: %s", st_strerror(rc));
		return -1;
	}
	if (!st_token_allows(&t, needed)) {
		refuse(why, 403, NULL, "");
		snprintf(why->msg, sizeof why->msg, "the token's scope (%s) does not allow this; it needs %s",
		         st_token_scope_name(t.scope), st_token_scope_name(needed));
		return -1;
	}
	return 0;
}

static int holds_token(const char *text, size_t len)
{
	return memmem(text, len, ST_TOKEN_PREFIX, strlen(ST_TOKEN_PREFIX)) != NULL;
}

/* Decoded too: "kpt%5F..." is a token once its value is decoded, and such a
 * URL must fail as loudly as a plain one. */
int kp_auth_token_in_query_text(const char *query, size_t len)
{
	char decoded[KP_HTTP_URL_MAX];

	if (query == NULL)
		return 0;
	if (holds_token(query, len))
		return 1;
	if (len > sizeof decoded)
		len = sizeof decoded; /* never: a query is part of a URL (http.h) */
	return holds_token(decoded, kp_query_decode(query, len, decoded));
}

int kp_auth_token_in_query(const struct kp_query *q)
{
	return kp_query_get(q, "token") != NULL || kp_query_get(q, "access_token") != NULL;
}

static int refuse_target(char msg[KP_AUTH_MSG_MAX], const char *text)
{
	snprintf(msg, KP_AUTH_MSG_MAX, "%s", text);
	return -1;
}

int kp_auth_target(const struct kp_http_request *req, struct kp_query *q, const char **path, size_t *path_len,
                   char msg[KP_AUTH_MSG_MAX])
{
	struct http_parser_url u;
	char err[KP_QUERY_ERR_MAX];
	const char *query = NULL;
	size_t query_len = 0;

	http_parser_url_init(&u);
	if (http_parser_parse_url(req->url, req->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
		return refuse_target(msg, "malformed request target");
	if (u.field_set & (1 << UF_QUERY)) {
		query = req->url + u.field_data[UF_QUERY].off;
		query_len = u.field_data[UF_QUERY].len;
	}
	/* Before anything that might echo a piece of the query back. */
	if (kp_auth_token_in_query_text(query, query_len))
		return refuse_target(msg, KP_AUTH_QUERY_MSG);
	if (kp_query_parse(query, query_len, q, err) != 0)
		return refuse_target(msg, err);
	if (kp_auth_token_in_query(q))
		return refuse_target(msg, KP_AUTH_QUERY_MSG);
	*path = req->url + u.field_data[UF_PATH].off;
	*path_len = u.field_data[UF_PATH].len;
	return 0;
}
