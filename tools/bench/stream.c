/*
 * stream.c — keys and pre-signed frames of a benchmark run.
 */
#include "tools/bench/stream.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t bench_stream_total(const struct bench_stream *s)
{
	return (size_t)s->devices * (s->frames + s->extra);
}

const uint8_t *bench_stream_frame(const struct bench_stream *s, size_t i)
{
	return s->buf + i * s->frame_size;
}

uint32_t bench_stream_device(const struct bench_stream *s, size_t i)
{
	return i == bench_stream_total(s) ? s->devices : (uint32_t)(i % s->devices);
}

size_t bench_stream_index(const struct bench_stream *s, uint32_t d, uint64_t seq)
{
	if (d == s->devices)
		return bench_stream_total(s);
	return (size_t)(seq - 1) * s->devices + d;
}

uint32_t bench_stream_find(const struct bench_stream *s, uint64_t device_id)
{
	if (device_id <= BENCH_DEVICE_BASE || device_id > BENCH_DEVICE_BASE + s->devices + 1)
		return UINT32_MAX;
	return (uint32_t)(device_id - BENCH_DEVICE_BASE - 1);
}

/* A plausible tap: accepted, now-ish (inside the daemon's time window), a
 * card token of its own so that pseudonyms differ. */
static void fill_tap(struct kp_tap *t, const struct bench_stream *s, size_t i, uint16_t k, int64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->tapped_at = now_ms - 60000 + (int64_t)(i % 1000);
	randombytes_buf(t->card_token, sizeof(t->card_token));
	t->route_id = 1 + (uint32_t)(i % 7);
	t->stop_id = 100 + k;
	t->vehicle_id = bench_stream_device(s, i) + 1;
	t->fare_product = 1;
	t->direction = (uint8_t)(k & 1);
	t->result = KP_TAP_ACCEPTED;
	t->amount = 800;
}

static int sign_frame(struct bench_stream *s, size_t i, uint64_t seq, int64_t now_ms)
{
	uint8_t *f = s->buf + i * s->frame_size;
	const struct bench_device *d = &s->dev[bench_stream_device(s, i)];
	struct kp_header h = { .type = KP_TYPE_TAPS, .key_id = BENCH_KEY_ID, .count = s->taps,
		               .device_id = d->id, .batch_seq = seq, .sent_at = now_ms };
	struct kp_tap t;

	if (kp_frame_put_header(f, s->frame_size, &h) != KP_OK)
		return -1;
	for (uint16_t k = 0; k < s->taps; k++) {
		fill_tap(&t, s, i, k, now_ms);
		kp_frame_put_tap(f, k, &t);
	}
	return kp_frame_sign(f, s->frame_size, d->sk) == KP_OK ? 0 : -1;
}

static int make_devices(struct bench_stream *s)
{
	for (uint32_t d = 0; d <= s->devices; d++) {
		struct bench_device *dev = &s->dev[d];
		dev->id = BENCH_DEVICE_BASE + d + 1;
		if (crypto_sign_keypair(dev->pk, dev->sk) != 0 ||
		    kp_topic_build(dev->topic, sizeof(dev->topic), dev->id, KP_STREAM_TAPS) < 0)
			return -1;
	}
	return 0;
}

int bench_stream_make(struct bench_stream *s, uint32_t devices, uint32_t frames, uint32_t extra,
                      uint16_t taps, char err[256])
{
	struct timespec ts;

	memset(s, 0, sizeof(*s));
	s->devices = devices;
	s->frames = frames;
	s->extra = extra;
	s->taps = taps;
	s->frame_size = kp_frame_size(KP_TYPE_TAPS, taps);
	size_t n = bench_stream_total(s) + 1;
	s->dev = calloc((size_t)devices + 1, sizeof(*s->dev));
	s->buf = malloc(n * s->frame_size);
	if (!s->dev || !s->buf || s->frame_size == 0) {
		snprintf(err, 256, "out of memory for %zu frames", n);
		bench_stream_free(s);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (make_devices(s) != 0) {
		snprintf(err, 256, "cannot make the device keys");
		bench_stream_free(s);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = i == n - 1 ? 1 : i / devices + 1;
		if (sign_frame(s, i, seq, now_ms) != 0) {
			snprintf(err, 256, "cannot sign frame %zu", i);
			bench_stream_free(s);
			return -1;
		}
	}
	return 0;
}

void bench_stream_free(struct bench_stream *s)
{
	free(s->dev);
	free(s->buf);
	s->dev = NULL;
	s->buf = NULL;
}
