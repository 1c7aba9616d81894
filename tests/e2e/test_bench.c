/*
 * Description: a short `komposter bench --json` (20 devices x 20 frames, one
 * run) exits 0 and prints one JSON object with every figure of its two
 * passes, the 32-tap one and the single-tap one ("single_tap"); in each,
 * komposterd stored exactly the frames sent (the stream and the probe), its
 * check found no problem, and every frame of the stream was covered by an
 * ACK whose server signature the benchmark verified; the Python ingester
 * (scripts/bench/python_ingester.py) ran on 200 frames of each pass and its
 * figures and komposterd's ratio to it are there. The ideal ingester leaves
 * every 7th new frame unanswered (the hidden --ideal-drop-every, as an
 * ingester whose reply queue was full): every frame is covered all the
 * same because the benchmark re-sends what got no ACK (--resend-after-ms
 * 200), and says how many it re-sent (`resent`). The disk's sync floor
 * (`sync_floor`: one commit's two fdatasyncs in the run's folder) has
 * percentiles above 0. Skipped for Python alone
 * (--no-python, said on stderr) when /usr/bin/python3 lacks Debian's modules,
 * which scripts/setup.sh installs. Correctness only: no figure's size is
 * asserted (timing never is).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/e2e/harness.h"

#define DEVICES 20
#define FRAMES 20
#define LATENCY_FRAMES 100 /* 5 per device */
#define PYTHON_FRAMES 200
#define PYTHON "/usr/bin/python3"
#define RESEND_AFTER_MS "200"

static const char *const numbers[] = {
	"devices", "frames_per_device", "latency_frames_per_device", "taps_per_frame", "publishers",
	"window", "workers", "latency_nice", "runs", "resend_after_ms",
};
static const char *const broker_fields[] = { "frames_per_s", "taps_per_s" };
static const char *const verify_fields[] = { "one_thread_per_s", "w_threads_per_s", "w_over_1" };
static const char *const ingester_fields[] = { "frames_per_s", "taps_per_s", "cpu_us_per_frame",
	                                       "peak_rss_anon_mib", "resent" };
static const char *const python_fields[] = { "frames", "frames_per_s", "taps_per_s", "cpu_us_per_frame",
	                                     "peak_rss_anon_mib", "resent" };
static const char *const latency_fields[] = { "p50", "p99", "p999" };
static const char *const komposterd_latency_fields[] = { "p99_to_ideal", "p999_to_ideal" };
static const char *const komposterd_fields[] = { "ratio_to_broker", "ratio_to_verify", "ratio_to_ideal",
	                                         "sent", "stored", "covered", "check_problems" };

static double number(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	cr_assert(cJSON_IsNumber(v), "the JSON has no number \"%s\"", name);
	return v->valuedouble;
}

static const cJSON *object(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	cr_assert(cJSON_IsObject(v), "the JSON has no object \"%s\"", name);
	return v;
}

#define EACH(list, o) for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) number(o, list[i])

static void ingester(const cJSON *root, const char *name)
{
	const cJSON *o = object(root, name);
	EACH(ingester_fields, o);
	EACH(latency_fields, object(o, "latency_ms"));
}

/* The Python ingester's figures, or null for --no-python. */
static void check_python(const cJSON *pass, int python)
{
	const cJSON *k = object(pass, "komposterd");

	if (!python) {
		cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(pass, "python")));
		cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "ratio_to_python")));
		return;
	}
	EACH(python_fields, object(pass, "python"));
	cr_assert_eq(number(object(pass, "python"), "frames"), PYTHON_FRAMES);
	number(k, "ratio_to_python");
}

/* Every figure of one pass, and its stream stored and covered in full. */
static void check_pass(const cJSON *pass, double taps, int python)
{
	check_python(pass, python);
	EACH(numbers, pass);
	cr_assert_eq(number(pass, "taps_per_frame"), taps);
	EACH(broker_fields, object(pass, "broker"));
	EACH(verify_fields, object(pass, "verify"));
	for (size_t i = 0; i < sizeof(latency_fields) / sizeof(latency_fields[0]); i++)
		cr_assert_gt(number(object(pass, "sync_floor"), latency_fields[i]), 0, "sync_floor.%s", latency_fields[i]);
	cr_assert_eq(number(object(pass, "sync_floor"), "commits"), 200);
	ingester(pass, "ideal");
	ingester(pass, "komposterd");
	const cJSON *k = object(pass, "komposterd");
	EACH(komposterd_fields, k);
	const cJSON *kl = object(k, "latency_ms"), *il = object(object(pass, "ideal"), "latency_ms");
	EACH(komposterd_latency_fields, kl);
	cr_assert_gt(number(il, "p99"), 0);
	cr_assert_float_eq(number(kl, "p99_to_ideal"), number(kl, "p99") / number(il, "p99"), 1e-9);
	cr_assert_float_eq(number(kl, "p999_to_ideal"), number(kl, "p999") / number(il, "p999"), 1e-9);
	cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pass, "bound")));

	double sent = DEVICES * (FRAMES + LATENCY_FRAMES / DEVICES) + 1;
	cr_assert_eq(number(k, "sent"), sent);
	cr_assert_eq(number(k, "stored"), sent, "stored %g of %g", number(k, "stored"), sent);
	cr_assert_eq(number(k, "check_problems"), 0);
	cr_assert_eq(number(k, "covered"), sent - 1, "every frame of the stream covered");
	cr_assert_eq(number(pass, "resend_after_ms"), atoi(RESEND_AFTER_MS));
	cr_assert_gt(number(object(pass, "ideal"), "resent"), 0, "the frames the ideal left unanswered were re-sent");
}

/* Whether a thread of this process may take nice -10 (tried in a child). */
static int may_take_nice_minus_10(void)
{
	int status = 0;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(setpriority(PRIO_PROCESS, 0, -10) == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(bench, a_short_run_of_both_passes_stores_and_covers_every_frame_and_reports_every_figure, .timeout = 120)
{
	char *out = NULL;
	char *argv[] = { strdup(kp_bin("tools/komposter")), "bench", "--devices", "20", "--frames", "20",
		         "--latency-frames", "100", "--runs", "1", "--ideal-drop-every", "7", "--resend-after-ms", RESEND_AFTER_MS,
		         "--latency-nice", "-10", "--json", "--python", PYTHON, "--python-frames", "200", NULL };
	/* [16]: the nice value, [18]: --python. komposterd with a priority for
	 * its writer and publisher where this process may give it. */
	int nice = may_take_nice_minus_10() ? -10 : 0;
	if (nice == 0)
		argv[16] = "0";
	/* The modules the Python ingester imports: without them, no Python pass. */
	int python = system(PYTHON " -c 'import paho.mqtt.client, nacl.signing, lmdb'") == 0;
	if (!python) {
		fprintf(stderr, "test_bench: " PYTHON " lacks python3-paho-mqtt, python3-nacl or python3-lmdb "
		                "(scripts/setup.sh installs them): the Python ingester is skipped\n");
		argv[18] = "--no-python";
		argv[19] = NULL;
	}

	int st = kp_run(argv, &out);
	free(argv[0]);
	cr_assert_eq(st, 0, "komposter bench exited %d", st);
	cJSON *root = cJSON_Parse(out);
	cr_assert_not_null(root, "not one JSON object: %s", out);
	check_pass(root, 32, python);
	cr_expect_eq(number(root, "latency_nice"), nice, "the --latency-nice given");
	check_pass(object(root, "single_tap"), 1, python);
	cJSON_Delete(root);
	free(out);
}
