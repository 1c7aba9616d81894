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

#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
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

/* cli_option_fn: -f/--force. */
static int keygen_option(void *force, int opt, const char *arg)
{
	if (opt != 'f')
		return CLI_OPT_UNKNOWN;
	*(int *)force = 1;
	return CLI_CONTINUE;
}

int cmd_keygen(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char err[KP_KEYFILE_ERR_SIZE], hex[2 * KP_PUBLIC_KEY_SIZE + 1];
	const char *path = NULL;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	int force = 0, status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT "f", longopts,
	                           keygen_option, &force);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(CMD, argc, argv, "FILE", &path);
	if (status != CLI_CONTINUE)
		return status;
	if (kp_keyfile_generate(path, force, pk, err) != 0)
		return cli_fail(CMD, "%s", err);
	kp_hex_encode(pk, sizeof(pk), hex);
	printf("%s\n", hex);
	return cli_finish_output(CMD);
}
