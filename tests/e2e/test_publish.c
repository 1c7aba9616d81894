/*
 * Description: a real komposterd publishes a closed service date's
 * open-data package by itself, and after a restart with late taps, a second
 * version that follows the first. The database is filled before the daemon
 * starts (tests/tools/fill.c: signed frames through st_commit_group), with
 * taps two days old, so that the date is closed with a grace of 0. The
 * packages are read from disk: /open/ is served once the loop streams
 * bodies (ingest/open_http.h).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tools/fill.h"
#include "firmware-proto/keyfile.h"
#include "harness.h"
#include "opendata/verify.h"

static struct kp_broker broker;
static struct kp_daemon_proc d;
static char db_dir[320], pub_dir[320], date_dir[400];

/* 20 accepted taps two days ago at 12:00 UTC on route; its service date. */
static uint32_t add_taps(uint64_t device, uint32_t route, uint8_t seed)
{
	time_t t = time(NULL) - 2 * 86400;
	struct tm tm;
	struct kp_tap taps[20];

	gmtime_r(&t, &tm);
	memset(taps, 0, sizeof(taps));
	for (int i = 0; i < 20; i++) {
		taps[i].tapped_at = fill_utc_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 12, i);
		memset(taps[i].card_token, seed, KP_CARD_TOKEN_SIZE);
		taps[i].card_token[0] = (uint8_t)i;
		taps[i].route_id = route;
		taps[i].stop_id = 100 + route;
		taps[i].fare_product = 1;
		taps[i].result = KP_TAP_ACCEPTED;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db_dir, device, taps, 20, 10), 0);
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static void start(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "storage.timezone = " FILL_TIMEZONE "\nstorage.service_day_start_hour = 3\n"
	                             "open_data.publish_grace_s = 0\nopen_data.publish_interval_s = 1\n"),
	             0);
	snprintf(db_dir, sizeof(db_dir), "%s/data", d.dir);
	snprintf(pub_dir, sizeof(pub_dir), "%s/data/open", d.dir);
}

static void stop(void)
{
	kp_broker_stop(&broker);
}

TestSuite(publish_e2e, .init = start, .fini = stop, .timeout = 60);

static int wait_for(const char *path, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static void problem(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("verify: %s", line);
}

static void expect_verifies(const char *version)
{
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	char err[256], dir[512];

	cr_assert_eq(kp_keyfile_read_public(d.server_pub, pk, err), 0, "%s", err);
	snprintf(dir, sizeof(dir), "%s/%s", date_dir, version);
	cr_expect_eq(od_verify(dir, pk, NULL, problem, NULL), 0, "%s does not verify", dir);
}

Test(publish_e2e, a_closed_date_is_published_and_late_taps_make_v2)
{
	char path[512];
	uint32_t date = add_taps(0xe1, 10, 0x41);

	snprintf(date_dir, sizeof(date_dir), "%s/%08u", pub_dir, (unsigned)date);
	cr_assert_eq(kp_daemon_start(&d), 0);
	snprintf(path, sizeof(path), "%s/v1/datapackage.json.minisig", date_dir);
	cr_assert_eq(wait_for(path, 15000), 0, "no v1 in %s", date_dir);
	/* The counter follows the rename by a moment. */
	double published = 0;
	for (int waited = 0; waited < 5000 && published < 1; waited += 100) {
		published = kp_daemon_metric(&d, "komposter_open_data_published_total");
		if (published < 1)
			usleep(100 * 1000);
	}
	cr_expect_eq(published, 1);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_open_data_publish_errors_total"), 0);
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
	expect_verifies("v1");

	/* An offline validator's taps of the same date, stored while the
	 * daemon was down; the restarted daemon publishes v2. */
	cr_assert_eq(add_taps(0xe2, 20, 0x42), date);
	cr_assert_eq(kp_daemon_start(&d), 0);
	snprintf(path, sizeof(path), "%s/v2/datapackage.json.minisig", date_dir);
	cr_assert_eq(wait_for(path, 15000), 0, "no v2 in %s", date_dir);
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
	expect_verifies("v1");
	expect_verifies("v2");
	snprintf(path, sizeof(path), "%s/v3", date_dir);
	cr_expect_neq(access(path, F_OK), 0, "v3 without a change");
}
