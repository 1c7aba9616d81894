/*
 * cmd_partial.c — `komposter partial --date D --out FILE`: this instance's
 * signed partial of a service date (opendata/partial.h), for `komposter
 * merge` only: its counts are not yet through disclosure control.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>

#include "config/config.h"
#include "firmware-proto/keyfile.h"
#include "opendata/partial.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "partial"

static const char help[] =
	"Usage: komposter partial --date YYYY-MM-DD --out FILE [--partition K/N]\n"
	"                         [--key FILE]\n\n"
	"Writes this instance's partial of one service date into FILE and its\n"
	"minisign signature into FILE.minisig (neither may exist): the date's tap\n"
	"cells by route, stop, hour and fare BEFORE suppression, the distinct-rider\n"
	"sketches, the imported GTFS feed and the hash-chain head, signed with the\n"
	"server's key. For `komposter merge` only: never publish a partial.\n"
	"Refused (exit 1, nothing written) while the cells or the rider sketches\n"
	"hold less than the whole log (a killed komposterd not yet restarted).\n\n"
	"Options:\n"
	"      --date DATE     the service date (YYYY-MM-DD)\n"
	"      --out FILE      the partial (FILE.minisig beside it)\n"
	"      --partition K/N this instance's partition (default, and the only one\n"
	"                      taken when it is not 0/1: the config's [mqtt] partition)\n"
	"      --key FILE      the server's secret key (default: the config's\n"
	"                      [ingest] server_key)\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct partial_args {
	const char *date, *out, *partition, *key;
};

enum { OPT_DATE = 0x200, OPT_OUT, OPT_PARTITION, OPT_KEY };

static int partial_option(void *ctx, int opt, const char *arg)
{
	struct partial_args *a = ctx;

	if (opt == OPT_DATE)
		a->date = arg;
	else if (opt == OPT_OUT)
		a->out = arg;
	else if (opt == OPT_PARTITION)
		a->partition = arg;
	else if (opt == OPT_KEY)
		a->key = arg;
	else
		return CLI_OPT_UNKNOWN;
	return CLI_CONTINUE;
}

int cmd_partial(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "date", required_argument, NULL, OPT_DATE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	struct partial_args a = { 0 };
	struct kp_config cfg;
	struct kp_partition p;
	struct st_db *db = NULL;
	char err[OD_ERR_SIZE], kerr[KP_KEYFILE_ERR_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	uint32_t date;
	int status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, partial_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (a.date == NULL || st_date_parse(a.date, &date) != 0)
		return cli_usage(CMD, "--date YYYY-MM-DD is required");
	if (a.out == NULL)
		return cli_usage(CMD, "--out is required");
	if (cli_load_config(cli, CMD, &cfg) != 0)
		return KP_EXIT_FAIL;
	p = cfg.mqtt_partition;
	if (a.partition != NULL && kp_partition_parse(a.partition, &p) != 0)
		return cli_usage(CMD, "--partition '%s' is not K/N with 0 <= K < N <= %d", a.partition,
		                 KP_PARTITION_N_MAX);
	/* A partial claims its share of the city: an instance of a partition
	 * that claimed another (0/1: the whole city) would merge alone into a
	 * package of its own cells. */
	if (cfg.mqtt_partition.n > 1 && (p.k != cfg.mqtt_partition.k || p.n != cfg.mqtt_partition.n))
		return cli_fail(CMD, "--partition %s: this instance is %" PRIu32 "/%" PRIu32 " ([mqtt] partition)",
		                a.partition, cfg.mqtt_partition.k, cfg.mqtt_partition.n);
	if (kp_keyfile_read_secret(a.key != NULL ? a.key : cfg.server_key, sk, kerr) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return cli_fail(CMD, "%s", kerr);
	}
	if (cli_open_db(cli, CMD, CLI_DB_READ_WHOLE, &db) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return KP_EXIT_FAIL;
	}
	if (od_partial_write(db, date, &p, sk, a.out, cli_now_ms(), err) != 0)
		status = cli_fail(CMD, "%s", err);
	else
		status = KP_EXIT_OK;
	st_db_close(db);
	sodium_memzero(sk, sizeof(sk));
	return status;
}
