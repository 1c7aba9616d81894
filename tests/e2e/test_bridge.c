/*
 * Description: two komposterd instances behind two bridged mosquittos
 * (etc/mosquitto-bridge.conf.in, README "Broker clusters"): broker B is
 * bridged to broker A, the fleet of 20 validators is connected to A,
 * instance 0/2 to A and instance 1/2 to B. Each instance subscribes to its
 * own devices on its own broker; the bridge carries instance 1's devices'
 * frames from A to B and its ACKs from B back to A. Every frame is ACKed
 * (the simulator empties every outbox), every tap is stored exactly once,
 * by its device's owner, and neither instance receives another's frames.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firmware-proto/partition.h"
#include "tests/e2e/fleet.h"

#define N 2
#define DEVICES 20

static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Instance k of N on broker b, with its own session and the key of `key_of`
 * (NULL: its own), so that every device checks one server key. */
static void setup_instance(struct kp_daemon_proc *d, const struct kp_broker *b, int k,
                           const struct kp_daemon_proc *key_of)
{
	char extra[160];

	snprintf(extra, sizeof(extra), "mqtt.partition=%d/%d\nmqtt.client_id=komposterd-bridge-%d-%d\n", k, N, k,
	         b->port);
	cr_assert_eq(kp_daemon_setup(d, b, extra), 0);
	for (int i = 0; key_of && i < 2; i++) {
		char from[340], to[340];
		snprintf(from, sizeof(from), "%s/server.key%s", key_of->dir, i ? ".pub" : "");
		snprintf(to, sizeof(to), "%s/server.key%s", d->dir, i ? ".pub" : "");
		char *argv[] = { "/bin/cp", from, to, NULL };
		cr_assert_eq(kp_run(argv, NULL), 0);
	}
}

/* How many of the fleet's devices (its fleet.txt) instance k owns. */
static int owned_by(const struct kp_fleet *f, int k)
{
	char path[360], line[256];
	int n = 0;

	snprintf(path, sizeof(path), "%s/fleet.txt", f->state);
	FILE *in = fopen(path, "r");
	cr_assert_not_null(in);
	while (fgets(line, sizeof(line), in))
		n += kp_partition_owner(strtoull(line, NULL, 16), N) == (uint32_t)k;
	fclose(in);
	return n;
}

static double taps_in_db(const struct kp_daemon_proc *d)
{
	double accepted, denied, amount;

	cr_assert_eq(kp_stats_totals(d, &accepted, &denied, &amount), 0);
	return accepted + denied;
}

Test(bridge, instances_on_two_bridged_brokers_store_each_tap_once, .timeout = 90)
{
	static struct kp_broker a, b;
	static struct kp_daemon_proc d[N];
	static struct kp_fleet fleet;
	const struct kp_broker *on[N] = { &a, &b };
	const int taps = 30;
	char fleet_txt[360];

	cr_assert_eq(kp_broker_start(&a), 0);
	cr_assert_eq(kp_broker_start_bridged(&b, &a), 0);
	for (int k = 0; k < N; k++)
		setup_instance(&d[k], on[k], k, k ? &d[0] : NULL);
	/* Enrolled before the start: each instance subscribes at its connect. */
	cr_assert_eq(kp_fleet_init(&fleet, &d[0], DEVICES), 0);
	snprintf(fleet_txt, sizeof(fleet_txt), "%s/fleet.txt", fleet.state);
	cr_assert_eq(kp_enrol_fleet(&d[1], fleet_txt), 0);
	for (int k = 0; k < N; k++) {
		cr_assert_eq(kp_daemon_start(&d[k]), 0, "instance %d did not start", k);
		cr_assert_gt(owned_by(&fleet, k), 0, "instance %d owns none of the fleet", k);
		cr_assert_eq(kp_daemon_metric(&d[k], "komposter_mqtt_devices_subscribed"), owned_by(&fleet, k));
	}
	cr_assert_eq(kp_broker_wait_bridged(&a, &b, 10000), 0);

	pid_t sim = kp_fleet_start(&fleet, &a, &d[0], taps, "--batch", "6", "--resend-ms", "2000", "--timeout",
	                           "40", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not have every frame ACKed; see %s", fleet.log);

	struct kp_fleet_summary sum;
	double total = 0;
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * taps);
	for (int k = 0; k < N; k++) {
		double want = (double)owned_by(&fleet, k) * taps, have = taps_in_db(&d[k]);
		for (int i = 0; i < 100 && have < want; i++) {
			pause_ms(100);
			have = taps_in_db(&d[k]);
		}
		cr_expect_eq(have, want, "instance %d holds %.0f taps, its devices sent %.0f", k, have, want);
		cr_expect_eq(kp_daemon_metric(&d[k], "komposter_frames_not_owned_total"), 0,
		             "instance %d received another instance's frames", k);
		total += have;
	}
	cr_expect_eq(total, sum.taps, "%.0f taps stored in all, %.0f sent", total, sum.taps);
	for (int k = 0; k < N; k++)
		cr_expect_eq(kp_daemon_stop(&d[k], SIGTERM), 0);
	kp_broker_stop(&b);
	kp_broker_stop(&a);
}
