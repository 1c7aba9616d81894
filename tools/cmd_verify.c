/*
 * cmd_verify.c — `komposter verify DIR --public-key HEX | --minisign-pub
 * FILE [--date D]`: checks an open-data package (opendata/verify.h) and prints each
 * problem as one line on stderr. Needs no database and no config: anyone
 * who downloaded a package and holds the server's public key can run it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "firmware-proto/hex.h"
#include "opendata/minisign.h"
#include "opendata/verify.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "verify"
#define PUB_FILE_MAX 1024

static const char help[] =
	"Usage: komposter verify DIR --public-key HEX [--date YYYY-MM-DD]\n"
	"       komposter verify DIR --minisign-pub FILE [--date YYYY-MM-DD]\n\n"
	"Checks the open-data package in DIR (as `komposter export` writes it):\n"
	"every line of SHA256SUMS, and that every file of DIR is a resource of\n"
	"datapackage.json or one of the package's own files, each listed once;\n"
	"the minisign signature of datapackage.json with the server's public key,\n"
	"and that the package's minisign.pub is that key (the key is never read\n"
	"from the package: give the one you hold); every resource's hash in\n"
	"datapackage.json; that the package has every table of the format with\n"
	"every field; that every CSV (and its JSON) matches its Table Schema,\n"
	"holds only open-data fields (no record-level column: no pseudonym, card\n"
	"token or device id) and one row per key; that no published count is\n"
	"below the manifest's k; that each route's day total and every other\n"
	"derived number is the sum of its published cells; that each JSON holds\n"
	"its CSV's values; that the manifest's service date is --date's; and,\n"
	"when DIR's path ends in DATE/vN (the daemon's publish folder), that the\n"
	"manifest is that date's version N (an older package served in a newer\n"
	"one's place is otherwise valid). Prints one line on stderr per problem,\n"
	"or 'DIR: valid' on stdout.\n\n"
	"Options:\n"
	"      --public-key HEX    the server's Ed25519 public key, 64 hex digits\n"
	"                          (`komposter keygen`'s output, FILE.pub)\n"
	"      --minisign-pub FILE the key in minisign's .pub format\n"
	"      --date YYYY-MM-DD   the service date the package must be of\n"
	"  -h, --help              show this help and exit\n\n"
	"Exit status: 0 the package is valid, 1 it is not (one line on stderr per\n"
	"problem), 2 usage error.\n";

struct verify_args {
	const char *hex, *pub_file, *date_text;
	uint32_t date;
};

enum { OPT_PUBLIC_KEY = 0x200, OPT_MINISIGN_PUB, OPT_DATE };

static int verify_option(void *ctx, int opt, const char *arg)
{
	struct verify_args *a = ctx;

	switch (opt) {
	case OPT_PUBLIC_KEY: a->hex = arg; return CLI_CONTINUE;
	case OPT_MINISIGN_PUB: a->pub_file = arg; return CLI_CONTINUE;
	case OPT_DATE: a->date_text = arg; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

static int read_pub_file(const char *path, uint8_t pk[OD_MINISIGN_PK_SIZE], uint8_t id[OD_MINISIGN_KEYID_SIZE])
{
	char text[PUB_FILE_MAX];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return cli_fail(CMD, "--minisign-pub %s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (od_minisign_pub_parse(text, pk, id) != 0)
		return cli_fail(CMD, "--minisign-pub %s: not a minisign public key", path);
	return KP_EXIT_OK;
}

static void print_problem(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "komposter: " CMD ": %s\n", line);
}

int cmd_verify(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
		{ "minisign-pub", required_argument, NULL, OPT_MINISIGN_PUB },
		{ "date", required_argument, NULL, OPT_DATE },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_args a = { 0 };
	uint8_t pk[OD_MINISIGN_PK_SIZE], id[OD_MINISIGN_KEYID_SIZE];
	const char *dir = NULL;
	struct stat st;
	size_t problems;
	int status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, verify_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(CMD, argc, argv, "DIR", &dir);
	if (status != CLI_CONTINUE)
		return status;
	if ((a.hex == NULL) == (a.pub_file == NULL))
		return cli_usage(CMD, "give one of --public-key HEX and --minisign-pub FILE");
	if (a.hex != NULL && (strlen(a.hex) != 2 * OD_MINISIGN_PK_SIZE || kp_hex_decode(a.hex, pk, sizeof(pk)) != 0))
		return cli_usage(CMD, "--public-key: not 64 hex digits");
	if (a.date_text != NULL && st_date_parse(a.date_text, &a.date) != 0)
		return cli_usage(CMD, "--date '%s' is not a date (YYYY-MM-DD)", a.date_text);
	if (a.pub_file != NULL && read_pub_file(a.pub_file, pk, id) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (stat(dir, &st) != 0)
		return cli_fail(CMD, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cli_fail(CMD, "%s: not a directory", dir);
	problems = od_verify(dir, pk, a.pub_file != NULL ? id : NULL, a.date, print_problem, NULL);
	if (problems > 0)
		return cli_fail(CMD, "%s: not valid (%zu problem%s)", dir, problems, problems == 1 ? "" : "s");
	printf("%s: valid\n", dir);
	return cli_finish_output(CMD);
}
