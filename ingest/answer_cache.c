/*
 * answer_cache.c — a small array searched linearly (KP_CACHE_ENTRIES is
 * tens: a scan of short keys costs less than a hash table's upkeep), each
 * entry stamped with a use counter for least-recently-used eviction.
 */
#include "ingest/answer_cache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char key[KP_CACHE_KEY_MAX + 1];
	char etag[KP_CACHE_ETAG_MAX + 1];
	uint64_t rev;
	uint64_t used;
	char *body; /* NULL: the slot is free */
	struct kp_cached view;
};

struct kp_answer_cache {
	struct entry e[KP_CACHE_ENTRIES];
	size_t bytes;
	uint64_t clock;
};

struct kp_answer_cache *kp_answer_cache_new(void)
{
	return calloc(1, sizeof(struct kp_answer_cache));
}

static void drop(struct kp_answer_cache *c, struct entry *e)
{
	c->bytes -= e->view.len;
	free(e->body);
	e->body = NULL;
	e->view = (struct kp_cached){0};
}

void kp_answer_cache_free(struct kp_answer_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < KP_CACHE_ENTRIES; i++)
		if (c->e[i].body)
			drop(c, &c->e[i]);
	free(c);
}

static struct entry *find(struct kp_answer_cache *c, const char *key)
{
	for (size_t i = 0; i < KP_CACHE_ENTRIES; i++)
		if (c->e[i].body && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

const struct kp_cached *kp_answer_cache_get(struct kp_answer_cache *c, const char *key, uint64_t rev)
{
	struct entry *e = find(c, key);

	if (!e || e->rev != rev)
		return NULL;
	e->used = ++c->clock;
	return &e->view;
}

/* The taken slot used longest ago; NULL when none is taken. */
static struct entry *oldest(struct kp_answer_cache *c)
{
	struct entry *lru = NULL;

	for (size_t i = 0; i < KP_CACHE_ENTRIES; i++)
		if (c->e[i].body && (!lru || c->e[i].used < lru->used))
			lru = &c->e[i];
	return lru;
}

/* A free slot, made by dropping the oldest entry when there is none. */
static struct entry *free_slot(struct kp_answer_cache *c)
{
	for (size_t i = 0; i < KP_CACHE_ENTRIES; i++)
		if (!c->e[i].body)
			return &c->e[i];
	struct entry *e = oldest(c);
	drop(c, e);
	return e;
}

int kp_answer_cache_put(struct kp_answer_cache *c, const char *key, uint64_t rev, const char *body, size_t len,
                        const char *etag)
{
	struct entry *e = find(c, key);

	if (strlen(key) > KP_CACHE_KEY_MAX || strlen(etag) > KP_CACHE_ETAG_MAX || len > KP_CACHE_BYTES / 4)
		return -1;
	if (e)
		drop(c, e);
	while (c->bytes + len > KP_CACHE_BYTES)
		drop(c, oldest(c)); /* bytes > 0: some entry is taken */
	e = free_slot(c);
	e->body = malloc(len ? len : 1);
	if (!e->body)
		return -1;
	memcpy(e->body, body, len);
	strcpy(e->key, key);
	strcpy(e->etag, etag);
	e->rev = rev;
	e->used = ++c->clock;
	e->view = (struct kp_cached){e->body, len, e->etag};
	c->bytes += len;
	return 0;
}

size_t kp_answer_cache_bytes(const struct kp_answer_cache *c)
{
	return c->bytes;
}

size_t kp_answer_cache_entries(const struct kp_answer_cache *c)
{
	size_t n = 0;

	for (size_t i = 0; i < KP_CACHE_ENTRIES; i++)
		n += c->e[i].body != NULL;
	return n;
}
