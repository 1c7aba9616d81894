/* Description: the bounded ring keeps order, blocks producers when full,
 * drains after close, and try_push never waits. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "ingest/clock.h"
#include "ingest/ring.h"

Test(ring, items_come_out_in_the_order_they_went_in)
{
	struct kp_ring r;
	cr_assert_eq(kp_ring_init(&r, 4, sizeof(int)), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			cr_assert_eq(kp_ring_push(&r, &(int){ round * 10 + i }), 0);
		for (int i = 0; i < 4; i++) {
			int v;
			cr_assert_eq(kp_ring_pop(&r, &v, 0), 0);
			cr_assert_eq(v, round * 10 + i);
		}
	}
	kp_ring_destroy(&r);
}

Test(ring, pop_with_a_deadline_times_out_on_an_empty_ring)
{
	struct kp_ring r;
	int v;
	cr_assert_eq(kp_ring_init(&r, 2, sizeof(int)), 0);
	cr_assert_eq(kp_ring_pop(&r, &v, kp_now_mono_ns() + 1000000), 1);
	cr_assert_eq(kp_ring_try_pop(&r, &v), 1);
	kp_ring_destroy(&r);
}

Test(ring, close_lets_consumers_drain_then_fails_pushes_and_pops)
{
	struct kp_ring r;
	int v;
	cr_assert_eq(kp_ring_init(&r, 2, sizeof(int)), 0);
	cr_assert_eq(kp_ring_push(&r, &(int){ 5 }), 0);
	kp_ring_close(&r);
	cr_assert_eq(kp_ring_push(&r, &(int){ 6 }), -1);
	cr_assert_eq(kp_ring_pop(&r, &v, 0), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(kp_ring_pop(&r, &v, 0), -1);
	kp_ring_destroy(&r);
}

static void *consume_three(void *arg)
{
	struct kp_ring *r = arg;
	int v;
	for (int i = 0; i < 3; i++)
		kp_ring_pop(r, &v, 0);
	return NULL;
}

Test(ring, a_full_ring_makes_the_producer_wait_until_there_is_room)
{
	struct kp_ring r;
	pthread_t t;
	cr_assert_eq(kp_ring_init(&r, 2, sizeof(int)), 0);
	cr_assert_eq(kp_ring_push(&r, &(int){ 1 }), 0);
	cr_assert_eq(kp_ring_push(&r, &(int){ 2 }), 0);
	cr_assert_eq(pthread_create(&t, NULL, consume_three, &r), 0);
	/* Blocks until the consumer takes one; must not lose or overwrite. */
	cr_assert_eq(kp_ring_push(&r, &(int){ 3 }), 0);
	pthread_join(t, NULL);
	cr_assert_eq(kp_ring_depth(&r), 0);
	kp_ring_destroy(&r);
}

Test(ring, try_push_refuses_at_once_when_full_and_after_close)
{
	struct kp_ring r;
	int v;
	cr_assert_eq(kp_ring_init(&r, 2, sizeof(int)), 0);
	cr_assert_eq(kp_ring_try_push(&r, &(int){ 1 }), 0);
	cr_assert_eq(kp_ring_try_push(&r, &(int){ 2 }), 0);
	cr_assert_eq(kp_ring_try_push(&r, &(int){ 3 }), 1);
	cr_assert_eq(kp_ring_pop(&r, &v, 0), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(kp_ring_try_push(&r, &(int){ 4 }), 0);
	kp_ring_close(&r);
	cr_assert_eq(kp_ring_try_push(&r, &(int){ 5 }), -1);
	kp_ring_destroy(&r);
}
