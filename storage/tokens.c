/*
 * tokens.c — operator tokens (tokens.h).
 *
 * tokens: key BLAKE2b-256(token text) (32 bytes) → value (88 bytes):
 *   scope u8, reserved u8[3] = 0, id u8[4], created_at i64 LE,
 *   revoked_at i64 LE (0 while valid), name[64] (NUL-padded).
 * The hash covers the whole text, prefix included. Revoking by id walks the
 * table (an operator's handful of tokens) and rewrites the record in place.
 */
#include "storage/tokens.h"

#include <sodium.h>

#include "firmware-proto/hex.h"
#include "storage/db_internal.h"

#define TOK_VAL_SIZE 88
#define TOK_SCOPE 0
#define TOK_RESERVED 1
#define TOK_RESERVED_SIZE 3
#define TOK_ID 4
#define TOK_CREATED 8
#define TOK_REVOKED 16
#define TOK_NAME 24
#define TOK_B64_LEN 43
#define ID_TRIES 8

_Static_assert(TOK_NAME + ST_TOKEN_NAME_MAX + 1 == TOK_VAL_SIZE, "token value layout");
_Static_assert(sizeof ST_TOKEN_PREFIX - 1 + TOK_B64_LEN == ST_TOKEN_TEXT_LEN, "token text length");

static bool scope_ok(uint8_t scope)
{
	return scope == ST_TOKEN_READ || scope == ST_TOKEN_EXPORT;
}

static bool name_ok(const char *name)
{
	size_t len = strnlen(name, ST_TOKEN_NAME_MAX + 1);

	if (len > ST_TOKEN_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < ' ' || name[i] >= 0x7f)
			return false;
	return true;
}

static void token_encode(const struct st_token *t, const uint8_t id[ST_TOKEN_ID_BYTES], uint8_t out[TOK_VAL_SIZE])
{
	memset(out, 0, TOK_VAL_SIZE);
	out[TOK_SCOPE] = t->scope;
	memcpy(out + TOK_ID, id, ST_TOKEN_ID_BYTES);
	kp_store_u64le(out + TOK_CREATED, (uint64_t)t->created_at);
	kp_store_u64le(out + TOK_REVOKED, (uint64_t)t->revoked_at);
	memcpy(out + TOK_NAME, t->name, strlen(t->name));
}

static int token_decode(const MDB_val *k, const MDB_val *v, struct st_token *t)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != ST_TOKEN_HASH_BYTES || v->mv_size != TOK_VAL_SIZE || !scope_ok(p[TOK_SCOPE]) ||
	    p[TOK_RESERVED] || p[TOK_RESERVED + 1] || p[TOK_RESERVED + 2] ||
	    p[TOK_NAME + ST_TOKEN_NAME_MAX] != 0)
		return ST_ECORRUPT;
	memset(t, 0, sizeof *t);
	t->scope = p[TOK_SCOPE];
	kp_hex_encode(p + TOK_ID, ST_TOKEN_ID_BYTES, t->id);
	t->id[ST_TOKEN_ID_LEN] = '\0';
	t->created_at = (int64_t)kp_load_u64le(p + TOK_CREATED);
	t->revoked_at = (int64_t)kp_load_u64le(p + TOK_REVOKED);
	memcpy(t->name, p + TOK_NAME, ST_TOKEN_NAME_MAX + 1);
	return name_ok(t->name) ? ST_OK : ST_ECORRUPT;
}

static void token_hash(const char *text, size_t len, uint8_t out[ST_TOKEN_HASH_BYTES])
{
	crypto_generichash(out, ST_TOKEN_HASH_BYTES, (const unsigned char *)text, len, NULL, 0);
}

/* ---- create ---- */

struct create_ctx {
	MDB_dbi dbi;
	uint8_t hash[ST_TOKEN_HASH_BYTES];
	uint8_t id[ST_TOKEN_ID_BYTES];
	struct st_token *t;
};

struct find_id {
	const char *id; /* hex */
	uint8_t key[ST_TOKEN_HASH_BYTES]; /* out: the record's key, copied */
	struct st_token t;
	int found;
};

static int visit_find_id(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct find_id *f = ctx;
	int rc = token_decode(k, v, &f->t);

	(void)cur;
	if (rc != ST_OK)
		return rc;
	if (strcmp(f->t.id, f->id) != 0)
		return ST_OK;
	f->found = 1;
	memcpy(f->key, k->mv_data, sizeof f->key);
	return ST_WALK_DONE;
}

static int create_txn(void *ctx, MDB_txn *txn)
{
	struct create_ctx *c = ctx;
	uint8_t vb[TOK_VAL_SIZE];
	MDB_val k = { sizeof c->hash, c->hash }, v = { sizeof vb, vb };
	int rc;

	/* The id is short: draw another while it is taken. */
	for (int tries = 0;; tries++) {
		struct find_id f = { .id = c->t->id };

		rc = st_walk(txn, c->dbi, NULL, visit_find_id, &f);
		if (rc != ST_OK)
			return rc;
		if (!f.found)
			break;
		if (tries == ID_TRIES)
			return ST_EEXIST;
		randombytes_buf(c->id, sizeof c->id);
		kp_hex_encode(c->id, sizeof c->id, c->t->id);
		c->t->id[ST_TOKEN_ID_LEN] = '\0';
	}
	token_encode(c->t, c->id, vb);
	return st_status(mdb_put(txn, c->dbi, &k, &v, MDB_NOOVERWRITE));
}

