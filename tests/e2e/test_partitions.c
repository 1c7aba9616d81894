/*
 * Description: three komposterd instances, partitions 0/3, 1/3 and 2/3
 * ([mqtt] partition), behind one real mosquitto, each with its own LMDB and
 * the one server key, and a fleet of 60 validators enrolled while they run
 * (each instance: its own devices and 9 of the others'). Each instance
 * subscribes to the topics of the devices it owns (kp_partition_owner) at
 * its next registry re-read, not to the rest of its registry: every tap is
 * stored exactly once, by its device's owner, no instance ever receives a
 * frame of another's device, and the stored taps add up to the taps sent.
 * kill -9 of one instance mid-stream: the others store all of theirs
 * meanwhile; its devices' frames wait (broker session, device outboxes) and
 * are stored once when it comes back. `komposter stats --json` (the
 * document of /v1/ridership) says which partition answered.
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

#define N 3
#define DEVICES 60

struct cluster {
	struct kp_broker broker;
	struct kp_daemon_proc d[N];
	struct kp_fleet fleet;
	int owned[N]; /* the fleet's devices each instance owns */
};

static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Instance k's config: its partition, its own client id (its own broker
 * session), and instance 0's server key, so that every ACK verifies. */
static void setup_instance(struct cluster *c, int k)
{
	char extra[160];

	snprintf(extra, sizeof(extra), "mqtt.partition=%d/%d\nmqtt.client_id=komposterd-part-%d-%d\n", k, N, k,
	         c->broker.port);
	cr_assert_eq(kp_daemon_setup(&c->d[k], &c->broker, extra), 0);
	if (k > 0)
		cr_assert_eq(kp_daemon_share_key(&c->d[k], &c->d[0]), 0);
}

/* The owner of each of the fleet's devices, from its fleet.txt. */
static void count_owners(struct cluster *c)
{
	char path[360], line[256];

	snprintf(path, sizeof(path), "%s/fleet.txt", c->fleet.state);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t id = strtoull(line, NULL, 16);
		cr_assert_neq(id, 0, "fleet.txt line '%s'", line);
		c->owned[kp_partition_owner(id, N)]++;
		n++;
	}
	fclose(f);
	cr_assert_eq(n, DEVICES);
	for (int k = 0; k < N; k++)
		cr_assert_gt(c->owned[k], 0, "instance %d owns none of the fleet", k);
}

/* kp_fleet_init without its enrolment (done per instance, in parallel). */
static void init_fleet(struct kp_fleet *f, const struct kp_daemon_proc *d)
{
	char n[16];

	memset(f, 0, sizeof(*f));
	f->devices = DEVICES;
	snprintf(f->state, sizeof(f->state), "%s/fleet", d->dir);
	snprintf(f->summary, sizeof(f->summary), "%s/summary.json", d->dir);
	snprintf(f->tokens, sizeof(f->tokens), "%s/tokens.txt", d->dir);
	snprintf(f->log, sizeof(f->log), "%s/validator-sim.log", d->dir);
	snprintf(n, sizeof(n), "%d", DEVICES);
	char *sim = strdup(kp_bin("validators/validator-sim"));
	char *argv[] = { sim, "init", "--state", f->state, "--devices", n, "--quiet", NULL };
	int rc = kp_run(argv, NULL);
	free(sim);
	cr_assert_eq(rc, 0, "validator-sim init exited %d", rc);
}

/* Instance k's share of fleet.txt: the devices it owns, and the first
 * OTHERS_ENROLLED of the fleet whoever owns them (enrolment there costs a
 * process each, and these show that the registry is not the subscription
 * set: each instance subscribes to its own devices only). */
#define OTHERS_ENROLLED 9
static void write_enrolment(const char *fleet_txt, const char *out, int k)
{
	char line[256];
	FILE *in = fopen(fleet_txt, "r"), *o = fopen(out, "w");
	int n = 0;

	cr_assert(in && o, "cannot copy %s to %s", fleet_txt, out);
	while (fgets(line, sizeof(line), in))
		if (n++ < OTHERS_ENROLLED || kp_partition_owner(strtoull(line, NULL, 16), N) == (uint32_t)k)
			cr_assert_geq(fputs(line, o), 0);
	fclose(in);
	cr_assert_eq(fclose(o), 0);
}

/* A running cluster whose instances have subscribed to their devices,
 * enrolled while they run (the registry re-read). */
static void bring_up(struct cluster *c)
{
	char fleet_txt[360];

	memset(c, 0, sizeof(*c));
	cr_assert_eq(kp_broker_start(&c->broker), 0);
	for (int k = 0; k < N; k++)
		setup_instance(c, k);
	for (int k = 0; k < N; k++)
		cr_assert_eq(kp_daemon_start(&c->d[k]), 0, "instance %d did not start", k);
	init_fleet(&c->fleet, &c->d[0]);
	snprintf(fleet_txt, sizeof(fleet_txt), "%s/fleet.txt", c->fleet.state);
	/* A process per instance: enrolment is a process and a commit per device. */
	pid_t enrol[N];
	for (int k = 0; k < N; k++) {
		char own[340];
		snprintf(own, sizeof(own), "%s/enrol.txt", c->d[k].dir);
		write_enrolment(fleet_txt, own, k);
		enrol[k] = fork();
		cr_assert_geq(enrol[k], 0);
		if (enrol[k] == 0)
			_exit(kp_enrol_fleet(&c->d[k], own) == 0 ? 0 : 1);
	}
	for (int k = 0; k < N; k++)
		cr_assert_eq(kp_wait(enrol[k]), 0, "enrolling the fleet in instance %d failed", k);
	count_owners(c);
	for (int k = 0; k < N; k++) {
		double subscribed = -1;
		for (int i = 0; i < 200 && subscribed != c->owned[k]; i++) {
			pause_ms(50);
			subscribed = kp_daemon_metric(&c->d[k], "komposter_mqtt_devices_subscribed");
		}
		cr_assert_eq(subscribed, c->owned[k], "instance %d subscribed to %.0f devices, owns %d", k,
		             subscribed, c->owned[k]);
	}
}

