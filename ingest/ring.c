/*
 * ring.c — mutex and two condition variables around a circular array.
 *
 * At the daemon's rates (tens of thousands of frames per second at most,
 * each worth tens of microseconds of Ed25519) a lock per item is far below
 * the noise, and it keeps blocking, deadlines and close simple and obviously
 * right. The clock for deadlines is CLOCK_MONOTONIC.
 */
#include "ingest/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int kp_ring_init(struct kp_ring *r, size_t capacity, size_t item_size)
{
	pthread_condattr_t attr;

	memset(r, 0, sizeof(*r));
	r->items = calloc(capacity, item_size);
	if (!r->items)
		return -1;
	r->capacity = capacity;
	r->item_size = item_size;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->not_empty, &attr);
	pthread_cond_init(&r->not_full, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

void kp_ring_destroy(struct kp_ring *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->not_empty);
	pthread_cond_destroy(&r->not_full);
	free(r->items);
	r->items = NULL;
}

static uint8_t *slot(struct kp_ring *r, size_t i)
{
	return r->items + ((r->head + i) % r->capacity) * r->item_size;
}

static void put(struct kp_ring *r, const void *item)
{
	memcpy(slot(r, r->count), item, r->item_size);
	r->count++;
	pthread_cond_signal(&r->not_empty);
}

int kp_ring_push(struct kp_ring *r, const void *item)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->closed && r->count == r->capacity)
		pthread_cond_wait(&r->not_full, &r->lock);
	if (r->closed) {
		rc = -1;
		goto out;
	}
	put(r, item);
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int kp_ring_try_push(struct kp_ring *r, const void *item)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (r->closed)
		rc = -1;
	else if (r->count == r->capacity)
		rc = 1;
	else
		put(r, item);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static void take(struct kp_ring *r, void *item)
{
	memcpy(item, slot(r, 0), r->item_size);
	r->head = (r->head + 1) % r->capacity;
	r->count--;
	pthread_cond_signal(&r->not_full);
}

int kp_ring_pop(struct kp_ring *r, void *item, uint64_t deadline_ns)
{
	struct timespec ts = { (time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u) };
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	while (r->count == 0 && !r->closed) {
		if (deadline_ns == 0) {
			pthread_cond_wait(&r->not_empty, &r->lock);
		} else if (pthread_cond_timedwait(&r->not_empty, &r->lock, &ts) == ETIMEDOUT) {
			break;
		}
	}
	if (r->count > 0)
		take(r, item);
	else
		rc = r->closed ? -1 : 1;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int kp_ring_try_pop(struct kp_ring *r, void *item)
{
	int rc = 1;

	pthread_mutex_lock(&r->lock);
	if (r->count > 0) {
		take(r, item);
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

size_t kp_ring_try_pop_many(struct kp_ring *r, void *items, size_t max)
{
	uint8_t *out = items;
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	for (; n < max && r->count > 0; n++) {
		memcpy(out + n * r->item_size, slot(r, 0), r->item_size);
		r->head = (r->head + 1) % r->capacity;
		r->count--;
	}
	if (n > 0)
		pthread_cond_broadcast(&r->not_full);
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t kp_ring_try_push_many(struct kp_ring *r, const void *items, size_t n)
{
	const uint8_t *in = items;
	size_t done = 0;

	pthread_mutex_lock(&r->lock);
	for (; !r->closed && done < n && r->count < r->capacity; done++) {
		memcpy(slot(r, r->count), in + done * r->item_size, r->item_size);
		r->count++;
	}
	if (done == 1)
		pthread_cond_signal(&r->not_empty);
	else if (done > 1) /* several consumers may each take some */
		pthread_cond_broadcast(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
	return done;
}

void kp_ring_close(struct kp_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->closed = 1;
	pthread_cond_broadcast(&r->not_empty);
	pthread_cond_broadcast(&r->not_full);
	pthread_mutex_unlock(&r->lock);
}

size_t kp_ring_depth(struct kp_ring *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}