int st_token_create(struct st_db *db, uint8_t scope, const char *name, int64_t now_ms,
                    char text[ST_TOKEN_TEXT_LEN + 1], struct st_token *out)
{
	uint8_t secret[ST_TOKEN_SECRET_BYTES];
	struct st_token t = { .scope = scope, .created_at = now_ms };
	struct create_ctx c;
	int rc;

	if (!db || !text || !scope_ok(scope) || (name && !name_ok(name)))
		return ST_EINVAL;
	if (sodium_init() < 0)
		return ST_EIO;
	if (name)
		memcpy(t.name, name, strlen(name));
	randombytes_buf(secret, sizeof secret);
	memcpy(text, ST_TOKEN_PREFIX, sizeof ST_TOKEN_PREFIX - 1);
	sodium_bin2base64(text + sizeof ST_TOKEN_PREFIX - 1, TOK_B64_LEN + 1, secret, sizeof secret,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof secret);
	c = (struct create_ctx){ .dbi = db->dbi.tokens, .t = &t };
	token_hash(text, ST_TOKEN_TEXT_LEN, c.hash);
	randombytes_buf(c.id, sizeof c.id);
	kp_hex_encode(c.id, sizeof c.id, t.id);
	t.id[ST_TOKEN_ID_LEN] = '\0';
	rc = st_write_run(db, create_txn, &c, NULL);
	if (rc != ST_OK) {
		sodium_memzero(text, ST_TOKEN_TEXT_LEN + 1);
		return rc;
	}
	if (out)
		*out = t;
	return ST_OK;
}

/* ---- revoke ---- */

struct revoke_ctx {
	MDB_dbi dbi;
	const char *id;
	int64_t now_ms;
};

static int revoke_txn(void *ctx, MDB_txn *txn)
{
	struct revoke_ctx *rv = ctx;
	struct find_id f = { .id = rv->id };
	uint8_t vb[TOK_VAL_SIZE];
	MDB_val k = { sizeof f.key, f.key }, v = { sizeof vb, vb }, old;
	int rc = st_walk(txn, rv->dbi, NULL, visit_find_id, &f);

	if (rc != ST_OK)
		return rc;
	if (!f.found)
		return ST_ENOTFOUND;
	if (f.t.revoked_at != 0)
		return ST_OK;
	rc = st_status(mdb_get(txn, rv->dbi, &k, &old));
	if (rc != ST_OK)
		return rc;
	memcpy(vb, old.mv_data, sizeof vb);
	kp_store_u64le(vb + TOK_REVOKED, (uint64_t)rv->now_ms);
	return st_status(mdb_put(txn, rv->dbi, &k, &v, 0));
}

int st_token_revoke(struct st_db *db, const char *id, int64_t now_ms)
{
	struct revoke_ctx rv = { .id = id, .now_ms = now_ms };

	if (!db || !id || strlen(id) != ST_TOKEN_ID_LEN || now_ms <= 0)
		return ST_EINVAL;
	rv.dbi = db->dbi.tokens;
	return st_write_run(db, revoke_txn, &rv, NULL);
}

/* ---- reads ---- */

int st_token_lookup(struct st_read *r, const char *presented, size_t len, struct st_token *out)
{
	uint8_t hash[ST_TOKEN_HASH_BYTES];
	MDB_val k = { sizeof hash, hash }, v;
	int rc;

	if (!r || !r->txn || !presented || !out)
		return ST_EINVAL;
	if (len != ST_TOKEN_TEXT_LEN || memcmp(presented, ST_TOKEN_PREFIX, sizeof ST_TOKEN_PREFIX - 1) != 0)
		return ST_ENOTFOUND;
	token_hash(presented, len, hash);
	rc = st_status(mdb_get(r->txn, r->db->dbi.tokens, &k, &v));
	if (rc == ST_OK)
		rc = token_decode(&k, &v, out);
	return rc;
}

struct token_visit {
	int (*fn)(void *ctx, const struct st_token *t);
	void *ctx;
};

static int visit_token(void *ctx, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	const struct token_visit *tv = ctx;
	struct st_token t;
	int rc = token_decode(k, v, &t);

	(void)cur;
	if (rc == ST_OK && tv->fn(tv->ctx, &t) != 0)
		rc = ST_ESTOP;
	return rc;
}

int st_token_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_token *t), void *ctx)
{
	struct token_visit tv = { fn, ctx };

	if (!r || !r->txn || !fn)
		return ST_EINVAL;
	return st_walk(r->txn, r->db->dbi.tokens, NULL, visit_token, &tv);
}

bool st_token_allows(const struct st_token *t, uint8_t needed)
{
	return t->revoked_at == 0 && scope_ok(t->scope) && t->scope >= needed;
}

const char *st_token_scope_name(uint8_t scope)
{
	switch (scope) {
	case ST_TOKEN_READ: return "read";
	case ST_TOKEN_EXPORT: return "export";
	default: return "unknown";
	}
}

int st_token_scope_parse(const char *name)
{
	if (strcmp(name, "read") == 0)
		return ST_TOKEN_READ;
	if (strcmp(name, "export") == 0)
		return ST_TOKEN_EXPORT;
	return -1;
}
