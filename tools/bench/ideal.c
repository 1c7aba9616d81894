/*
 * ideal.c — the ideal ingester (see ideal.h).
 *
 * Paho's callback copies each frame into a slot of a ring (the one copy)
 * and never waits: Paho 1.3 holds its own lock while it runs the callback,
 * so a callback waiting for a worker that is itself inside MQTTAsync_send
 * would deadlock. When the ring is full the callback declines the frame
 * (returns 0): Paho offers it again later and, not acknowledging it yet,
 * lets the broker's in-flight limit hold the publishers back.
 *
 * For tests it can leave every Nth new frame unanswered (DROP_EVERY), as
 * an ingester whose reply queue was full: a frame is new when its
 * batch_seq is above the highest its device sent so far, so the same frame
 * re-sent by the generator is answered.
 */
#define _GNU_SOURCE
#include "tools/bench/ideal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware-proto/keyfile.h"
#include "firmware-proto/topic.h"
#include "ingest/thread_attr.h"
#include "tools/bench/mqtt.h"
#include "tools/bench/proc.h"

#define RING_SLOTS 1024

struct key_rec {
	uint64_t id;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
};

struct ideal {
	struct key_rec *keys;
	size_t nkeys;
	uint8_t sk[KP_SECRET_KEY_SIZE];
	struct bench_conn conn;
	size_t slot_size;
	uint8_t *slots;
	size_t *lens;
	size_t cap;        /* slots */
	size_t head, tail; /* head: next to fill; tail: next to take */
	pthread_mutex_t mu;
	pthread_cond_t not_empty;
	uint64_t drop_every; /* 0: answer every frame */
	uint64_t fresh;      /* new frames received */
	uint64_t *seen;      /* per key: the highest batch_seq received */
	int nice;            /* the workers' */
};

int bench_ideal_write_keys(const struct bench_stream *s, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	for (uint32_t d = 0; d <= s->devices; d++) {
		struct key_rec k = { .id = s->dev[d].id };
		memcpy(k.pk, s->dev[d].pk, sizeof(k.pk));
		if (fwrite(&k, sizeof(k), 1, f) != 1) {
			fclose(f);
			return -1;
		}
	}
	return fclose(f) == 0 ? 0 : -1;
}

pid_t bench_ideal_start(const char *self, const char *uri, const char *keys, const char *server_key,
                        int workers, size_t frame_size, uint64_t drop_every, int nice, const char *log)
{
	char w[16], fs[32], drop[32], boost[16];
	snprintf(w, sizeof(w), "%d", workers);
	snprintf(fs, sizeof(fs), "%zu", frame_size);
	snprintf(drop, sizeof(drop), "%llu", (unsigned long long)drop_every);
	snprintf(boost, sizeof(boost), "%d", -nice);
	char *argv[] = { (char *)self, "bench-ideal", (char *)uri, (char *)keys, (char *)server_key, w, fs, drop, boost,
		         NULL };
	return bench_spawn(argv, log, -1);
}

static int cmp_key(const void *a, const void *b)
{
	uint64_t x = ((const struct key_rec *)a)->id, y = ((const struct key_rec *)b)->id;
	return (x > y) - (x < y);
}

static int read_keys(struct ideal *in, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	in->nkeys = n > 0 ? (size_t)n / sizeof(struct key_rec) : 0;
	in->keys = malloc(in->nkeys * sizeof(struct key_rec) + 1);
	int ok = in->keys && fread(in->keys, sizeof(struct key_rec), in->nkeys, f) == in->nkeys;
	fclose(f);
	if (ok)
		qsort(in->keys, in->nkeys, sizeof(struct key_rec), cmp_key);
	return ok && in->nkeys > 0 ? 0 : -1;
}

/* Whether to leave this frame unanswered (see the top of the file). */
static int drop_new_frame(struct ideal *in, const uint8_t *p, size_t len)
{
	struct kp_header h;
	struct key_rec k, *key;

	if (kp_frame_decode(p, len, &h) != KP_OK)
		return 0;
	k.id = h.device_id;
	key = bsearch(&k, in->keys, in->nkeys, sizeof(k), cmp_key);
	if (!key)
		return 0;
	uint64_t *seen = &in->seen[key - in->keys];
	if (h.batch_seq <= *seen)
		return 0;
	*seen = h.batch_seq;
	return ++in->fresh % in->drop_every == 0;
}

