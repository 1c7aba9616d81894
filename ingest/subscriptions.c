/*
 * subscriptions.c — sorted device-id sets and a device's topics.
 */
#include "ingest/subscriptions.h"

#include <stdlib.h>
#include <string.h>

int kp_device_set_add(struct kp_device_set *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *ids = realloc(s->ids, cap * sizeof(*ids));

		if (ids == NULL)
			return -1;
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void kp_device_set_seal(struct kp_device_set *s)
{
	size_t kept = 0;

	if (s->n == 0)
		return;
	qsort(s->ids, s->n, sizeof(*s->ids), cmp_id);
	for (size_t i = 1; i < s->n; i++)
		if (s->ids[i] != s->ids[kept])
			s->ids[++kept] = s->ids[i];
	s->n = kept + 1;
}

int kp_device_set_has(const struct kp_device_set *s, uint64_t id)
{
	return s->n > 0 && bsearch(&id, s->ids, s->n, sizeof(*s->ids), cmp_id) != NULL;
}

int kp_device_set_minus(const struct kp_device_set *a, const struct kp_device_set *b,
                        struct kp_device_set *out)
{
	struct kp_device_set r = { 0 };

	for (size_t i = 0, j = 0; i < a->n; i++) {
		while (j < b->n && b->ids[j] < a->ids[i])
			j++;
		if (j < b->n && b->ids[j] == a->ids[i])
			continue;
		if (kp_device_set_add(&r, a->ids[i]) != 0) {
			kp_device_set_free(&r);
			return -1;
		}
	}
	kp_device_set_move(out, &r);
	return 0;
}

void kp_device_set_move(struct kp_device_set *dst, struct kp_device_set *src)
{
	free(dst->ids);
	*dst = *src;
	*src = (struct kp_device_set){ 0 };
}

void kp_device_set_clear(struct kp_device_set *s)
{
	s->n = 0;
}

void kp_device_set_free(struct kp_device_set *s)
{
	free(s->ids);
	*s = (struct kp_device_set){ 0 };
}

int kp_device_topics(uint64_t device_id, char out[KP_DEVICE_TOPICS][KP_TOPIC_MAX])
{
	if (kp_topic_build(out[0], KP_TOPIC_MAX, device_id, KP_STREAM_TAPS) < 0 ||
	    kp_topic_build(out[1], KP_TOPIC_MAX, device_id, KP_STREAM_COUNTS) < 0)
		return -1;
	return 0;
}
