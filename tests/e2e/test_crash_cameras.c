/*
 * Description: komposterd is killed with SIGKILL while passenger counters
 * (signed COUNTS frames) and street cameras (Frigate events) both stream,
 * and restarted on the same database; the devices re-send what no ACK
 * covered. Every count and tap is then stored exactly once (per (route,
 * hour) the summary's boardings and accepted taps, `komposter check`
 * passes), while the cameras' counts per (stop, hour) are at most the
 * summary's, never doubled: Frigate's events have no ACK of komposterd's,
 * so those the broker delivered before the kill and the daemon had not
 * committed may be lost.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 3000
#define CAMERAS "8"
#define DEADLINE_MS 60000

Test(crash_cameras, sigkill_while_counters_and_cameras_stream_stores_counts_once_and_never_doubles_cameras,
     .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;

	cr_assert_eq(kp_fleet_bring_up_cameras(&broker, &d, &fleet, DEVICES, CAMERAS), 0);

	/* Paced so that the kill lands mid-stream: about 6 s of taps. */
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "32",
	                           "--resend-ms", "2000", "--evasion-rate", "0.15", "--street-cameras", CAMERAS,
	                           "--timeout", "200", NULL);
	cr_assert_eq(kp_wait_metric(&d, "komposter_taps_stored_total", DEVICES * TAPS_PER_DEVICE / 5.0, DEADLINE_MS), 0);
	cr_assert_eq(kp_wait_metric(&d, "komposter_counts_stored_total", 1, DEADLINE_MS), 0);
	cr_assert_eq(kp_wait_metric(&d, "komposter_frigate_boardings_total", 1, DEADLINE_MS), 0);
	double before_kill = kp_stored_taps(&d);
	cr_assert_eq(kp_daemon_stop(&d, SIGKILL), 128 + SIGKILL);
	cr_assert_lt(before_kill, DEVICES * TAPS_PER_DEVICE, "the kill came after the stream ended");
	cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after SIGKILL");

	cr_assert_eq(kp_fleet_end(&fleet, sim, DEVICES * TAPS_PER_DEVICE, &sum), 0);
	cr_assert_eq(kp_wait_frigate_offline(&d, DEADLINE_MS), 0);
	cr_expect_eq(kp_check_fleet_stored_once(&d, &fleet, &sum), 0, "not every frame stored once; see above");

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
