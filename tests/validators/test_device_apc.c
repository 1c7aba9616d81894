/*
 * Description: the reference client as an automatic passenger counter
 * (kind VD_KIND_APC), without a broker: count records are sealed into COUNTS
 * frames that decode with kp_frame_decode and verify with the device key,
 * are kept across a close and reopen (numbering goes on), are published on
 * the device's counts topic, leave the outbox only through an ACK and stay
 * after a NACK; records kp_count_is_valid refuses are refused, and neither
 * kind takes the other's records (one device, one type, one sequence).
 */
#include "tests/validators/tmpdir.h"

#include <sodium.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/topic.h"
#include "validators/device_impl.h"

#define DEVICE 0x00000000c0ffee21ULL
#define BATCH 3
#define NOW 1000
#define LOG_MAX 16

struct keypair {
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
};

struct publish_log {
	uint64_t seq[LOG_MAX];
	enum kp_stream stream[LOG_MAX];
	uint64_t topic_device[LOG_MAX];
	unsigned n;
};

static char dir[64];
static struct keypair device_key, server_key;
static struct vd_device *dev;
static struct publish_log io_log;

/* Plays Paho: checks each frame as the daemon would (decode, verify) and
 * notes the topic the device would publish it on. */
static int fake_publish(struct vd_device *d, const uint8_t *frame, size_t len,
                        struct vd_ticket *ticket)
{
	struct kp_header h;
	unsigned i = io_log.n;

	(void)ticket;
	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	cr_assert_eq(kp_frame_verify(frame, len, device_key.pk), KP_OK);
	cr_assert_lt(i, LOG_MAX);
	cr_assert_eq(kp_topic_parse(d->topic_out, strlen(d->topic_out), &io_log.topic_device[i],
	                            &io_log.stream[i]), KP_OK);
	io_log.seq[i] = h.batch_seq;
	io_log.n++;
	return VD_OK;
}

static int fake_subscribe(struct vd_device *d)
{
	(void)d;
	return VD_OK;
}

static const struct vd_io fake_io = {.subscribe = fake_subscribe, .publish = fake_publish};

static void open_device(enum vd_device_kind kind)
{
	struct vd_device_config cfg = {.device_id = DEVICE, .kind = kind, .key_id = 1,
	                               .batch = BATCH};

	memcpy(cfg.secret_key, device_key.sk, sizeof cfg.secret_key);
	memcpy(cfg.server_pk, server_key.pk, sizeof cfg.server_pk);
	cfg.outbox_dir = dir;
	cr_assert_eq(vd_device_open(&cfg, &dev, NULL), VD_OK);
	dev->io = &fake_io;
}

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	vd_tmpdir_make(dir, sizeof dir);
	cr_assert_eq(crypto_sign_keypair(device_key.pk, device_key.sk), 0);
	cr_assert_eq(crypto_sign_keypair(server_key.pk, server_key.sk), 0);
	memset(&io_log, 0, sizeof io_log);
	open_device(VD_KIND_APC);
}

static void teardown(void)
{
	vd_device_close(dev);
	vd_tmpdir_remove(dir);
}

TestSuite(device_apc, .init = setup, .fini = teardown);

static struct kp_count door_cycle(int i)
{
	return (struct kp_count){
		.observed_at = 1700000000000 + i,
		.route_id = 7,
		.stop_id = 703,
		.vehicle_id = 42,
		.door = (uint8_t)(1 + i % 2),
		.kind = KP_COUNT_KIND_DOOR_CYCLE,
		.boardings = (uint16_t)(3 + i),
		.alightings = (uint16_t)i,
		.occupancy = KP_OCCUPANCY_UNKNOWN,
		.confidence = 97,
	};
}

static struct kp_count occupancy(int i)
{
	return (struct kp_count){
		.observed_at = 1700000000000 + i,
		.route_id = 7,
		.vehicle_id = 42,
		.kind = KP_COUNT_KIND_OCCUPANCY,
		.occupancy = (uint16_t)(20 + i),
		.confidence = KP_CONFIDENCE_UNKNOWN,
	};
}

