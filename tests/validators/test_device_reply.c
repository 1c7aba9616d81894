/*
 * Description: how a validator treats what arrives on its ack topic, without
 * a broker (vd_device_handle_reply directly): a full batch is sealed as one
 * frame signed with the device key before anything is sent; a genuine ACK
 * removes its frame and everything up to the watermark; an ACK signed with
 * any other key, an ACK for another device, a TAPS frame or garbage is
 * ignored and counted; a NACK is counted by reason and never drops a frame;
 * an ACK for a number the device never allocated is ignored and raises an
 * alarm; while the outbox fails, a tap is either taken or handed back with
 * VD_EFULL_KEEP_TAP, never lost.
 */
#include "tests/validators/tmpdir.h"

#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "firmware-proto/frame.h"
#include "validators/device.h"
#include "validators/outbox.h"

#define DEVICE 0x00000000c0ffee01ULL
#define OTHER_DEVICE 0x00000000c0ffee02ULL
#define BATCH 4
#define NOW 1000

struct keypair {
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
};

static char dir[64];
static struct keypair device_key, server_key, forger_key;
static struct vd_device *dev;

static void make_keys(struct keypair *k)
{
	cr_assert_eq(crypto_sign_keypair(k->pk, k->sk), 0);
}

static void setup(void)
{
	struct vd_device_config cfg = {.device_id = DEVICE, .key_id = 1, .batch = BATCH};

	cr_assert_geq(sodium_init(), 0);
	vd_tmpdir_make(dir, sizeof dir);
	make_keys(&device_key);
	make_keys(&server_key);
	make_keys(&forger_key);
	memcpy(cfg.secret_key, device_key.sk, sizeof cfg.secret_key);
	memcpy(cfg.server_pk, server_key.pk, sizeof cfg.server_pk);
	cfg.outbox_dir = dir;
	cr_assert_eq(vd_device_open(&cfg, &dev, NULL), VD_OK);
}

static void teardown(void)
{
	vd_device_close(dev);
	vd_tmpdir_remove(dir);
}

TestSuite(device_reply, .init = setup, .fini = teardown);

static struct kp_tap tap(int i)
{
	struct kp_tap t = {
		.tapped_at = 1700000000000 + i,
		.route_id = 5,
		.stop_id = 501,
		.vehicle_id = 42,
		.fare_product = 1,
		.direction = 0,
		.result = KP_TAP_ACCEPTED,
		.amount = 800,
	};
	t.card_token[0] = (uint8_t)i;
	return t;
}

/* Seals `frames` full frames into the outbox. */
static void make_frames(int frames)
{
	for (int i = 0; i < frames * BATCH; i++) {
		struct kp_tap t = tap(i);
		cr_assert_eq(vd_device_tap(dev, &t), VD_OK);
	}
}

static int reply(uint8_t type, uint64_t device, uint64_t seq, uint64_t aux, const uint8_t *sk)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];
	int len = kp_frame_make_reply(buf, sizeof buf, type, 1, device, seq, 1700000000000, aux, sk);
	cr_assert_eq(len, KP_ACK_FRAME_SIZE);
	return vd_device_handle_reply(dev, buf, (size_t)len, NOW);
}

Test(device_reply, full_batch_is_sealed_as_one_signed_frame_before_any_send)
{
	for (int i = 0; i < BATCH - 1; i++)
		cr_assert_eq(vd_device_tap(dev, &(struct kp_tap){.tapped_at = i}), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 0, "a partial batch is not a frame yet");
	struct kp_tap last = tap(7);
	cr_assert_eq(vd_device_tap(dev, &last), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 1);
	cr_expect_eq(vd_device_stats(dev)->frames, 1);
	cr_expect_eq(vd_device_stats(dev)->taps, BATCH);
	cr_expect_eq(vd_device_stats(dev)->published, 0);
}

