/*
 * Description: komposterd is killed with SIGKILL (or stopped with SIGTERM,
 * which must drain and exit 0) in the middle of a stream and restarted; the
 * devices re-send what no ACK covered, and in the end nothing is lost,
 * nothing is stored twice and `komposter check` passes.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 3000

static void wait_for_taps(const struct kp_daemon_proc *d, double at_least)
{
	struct timespec pause = { 0, 20 * 1000000L };
	for (int i = 0; i < 3000; i++) {
		if (kp_stored_taps(d) >= at_least)
			return;
		nanosleep(&pause, NULL);
	}
	cr_assert_fail("the daemon never stored %.0f taps", at_least);
}

/* Stops the daemon with `sig` once a fifth of the taps are stored, starts it
 * again, lets the fleet finish, and checks that every tap is stored once. */
static void stop_mid_stream_and_restart(int sig, int expected_status)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;

	cr_assert_eq(kp_fleet_bring_up(&broker, &d, &fleet, DEVICES), 0);

	/* Paced so that the stop lands mid-stream: about 6 s of taps. */
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "32",
	                           "--resend-ms", "2000", "--timeout", "200", NULL);
	wait_for_taps(&d, DEVICES * TAPS_PER_DEVICE / 5.0);
	double before_stop = kp_stored_taps(&d);
	cr_assert_eq(kp_daemon_stop(&d, sig), expected_status);
	cr_assert_lt(before_stop, DEVICES * TAPS_PER_DEVICE, "the stop came after the stream ended");
	cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after signal %d", sig);

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);

	double accepted, denied, amount;
	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted, "accepted %.0f stored, %.0f sent", accepted, sum.accepted);
	cr_expect_eq(denied, sum.denied);
	cr_expect_eq(amount, sum.amount);

	char *dump = NULL;
	cr_assert_eq(kp_komposter(&d, &dump, "dump", NULL), 0);
	long lines = 0;
	for (char *p = dump; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	free(dump);
	cr_expect_eq(lines, DEVICES * TAPS_PER_DEVICE, "%ld taps stored", lines);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}

Test(crash, sigkill_mid_stream_loses_nothing_and_stores_nothing_twice, .timeout = 300)
{
	stop_mid_stream_and_restart(SIGKILL, 128 + SIGKILL);
}

Test(crash, sigterm_mid_stream_drains_exits_0_and_loses_nothing, .timeout = 300)
{
	stop_mid_stream_and_restart(SIGTERM, 0);
}
