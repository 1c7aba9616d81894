/*
 * Description: a crash loop. While validators, passenger counters (APCs)
 * and Frigate street cameras stream, komposterd is killed with SIGKILL at
 * 20 random (seeded) moments and started again each time on the same
 * database. The devices re-send what no ACK covered; in the end every tap
 * and count is stored exactly once (totals and every (route, hour) equal
 * the simulator's, `komposter check` recounts the aggregates from the log),
 * and the cameras' counts are never above the simulator's: Frigate never
 * re-sends, so a kill may lose events but must never double one.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 2500
#define CAMERAS "8"
#define KILLS 20
#define SEED 17u
#define DEADLINE_MS 60000

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

Test(crash_loop, twenty_kills_under_load_store_every_frame_once_and_never_double_cameras, .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	unsigned seed = SEED;
	int status;

	cr_assert_eq(kp_fleet_bring_up_cameras(&broker, &d, &fleet, DEVICES, CAMERAS), 0);

	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "200", "--batch", "32",
	                           "--resend-ms", "1000", "--evasion-rate", "0.15", "--street-cameras", CAMERAS,
	                           "--timeout", "200", NULL);
	cr_assert_eq(kp_wait_metric(&d, "komposter_frigate_boardings_total", 1, DEADLINE_MS), 0);
	for (int kill = 0; kill < KILLS; kill++) {
		pause_ms(20 + rand_r(&seed) % 200); /* up a random while, 20..220 ms */
		cr_assert_eq(kp_daemon_stop(&d, SIGKILL), 128 + SIGKILL);
		cr_assert_eq(waitpid(sim, &status, WNOHANG), 0, "the stream ended before kill %d", kill + 1);
		cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after kill %d", kill + 1);
	}

	cr_assert_eq(kp_fleet_end(&fleet, sim, DEVICES * TAPS_PER_DEVICE, &sum), 0);
	cr_assert_eq(kp_wait_frigate_offline(&d, DEADLINE_MS), 0);
	cr_expect_eq(kp_check_fleet_stored_once(&d, &fleet, &sum), 0, "not every frame stored once; see above");

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
