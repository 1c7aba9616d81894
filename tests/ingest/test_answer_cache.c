/*
 * Description: the answer cache (answer_cache.h) serves an entry only at
 * the revision it was built at, replaces a key's entry, drops the least
 * recently used entry when full (by count and by bytes), and refuses what
 * is over its limits without losing what it holds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/answer_cache.h"

static struct kp_answer_cache *c;

static void setup(void)
{
	c = kp_answer_cache_new();
	cr_assert_not_null(c);
}

static void teardown(void)
{
	kp_answer_cache_free(c);
}

TestSuite(answer_cache, .init = setup, .fini = teardown);

Test(answer_cache, an_entry_is_served_only_at_its_revision)
{
	cr_assert_eq(kp_answer_cache_put(c, "q1", 5, "{\"a\":1}", 7, "\"e1\""), 0);
	const struct kp_cached *hit = kp_answer_cache_get(c, "q1", 5);
	cr_assert_not_null(hit);
	cr_expect_eq(hit->len, 7);
	cr_expect(memcmp(hit->body, "{\"a\":1}", 7) == 0);
	cr_expect_str_eq(hit->etag, "\"e1\"");
	cr_expect_null(kp_answer_cache_get(c, "q1", 6), "served at a newer revision");
	cr_expect_null(kp_answer_cache_get(c, "q2", 5), "served for another question");
}

Test(answer_cache, a_put_replaces_the_keys_entry)
{
	cr_assert_eq(kp_answer_cache_put(c, "q1", 5, "old", 3, "\"1\""), 0);
	cr_assert_eq(kp_answer_cache_put(c, "q1", 6, "newer", 5, "\"2\""), 0);
	cr_expect_eq(kp_answer_cache_entries(c), 1);
	cr_expect_eq(kp_answer_cache_bytes(c), 5);
	cr_expect_null(kp_answer_cache_get(c, "q1", 5));
	cr_expect_not_null(kp_answer_cache_get(c, "q1", 6));
}

Test(answer_cache, the_least_recently_used_entry_goes_first_when_full)
{
	char key[16];

	for (int i = 0; i < KP_CACHE_ENTRIES; i++) {
		snprintf(key, sizeof key, "q%d", i);
		cr_assert_eq(kp_answer_cache_put(c, key, 1, "x", 1, "\"e\""), 0);
	}
	cr_assert_not_null(kp_answer_cache_get(c, "q0", 1)); /* q1 is now the oldest */
	cr_assert_eq(kp_answer_cache_put(c, "new", 1, "y", 1, "\"e\""), 0);
	cr_expect_eq(kp_answer_cache_entries(c), KP_CACHE_ENTRIES);
	cr_expect_not_null(kp_answer_cache_get(c, "q0", 1));
	cr_expect_null(kp_answer_cache_get(c, "q1", 1));
	cr_expect_not_null(kp_answer_cache_get(c, "new", 1));
}

Test(answer_cache, bytes_stay_under_the_bound)
{
	size_t quarter = KP_CACHE_BYTES / 4;
	char *big = calloc(1, quarter);
	char key[16];

	cr_assert_not_null(big);
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof key, "big%d", i);
		cr_assert_eq(kp_answer_cache_put(c, key, 1, big, quarter, "\"e\""), 0);
		cr_expect_leq(kp_answer_cache_bytes(c), KP_CACHE_BYTES);
	}
	cr_expect_eq(kp_answer_cache_entries(c), 4);
	cr_expect_null(kp_answer_cache_get(c, "big0", 1));
	cr_expect_not_null(kp_answer_cache_get(c, "big5", 1));
	cr_expect_eq(kp_answer_cache_put(c, "huge", 1, big, quarter + 1, "\"e\""), -1);
	cr_expect_eq(kp_answer_cache_entries(c), 4, "a refused put lost entries");
	free(big);
}

Test(answer_cache, over_long_keys_and_etags_are_not_kept)
{
	char key[KP_CACHE_KEY_MAX + 2];

	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	cr_expect_eq(kp_answer_cache_put(c, key, 1, "x", 1, "\"e\""), -1);
	cr_expect_eq(kp_answer_cache_entries(c), 0);
}