static int check_frame(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct kp_header h;
	struct kp_tap t;

	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	cr_expect_eq(kp_frame_verify(frame, len, device_key.pk), KP_OK);
	cr_expect_eq(h.type, KP_TYPE_TAPS);
	cr_expect_eq(h.device_id, DEVICE);
	cr_expect_eq(h.batch_seq, seq);
	cr_expect_eq(h.count, 2);
	kp_frame_get_tap(frame, 1, &t);
	cr_expect_eq(t.amount, 800);
	(*(int *)arg)++;
	return 0;
}

Test(device_reply, tap_with_fields_no_frame_may_hold_is_refused)
{
	struct kp_tap bad_result = tap(1), bad_flags = tap(2), bad_direction = tap(3);

	bad_result.result = KP_TAP_RESULT_MAX + 1;
	bad_flags.flags = 0x8000;
	bad_direction.direction = 2;
	cr_expect_eq(vd_device_tap(dev, &bad_result), VD_EINVAL);
	cr_expect_eq(vd_device_tap(dev, &bad_flags), VD_EINVAL);
	cr_expect_eq(vd_device_tap(dev, &bad_direction), VD_EINVAL);
	cr_expect_eq(vd_device_flush(dev), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 0);
}

Test(device_reply, flush_seals_a_partial_batch_that_verifies_with_the_device_key)
{
	struct kp_tap a = tap(1), b = tap(2);
	int frames = 0;

	cr_assert_eq(vd_device_tap(dev, &a), VD_OK);
	cr_assert_eq(vd_device_tap(dev, &b), VD_OK);
	cr_assert_eq(vd_device_flush(dev), VD_OK);
	cr_assert_eq(vd_device_pending(dev), 1);
	/* Read it back through a second handle on the same environment. */
	vd_device_close(dev);
	struct vd_outbox *ob;
	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	cr_assert_eq(vd_outbox_foreach(ob, 1, check_frame, &frames), 0);
	vd_outbox_close(ob);
	cr_expect_eq(frames, 1);
	dev = NULL;
}

Test(device_reply, genuine_ack_removes_its_frame_and_all_up_to_the_watermark)
{
	make_frames(5);
	cr_assert_eq(vd_device_pending(dev), 5);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 4, 2, server_key.sk), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 2, "frames 3 and 5 must stay");
	cr_expect_eq(vd_device_stats(dev)->acks, 1);
	cr_expect_eq(vd_device_stats(dev)->acked_frames, 3);
}

Test(device_reply, ack_signed_with_another_key_is_ignored_and_drops_nothing)
{
	make_frames(3);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 3, 3, forger_key.sk), VD_EIGNORED);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 3, 3, device_key.sk), VD_EIGNORED);
	cr_expect_eq(vd_device_pending(dev), 3);
	cr_expect_eq(vd_device_stats(dev)->ignored, 2);
	cr_expect_eq(vd_device_stats(dev)->acks, 0);
}

Test(device_reply, ack_for_another_device_is_ignored)
{
	make_frames(2);
	cr_expect_eq(reply(KP_TYPE_ACK, OTHER_DEVICE, 2, 2, server_key.sk), VD_EIGNORED);
	cr_expect_eq(vd_device_pending(dev), 2);
	cr_expect_eq(vd_device_stats(dev)->ignored, 1);
}

Test(device_reply, tampered_ack_is_ignored)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];

	make_frames(2);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof buf, KP_TYPE_ACK, 1, DEVICE, 1, 0, 1,
	                                 server_key.sk), KP_ACK_FRAME_SIZE);
	buf[32] = 2; /* watermark 1 → 2 after signing */
	cr_expect_eq(vd_device_handle_reply(dev, buf, sizeof buf, NOW), VD_EIGNORED);
	cr_expect_eq(vd_device_pending(dev), 2);
}

