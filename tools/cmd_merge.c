/*
 * cmd_merge.c — `komposter merge --date D --out DIR PARTIAL...`: the
 * city-wide open-data package of a date from the signed partials of every
 * instance (opendata/partial.h). Nothing is written unless every check
 * holds; disclosure control runs once, on the sums, by opendata/'s one
 * path, so the package is an ordinary one that `komposter verify` takes.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "firmware-proto/keyfile.h"
#include "opendata/package.h"
#include "opendata/partial.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "merge"
#define PUBS_MAX 16

static const char help[] =
	"Usage: komposter merge --date YYYY-MM-DD --out DIR [--pub HEX]...\n"
	"                       [--key FILE] PARTIAL...\n\n"
	"Checks the partials of every instance (`komposter partial`) and writes\n"
	"the city-wide open-data package of the date into DIR, as `komposter\n"
	"export` writes one instance's. Refused with one line and exit 1, writing\n"
	"nothing: a signature that does not hold under a --pub key (or is\n"
	"missing), a partial of another date or without a hash-chain head,\n"
	"partials of different N (overlapping partitions), two of one partition,\n"
	"a partition missing from 0/N..N-1/N. The counts are added and the\n"
	"distinct-rider sketches merged before suppression ([open_data] k) and\n"
	"noise ([open_data] epsilon), so a cell above k city-wide is published.\n\n"
	"Options:\n"
	"      --date DATE     the service date (YYYY-MM-DD)\n"
	"      --out DIR       the package's folder\n"
	"      --pub HEX       a public key partials may be signed with, 64 hex\n"
	"                      digits; repeat for each instance's (default: the\n"
	"                      --key's own)\n"
	"      --key FILE      the secret key that signs the package (default: the\n"
	"                      config's [ingest] server_key)\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct merge_args {
	const char *date, *out, *key;
	uint8_t pks[PUBS_MAX][OD_MINISIGN_PK_SIZE];
	size_t npk;
	int bad_pub;
};

enum { OPT_DATE = 0x200, OPT_OUT, OPT_PUB, OPT_KEY };

static int merge_option(void *ctx, int opt, const char *arg)
{
	struct merge_args *a = ctx;

	if (opt == OPT_DATE)
		a->date = arg;
	else if (opt == OPT_OUT)
		a->out = arg;
	else if (opt == OPT_KEY)
		a->key = arg;
	else if (opt == OPT_PUB)
		return cli_add_pub(CMD, arg, a->pks, &a->npk, PUBS_MAX);
	else
		return CLI_OPT_UNKNOWN;
	return CLI_CONTINUE;
}

/* Checks, merges and writes; sk signs the package and seeds the noise. */
static int merge_write(const struct merge_args *a, uint32_t date, const uint8_t *sk, const struct kp_config *cfg,
                       const char *const *paths, size_t n)
{
	struct od_disclosure d;
	struct od_tables t = { 0 };
	char err[OD_ERR_SIZE];
	int status = KP_EXIT_OK;

	if (od_disclosure_init(&d, (uint64_t)cfg->open_data_k, cfg->open_data_epsilon) != 0)
		return cli_fail(CMD, "[open_data]: bad k or epsilon");
	if (od_disclosure_seed_from_key(&d, sk, KP_SECRET_KEY_SIZE) != 0)
		status = cli_fail(CMD, "deriving the noise seed from the server key");
	else if (od_merge_build(paths, n, (const uint8_t(*)[OD_MINISIGN_PK_SIZE])a->pks, a->npk, date, &d, &t, err) !=
	         0)
		status = cli_fail(CMD, "%s", err);
	if (status == KP_EXIT_OK) {
		const struct od_package_options o = { .dir = a->out, .sk = sk, .disclosure = &d, .now_ms = cli_now_ms() };

		if (od_package_write(&t, &o, err) != 0)
			status = cli_fail(CMD, "%s", err);
		else
			printf("merged %zu partials of %s into %s: %llu cells, %llu suppressed\n", n, a->date, a->out,
			       (unsigned long long)t.cells, (unsigned long long)t.suppressed);
	}
	od_tables_free(&t);
	od_disclosure_wipe(&d);
	return status == KP_EXIT_OK ? cli_finish_output(CMD) : status;
}

int cmd_merge(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "date", required_argument, NULL, OPT_DATE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "pub", required_argument, NULL, OPT_PUB },
		{ "key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	struct merge_args a = { 0 };
	struct kp_config cfg;
	char kerr[KP_KEYFILE_ERR_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	uint32_t date;
	int status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, merge_option, &a);
	if (status != CLI_CONTINUE)
		return status;
	if (a.date == NULL || st_date_parse(a.date, &date) != 0)
		return cli_usage(CMD, "--date YYYY-MM-DD is required");
	if (a.out == NULL)
		return cli_usage(CMD, "--out is required");
	if (optind >= argc)
		return cli_usage(CMD, "no PARTIAL given");
	if (cli_load_config(cli, CMD, &cfg) != 0)
		return KP_EXIT_FAIL;
	if (kp_keyfile_read_secret(a.key != NULL ? a.key : cfg.server_key, sk, kerr) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return cli_fail(CMD, "%s", kerr);
	}
	if (a.npk == 0) {
		/* libsodium's Ed25519 secret key ends with its public key. */
		memcpy(a.pks[0], sk + KP_SECRET_KEY_SIZE - OD_MINISIGN_PK_SIZE, OD_MINISIGN_PK_SIZE);
		a.npk = 1;
	}
	status = merge_write(&a, date, sk, &cfg, (const char *const *)&argv[optind], (size_t)(argc - optind));
	sodium_memzero(sk, sizeof(sk));
	return status;
}
