/*
 * cover.c — ACK coverage and frame -> ACK latency.
 */
#include "tools/bench/cover.h"

#include <stdlib.h>
#include <string.h>

int bench_cover_init(struct bench_cover *c, uint32_t devices, uint32_t per_device)
{
	size_t n = (size_t)devices * per_device;

	memset(c, 0, sizeof(*c));
	c->devices = devices;
	c->per_device = per_device;
	c->through = calloc(devices ? devices : 1, sizeof(*c->through));
	c->covered = calloc(n ? n : 1, 1);
	c->pub_ns = calloc(n ? n : 1, sizeof(*c->pub_ns));
	c->lat_ns = calloc(n ? n : 1, sizeof(*c->lat_ns));
	if (!c->through || !c->covered || !c->pub_ns || !c->lat_ns) {
		bench_cover_free(c);
		return -1;
	}
	return 0;
}

void bench_cover_free(struct bench_cover *c)
{
	free(c->through);
	free(c->covered);
	free(c->pub_ns);
	free(c->lat_ns);
	memset(c, 0, sizeof(*c));
}

void bench_cover_reset(struct bench_cover *c)
{
	size_t n = (size_t)c->devices * c->per_device;

	memset(c->through, 0, c->devices * sizeof(*c->through));
	memset(c->covered, 0, n);
	memset(c->pub_ns, 0, n * sizeof(*c->pub_ns));
	c->lat_n = 0;
	c->total = 0;
}

static size_t frame_index(const struct bench_cover *c, uint32_t d, uint64_t seq)
{
	return (size_t)(seq - 1) * c->devices + d;
}

void bench_cover_published(struct bench_cover *c, uint32_t d, uint64_t seq, int64_t now_ns)
{
	if (d < c->devices && seq >= 1 && seq <= c->per_device)
		__atomic_store_n(&c->pub_ns[frame_index(c, d, seq)], now_ns, __ATOMIC_RELEASE);
}

/* Marks one frame; 1 when it was not covered before. */
static size_t cover_one(struct bench_cover *c, uint32_t d, uint64_t seq, int64_t now_ns)
{
	uint8_t *flag = &c->covered[(size_t)d * c->per_device + seq - 1];
	if (*flag)
		return 0;
	*flag = 1;
	int64_t pub = __atomic_load_n(&c->pub_ns[frame_index(c, d, seq)], __ATOMIC_ACQUIRE);
	if (pub != 0)
		c->lat_ns[c->lat_n++] = now_ns - pub;
	c->total++;
	return 1;
}

size_t bench_cover_ack(struct bench_cover *c, uint32_t d, uint64_t seq, uint64_t watermark, int64_t now_ns)
{
	size_t n = 0;

	if (d >= c->devices)
		return 0;
	if (watermark > c->per_device)
		watermark = c->per_device;
	for (uint64_t s = c->through[d] + 1; s <= watermark; s++)
		n += cover_one(c, d, s, now_ns);
	if (watermark > c->through[d])
		c->through[d] = watermark;
	if (seq >= 1 && seq <= c->per_device)
		n += cover_one(c, d, seq, now_ns);
	/* Frames covered one by one above the watermark extend it. */
	while (c->through[d] < c->per_device && c->covered[(size_t)d * c->per_device + c->through[d]])
		c->through[d]++;
	return n;
}

size_t bench_cover_missing(const struct bench_cover *c, size_t *from, size_t upto, size_t max, uint32_t *dev,
                           uint64_t *seq)
{
	size_t n = 0, all = (size_t)c->devices * c->per_device, i = *from;

	for (; i < upto && i < all && n < max; i++) {
		uint32_t d = (uint32_t)(i % c->devices);
		uint64_t s = i / c->devices + 1;
		if (!c->covered[(size_t)d * c->per_device + s - 1]) {
			dev[n] = d;
			seq[n++] = s;
		}
	}
	*from = i;
	return n;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t bench_percentile_ns(int64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_i64);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

int64_t bench_cover_percentile(struct bench_cover *c, double p)
{
	return bench_percentile_ns(c->lat_ns, c->lat_n, p);
}