Test(device_reply, garbage_short_and_taps_frames_are_ignored)
{
	uint8_t junk[KP_ACK_FRAME_SIZE];
	uint8_t taps[KP_HEADER_SIZE + KP_TAP_RECORD_SIZE + KP_SIGNATURE_SIZE];
	struct kp_header h = {.type = KP_TYPE_TAPS, .count = 1, .device_id = DEVICE, .batch_seq = 1};
	struct kp_tap t = tap(1);

	make_frames(1);
	memset(junk, 0xa5, sizeof junk);
	cr_expect_eq(vd_device_handle_reply(dev, junk, sizeof junk, NOW), VD_EIGNORED);
	cr_expect_eq(vd_device_handle_reply(dev, junk, 10, NOW), VD_EIGNORED);
	cr_assert_eq(kp_frame_put_header(taps, sizeof taps, &h), KP_OK);
	kp_frame_put_tap(taps, 0, &t);
	cr_assert_eq(kp_frame_sign(taps, sizeof taps, server_key.sk), KP_OK);
	cr_expect_eq(vd_device_handle_reply(dev, taps, sizeof taps, NOW), VD_EIGNORED);
	cr_expect_eq(vd_device_pending(dev), 1);
	cr_expect_eq(vd_device_stats(dev)->ignored, 3);
}

Test(device_reply, nack_is_counted_by_reason_and_never_drops_the_frame)
{
	make_frames(2);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 1, KP_NACK_BAD_SIGNATURE, server_key.sk), VD_OK);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 2, KP_NACK_STORAGE_FULL, server_key.sk), VD_OK);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 2, KP_NACK_STORAGE_FULL, server_key.sk), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 2);
	cr_expect_eq(vd_device_stats(dev)->nacks, 3);
	cr_expect_eq(vd_device_stats(dev)->nack_reasons[KP_NACK_BAD_SIGNATURE], 1);
	cr_expect_eq(vd_device_stats(dev)->nack_reasons[KP_NACK_STORAGE_FULL], 2);
}

Test(device_reply, forged_nack_is_ignored_not_counted)
{
	make_frames(1);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 1, KP_NACK_REVOKED, forger_key.sk), VD_EIGNORED);
	cr_expect_eq(vd_device_stats(dev)->nacks, 0);
	cr_expect_eq(vd_device_stats(dev)->ignored, 1);
}

Test(device_reply, numbering_continues_after_reopen_and_frames_are_kept)
{
	struct vd_device_config cfg = {.device_id = DEVICE, .key_id = 1, .batch = BATCH};

	make_frames(3);
	cr_assert_eq(reply(KP_TYPE_ACK, DEVICE, 1, 1, server_key.sk), VD_OK);
	vd_device_close(dev);
	memcpy(cfg.secret_key, device_key.sk, sizeof cfg.secret_key);
	memcpy(cfg.server_pk, server_key.pk, sizeof cfg.server_pk);
	cfg.outbox_dir = dir;
	cr_assert_eq(vd_device_open(&cfg, &dev, NULL), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 2);
	make_frames(1);
	/* An ACK of frame 4 with watermark 4 proves frame 4 got number 4. */
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 4, 4, server_key.sk), VD_OK);
	cr_expect_eq(vd_device_stats(dev)->acked_frames, 3);
	cr_expect_eq(vd_device_pending(dev), 0);
}

Test(device_reply, ack_beyond_the_last_allocated_number_is_ignored_and_alarms)
{
	make_frames(2);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 3, 0, server_key.sk), VD_EIGNORED,
	             "frame 3 was never made");
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 1, 9, server_key.sk), VD_EIGNORED,
	             "a watermark of 9 would cover frames never stored");
	cr_expect_eq(vd_device_pending(dev), 2);
	cr_expect_eq(vd_device_stats(dev)->acks_beyond_last_seq, 2);
	cr_expect_eq(vd_device_stats(dev)->ignored, 2);
	cr_expect_eq(vd_device_stats(dev)->acks, 0);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 2, 2, server_key.sk), VD_OK);
	cr_expect_eq(vd_device_pending(dev), 0);
}

static int count_taps(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct kp_header h;

	cr_assert_eq(kp_frame_decode(frame, len, &h), KP_OK);
	*(uint64_t *)arg += h.count;
	return 0;
}

/* Lets the outbox's data file grow by `bytes` at most: LMDB's writes past
 * that fail with EFBIG (SIGXFSZ ignored). This test process only. */
