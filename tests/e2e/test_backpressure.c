/*
 * Description: under back-pressure — every queue of the daemon full and
 * Paho's messageArrived waiting for ring room while holding Paho's global
 * lock — the io_uring loop still answers /healthz, /readyz and /metrics;
 * once the pressure goes, every frame is stored once and ACKed.
 *
 * The pressure is made by another LMDB writer: this test holds the write
 * lock of the daemon's database (as `komposter device add` does for the
 * length of its commit), so the daemon's writer waits in its first commit.
 * With one verify worker, groups of one frame and rings of 16 (real,
 * documented settings), the daemon then takes exactly HELD frames from
 * MQTT and no more: 1 in the writer, 16 in its queue, 1 in the worker's
 * hands, 16 in the intake ring and 1 in messageArrived, waiting.
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/e2e/probe.h"

#define DEV 0x00000000000bac0dULL
#define RING 16
#define HELD (2 * RING + 3)
#define FRAMES (HELD + 25) /* enough to leave some waiting in the broker */

struct writer_lock {
	MDB_env *env;
	MDB_txn *txn;
};

/* Opens the daemon's environment in this process and begins a write
 * transaction: LMDB lets one writer in at a time, across processes. */
static void take_writer_lock(struct writer_lock *w, const struct kp_daemon_proc *d)
{
	char path[400];
	int rc;

	snprintf(path, sizeof(path), "%s/data", d->dir);
	cr_assert_eq(mdb_env_create(&w->env), 0);
	rc = mdb_env_open(w->env, path, 0, 0600);
	cr_assert_eq(rc, 0, "mdb_env_open %s: %s", path, mdb_strerror(rc));
	rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
	cr_assert_eq(rc, 0, "mdb_txn_begin: %s", mdb_strerror(rc));
}

static void release_writer_lock(struct writer_lock *w)
{
	mdb_txn_abort(w->txn);
	mdb_env_close(w->env);
}

/* Polls /metrics until frames_received_total reaches n (20 s at most);
 * -1 as soon as /metrics does not answer. */
static double wait_received(const struct kp_daemon_proc *d, double n)
{
	struct timespec pause = { 0, 20 * 1000000L };
	double got = -1;

	for (int i = 0; i < 1000; i++) {
		got = kp_daemon_metric(d, "komposter_frames_received_total");
		if (got < 0 || got >= n)
			break;
		nanosleep(&pause, NULL);
	}
	return got;
}

static int get(const struct kp_daemon_proc *d, const char *path, char **body)
{
	*body = NULL;
	return kp_http_get(d->http_port, path, body);
}

Test(backpressure, http_answers_while_the_rings_are_full_and_paho_waits, .timeout = 120)
{
	static uint8_t frame[KP_FRAME_MAX];
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe probe;
	struct writer_lock lock;
	struct kp_reply_seen r;
	uint8_t acked[FRAMES + 1] = { 0 };
	uint64_t watermark = 0;
	char *body;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "ingest.ring_size = 16\n"
	                             "ingest.verify_workers = 1\n"
	                             "ingest.group_max_frames = 1\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open(&probe, &broker, &d, DEV, 1, 0), 0);

	take_writer_lock(&lock, &d);
	for (uint64_t seq = 1; seq <= FRAMES; seq++) {
		size_t len = kp_probe_frame(&probe, seq, 1, frame, 3, 0x5e);
		cr_assert_gt(len, 0);
		cr_assert_eq(kp_probe_publish(&probe, DEV, frame, len), 0, "publish %llu", (unsigned long long)seq);
	}
	double received = wait_received(&d, HELD);
	cr_assert_geq(received, 0, "/metrics stopped answering while the queues filled");
	cr_assert_eq(received, HELD, "komposterd took %.0f frames from MQTT, expected %d: the queues are "
	             "not full (see %s/komposterd.log)", received, HELD, d.dir);

	/* Everything is full and messageArrived waits with Paho's lock held. */
	cr_assert_eq(get(&d, "/healthz", &body), 200, "/healthz under back-pressure");
	free(body);
	cr_expect_eq(get(&d, "/readyz", &body), 200, "/readyz under back-pressure: %s", body ? body : "");
	free(body);
	cr_expect_eq(get(&d, "/metrics", &body), 200, "/metrics under back-pressure");
	cr_expect_eq(kp_metric(body, "komposter_frames_received_total"), HELD, "still held while answering");
	cr_expect_eq(kp_metric(body, "komposter_frames_stored_total"), 0);
	free(body);

	release_writer_lock(&lock);
	/* The publisher, behind its queue, folds a device's ACKs into one at the
	 * highest watermark (replies.h): count coverage, not ACKs. */
	while (watermark < FRAMES) {
		cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "frames up to %llu of %d covered",
		             (unsigned long long)watermark, FRAMES);
		cr_assert(r.signature_ok);
		cr_assert_eq(r.h.type, KP_TYPE_ACK, "frame %llu: NACK %llu", (unsigned long long)r.h.batch_seq,
		             (unsigned long long)r.h.aux);
		cr_assert(r.h.batch_seq >= 1 && r.h.batch_seq <= FRAMES);
		cr_expect_eq(acked[r.h.batch_seq]++, 0, "frame %llu ACKed twice", (unsigned long long)r.h.batch_seq);
		if (r.h.aux > watermark)
			watermark = r.h.aux;
	}
	cr_expect_eq(watermark, FRAMES);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frames_stored_total"), FRAMES);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_taps_stored_total"), FRAMES);

	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);
}
