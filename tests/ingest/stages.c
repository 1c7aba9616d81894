/*
 * stages.c — see stages.h.
 */
#include "stages.h"

#include <criterion/criterion.h>
#include <string.h>

#include "ingest/clock.h"
#include "storage/devices.h"
#include "storage/once.h"

struct tstage ts;

void ts_setup(void)
{
	tdb_setup();
	memset(&ts, 0, sizeof(ts));
	kp_metrics_init(&ts.m);
	cr_assert_eq(kp_ring_init(&ts.in, TS_RING_SIZE, sizeof(struct kp_inbound)), 0);
	cr_assert_eq(kp_ring_init(&ts.out, TS_RING_SIZE, sizeof(struct kp_inbound)), 0);
	cr_assert_eq(kp_replies_init(&ts.replies, TS_RING_SIZE, &ts.m), 0);
}

static void free_items(struct kp_ring *r)
{
	struct kp_inbound item;
	while (kp_ring_try_pop(r, &item) == 0)
		kp_inbound_free(&item);
}

void ts_teardown(void)
{
	free_items(&ts.in);
	free_items(&ts.out);
	kp_ring_destroy(&ts.in);
	kp_ring_destroy(&ts.out);
	kp_replies_destroy(&ts.replies);
	tdb_teardown();
}

void ts_enrol(const struct tdev *d, uint8_t key_id)
{
	ts_enrol_kind(d, key_id, ST_KIND_VALIDATOR);
}

void ts_enrol_kind(const struct tdev *d, uint8_t key_id, uint8_t kind)
{
	struct st_device dev = { .id = d->id, .kind = kind, .state = ST_STATE_ACTIVE,
		                 .vehicle_id = 4242, .created_at = 1700000000000 };
	struct st_device_key key = { .device_id = d->id, .key_id = key_id, .state = ST_STATE_ACTIVE,
		                     .added_at = 1700000000000 };
	int rc = st_device_add(tdb.db, &dev);

	cr_assert(rc == ST_OK || rc == ST_EEXIST, "st_device_add: %s", st_strerror(rc));
	memcpy(key.public_key, d->pk, sizeof(key.public_key));
	rc = st_device_key_add(tdb.db, &key);
	cr_assert_eq(rc, ST_OK, "st_device_key_add: %s", st_strerror(rc));
}

void ts_feed(uint64_t topic_device, const uint8_t *frame, size_t len)
{
	ts_feed_stream(topic_device, KP_STREAM_TAPS, frame, len);
}

void ts_feed_stream(uint64_t topic_device, uint8_t stream, const uint8_t *frame, size_t len)
{
	struct kp_inbound item;

	cr_assert_eq(kp_inbound_copy(&item, frame, len, topic_device, TS_RECEIVED_AT), 0);
	item.stream = stream;
	cr_assert_eq(kp_ring_push(&ts.in, &item), 0);
}

struct kp_reply ts_reply(void)
{
	struct kp_reply r;

	cr_assert_eq(kp_ring_try_pop(&ts.replies.ring, &r), 0, "no reply queued");
	return r;
}

struct kp_reply ts_reply_wait(void)
{
	struct kp_reply r;
	uint64_t deadline = kp_now_mono_ns() + 10 * 1000000000ull;

	cr_assert_eq(kp_ring_pop(&ts.replies.ring, &r, deadline), 0, "no reply within 10 s");
	return r;
}

size_t ts_replies_left(void)
{
	return kp_ring_depth(&ts.replies.ring);
}

int ts_stored(uint64_t device_id, uint64_t batch_seq)
{
	struct st_read r;
	uint64_t seq;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	int rc = st_once_lookup(&r, device_id, batch_seq, &seq);
	st_read_end(&r);
	cr_assert(rc == ST_OK || rc == ST_ENOTFOUND, "st_once_lookup: %s", st_strerror(rc));
	return rc == ST_OK;
}

int64_t ts_now_ms(void)
{
	return kp_now_ms();
}
