/*
 * Description: a slow disk. komposterd runs with libkp_slow_sync.so
 * preloaded; while its flag file exists every fdatasync, fsync and msync
 * takes 1 s. A fleet publishes meanwhile: the writer commits a group every
 * second or two, the rings fill, and the intake pushes back (messageArrived
 * waits, Paho stops reading, the broker queues). The frames the daemon
 * holds stay bounded: no ring depth ever exceeds the configured ring_size,
 * and the daemon's RssAnon grows by at most 8 MiB. Once the flag is removed
 * everything is stored exactly once and `komposter check` passes.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/fleet.h"

#define DEVICES 10
#define TAPS_PER_DEVICE 800
#define TOTAL (DEVICES * TAPS_PER_DEVICE)
#define RING_SIZE 64
#define SLOW_MS 4000
#define POLL_MS 50
#define RSS_GROWTH_MAX_KIB (8 * 1024)

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

/* The process's RssAnon in KiB, -1 if unreadable. */
static long rss_anon_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* komposterd with the shim preloaded; the test's other children run without. */
static void start_with_slow_sync(struct kp_daemon_proc *d, const char *flag)
{
	cr_assert_eq(setenv("LD_PRELOAD", KP_SLOW_SYNC_LIB, 1), 0);
	cr_assert_eq(setenv("KP_SLOW_SYNC_FLAG", flag, 1), 0);
	int rc = kp_daemon_start(d);
	unsetenv("LD_PRELOAD");
	cr_assert_eq(rc, 0);
}

Test(slow_disk, slow_syncs_push_back_with_bounded_memory_and_lose_nothing, .timeout = 120)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	char flag[300];
	char ring[64];

	snprintf(ring, sizeof(ring), "ingest.ring_size = %d\n", RING_SIZE);
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, ring), 0);
	snprintf(flag, sizeof(flag), "%s/slow-sync", d.dir);
	start_with_slow_sync(&d, flag);
	cr_assert_eq(kp_fleet_init(&fleet, &d, DEVICES), 0);
	long rss_at_start = rss_anon_kib(d.pid);
	cr_assert_gt(rss_at_start, 0);

	FILE *f = fopen(flag, "w");
	cr_assert_not_null(f);
	fclose(f);
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "8",
	                           "--resend-ms", "3000", "--timeout", "90", NULL);
	double deepest = 0, writer_deepest = 0;
	long rss_most = rss_at_start;
	for (int waited = 0; waited < SLOW_MS; waited += POLL_MS) {
		double depth = kp_daemon_metric(&d, "komposter_ring_depth");
		double writer = kp_daemon_metric(&d, "komposter_writer_queue_depth");
		long rss = rss_anon_kib(d.pid);
		cr_assert_leq(depth, RING_SIZE, "intake ring at %.0f of %d", depth, RING_SIZE);
		cr_assert_leq(writer, RING_SIZE, "writer queue at %.0f of %d", writer, RING_SIZE);
		deepest = depth > deepest ? depth : deepest;
		writer_deepest = writer > writer_deepest ? writer : writer_deepest;
		rss_most = rss > rss_most ? rss : rss_most;
		pause_ms(POLL_MS);
	}
	cr_expect_eq(deepest, RING_SIZE, "the intake ring never filled (deepest %.0f): no push-back", deepest);
	cr_expect_leq(rss_most - rss_at_start, RSS_GROWTH_MAX_KIB, "RssAnon grew %ld KiB", rss_most - rss_at_start);
	cr_expect_lt(kp_stored_taps(&d), TOTAL, "the slow disk did not slow the writer");
	cr_assert_eq(unlink(flag), 0);

	cr_assert_eq(kp_fleet_end(&fleet, sim, TOTAL, &sum), 0);
	cr_expect_eq(kp_dump_count(&d), TOTAL, "not every tap stored exactly once");
	cr_expect_eq(kp_check_taps_stored_once(&d, &sum), 0, "see above");
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
