/*
 * stream.h — the benchmark's load: device keys made for the run and every
 * TAPS frame signed in memory before anything is timed, so that signing is
 * never measured.
 *
 * Frame i belongs to device i % devices and has batch_seq i / devices + 1:
 * publishing in index order interleaves the devices like a fleet does. The
 * first `frames` per device are the throughput phase, the `extra` after them
 * the paced latency phase. One more device, the probe (index `devices`),
 * has one frame of its own: it is published until an ACK answers it, which
 * says the ingester is subscribed without storing a frame of the stream.
 */
#ifndef KP_BENCH_STREAM_H
#define KP_BENCH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/topic.h"

#define BENCH_DEVICE_BASE 0x6b70000000000000ULL /* ids devices+1 are base+1.. */
#define BENCH_KEY_ID 1

struct bench_device {
	uint64_t id;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	char topic[KP_TOPIC_MAX];
};

struct bench_stream {
	uint32_t devices;  /* without the probe */
	uint32_t frames;   /* per device, throughput phase */
	uint32_t extra;    /* per device, latency phase */
	uint16_t taps;     /* per frame */
	size_t frame_size;
	struct bench_device *dev; /* devices + 1: the probe last */
	uint8_t *buf;             /* (devices * (frames + extra) + 1) * frame_size */
};

/* Makes the keys and signs every frame; 0, or -1 with one line in err. */
int bench_stream_make(struct bench_stream *s, uint32_t devices, uint32_t frames, uint32_t extra,
                      uint16_t taps, char err[256]);
void bench_stream_free(struct bench_stream *s);

/* Frames of the stream, the probe's not included. */
size_t bench_stream_total(const struct bench_stream *s);
/* Frame i (the probe's is index bench_stream_total()). */
const uint8_t *bench_stream_frame(const struct bench_stream *s, size_t i);
/* The device index of frame i. */
uint32_t bench_stream_device(const struct bench_stream *s, size_t i);
/* Index of device d's frame with batch_seq seq (1-based). */
size_t bench_stream_index(const struct bench_stream *s, uint32_t d, uint64_t seq);
/* Device index of an id, or UINT32_MAX when the stream has no such device. */
uint32_t bench_stream_find(const struct bench_stream *s, uint64_t device_id);

#endif
