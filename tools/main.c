/*
 * main.c — `komposter`, the operator's command line: finds the subcommand
 * and hands it the rest of the command line.
 *
 * Like git, options before the subcommand are the shared ones (-c, --db),
 * and every subcommand accepts them as well, so both
 * `komposter --db /srv/kp device list` and `komposter device list --db /srv/kp`
 * work. Each subcommand lives in its own cmd_*.c with its own --help; this
 * file only knows their names.
 */
#include <stdio.h>

#include "tools/cli.h"
#include "tools/bench/ideal.h"
#include "tools/commands.h"

static const struct cli_command commands[] = {
	{ "keygen", cmd_keygen, "make an Ed25519 key pair (server or device)" },
	{ "device", cmd_device, "enrol, list, show and revoke devices and their keys" },
	{ "dump", cmd_dump, "print stored taps as JSON lines" },
	{ "stats", cmd_stats, "sum tap aggregates over service dates" },
	{ "check", cmd_check, "check the database's consistency" },
	{ "camera", cmd_camera, "add, list and remove NVR cameras; list their events" },
	{ "gtfs", cmd_gtfs, "import the city's GTFS routes and stops; list them" },
	{ "token", cmd_token, "add, list and revoke operator tokens of the HTTP API" },
	{ "keys", cmd_keys, "list the pseudonym epoch keys; destroy those before a date" },
	{ "export", cmd_export, "write a service date's signed open-data package" },
	{ "verify", cmd_verify, "check an open-data package: sums, signature, schemas, suppression" },
	{ "backup", cmd_backup, "copy the database consistently while komposterd runs" },
	{ "partition", cmd_partition, "which devices change instance when their number changes" },
	{ "partial", cmd_partial, "write this instance's signed partial of a date, for merge" },
	{ "merge", cmd_merge, "merge every instance's partials into one open-data package" },
	{ "bench", cmd_bench, "measure komposterd against this machine's ceilings" },
	/* Hidden (no summary): the ideal ingester `bench` re-executes. */
	{ "bench-ideal", cmd_bench_ideal, NULL },
};
#define COMMANDS_N (sizeof(commands) / sizeof(commands[0]))

static int print_help(void)
{
	/* Output errors are caught once, by cli_finish_output (ferror). */
	printf("Usage: komposter [OPTIONS] COMMAND [ARGS...]\n\n"
	       "The komposter command line: keys, devices, queries, checks.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < COMMANDS_N; i++)
		if (commands[i].summary)
			printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("\nOptions:\n" KP_CLI_COMMON_HELP
	       "  -V, --version      print the version and exit\n\n"
	       "'komposter COMMAND --help' describes a command.\n" KP_CLI_EXIT_HELP);
	return cli_finish_output(NULL);
}

/* cli_option_fn for -h (its text lists the commands) and -V. */
static int main_option(void *ctx, int opt, const char *arg)
{
	if (opt == 'h')
		return print_help();
	if (opt == 'V') {
		printf("komposter %s\n", KP_VERSION);
		return cli_finish_output(NULL);
	}
	return CLI_OPT_UNKNOWN;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct kp_cli cli = { 0 };
	int status;

	/* '+': stop at the command, its options are its own. The errors of
	 * this level name no command (cmd NULL): "komposter: why". */
	status = cli_parse_options(&cli, NULL, NULL, argc, argv, "+" KP_CLI_COMMON_SHORT "V",
	                           longopts, main_option, NULL);
	if (status != CLI_CONTINUE)
		return status;
	return cli_run_command(&cli, NULL, "command", commands, COMMANDS_N, argc, argv);
}
