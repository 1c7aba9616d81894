/*
 * Description: every command and subcommand answers --help on stdout with
 * exit 0; a wrong command line exits 2 with one line naming the problem
 * and a "try --help" line, before touching any database.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "harness.h"

#define NO_DB "/nonexistent/komposter-db"

static void expect_help(const char *a1, const char *a2)
{
	struct tools_run r;

	if (a2 != NULL)
		cr_assert_eq(tools_run(&r, a1, a2, "--help", NULL), 0);
	else if (a1 != NULL)
		cr_assert_eq(tools_run(&r, a1, "--help", NULL), 0);
	else
		cr_assert_eq(tools_run(&r, "--help", NULL), 0);
	cr_assert_eq(r.status, 0, "%s %s --help: %s", a1, a2, r.err);
	cr_assert_not_null(strstr(r.out, "Usage: komposter"), "%s %s: %s", a1, a2, r.out);
	cr_assert_not_null(strstr(r.out, "Exit status"), "%s %s: %s", a1, a2, r.out);
	cr_assert_eq(r.err_len, 0);
	tools_run_free(&r);
}

Test(usage, every_command_has_help_on_stdout)
{
	expect_help(NULL, NULL);
	expect_help("keygen", NULL);
	expect_help("device", NULL);
	expect_help("device", "add");
	expect_help("device", "list");
	expect_help("device", "show");
	expect_help("device", "revoke");
	expect_help("dump", NULL);
	expect_help("stats", NULL);
	expect_help("check", NULL);
	expect_help("camera", NULL);
	expect_help("camera", "add");
	expect_help("camera", "list");
	expect_help("camera", "remove");
	expect_help("camera", "events");
}

/* A listing's --help is its help alone, ending with the exit status line:
 * --help ends the command before the database (here none) is opened. */
Test(usage, a_listing_s_help_lists_nothing)
{
	static const char *const cmds[][2] = { { "device", "list" }, { "camera", "list" }, { "keys", "list" },
		                               { "token", "list" } };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct tools_run r;
		const char *exit_line;

		cr_assert_eq(tools_run(&r, cmds[i][0], cmds[i][1], "--help", "--db", NO_DB, NULL), 0);
		cr_assert_eq(r.status, 0, "%s %s --help: %s", cmds[i][0], cmds[i][1], r.err);
		exit_line = strstr(r.out, "Exit status");
		cr_assert_not_null(exit_line, "%s", r.out);
		cr_expect_eq((size_t)(strchr(exit_line, '\n') + 1 - r.out), r.out_len, "%s %s: after the help: %s",
		             cmds[i][0], cmds[i][1], strchr(exit_line, '\n') + 1);
		tools_run_free(&r);
	}
}

static void expect_usage_error(struct tools_run *r)
{
	cr_assert_eq(r->status, 2, "exit %d, stderr: %s", r->status, r->err);
	cr_assert_eq(strncmp(r->err, "komposter: ", 11), 0, "stderr: %s", r->err);
	cr_assert_eq(tools_count_lines(r->err), 2, "stderr: %s", r->err);
	cr_assert_not_null(strstr(r->err, "--help"), "stderr: %s", r->err);
	cr_assert_eq(r->out_len, 0, "stdout: %s", r->out);
	tools_run_free(r);
}

Test(usage, wrong_commands_exit_2)
{
	struct tools_run r;

	cr_assert_eq(tools_run(&r, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "frobnicate", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "--bogus", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "frob", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "keygen", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "check", "extra", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
}

Test(usage, bad_option_values_exit_2)
{
	struct tools_run r;
	const char *pk = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "zz", "--key-id", "1",
	                       "--public-key", pk, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "0", "--key-id", "1",
	                       "--public-key", pk, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "a1", "--public-key",
	                       pk, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "a1", "--key-id", "256",
	                       "--public-key", pk, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "a1", "--key-id", "1",
	                       "--public-key", "abc", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "add", "--db", NO_DB, "--id", "a1", "--key-id", "1",
	                       "--public-key", pk, "--kind", "tram", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "show", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "device", "revoke", "a1", "--key-id", "-1", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "dump", "--limit", "ten", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "dump", "--db", NO_DB, "--from-seq", NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "stats", "--from", "2024-13-01", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "stats", "--from", "2024-06-16", "--to", "2024-06-15", "--db",
	                       NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "stats", "--by", "route,planet", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "stats", "--by", "route,route", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
	cr_assert_eq(tools_run(&r, "stats", "--by", "", "--db", NO_DB, NULL), 0);
	expect_usage_error(&r);
}