static void wait_for_taps(const struct kp_daemon_proc *d, double want)
{
	for (int i = 0; i < 750 && kp_stored_taps(d) < want; i++)
		pause_ms(20);
	cr_assert_eq(kp_stored_taps(d), want, "%s stored %.0f taps, want %.0f", d->dir, kp_stored_taps(d), want);
}

/* The taps in d's database (its metrics count this run's only). */
static double taps_in_db(const struct kp_daemon_proc *d)
{
	double accepted, denied, amount;

	cr_assert_eq(kp_stats_totals(d, &accepted, &denied, &amount), 0);
	return accepted + denied;
}

/* Every tap once, in its owner; no frame of another's device anywhere. */
static void expect_each_tap_in_its_owner(struct cluster *c, int taps_per_device)
{
	struct kp_fleet_summary sum;
	double total = 0;

	cr_assert_eq(kp_fleet_summary(&c->fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * taps_per_device);
	for (int k = 0; k < N; k++) {
		double want = (double)c->owned[k] * taps_per_device, have = taps_in_db(&c->d[k]);
		for (int i = 0; i < 100 && have < want; i++) {
			pause_ms(100);
			have = taps_in_db(&c->d[k]);
		}
		cr_expect_eq(have, want, "instance %d holds %.0f taps, its devices sent %.0f", k, have, want);
		total += have;
		cr_expect_eq(kp_daemon_metric(&c->d[k], "komposter_frames_not_owned_total"), 0,
		             "instance %d received another instance's frames", k);
	}
	cr_expect_eq(total, sum.taps, "%.0f taps stored in all, %.0f sent", total, sum.taps);
}

/* Each instance's ridership document says which partition answered. */
static void expect_partition_said(struct cluster *c)
{
	for (int k = 0; k < N; k++) {
		char *out = NULL, want[16];
		cr_assert_eq(kp_komposter(&c->d[k], &out, "stats", "--json", NULL), 0);
		cJSON *doc = cJSON_Parse(out);
		free(out);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "partition");
		snprintf(want, sizeof(want), "%d/%d", k, N);
		cr_expect(cJSON_IsString(p) && strcmp(p->valuestring, want) == 0, "instance %d says partition %s", k,
		          cJSON_IsString(p) ? p->valuestring : "nothing");
		cJSON_Delete(doc);
	}
}

static void tear_down(struct cluster *c)
{
	for (int k = 0; k < N; k++)
		cr_expect_eq(kp_daemon_stop(&c->d[k], SIGTERM), 0);
	kp_broker_stop(&c->broker);
}

Test(partitions, three_instances_store_each_tap_once_in_its_owner, .timeout = 60)
{
	static struct cluster c;
	const int taps = 40;

	bring_up(&c);
	pid_t sim = kp_fleet_start(&c.fleet, &c.broker, &c.d[0], taps, "--batch", "8", "--resend-ms", "2000",
	                           "--timeout", "30", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", c.fleet.log);
	expect_each_tap_in_its_owner(&c, taps);
	expect_partition_said(&c);
	tear_down(&c);
}

Test(partitions, kill_9_of_one_instance_loses_and_doubles_nothing, .timeout = 60)
{
	static struct cluster c;
	const int taps = 50;

	bring_up(&c);
	/* Paced: about 5 s of taps, so that the kill lands mid-stream. */
	pid_t sim = kp_fleet_start(&c.fleet, &c.broker, &c.d[0], taps, "--rate", "10", "--batch", "4",
	                           "--resend-ms", "2000", "--timeout", "40", NULL);
	double share = (double)c.owned[1] * taps;
	for (int i = 0; i < 500 && kp_stored_taps(&c.d[1]) < share / 5; i++)
		pause_ms(20);
	/* Read before the kill: what instance 1 held then is below its share,
	 * so the rest of its devices' frames waited in the broker. */
	double held = kp_stored_taps(&c.d[1]);
	cr_assert_eq(kp_daemon_stop(&c.d[1], SIGKILL), 128 + SIGKILL);
	cr_assert_lt(held, share, "the kill came after instance 1's stream");
	/* The others keep ingesting while instance 1 is down. */
	wait_for_taps(&c.d[0], (double)c.owned[0] * taps);
	wait_for_taps(&c.d[2], (double)c.owned[2] * taps);
	cr_assert_eq(kp_daemon_start(&c.d[1]), 0, "instance 1 did not come back");

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", c.fleet.log);
	expect_each_tap_in_its_owner(&c, taps);
	tear_down(&c);
}
