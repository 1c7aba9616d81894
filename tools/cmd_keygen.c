/*
 * cmd_keygen.c — `komposter keygen [--force] FILE`: a fresh Ed25519 key
 * pair, the secret in FILE (0600) and the public key in FILE.pub, the public
 * key's hex on stdout so it can be piped into `device add --public-key`.
 *
 * The same command makes the server's ACK key and a device's key: they are
 * the same kind of key, and keyfile.c writes both atomically. An existing
 * FILE is never replaced without --force, since losing a server key strands
 * every device provisioned with its public half.
 */
#include <stdio.h>

#include "ingest/keyfile.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "keygen"

static const char help[] =
	"Usage: komposter keygen [--force] FILE\n\n"
	"Makes an Ed25519 key pair: the secret key in FILE (mode 0600) and the\n"
	"public key in FILE.pub, each one line of hex. Prints the public key's hex.\n"
	"Used for the server's key and for device keys alike.\n\n"
	"Options:\n"
	"  -f, --force        replace FILE if it exists\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_keygen(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char err[KP_KEYFILE_ERR_SIZE], hex[2 * 32 + 1];
	uint8_t pk[32];
	int force = 0, opt;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, KP_CLI_COMMON_SHORT "f", longopts, NULL)) != -1) {
		if (cli_common_option(cli, opt, optarg))
			continue;
		if (opt == 'h')
			return cli_help(CMD, help);
		if (opt == 'f') {
			force = 1;
			continue;
		}
		return cli_bad_option(CMD, argv, opt);
	}
	if (argc - optind != 1)
		return cli_usage(CMD, argc == optind ? "no FILE given" : "one FILE only");
	if (kp_keyfile_generate(argv[optind], force, pk, err) != 0)
		return cli_fail(CMD, "%s", err);
	kp_hex_encode(pk, sizeof(pk), hex);
	printf("%s\n", hex);
	return cli_finish_output(CMD);
}