static int on_frame(void *ctx, const char *topic, size_t tl, const uint8_t *p, size_t len)
{
	struct ideal *in = ctx;
	(void)topic;
	(void)tl;
	if (len > in->slot_size)
		return 1; /* no frame of the stream: dropped */
	pthread_mutex_lock(&in->mu);
	if (in->head - in->tail == in->cap) {
		pthread_mutex_unlock(&in->mu);
		return 0;
	}
	if (in->drop_every && drop_new_frame(in, p, len)) {
		pthread_mutex_unlock(&in->mu);
		return 1;
	}
	size_t i = in->head % in->cap;
	memcpy(in->slots + i * in->slot_size, p, len);
	in->lens[i] = len;
	in->head++;
	pthread_cond_signal(&in->not_empty);
	pthread_mutex_unlock(&in->mu);
	return 1;
}

static void answer(struct ideal *in, const uint8_t *f, size_t len)
{
	struct kp_header h;
	struct key_rec k, *key;
	uint8_t ack[KP_ACK_FRAME_SIZE];
	char topic[KP_TOPIC_MAX];

	if (kp_frame_decode(f, len, &h) != KP_OK)
		return;
	k.id = h.device_id;
	key = bsearch(&k, in->keys, in->nkeys, sizeof(k), cmp_key);
	if (!key || kp_frame_verify(f, len, key->pk) != KP_OK)
		return;
	if (kp_frame_make_reply(ack, sizeof(ack), KP_TYPE_ACK, 1, h.device_id, h.batch_seq, h.sent_at, 0,
	                        in->sk) < 0 ||
	    kp_topic_build(topic, sizeof(topic), h.device_id, KP_STREAM_ACK) < 0)
		return;
	if (MQTTAsync_send(in->conn.client, topic, (int)sizeof(ack), ack, 1, 0, NULL) != MQTTASYNC_SUCCESS)
		fprintf(stderr, "komposter: bench-ideal: an ACK was refused by Paho\n");
}

static void *worker(void *arg)
{
	struct ideal *in = arg;
	uint8_t *f = malloc(in->slot_size);

	if (!f)
		return NULL;
	if (in->nice != 0 && kp_thread_nice(in->nice) != 0)
		fprintf(stderr, "komposter: bench-ideal: cannot set nice %d; running as started\n", in->nice);
	for (;;) {
		pthread_mutex_lock(&in->mu);
		while (in->head == in->tail)
			pthread_cond_wait(&in->not_empty, &in->mu);
		size_t i = in->tail % in->cap;
		size_t len = in->lens[i];
		memcpy(f, in->slots + i * in->slot_size, len);
		in->tail++;
		pthread_mutex_unlock(&in->mu);
		answer(in, f, len);
	}
	return NULL;
}

int cmd_bench_ideal(struct kp_cli *cli, int argc, char **argv)
{
	static struct ideal in;
	char err[KP_KEYFILE_ERR_SIZE];
	uint64_t workers, slot, boost;

	(void)cli;
	if (argc != 8 || cli_parse_u64(argv[4], 64, &workers) != 0 || workers == 0 ||
	    cli_parse_u64(argv[5], KP_FRAME_MAX, &slot) != 0 || cli_parse_u64(argv[6], UINT64_MAX, &in.drop_every) != 0 ||
	    cli_parse_u64(argv[7], 20, &boost) != 0)
		return cli_usage("bench-ideal", "expects URI KEYS SERVER_KEY WORKERS FRAME_SIZE DROP_EVERY -NICE");
	in.nice = -(int)boost;
	if (sodium_init() < 0 || read_keys(&in, argv[2]) != 0)
		return cli_fail("bench-ideal", "cannot read the device keys %s", argv[2]);
	if (kp_keyfile_read_secret(argv[3], in.sk, err) != 0)
		return cli_fail("bench-ideal", "%s", err);
	in.slot_size = slot;
	in.cap = RING_SLOTS;
	in.slots = malloc(RING_SLOTS * slot);
	in.lens = calloc(RING_SLOTS, sizeof(*in.lens));
	in.seen = calloc(in.nkeys, sizeof(*in.seen));
	pthread_mutex_init(&in.mu, NULL);
	pthread_cond_init(&in.not_empty, NULL);
	if (!in.slots || !in.lens || !in.seen)
		return cli_fail("bench-ideal", "out of memory");
	for (uint64_t w = 0; w < workers; w++) {
		pthread_t th;
		if (pthread_create(&th, NULL, worker, &in) != 0)
			return cli_fail("bench-ideal", "cannot start a worker");
	}
	char id[48];
	snprintf(id, sizeof(id), "kp-bench-ideal-%d", (int)getpid());
	if (bench_conn_open(&in.conn, argv[1], id, 1024, on_frame, &in) != 0 ||
	    bench_conn_subscribe(&in.conn, kp_topic_filter(KP_STREAM_TAPS)) != 0 ||
	    bench_conn_keep_awake(&in.conn, id) != 0) /* as komposterd keeps its own */
		return KP_EXIT_FAIL;
	for (;;)
		pause();
}
