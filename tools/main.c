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
#include <string.h>

#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "komposter"

struct command {
	const char *name;
	int (*run)(struct kp_cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "make an Ed25519 key pair (server or device)" },
	{ "device", cmd_device, "enrol, list, show and revoke devices and their keys" },
	{ "dump", cmd_dump, "print stored taps as JSON lines" },
	{ "stats", cmd_stats, "sum tap aggregates over service dates" },
	{ "check", cmd_check, "check the database's consistency" },
};
#define COMMANDS_N (sizeof(commands) / sizeof(commands[0]))

static int print_help(void)
{
	/* Output errors are caught once, by cli_finish_output (ferror). */
	printf("Usage: komposter [OPTIONS] COMMAND [ARGS...]\n\n"
	       "The komposter command line: keys, devices, queries, checks.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < COMMANDS_N; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("\nOptions:\n" KP_CLI_COMMON_HELP
	       "  -V, --version      print the version and exit\n\n"
	       "'komposter COMMAND --help' describes a command.\n" KP_CLI_EXIT_HELP);
	return cli_finish_output(CMD);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMANDS_N; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct kp_cli cli = { 0 };
	const struct command *cmd;
	int opt;

	cli_getopt_reset();
	/* '+': stop at the subcommand, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+" KP_CLI_COMMON_SHORT "V", longopts, NULL)) != -1) {
		if (cli_common_option(&cli, opt, optarg))
			continue;
		if (opt == 'h')
			return print_help();
		if (opt == 'V') {
			printf("komposter %s\n", KP_VERSION);
			return cli_finish_output(CMD);
		}
		return cli_bad_option(CMD, argv, opt);
	}
	if (optind >= argc)
		return cli_usage(CMD, "no command given");
	cmd = find_command(argv[optind]);
	if (cmd == NULL)
		return cli_usage(CMD, "unknown command '%s'", argv[optind]);
	return cmd->run(&cli, argc - optind, argv + optind);
}
