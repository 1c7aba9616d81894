/*
 * Description: the broker is stopped in the middle of a stream and started
 * again; komposterd's persistent session and Paho's automatic reconnect,
 * and the devices' outboxes, carry every tap through: all stored, once.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 3000

static int ready(const struct kp_daemon_proc *d)
{
	char *body = NULL;
	int status = kp_http_get(d->http_port, "/readyz", &body);
	free(body);
	return status == 200;
}

Test(broker_restart, a_broker_restart_mid_stream_loses_nothing, .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	struct timespec pause = { 0, 20 * 1000000L };

	cr_assert_eq(kp_fleet_bring_up(&broker, &d, &fleet, DEVICES), 0);
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "32",
	                           "--resend-ms", "2000", "--timeout", "200", NULL);
	for (int i = 0; i < 3000 && kp_stored_taps(&d) < DEVICES * TAPS_PER_DEVICE / 5.0; i++)
		nanosleep(&pause, NULL);
	cr_assert_lt(kp_stored_taps(&d), DEVICES * TAPS_PER_DEVICE, "the stream ended before the restart");

	kp_broker_stop(&broker);
	int went_unready = 0;
	for (int i = 0; i < 250 && !went_unready; i++) {
		went_unready = !ready(&d);
		nanosleep(&pause, NULL);
	}
	cr_expect(went_unready, "/readyz stayed 200 with the broker gone");
	cr_assert_eq(kp_broker_restart(&broker), 0);
	int back = 0;
	for (int i = 0; i < 1000 && !back; i++) {
		back = ready(&d);
		nanosleep(&pause, NULL);
	}
	cr_assert(back, "komposterd did not resubscribe within 20 s of the broker's return");

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	double accepted, denied, amount;
	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted);
	cr_expect_eq(denied, sum.denied);
	cr_expect_eq(amount, sum.amount);
	cr_expect_eq(kp_stored_taps(&d), DEVICES * TAPS_PER_DEVICE, "taps stored, counting duplicates out");
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
