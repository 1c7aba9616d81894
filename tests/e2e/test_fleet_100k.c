/*
 * Description: 50 validators send 100,000 taps through a real broker; every
 * tap is stored exactly once, the aggregates sum to what was sent, every
 * outbox ends empty, `komposter check` passes and the database files hold
 * none of the card tokens. Prints the throughput it saw (not asserted).
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/hex.h"
#include "validators/outbox.h"
#include "tests/e2e/fleet.h"

#define DEVICES 50
#define TAPS_PER_DEVICE 2000

/* Frames left in the outboxes of fleet.txt's devices, read from their files. */
static long frames_left_in_outboxes(const struct kp_fleet *f)
{
	char path[512], id[32], rest[200];
	long left = 0;
	int devices = 0;

	snprintf(path, sizeof(path), "%s/fleet.txt", f->state);
	FILE *list = fopen(path, "r");
	cr_assert_not_null(list);
	while (fscanf(list, "%31s %199[^\n]", id, rest) == 2) {
		struct vd_outbox *ob;
		size_t n;
		snprintf(path, sizeof(path), "%s/%s/outbox", f->state, id);
		cr_assert_eq(vd_outbox_open(path, &ob), 0, "cannot open %s", path);
		cr_assert_eq(vd_outbox_count(ob, &n), 0);
		vd_outbox_close(ob);
		left += (long)n;
		devices++;
	}
	fclose(list);
	cr_assert_eq(devices, DEVICES);
	return left;
}

static long count_lines(const char *text)
{
	long n = 0;
	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	return n;
}

static int tokens_found_in(const char *tokens_file, const uint8_t *data, size_t len, int *checked)
{
	FILE *f = fopen(tokens_file, "r");
	char line[80];
	int found = 0;

	*checked = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		uint8_t token[16];
		line[strcspn(line, "\n")] = '\0';
		if (kp_hex_decode(line, token, sizeof(token)) != 0)
			continue;
		(*checked)++;
		if (memmem(data, len, token, sizeof(token)))
			found++;
	}
	fclose(f);
	return found;
}

Test(fleet, hundred_thousand_taps_are_stored_exactly_once, .timeout = 600)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_fleet fleet;
	struct kp_fleet_summary sum;

	cr_assert_eq(kp_fleet_bring_up(&broker, &d, &fleet, DEVICES), 0);

	pid_t sim = kp_fleet_start(&fleet, &broker, &d, TAPS_PER_DEVICE, "--offline-fraction", "0.1",
	                           "--timeout", "400", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim did not empty every outbox; see %s", fleet.log);
	cr_assert_eq(kp_fleet_summary(&fleet, &sum), 0);
	cr_assert_eq(sum.taps, DEVICES * TAPS_PER_DEVICE);
	cr_assert_eq(sum.accepted + sum.denied, sum.taps);

	char *metrics = NULL;
	cr_assert_eq(kp_http_get(d.http_port, "/metrics", &metrics), 200);
	cr_expect_eq(kp_metric(metrics, "komposter_taps_stored_total"), sum.taps);
	cr_expect_eq(kp_metric(metrics, "komposter_frames_stored_total"), sum.frames);
	double commits = kp_metric(metrics, "komposter_commit_seconds_count");
	double commit_s = kp_metric(metrics, "komposter_commit_seconds_sum");
	fprintf(stderr, "daemon: %.0f commits, %.1f frames per group, %.2f ms per commit, "
	                "writer busy %.0f%% of the run\n",
	        commits, kp_metric(metrics, "komposter_commit_group_frames_sum") / commits,
	        1000 * commit_s / commits, 100 * commit_s / sum.elapsed_s);
	free(metrics);

	double accepted, denied, amount;
	cr_assert_eq(kp_stats_totals(&d, &accepted, &denied, &amount), 0);
	cr_expect_eq(accepted, sum.accepted);
	cr_expect_eq(denied, sum.denied);
	cr_expect_eq(amount, sum.amount);
	cr_expect_eq(kp_komposter(&d, NULL, "check", NULL), 0);
	cr_expect_eq(frames_left_in_outboxes(&fleet), 0, "frames left in the device outboxes");

	char *dump = NULL;
	cr_assert_eq(kp_komposter(&d, &dump, "dump", NULL), 0);
	cr_expect_eq(count_lines(dump), DEVICES * TAPS_PER_DEVICE, "taps in the log");
	free(dump);

	fprintf(stderr, "fleet: %d devices, %.0f frames, %.0f taps in %.2f s: %.0f frames/s, %.0f taps/s\n",
	        DEVICES, sum.frames, sum.taps, sum.elapsed_s, sum.frames / sum.elapsed_s,
	        sum.taps / sum.elapsed_s);

	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);

	char path[400];
	uint8_t *data;
	size_t len;
	int checked;
	snprintf(path, sizeof(path), "%s/data/data.mdb", d.dir);
	cr_assert_eq(kp_file_read(path, &data, &len), 0);
	cr_expect_eq(tokens_found_in(fleet.tokens, data, len, &checked), 0, "raw card tokens in data.mdb");
	cr_expect_gt(checked, 100, "only %d tokens to look for", checked);
	free(data);
}
