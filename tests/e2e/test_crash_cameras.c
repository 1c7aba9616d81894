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
#define POLL_MS 20
#define DEADLINE_MS 60000

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsNumber(v), "no number %s", key);
	return v->valuedouble;
}

/* Waits, bounded, until the daemon's /metrics sample `name` is >= at_least. */
static void wait_for_metric(const struct kp_daemon_proc *d, const char *name, double at_least)
{
	double v = -1;

	for (int waited = 0; waited < DEADLINE_MS; waited += POLL_MS) {
		v = kp_daemon_metric(d, name);
		if (v >= at_least)
			return;
		pause_ms(POLL_MS);
	}
	cr_assert_fail("%s stayed %g, never %g", name, v, at_least);
}

/* Waits, bounded, until the daemon has taken the cameras' last word,
 * "offline": the Frigate stage commits every event before it. */
static void wait_for_frigate_offline(const struct kp_daemon_proc *d)
{
	double v = -1;

	for (int waited = 0; waited < DEADLINE_MS; waited += POLL_MS) {
		v = kp_daemon_metric(d, "komposter_frigate_available");
		if (v == 0)
			return;
		pause_ms(POLL_MS);
	}
	cr_assert_fail("komposter_frigate_available stayed %g, never 0", v);
}


/* Signed counts and taps: exactly the summary's, per (route, hour). */
static void expect_route_hours_exact(const struct kp_daemon_proc *d, const cJSON *sum)
{
	const cJSON *cell;
	int cells = 0;
	cJSON *doc = kp_stats_rate(d, "route");

	cr_assert_not_null(doc);
	cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(sum, "route_hours")) {
		uint32_t route = (uint32_t)number(cell, "route_id");
		struct kp_service_hour h;

		cr_assert_eq(kp_service_hour(d, (int64_t)number(cell, "hour_s"), &h), 0);
		const cJSON *row = kp_rate_row(doc, &h, "route_id", route, "signed");
		cr_assert_not_null(row, "route %u hour %d: no signed row", route, h.hour);
		cr_expect_eq(number(row, "boardings"), number(cell, "boardings"), "route %u hour %d", route, h.hour);
		cr_expect_eq(number(row, "accepted"), number(cell, "accepted"), "route %u hour %d", route, h.hour);
		cells++;
	}
	cr_assert_gt(cells, 0);
	cr_expect_eq(kp_rate_rows_of(doc, "signed"), cells, "signed rows the summary lacks");
	cJSON_Delete(doc);
}

/* Camera counts: per (stop, hour) at most the summary's, some in all; the
 * accepted taps beside them exact. */
static void expect_stop_hours_at_most(const struct kp_daemon_proc *d, const cJSON *sum)
{
	const cJSON *cell;
	int rows = 0;
	double stored = 0, sent = 0;
	cJSON *doc = kp_stats_rate(d, "stop");

	cr_assert_not_null(doc);
	cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(sum, "stop_hours")) {
		uint32_t stop = (uint32_t)number(cell, "stop_id");
		struct kp_service_hour h;

		cr_assert_eq(kp_service_hour(d, (int64_t)number(cell, "hour_s"), &h), 0);
		sent += number(cell, "boardings");
		const cJSON *row = kp_rate_row(doc, &h, "stop_id", stop, "nvr");
		if (!row)
			continue; /* every event of the hour lost, or none counted */
		cr_expect_leq(number(row, "boardings"), number(cell, "boardings"), "stop %u hour %d: doubled", stop,
		              h.hour);
		cr_expect_leq(number(row, "alightings"), number(cell, "alightings"), "stop %u hour %d: doubled",
		              stop, h.hour);
		cr_expect_eq(number(row, "accepted"), number(cell, "accepted"), "stop %u hour %d", stop, h.hour);
		stored += number(row, "boardings");
		rows++;
	}
	cr_expect_eq(kp_rate_rows_of(doc, "nvr"), rows, "nvr rows the summary lacks");
	cr_expect_gt(stored, 0, "no camera boarding survived");
	cr_expect_leq(stored, sent);
	cJSON_Delete(doc);
}

Test(crash_cameras, sigkill_while_counters_and_cameras_stream_stores_counts_once_and_never_doubles_cameras,
     .timeout = 300)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;
	double accepted, denied, amount, boardings, alightings;
	uint8_t *text;
	size_t len;

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init_apcs(&fleet, &d, DEVICES, DEVICES), 0);
	cr_assert_eq(kp_fleet_map_cameras(&d, &fleet, CAMERAS), atoi(CAMERAS));

	/* Paced so that the kill lands mid-stream: about 6 s of taps. */
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--rate", "500", "--batch", "32",
	                           "--resend-ms", "2000", "--evasion-rate", "0.15", "--street-cameras", CAMERAS,
	                           "--timeout", "200", NULL);
	wait_for_metric(&d, "komposter_taps_stored_total", DEVICES * TAPS_PER_DEVICE / 5.0);
	wait_for_metric(&d, "komposter_counts_stored_total", 1);
	wait_for_metric(&d, "komposter_frigate_boardings_total", 1);
	double before_kill = kp_stored_taps(&d);
	cr_assert_eq(kp_daemon_stop(&d, SIGKILL), 128 + SIGKILL);
	cr_assert_lt(before_kill, DEVICES * TAPS_PER_DEVICE, "the kill came after the stream ended");
	cr_assert_eq(kp_daemon_start(&d), 0, "komposterd did not come back after SIGKILL");

	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	wait_for_frigate_offline(&d);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);

	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted, "accepted %.0f stored, %.0f sent", accepted, sum.accepted);
	cr_expect_eq(denied, sum.denied);
	cr_expect_eq(amount, sum.amount);
	cr_assert_eq(kp_count_totals(&d, &boardings, &alightings), 0);
	cr_expect_eq(boardings, sum.boardings, "signed boardings %.0f stored, %.0f sent", boardings, sum.boardings);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);

	cr_assert_eq(kp_file_read(fleet.summary, &text, &len), 0);
	cJSON *j = cJSON_Parse((const char *)text);
	free(text);
	cr_assert_not_null(j);
	expect_route_hours_exact(&d, j);
	expect_stop_hours_at_most(&d, j);
	cJSON_Delete(j);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
