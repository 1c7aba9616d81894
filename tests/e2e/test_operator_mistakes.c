/*
 * Description: what a new operator gets wrong at start is caught at start,
 * with one clear line: a second komposterd on the same database refuses to
 * start and leaves the first alone; SIGTERM stops a daemon still waiting for
 * a busy HTTP port; --check-config fails on what start-up would fail on; a
 * latency_nice the process may not take is refused, not ignored.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/e2e/harness.h"

static struct kp_broker broker;
static struct kp_daemon_proc d;

static void start_broker(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, NULL), 0);
}

static void stop_all(void)
{
	if (d.pid > 0)
		kp_daemon_stop(&d, SIGTERM);
	kp_broker_stop(&broker);
}

TestSuite(operator_mistakes, .init = start_broker, .fini = stop_all, .timeout = 90);

/* The whole text of path (malloc'd, "" when unreadable). */
static char *slurp(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (kp_file_read(path, &data, &len) != 0)
		return strdup("");
	char *text = realloc(data, len + 1);
	cr_assert_not_null(text);
	text[len] = '\0';
	return text;
}

/* Runs komposterd with args, stderr into DIR/name; returns its exit status
 * and, in *log, what it printed. */
static int run_daemon(const char *name, char **log, const char *a1, const char *a2, const char *a3)
{
	char path[320];
	char *argv[] = { (char *)kp_bin("ingest/komposterd"), (char *)a1, (char *)a2, (char *)a3, NULL };

	snprintf(path, sizeof(path), "%s/%s", d.dir, name);
	argv[0] = strdup(argv[0]);
	int status = kp_wait(kp_start(argv, path));
	free(argv[0]);
	*log = slurp(path);
	return status;
}

static double reconnects(void)
{
	double v = kp_daemon_metric(&d, "komposter_mqtt_connections_lost_total");
	cr_assert_geq(v, 0, "no komposter_mqtt_connections_lost_total in /metrics (or no answer)");
	return v;
}

Test(operator_mistakes, a_second_daemon_on_the_same_database_refuses_and_leaves_the_first_alone)
{
	char *log = NULL, pid[32];

	cr_assert_eq(kp_daemon_start(&d), 0);
	double before = reconnects();
	cr_expect_eq(run_daemon("second.log", &log, "-c", d.config, NULL), 1);
	snprintf(pid, sizeof(pid), "(pid %ld)", (long)d.pid);
	cr_expect(strstr(log, "is in use by another komposterd") != NULL, "%s", log);
	cr_expect(strstr(log, pid) != NULL, "%s", log);
	cr_expect_null(strstr(log, "mqtt"), "the second one went to the broker: %s", log);
	free(log);

	char *body = NULL;
	cr_expect_eq(kp_http_get(d.http_port, "/readyz", &body), 200);
	free(body);
	cr_expect_eq(reconnects(), before, "the first daemon lost its broker session");
}