static void limit_outbox_growth(off_t bytes)
{
	char path[96];
	struct stat st;
	struct rlimit lim;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
	lim.rlim_cur = (rlim_t)(st.st_size + bytes);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void unlimit_outbox_growth(void)
{
	struct rlimit lim;

	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
	lim.rlim_cur = lim.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

Test(device_reply, a_tap_is_never_lost_while_the_outbox_fails)
{
	uint64_t taken = 0, stored = 0;
	struct kp_tap t;
	int rc = VD_OK;
	int i;

	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	limit_outbox_growth(0);
	for (i = 0; i < 100000 && rc == VD_OK; i++) {
		t = tap(i);
		rc = vd_device_tap(dev, &t);
		taken += rc == VD_OK;
	}
	cr_assert_eq(rc, VD_ESTORE, "the tap that fills the batch is taken, the seal fails");
	taken++;
	t = tap(i);
	cr_expect_eq(vd_device_tap(dev, &t), VD_EFULL_KEEP_TAP,
	             "the batch is still full: this tap is not taken and the caller keeps it");
	cr_expect_eq(vd_device_flush(dev), VD_ESTORE);
	unlimit_outbox_growth();
	cr_assert_eq(vd_device_tap(dev, &t), VD_OK, "the kept tap is offered again and taken");
	taken++;
	cr_assert_eq(vd_device_flush(dev), VD_OK);
	cr_expect_eq(vd_device_stats(dev)->taps, taken);
	vd_device_close(dev);
	dev = NULL;
	struct vd_outbox *ob;
	cr_assert_eq(vd_outbox_open(dir, &ob), 0);
	cr_assert_eq(vd_outbox_foreach(ob, 1, count_taps, &stored), 0);
	vd_outbox_close(ob);
	cr_expect_eq(stored, taken, "every tap taken is in a sealed frame");
}

Test(device_reply, nack_for_a_frame_never_made_is_ignored_and_alarms)
{
	make_frames(2);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 3, KP_NACK_STORAGE_FULL, server_key.sk), VD_EIGNORED,
	             "frame 3 was never made");
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 0, KP_NACK_STORAGE_FULL, server_key.sk), VD_EIGNORED,
	             "frame 0 is never made: numbering starts at 1");
	cr_expect_eq(vd_device_stats(dev)->nacks, 0);
	cr_expect_eq(vd_device_stats(dev)->nack_reasons[KP_NACK_STORAGE_FULL], 0);
	cr_expect_eq(vd_device_stats(dev)->nacks_beyond_last_seq, 2);
	cr_expect_eq(vd_device_stats(dev)->ignored, 2);
	cr_expect_eq(vd_device_pending(dev), 2);
	cr_expect_eq(reply(KP_TYPE_NACK, DEVICE, 2, KP_NACK_STORAGE_FULL, server_key.sk), VD_OK);
	cr_expect_eq(vd_device_stats(dev)->nacks, 1);
}

Test(device_reply, ack_of_frame_zero_is_ignored_whatever_its_watermark)
{
	make_frames(2);
	cr_expect_eq(reply(KP_TYPE_ACK, DEVICE, 0, 2, server_key.sk), VD_EIGNORED,
	             "frame 0 is never made: its ACK must not apply the watermark");
	cr_expect_eq(vd_device_pending(dev), 2);
	cr_expect_eq(vd_device_stats(dev)->acks, 0);
	cr_expect_eq(vd_device_stats(dev)->acks_beyond_last_seq, 1);
}

Test(device_reply, nack_with_a_damaged_server_signature_is_ignored)
{
	uint8_t buf[KP_ACK_FRAME_SIZE];

	make_frames(1);
	cr_assert_eq(kp_frame_make_reply(buf, sizeof buf, KP_TYPE_NACK, 1, DEVICE, 1, 1700000000000,
	                                 KP_NACK_REVOKED, server_key.sk),
	             KP_ACK_FRAME_SIZE);
	buf[KP_ACK_FRAME_SIZE - 1] ^= 0x01; /* the signature's last byte */
	cr_expect_eq(vd_device_handle_reply(dev, buf, sizeof buf, NOW), VD_EIGNORED);
	cr_expect_eq(vd_device_stats(dev)->nacks, 0);
	cr_expect_eq(vd_device_stats(dev)->ignored, 1);
}