static int add(struct kp_count c)
{
	return vd_device_count(dev, &c);
}

static void queue_batch(int first)
{
	cr_assert_eq(add((struct kp_count){0}), VD_EINVAL); /* kind 0 */
	for (int i = first; i < first + BATCH - 1; i++)
		cr_assert_eq(add(door_cycle(i)), VD_OK);
	cr_assert_eq(add(occupancy(first)), VD_OK);
}

struct frame_seen {
	uint64_t seqs[LOG_MAX];
	struct kp_header h[LOG_MAX];
	struct kp_count first[LOG_MAX];
	struct kp_count last[LOG_MAX];
	int verified[LOG_MAX];
	unsigned n;
};

static int see_frame(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct frame_seen *f = arg;

	cr_assert_lt(f->n, LOG_MAX);
	f->seqs[f->n] = seq;
	if (kp_frame_decode(frame, len, &f->h[f->n]) == KP_OK) {
		f->verified[f->n] = kp_frame_verify(frame, len, device_key.pk) == KP_OK;
		kp_frame_get_count(frame, 0, &f->first[f->n]);
		kp_frame_get_count(frame, (uint16_t)(f->h[f->n].count - 1), &f->last[f->n]);
	}
	f->n++;
	return 0;
}

static void read_outbox(struct frame_seen *f)
{
	memset(f, 0, sizeof *f);
	cr_assert_eq(vd_outbox_foreach(dev->outbox, 1, see_frame, f), 0);
}

static int count_equal(const struct kp_count *a, const struct kp_count *b)
{
	return a->observed_at == b->observed_at && a->route_id == b->route_id &&
	       a->stop_id == b->stop_id && a->vehicle_id == b->vehicle_id && a->door == b->door &&
	       a->kind == b->kind && a->boardings == b->boardings &&
	       a->alightings == b->alightings && a->occupancy == b->occupancy &&
	       a->confidence == b->confidence;
}

static void reply(uint8_t type, uint64_t seq, uint64_t aux, int expect)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];

	cr_assert_eq(kp_frame_make_reply(buf, sizeof buf, type, 1, DEVICE, seq, NOW, aux,
	                                 server_key.sk), KP_ACK_FRAME_SIZE);
	cr_assert_eq(vd_device_handle_reply(dev, buf, sizeof buf, NOW), expect);
}

Test(device_apc, full_batch_is_one_signed_counts_frame)
{
	struct frame_seen f;
	struct kp_count want_first = door_cycle(0), want_last = occupancy(0);

	queue_batch(0);
	read_outbox(&f);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.h[0].type, KP_TYPE_COUNTS);
	cr_assert_eq(f.h[0].count, BATCH);
	cr_assert_eq(f.h[0].device_id, DEVICE);
	cr_assert_eq(f.h[0].batch_seq, 1);
	cr_assert(f.verified[0], "a COUNTS frame must verify with the device key");
	cr_assert(count_equal(&f.first[0], &want_first));
	cr_assert(count_equal(&f.last[0], &want_last));
	cr_assert_eq(vd_device_stats(dev)->counts, BATCH);
	cr_assert_eq(vd_device_stats(dev)->taps, 0);
}

Test(device_apc, sealed_counts_survive_reopen_and_numbering_goes_on)
{
	struct frame_seen f;

	queue_batch(0);
	cr_assert_eq(add(door_cycle(9)), VD_OK);
	vd_device_close(dev); /* the open batch is lost, as on a power cut */
	open_device(VD_KIND_APC);
	cr_assert_eq(vd_device_pending(dev), 1);
	queue_batch(10);
	read_outbox(&f);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.seqs[0], 1);
	cr_assert_eq(f.seqs[1], 2);
	cr_assert_eq(f.h[0].type, KP_TYPE_COUNTS);
	cr_assert_eq(f.h[1].type, KP_TYPE_COUNTS);
	cr_assert(f.verified[0] && f.verified[1]);
}

