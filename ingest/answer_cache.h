/*
 * answer_cache.h — ridership answers kept in memory on the loop's thread,
 * so that a dashboard or a portal asking the same question again gets the
 * bytes, not a recomputation (building the document is what an answer
 * costs: allocations and printing, measured with perf).
 *
 * An entry is one canonical question's body and ETag at one revision of
 * its dates (storage/date_rev.h). The caller reads the dates' revision in
 * the request's own read transaction and asks for that revision: an entry
 * built at another one is never served, so a cached answer is never older
 * than what the database would give.
 *
 * Bounded: at most KP_CACHE_ENTRIES entries and KP_CACHE_BYTES of bodies;
 * the least recently used entry goes first; a body over KP_CACHE_BYTES / 4
 * is not kept. Not thread-safe: the loop's thread only.
 */
#ifndef KP_ANSWER_CACHE_H
#define KP_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define KP_CACHE_ENTRIES 64
#define KP_CACHE_BYTES ((size_t)8 << 20)
#define KP_CACHE_KEY_MAX 96
#define KP_CACHE_ETAG_MAX 40

struct kp_answer_cache;

struct kp_cached {
	const char *body;
	size_t len;
	const char *etag;
};

struct kp_answer_cache *kp_answer_cache_new(void);
void kp_answer_cache_free(struct kp_answer_cache *c);

/* The entry of key at rev, or NULL. A hit becomes the most recently used;
 * what it points to stays valid until the next put. */
const struct kp_cached *kp_answer_cache_get(struct kp_answer_cache *c, const char *key, uint64_t rev);

/* Keeps a copy of body and etag under key at rev, replacing what key held.
 * Returns 0, or -1 when it is not kept (too large, a key or ETag over its
 * limit, out of memory): the caller answers all the same. */
int kp_answer_cache_put(struct kp_answer_cache *c, const char *key, uint64_t rev, const char *body, size_t len,
                        const char *etag);

/* Bodies kept, in bytes, and entries: for the metrics and the tests. */
size_t kp_answer_cache_bytes(const struct kp_answer_cache *c);
size_t kp_answer_cache_entries(const struct kp_answer_cache *c);

#endif
