/*
 * ring.h — a bounded multi-producer multi-consumer queue of fixed-size items,
 * copied in and out by value. It never allocates after kp_ring_init.
 *
 * Push blocks while the ring is full (that is the daemon's back-pressure);
 * pop blocks while it is empty, optionally until a deadline. After
 * kp_ring_close, pushes fail and pops drain what is left, then fail: that is
 * how a pipeline stage learns to finish.
 */
#ifndef KP_RING_H
#define KP_RING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Each ring starts on a cache line of its own: the daemon keeps its rings
 * side by side, and one ring's lock must not share a line with the
 * counters of the next, which other threads write. */
#define KP_RING_ALIGN 64

struct kp_ring {
	_Alignas(KP_RING_ALIGN) pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	uint8_t *items;
	size_t item_size;
	size_t capacity;
	size_t head; /* next to pop */
	size_t count;
	int closed;
};

/* Returns 0 or -1 (ENOMEM). */
int kp_ring_init(struct kp_ring *r, size_t capacity, size_t item_size);
void kp_ring_destroy(struct kp_ring *r);

/* 0, or -1 once the ring is closed (the item was not queued). */
int kp_ring_push(struct kp_ring *r, const void *item);
/* Never waits: 0, 1 when the ring is full right now, -1 when closed. */
int kp_ring_try_push(struct kp_ring *r, const void *item);
/* 0 with *item filled; 1 when deadline_ns (CLOCK_MONOTONIC, 0 = none) passed
 * first; -1 when closed and empty. */
int kp_ring_pop(struct kp_ring *r, void *item, uint64_t deadline_ns);
/* 0 with *item, or 1 when empty right now. */
int kp_ring_try_pop(struct kp_ring *r, void *item);
/* Never waits: takes up to max items into items[] (in order) under one lock
 * and returns how many (0 when empty). A consumer that drains in batches
 * takes the lock once per batch, not once per item. */
size_t kp_ring_try_pop_many(struct kp_ring *r, void *items, size_t max);
/* Never waits: queues the first items of items[n] that fit, in order, under
 * one lock and with one wake-up of a waiting consumer; returns how many
 * (n unless the ring filled; 0 too when closed). A producer that makes
 * several items at once (the writer's ACKs of a group) wakes the consumer
 * once, with the whole batch there to take. */
size_t kp_ring_try_push_many(struct kp_ring *r, const void *items, size_t n);
void kp_ring_close(struct kp_ring *r);
size_t kp_ring_depth(struct kp_ring *r);

#endif
