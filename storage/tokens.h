/*
 * tokens.h — operator tokens for the HTTP API (`Authorization: Bearer`).
 *
 * A token is "kpt_" and the 43 characters of the base64url (no padding)
 * encoding of 32 random bytes (libsodium's randombytes). It is shown once,
 * by st_token_create, and never stored: the table `tokens` keeps only its
 * BLAKE2b-256 hash (crypto_generichash, unkeyed), as the record's key, with
 * a short random id (8 hex digits, for listing and revoking), a name, a
 * scope, and the times of creation and revocation. Nothing that reads the
 * table (st_token_foreach, st_token_lookup) can give back the token or its
 * hash.
 *
 * Lookup hashes the presented text and does one get by that hash. This
 * needs no constant-time comparison: the secret is never compared, only its
 * hash is searched for, and what the timing of the B-tree search could leak
 * is how a hash the attacker chose relates to the stored hashes, which says
 * nothing about any token (finding a token from its hash is a preimage of
 * BLAKE2b), and guessing 256 random bits is out of reach whatever leaks.
 *
 * Scopes: read (ridership, devices) and export (record-level exports);
 * export implies read. A revoked token stays listed with its revoked_at,
 * and allows nothing. Writes open and commit their own write transaction;
 * a change is visible to every read transaction begun after it returns, so
 * the daemon honours a revocation at the next request.
 */
#ifndef ST_TOKENS_H
#define ST_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

#define ST_TOKEN_SECRET_BYTES 32
#define ST_TOKEN_PREFIX "kpt_"
#define ST_TOKEN_TEXT_LEN 47 /* "kpt_" + 43 base64url characters */
#define ST_TOKEN_HASH_BYTES 32
#define ST_TOKEN_ID_BYTES 4
#define ST_TOKEN_ID_LEN 8 /* lowercase hex of the id bytes */
#define ST_TOKEN_NAME_MAX 63

enum st_token_scope {
	ST_TOKEN_READ = 1,
	ST_TOKEN_EXPORT = 2, /* implies read */
};

struct st_token {
	char id[ST_TOKEN_ID_LEN + 1];
	char name[ST_TOKEN_NAME_MAX + 1]; /* "" when none was given */
	uint8_t scope;                    /* enum st_token_scope */
	int64_t created_at;               /* Unix ms */
	int64_t revoked_at;               /* Unix ms; 0 while valid */
};

/* Makes a token of scope with name (NULL or "" for none; printable ASCII,
 * at most ST_TOKEN_NAME_MAX bytes) at now_ms; writes its text (NUL-
 * terminated) to text, the only copy there will ever be, and its record to
 * *out (may be NULL). ST_EINVAL for a bad scope or name; storage errors
 * otherwise. */
int st_token_create(struct st_db *db, uint8_t scope, const char *name, int64_t now_ms,
                    char text[ST_TOKEN_TEXT_LEN + 1], struct st_token *out);

/* Revokes the token with id at now_ms. ST_ENOTFOUND when there is none;
 * ST_OK when it was revoked already (its first revoked_at stays). */
int st_token_revoke(struct st_db *db, const char *id, int64_t now_ms);

/* The record of the token whose text is presented (len bytes, need not be
 * NUL-terminated), revoked or not: ST_OK, or ST_ENOTFOUND for an unknown
 * token or a text that cannot be one. */
int st_token_lookup(struct st_read *r, const char *presented, size_t len, struct st_token *out);

/* Every token, in the order of their hashes (random: sort to show). fn
 * returns 0 to go on, nonzero to stop (then ST_ESTOP). */
int st_token_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_token *t), void *ctx);

/* Whether t is not revoked and its scope covers needed. */
bool st_token_allows(const struct st_token *t, uint8_t needed);

const char *st_token_scope_name(uint8_t scope); /* "read", "export"; "unknown" otherwise */
int st_token_scope_parse(const char *name);      /* enum value, or -1 */

#endif
