/*
 * Description: `komposter backup DIR` taken while a fleet streams into a
 * running komposterd is a database of its own: `komposter check` passes on
 * it, it holds at least every tap stored (and so ACKed) before the backup
 * began, and the daemon goes on storing the rest.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/e2e/fleet.h"

#define DEVICES 8
#define TAPS_PER_DEVICE 1500

static void wait_for_taps(const struct kp_daemon_proc *d, double at_least)
{
	struct timespec pause = { 0, 20 * 1000000L };
	for (int i = 0; i < 1000; i++) {
		if (kp_stored_taps(d) >= at_least)
			return;
		nanosleep(&pause, NULL);
	}
	cr_assert_fail("the daemon never stored %.0f taps", at_least);
}

/* The taps of `komposter check`'s summary line. */
static double checked_taps(const char *out)
{
	const char *p = strstr(out, ", taps ");
	return p ? strtod(p + 7, NULL) : -1;
}

Test(backup, a_copy_taken_mid_stream_passes_check_and_holds_every_acked_tap, .timeout = 60)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	char dir[320], file[340];
	struct stat st;
	char *out = NULL;

	cr_assert_eq(kp_fleet_bring_up(&broker, &d, &fleet, DEVICES), 0);
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "32",
	                           "--timeout", "100", NULL);
	wait_for_taps(&d, DEVICES * TAPS_PER_DEVICE / 5.0);
	double acked = kp_stored_taps(&d); /* an ACK follows the commit: these are ACKed or about to be */

	snprintf(dir, sizeof(dir), "%s/backup", d.dir);
	cr_assert_eq(kp_komposter(&d, &out, "backup", dir, NULL), 0, "see %s/komposterd.log", d.dir);
	free(out);
	cr_assert_lt(acked, DEVICES * TAPS_PER_DEVICE, "the backup came after the stream ended");
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	cr_assert_eq(stat(file, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "data.mdb mode %o", st.st_mode & 07777);

	out = NULL;
	cr_assert_eq(kp_komposter(&d, &out, "--db", dir, "check", NULL), 0, "check of the copy: %s", out);
	double copied = checked_taps(out);
	cr_expect_geq(copied, acked, "the copy holds %.0f taps, %.0f were stored before it", copied, acked);
	cr_expect_leq(copied, DEVICES * TAPS_PER_DEVICE);
	free(out);

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_expect_eq(kp_stored_taps(&d), DEVICES * TAPS_PER_DEVICE, "the daemon stopped storing");
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
