/*
 * Description: a simulated fleet whose vehicles carry passenger counters
 * beside their validators, with riders who board without tapping: over a
 * real broker and daemon, every signed count and every tap is stored once,
 * and the boardings the daemon counts are exactly the simulated ones, so
 * accepted taps ÷ boardings is the simulated validation rate: `komposter
 * stats --with-cameras --by route` has, per (route, hour), exactly the
 * summary's route_hours (boardings and accepted taps, the hour taken in the
 * database's zone and service day, no row more or less), a rate only once
 * the hour has ended, and then the summary's validation_rate.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "storage/reconcile.h"
#include "tests/e2e/fleet.h"

#define DEVICES 6
#define TAPS_PER_DEVICE 300

static double summary_number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsNumber(v), "summary: no number %s", key);
	return v->valuedouble;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Every route_hours cell of the summary is the signed row of its (route,
 * service date, local hour), and there is no other row. The rate is null
 * while the hour lasts; after, it is accepted ÷ boardings, the summary's. */
static void expect_route_hours(const struct kp_daemon_proc *d, const char *summary)
{
	uint8_t *text;
	size_t len;
	const cJSON *cell;
	int cells = 0;

	cr_assert_eq(kp_file_read(summary, &text, &len), 0);
	cJSON *sum = cJSON_Parse((const char *)text);
	free(text);
	cr_assert_not_null(sum);
	int64_t asked_s = now_s();
	cJSON *doc = kp_stats_rate(d, "route");
	int64_t answered_s = now_s();
	cr_assert_not_null(doc);

	cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(sum, "route_hours")) {
		uint32_t route = (uint32_t)summary_number(cell, "route_id");
		int64_t hour_s = (int64_t)summary_number(cell, "hour_s");
		double boardings = summary_number(cell, "boardings");
		double accepted = summary_number(cell, "accepted");
		struct kp_service_hour h;

		cr_assert_eq(kp_service_hour(d, hour_s, &h), 0);
		const cJSON *row = kp_rate_row(doc, &h, "route_id", route, "signed");
		cr_assert_not_null(row, "route %u, date %u hour %d: no signed row", route, h.service_date, h.hour);
		cr_expect_eq(summary_number(row, "boardings"), boardings, "route %u hour %d", route, h.hour);
		cr_expect_eq(summary_number(row, "accepted"), accepted, "route %u hour %d", route, h.hour);
		cells++;

		/* The zone's offset is whole hours: the local hour ends with the UTC one,
		 * and its row is complete once the grace after its end has passed. */
		int64_t end_s = hour_s + 3600 + ST_RECONCILE_GRACE_MS / 1000;
		const cJSON *complete = cJSON_GetObjectItemCaseSensitive(row, "complete");
		const cJSON *rate = cJSON_GetObjectItemCaseSensitive(row, "rate");
		double reported;
		cr_assert_eq(kp_rate_reported(row, &reported), 0, "route %u hour %d: no rate reported", route, h.hour);
		cr_expect_float_eq(reported, summary_number(cell, "validation_rate"), 1e-6,
		                   "route %u hour %d: reported %f, simulated %f", route, h.hour, reported,
		                   summary_number(cell, "validation_rate"));
		if (end_s > answered_s) {
			cr_expect(cJSON_IsFalse(complete), "route %u hour %d: complete before its end and grace", route, h.hour);
			cr_expect(cJSON_IsNull(rate), "route %u hour %d: a rate before the hour ended", route, h.hour);
		} else if (end_s <= asked_s) {
			cr_expect(cJSON_IsTrue(complete), "route %u hour %d: ended, not complete", route, h.hour);
			cr_assert(cJSON_IsNumber(rate), "route %u hour %d: ended, no rate", route, h.hour);
			cr_expect_float_eq(rate->valuedouble, accepted / boardings, 1e-9);
			cr_expect_float_eq(rate->valuedouble, summary_number(cell, "validation_rate"), 1e-6);
		}
	}
	cr_assert_gt(cells, 0, "the summary has no route_hours");
	cr_expect_eq(kp_rate_rows_of(doc, "signed"), cells, "signed rows the summary lacks");
	cr_expect_eq(kp_rate_rows_of(doc, "nvr"), 0, "nvr rows without cameras");
	cJSON_Delete(doc);
	cJSON_Delete(sum);
}

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
	expect_route_hours(&d, fleet.summary);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
