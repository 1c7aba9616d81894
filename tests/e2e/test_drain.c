/*
 * Description: komposterd gets SIGTERM while validators publish steadily.
 * It disconnects from the broker first and stores every frame Paho took
 * (and PUBACKed) before it exits: its stop line says 0 messages dropped
 * while stopping. Started again, it receives what the broker kept for its
 * persistent session, the devices re-send what no ACK covered, and every
 * tap is stored exactly once; `komposter check` passes.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 200
#define TOTAL (DEVICES * TAPS_PER_DEVICE)

Test(drain, sigterm_mid_stream_drops_no_taken_frame, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;

	/* A commit per frame behind a small ring: the fleet offers more than the
	 * writer takes, so at the signal the ring is full, Paho waits in
	 * messageArrived and more frames come while the pipeline drains. */
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "ingest.ring_size = 16\n"
	                             "ingest.group_max_frames = 1\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init(&fleet, &d, DEVICES), 0);
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "4",
	                           "--resend-ms", "1000", "--timeout", "60", NULL);
	cr_assert_eq(kp_wait_metric(&d, "komposter_taps_stored_total", TOTAL / 5.0, 60000), 0);
	double before_stop = kp_stored_taps(&d);
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
	cr_assert_lt(before_stop, TOTAL, "the stop came after the stream ended");
	long dropped = kp_dropped_at_stop(&d);
	cr_expect_eq(dropped, 0, "the stop line says %ld messages dropped while stopping (see %s/komposterd.log)",
	             dropped, d.dir);

	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_end(&fleet, sim, TOTAL, &sum), 0);
	cr_expect_eq(kp_dump_count(&d), TOTAL, "not every tap stored exactly once");
	cr_expect_eq(kp_check_taps_stored_once(&d, &sum), 0, "see above");

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
