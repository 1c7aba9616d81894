/*
 * Description: a simulated fleet whose vehicles carry passenger counters
 * beside their validators, with riders who board without tapping: over a
 * real broker and daemon, every signed count and every tap is stored once,
 * and the boardings the daemon counts are exactly the simulated ones, so
 * accepted taps ÷ boardings is the simulated validation rate.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "tests/e2e/fleet.h"

#define DEVICES 6
#define TAPS_PER_DEVICE 300

Test(fleet_apc, boardings_counted_on_board_are_the_simulated_ones, .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	double accepted, denied, amount, boardings, alightings;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init_apcs(&fleet, &d, DEVICES, DEVICES), 0);

	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--evasion-rate", "0.15",
	                           "--timeout", "200", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);
	cr_assert_gt(sum.boardings, sum.taps, "nobody evaded at a rate of 0.15");

	cr_assert_eq(kp_count_totals(&d, &boardings, &alightings), 0);
	cr_expect_eq(boardings, sum.boardings, "the daemon counted %.0f boardings, the fleet made %.0f",
	             boardings, sum.boardings);
	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted);
	cr_expect_eq(accepted + denied, sum.taps);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_frames_rejected_total{reason=\"malformed_frame\"}"), 0,
	             "a counter's or a validator's frames were refused for their kind");
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
