/*
 * Description: the device sets of a partitioned intake: sealing sorts and
 * drops repeats; want - have and have - want are exactly the devices to
 * subscribe and to unsubscribe; a device's topics are its taps and counts
 * topics, never its ack topic, and id 0 has none.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/subscriptions.h"

static void fill(struct kp_device_set *s, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(kp_device_set_add(s, ids[i]), 0);
	kp_device_set_seal(s);
}

Test(subscriptions, sealing_sorts_and_drops_repeats)
{
	static const uint64_t ids[] = { 9, 3, 7, 3, 1, 9, 9 };
	static const uint64_t want[] = { 1, 3, 7, 9 };
	struct kp_device_set s = { 0 };

	fill(&s, ids, 7);
	cr_assert_eq(s.n, 4);
	cr_assert_arr_eq(s.ids, want, sizeof(want));
	cr_expect(kp_device_set_has(&s, 7) && !kp_device_set_has(&s, 8));
	kp_device_set_free(&s);
}

Test(subscriptions, the_differences_move_have_to_want)
{
	static const uint64_t have_ids[] = { 1, 2, 3, 5, 8 };
	static const uint64_t want_ids[] = { 8, 13, 2, 21, 1 };
	static const uint64_t added_ids[] = { 13, 21 };
	static const uint64_t removed_ids[] = { 3, 5 };
	struct kp_device_set have = { 0 }, want = { 0 }, added = { 0 }, removed = { 0 };

	fill(&have, have_ids, 5);
	fill(&want, want_ids, 5);
	cr_assert_eq(kp_device_set_minus(&want, &have, &added), 0);
	cr_assert_eq(kp_device_set_minus(&have, &want, &removed), 0);
	cr_assert_eq(added.n, 2);
	cr_assert_arr_eq(added.ids, added_ids, sizeof(added_ids));
	cr_assert_eq(removed.n, 2);
	cr_assert_arr_eq(removed.ids, removed_ids, sizeof(removed_ids));
	/* From nothing, everything is new. */
	struct kp_device_set none = { 0 };
	cr_assert_eq(kp_device_set_minus(&want, &none, &added), 0);
	cr_assert_eq(added.n, want.n);
	kp_device_set_move(&have, &want);
	cr_expect_eq(have.n, 5);
	cr_expect_eq(want.n, 0);
	kp_device_set_free(&have);
	kp_device_set_free(&added);
	kp_device_set_free(&removed);
}

Test(subscriptions, a_devices_topics_are_taps_and_counts_never_ack)
{
	char topics[KP_DEVICE_TOPICS][KP_TOPIC_MAX];

	cr_assert_eq(kp_device_topics(0x0123456789abcdefULL, topics), 0);
	cr_expect_str_eq(topics[0], "komposter/v1/dev/0123456789abcdef/taps");
	cr_expect_str_eq(topics[1], "komposter/v1/dev/0123456789abcdef/counts");
	cr_expect_eq(kp_device_topics(0, topics), -1);
}
