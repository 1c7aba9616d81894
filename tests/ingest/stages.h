/*
 * stages.h — shared by the stage tests (test_verify.c, test_writer.c): the
 * queues, metrics and health flags a stage borrows, around a fresh database
 * of tests/storage/helpers.h (tdb) with devices enrolled with real Ed25519
 * keys. Frames go in as kp_inbound items owning a copy, replies come out of
 * the reply queue. Nothing is mocked.
 *
 * ts_setup (a suite's .init) makes the queues and tdb's directory; a test may
 * change tdb.opts, then calls tdb_open. ts_teardown frees whatever items are
 * left in the queues and removes the database.
 */
#ifndef TEST_INGEST_STAGES_H
#define TEST_INGEST_STAGES_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/health.h"
#include "ingest/inbound.h"
#include "ingest/metrics.h"
#include "ingest/replies.h"
#include "ingest/ring.h"
#include "tests/storage/helpers.h"

#define TS_RING_SIZE 256
#define TS_RECEIVED_AT 1715763600123 /* the received_at of every item fed */

struct tstage {
	struct kp_metrics m;
	struct kp_health health;
	struct kp_ring in;  /* struct kp_inbound: into the stage under test */
	struct kp_ring out; /* struct kp_inbound: what verify hands to the writer */
	struct kp_replies replies;
};
extern struct tstage ts;

void ts_setup(void);
void ts_teardown(void);

/* Adds d (if new) as a validator and enrols its public key under key_id. */
void ts_enrol(const struct tdev *d, uint8_t key_id);
/* The same with a device kind (enum st_device_kind). */
void ts_enrol_kind(const struct tdev *d, uint8_t key_id, uint8_t kind);
/* Pushes a copy of frame as an item from the taps topic of topic_device. */
void ts_feed(uint64_t topic_device, const uint8_t *frame, size_t len);
/* The same from the topic of `stream` (enum kp_stream). */
void ts_feed_stream(uint64_t topic_device, uint8_t stream, const uint8_t *frame, size_t len);
/* The next reply, which must be queued already. */
struct kp_reply ts_reply(void);
/* The next reply, waiting for it up to 10 s (the test fails after). */
struct kp_reply ts_reply_wait(void);
/* Replies still queued. */
size_t ts_replies_left(void);
/* 1 when (device, batch_seq) is in the once-only index. */
int ts_stored(uint64_t device_id, uint64_t batch_seq);
/* Current Unix ms (the stages' clock). */
int64_t ts_now_ms(void);

#endif