Test(operator_mistakes, sigterm_stops_a_daemon_waiting_for_a_busy_http_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.http_port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int squatter = socket(AF_INET, SOCK_STREAM, 0);
	char log_path[320];
	char *argv[] = { strdup(kp_bin("ingest/komposterd")), "-c", d.config, NULL };

	cr_assert(squatter >= 0);
	cr_assert_eq(bind(squatter, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(squatter, 1), 0);
	snprintf(log_path, sizeof(log_path), "%s/busy.log", d.dir);
	pid_t pid = kp_start(argv, log_path);
	free(argv[0]);

	/* Signals are blocked and handled from "running" on: the port is tried
	 * after that line, and retried for seconds while it stays busy. */
	char *log = NULL;
	for (int i = 0; i < 400; i++) {
		free(log);
		log = slurp(log_path);
		if (strstr(log, "komposterd: running"))
			break;
		usleep(25000);
	}
	cr_assert(strstr(log, "komposterd: running") != NULL, "%s", log);
	free(log);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_expect_eq(kp_wait(pid), 0);
	log = slurp(log_path);
	cr_expect(strstr(log, "stop asked for while") != NULL, "the signal waited for the port: %s", log);
	cr_expect_null(strstr(log, "cannot listen"), "%s", log);
	free(log);
	close(squatter);
}

/* Writes the daemon's config with the line starting with `key =` replaced
 * by `key = value`, and runs --check-config on it. */
static int check_config_with(const char *key, const char *value, char **log)
{
	char path[320], prefix[64];
	char *base = slurp(d.config);

	snprintf(prefix, sizeof(prefix), "\n%s = ", key);
	char *at = strstr(base, prefix);
	cr_assert_not_null(at, "no %s in the config", key);
	char *end = strchr(at + 1, '\n');
	cr_assert_not_null(end);
	snprintf(path, sizeof(path), "%s/changed.ini", d.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%.*s\n%s = %s%s", (int)(at - base), base, key, value, end);
	fclose(f);
	free(base);
	static int runs;
	char name[64];
	snprintf(name, sizeof(name), "check-%d.log", ++runs);
	return run_daemon(name, log, "--check-config", "-c", path);
}

Test(operator_mistakes, check_config_fails_on_what_start_up_would_fail_on)
{
	char *log = NULL;
	const char *cases[][3] = {
		{ "listen", "nonsense", "[http] listen: 'nonsense'" },
		{ "uri", "nonsense", "[mqtt] uri: 'nonsense'" },
		{ "path", "/x\ntimezone = Europe", "[storage] timezone" },
		{ "path", "/x\ntimezone = Europe/Kyiv2", "[storage] timezone" },
		{ "path", "/x\ntimezone = /etc/localtime", "[storage] timezone" },
	};

	cr_expect_eq(run_daemon("check.log", &log, "--check-config", "-c", d.config), 0, "%s", log);
	free(log);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(check_config_with(cases[i][0], cases[i][1], &log), 1, "%s passed", cases[i][0]);
		cr_expect(strstr(log, cases[i][2]) != NULL, "%s: %s", cases[i][0], log);
		cr_expect_eq(strchr(log, '\n'), strrchr(log, '\n'), "more than one line: %s", log);
		free(log);
	}
	cr_expect_eq(run_daemon("check-dir.log", &log, "--check-config", "-c", d.dir), 1);
	cr_expect(strstr(log, "a directory") != NULL, "%s", log);
	free(log);
}

Test(operator_mistakes, a_server_key_others_can_read_is_refused_at_start)
{
	char key[320], *log = NULL;

	snprintf(key, sizeof(key), "%s/server.key", d.dir);
	cr_assert_eq(chmod(key, 0644), 0);
	cr_expect_eq(run_daemon("check-key.log", &log, "--check-config", "-c", d.config), 1);
	cr_expect(strstr(log, "chmod 600") != NULL, "%s", log);
	free(log);
	cr_expect_eq(run_daemon("start-key.log", &log, "-c", d.config, NULL), 1);
	cr_expect(strstr(log, "chmod 600") != NULL, "%s", log);
	cr_expect_null(strstr(log, "running"), "%s", log);
	free(log);
}

/* komposterd --check-config on the config with `latency_nice = -10` set,
 * run through argv0 (setpriv) with CAP_SYS_NICE out of its bounding set:
 * root without it and with RLIMIT_NICE 0, as a service user would be. */
static int check_without_cap_sys_nice(const char *config, char **log)
{
	char path[320];
	char *argv[] = { "/usr/bin/setpriv", "--bounding-set", "-sys_nice", strdup(kp_bin("ingest/komposterd")),
		         "--check-config", "-c", (char *)config, NULL };

	snprintf(path, sizeof(path), "%s/nice.log", d.dir);
	int status = kp_wait(kp_start(argv, path));
	free(argv[3]);
	*log = slurp(path);
	return status;
}

Test(operator_mistakes, a_latency_nice_the_process_may_not_take_is_refused_at_start)
{
	char path[320], *log = NULL;
	char *base = slurp(d.config);

	char *at = strstr(base, "[ingest]\n");
	cr_assert_not_null(at, "no [ingest] in the config");
	snprintf(path, sizeof(path), "%s/nice.ini", d.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	at += strlen("[ingest]\n");
	fprintf(f, "%.*slatency_nice = -10\n%s", (int)(at - base), base, at);
	fclose(f);
	free(base);

	cr_expect_eq(check_without_cap_sys_nice(path, &log), 1, "%s", log);
	cr_expect(strstr(log, "latency_nice = -10") && strstr(log, "LimitNICE=-10"), "%s", log);
	cr_expect_eq(strchr(log, '\n'), strrchr(log, '\n'), "more than one line: %s", log);
	free(log);
}
