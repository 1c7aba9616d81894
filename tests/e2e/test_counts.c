/*
 * Description: an onboard passenger counter (APC) enrolled with
 * `komposter device add --kind apc` sends signed COUNTS frames on its counts
 * topic through a real mosquitto to komposterd: each is ACKed after its
 * commit, a repeat is re-ACKed and not counted again, a validator's COUNTS
 * on the counts topic and the APC's COUNTS on the taps topic are NACK 4,
 * `komposter check` passes and `komposter stats --counts` shows exactly the
 * boardings and alightings sent.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "firmware-proto/topic.h"
#include "tests/e2e/fleet.h"
#include "tests/e2e/probe.h"

#define APC 0x00000000000a9c01ULL
#define VALIDATOR 0x00000000000a9c02ULL
#define FRAMES 3
#define DOORS 4

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frame f: DOORS door cycles (boardings f+d+1, alightings d) and one occupancy snapshot. */
static uint16_t frame_records(int f, struct kp_count *recs, int64_t at)
{
	for (int d = 0; d < DOORS; d++)
		recs[d] = (struct kp_count){ .observed_at = at - d * 1000, .route_id = 27, .stop_id = 300 + (uint32_t)f,
			                     .vehicle_id = 7, .door = (uint8_t)(d % 2 + 1),
			                     .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = (uint16_t)(f + d + 1),
			                     .alightings = (uint16_t)d, .occupancy = KP_OCCUPANCY_UNKNOWN,
			                     .confidence = 95 };
	recs[DOORS] = (struct kp_count){ .observed_at = at, .route_id = 27, .vehicle_id = 7,
		                         .kind = KP_COUNT_KIND_OCCUPANCY, .occupancy = (uint16_t)(20 + f),
		                         .confidence = KP_CONFIDENCE_UNKNOWN };
	return DOORS + 1;
}

static void expect_reply(struct kp_probe *pr, uint8_t type, uint64_t batch_seq, uint64_t aux)
{
	struct kp_reply_seen r;

	cr_assert_eq(kp_probe_reply(pr, 10000, &r), 0, "no reply to batch %llu", (unsigned long long)batch_seq);
	cr_assert(r.signature_ok);
	cr_expect_eq(r.h.type, type, "batch %llu: type %u, aux %llu", (unsigned long long)batch_seq, r.h.type,
	             (unsigned long long)r.h.aux);
	cr_expect_eq(r.h.batch_seq, batch_seq);
	cr_expect_eq(r.h.aux, aux, "batch %llu: aux %llu, expected %llu", (unsigned long long)batch_seq,
	             (unsigned long long)r.h.aux, (unsigned long long)aux);
}

Test(counts, apc_counts_are_acked_stored_once_checked_and_in_stats, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe apc, validator;
	static uint8_t frames[FRAMES][KP_FRAME_MAX], other[KP_FRAME_MAX];
	struct kp_count recs[DOORS + 1];
	size_t lens[FRAMES], len;
	double boardings_sent = 0, alightings_sent = 0, boardings, alightings;
	int64_t at = now_ms() - 60000;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_probe_open_kind(&apc, &broker, &d, APC, "apc"), 0);
	cr_assert_eq(kp_probe_open_kind(&validator, &broker, &d, VALIDATOR, "validator"), 0);

	/* Each frame is ACKed after its commit, the watermark following. */
	for (int f = 0; f < FRAMES; f++) {
		uint16_t n = frame_records(f, recs, at);

		for (int i = 0; i < DOORS; i++) {
			boardings_sent += recs[i].boardings;
			alightings_sent += recs[i].alightings;
		}
		lens[f] = kp_probe_count_frame(&apc, (uint64_t)f + 1, recs, n, frames[f]);
		cr_assert_gt(lens[f], 0);
		cr_assert_eq(kp_probe_publish_stream(&apc, APC, KP_STREAM_COUNTS, frames[f], lens[f]), 0);
		expect_reply(&apc, KP_TYPE_ACK, (uint64_t)f + 1, (uint64_t)f + 1);
	}
	/* A repeat is ACKed again with the watermark, and not counted again. */
	cr_assert_eq(kp_probe_publish_stream(&apc, APC, KP_STREAM_COUNTS, frames[1], lens[1]), 0);
	expect_reply(&apc, KP_TYPE_ACK, 2, FRAMES);
	/* The APC's COUNTS on its taps topic: NACK 4. */
	len = kp_probe_count_frame(&apc, FRAMES + 1, recs, DOORS + 1, other);
	cr_assert_eq(kp_probe_publish_stream(&apc, APC, KP_STREAM_TAPS, other, len), 0);
	expect_reply(&apc, KP_TYPE_NACK, FRAMES + 1, KP_NACK_MALFORMED);
	/* A validator's key on the counts topic: NACK 4. */
	len = kp_probe_count_frame(&validator, 1, recs, DOORS + 1, other);
	cr_assert_eq(kp_probe_publish_stream(&validator, VALIDATOR, KP_STREAM_COUNTS, other, len), 0);
	expect_reply(&validator, KP_TYPE_NACK, 1, KP_NACK_MALFORMED);

	cr_expect_eq(kp_daemon_metric(&d, "komposter_frames_stored_total"), FRAMES);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_counts_stored_total"), FRAMES * (DOORS + 1));
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frames_duplicate_total"), 1);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);
	cr_assert_eq(kp_count_totals(&d, &boardings, &alightings), 0);
	cr_expect_eq(boardings, boardings_sent, "boardings %g, sent %g", boardings, boardings_sent);
	cr_expect_eq(alightings, alightings_sent, "alightings %g, sent %g", alightings, alightings_sent);

	kp_probe_close(&validator);
	kp_probe_close(&apc);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