Test(device_apc, frames_go_out_on_the_counts_topic)
{
	queue_batch(0);
	cr_assert_eq(add(door_cycle(5)), VD_OK);
	cr_assert_eq(vd_device_flush(dev), VD_OK);
	vd_cb_connected(dev, NULL);
	cr_assert_eq(vd_device_poll(dev, NOW, NULL), VD_OK);
	cr_assert_eq(io_log.n, 2);
	for (unsigned i = 0; i < io_log.n; i++) {
		cr_assert_eq(io_log.stream[i], KP_STREAM_COUNTS);
		cr_assert_eq(io_log.topic_device[i], DEVICE);
		cr_assert_eq(io_log.seq[i], i + 1);
	}
}

Test(device_apc, ack_removes_counts_and_nack_keeps_them)
{
	queue_batch(0);
	queue_batch(10);
	cr_assert_eq(vd_device_pending(dev), 2);
	reply(KP_TYPE_NACK, 1, KP_NACK_MALFORMED, VD_OK);
	reply(KP_TYPE_NACK, 2, KP_NACK_TOPIC_MISMATCH, VD_OK);
	cr_assert_eq(vd_device_pending(dev), 2);
	cr_assert_eq(vd_device_stats(dev)->nack_reasons[KP_NACK_TOPIC_MISMATCH], 1);
	reply(KP_TYPE_ACK, 1, 0, VD_OK);
	cr_assert_eq(vd_device_pending(dev), 1);
	reply(KP_TYPE_ACK, 2, 2, VD_OK);
	cr_assert_eq(vd_device_pending(dev), 0);
	cr_assert_eq(vd_device_stats(dev)->acked_frames, 2);
}

Test(device_apc, records_no_frame_may_hold_are_refused)
{
	struct kp_count bad_kind = door_cycle(0), bad_confidence = door_cycle(0);
	struct kp_count conf_max = door_cycle(0);

	bad_kind.kind = 3;
	bad_confidence.confidence = 101;
	conf_max.confidence = 100;
	cr_assert_not(kp_count_is_valid(&bad_kind));
	cr_assert_not(kp_count_is_valid(&bad_confidence));
	cr_assert(kp_count_is_valid(&conf_max));
	cr_assert_eq(vd_device_count(dev, &bad_kind), VD_EINVAL);
	cr_assert_eq(vd_device_count(dev, &bad_confidence), VD_EINVAL);
	cr_assert_eq(vd_device_flush(dev), VD_OK);
	cr_assert_eq(vd_device_pending(dev), 0, "nothing was taken");
}

/* The daemon NACKs a validator's key on the counts topic and an APC's on the
 * taps topic, so a device is one kind: its one batch_seq sequence numbers
 * frames of one type. */
Test(device_apc, each_kind_refuses_the_other_kinds_records)
{
	struct kp_tap t = {.tapped_at = 1700000000000, .route_id = 7, .result = KP_TAP_ACCEPTED};

	cr_assert_eq(vd_device_tap(dev, &t), VD_EINVAL);
	vd_device_close(dev);
	vd_tmpdir_remove(dir);
	vd_tmpdir_make(dir, sizeof dir);
	open_device(VD_KIND_VALIDATOR);
	cr_assert_eq(add(door_cycle(0)), VD_EINVAL);
	cr_assert_eq(vd_device_tap(dev, &t), VD_OK);
	cr_assert_eq(vd_device_flush(dev), VD_OK);
	vd_cb_connected(dev, NULL);
	cr_assert_eq(vd_device_poll(dev, NOW, NULL), VD_OK);
	cr_assert_eq(io_log.n, 1);
	cr_assert_eq(io_log.stream[0], KP_STREAM_TAPS);
}

Test(device_apc, unknown_kind_is_a_bad_configuration)
{
	struct vd_device_config cfg = {.device_id = DEVICE, .kind = 7, .outbox_dir = dir};
	struct vd_device *other = NULL;

	cr_assert_eq(vd_device_open(&cfg, &other, NULL), VD_EINVAL);
	cr_assert_null(other);
}
