/*
 * cmd_export.c — `komposter export --date D --out DIR`: the open-data
 * package of one service date (opendata/package.h), signed with the
 * server's key. The tables, disclosure control and files are
 * opendata/'s; this command reads the config ([open_data] k and epsilon,
 * [ingest] server_key), opens the database read-only and reports.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "firmware-proto/keyfile.h"
#include "opendata/package.h"
#include "opendata/tables.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/export_tides.h"
#include "tools/commands.h"

#define CMD "export"

static const char help[] =
	"Usage: komposter export --date YYYY-MM-DD --out DIR [--key FILE]\n"
	"                        [--previous FILE]\n"
	"       komposter export --tides --from YYYY-MM-DD [--to YYYY-MM-DD] --out DIR\n\n"
	"Writes the open-data package of one service date into DIR (made when\n"
	"missing; a DIR that already holds a package is refused): the tables\n"
	"ridership_route_stop_hour, ridership_route_day, ridership_day,\n"
	"ridership_fare_day and, when the date has camera counts, validation_rate,\n"
	"each as CSV and JSON; GTFS-ride's ridership.txt and ride_feed_info.txt and\n"
	"TIDES' station_activities.csv;\n"
	"minisign.pub, the server's public key; datapackage.json, the Frictionless\n"
	"manifest (schemas, CC-BY-4.0, the hash-chain head, the previous\n"
	"manifest's SHA-256); SHA256SUMS; and datapackage.json.minisig, the\n"
	"manifest's minisign signature made with the server's key.\n"
	"Counts below [open_data] k (default 10) are suppressed (an empty CSV\n"
	"cell, JSON null), judged on the true count; with [open_data] epsilon\n"
	"the others get noise derived from the server key and the cell (the same\n"
	"in every re-export), a noisy value below k published as k; totals\n"
	"are sums of published cells only. Prints what it wrote and the two\n"
	"commands that verify the package with stock tools.\n"
	"With --tides, writes instead the operator's record-level TIDES files\n"
	"fare_transactions.csv and passenger_events.csv of the service dates\n"
	"--from..--to (--to defaults to --from) into DIR (made 0700; files 0600,\n"
	"never overwritten): the rows of /v1/export/, with rider pseudonyms.\n"
	"They are not open data: keep them with the operator.\n\n"
	"Options:\n"
	"      --date DATE     the service date (YYYY-MM-DD)\n"
	"      --out DIR       the package's folder\n"
	"      --key FILE      the server's secret key (default: the config's\n"
	"                      [ingest] server_key)\n"
	"      --previous FILE the datapackage.json of the package this one\n"
	"                      follows; its SHA-256 goes into the manifest\n"
	"                      (default: none, null in the manifest)\n"
	"      --tides         the record-level TIDES files instead\n"
	"      --from DATE, --to DATE\n"
	"                      with --tides: the first and last service dates\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct export_args {
	const char *date_text, *out, *key, *previous, *from_text, *to_text;
	uint32_t date, from, to;
	int tides;
};

enum { OPT_DATE = 0x200, OPT_OUT, OPT_KEY, OPT_PREVIOUS, OPT_TIDES, OPT_FROM, OPT_TO };

static int export_option(void *ctx, int opt, const char *arg)
{
	struct export_args *a = ctx;

	switch (opt) {
	case OPT_DATE: a->date_text = arg; return CLI_CONTINUE;
	case OPT_OUT: a->out = arg; return CLI_CONTINUE;
	case OPT_KEY: a->key = arg; return CLI_CONTINUE;
	case OPT_PREVIOUS: a->previous = arg; return CLI_CONTINUE;
	case OPT_TIDES: a->tides = 1; return CLI_CONTINUE;
	case OPT_FROM: a->from_text = arg; return CLI_CONTINUE;
	case OPT_TO: a->to_text = arg; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

/* The options of --tides: a range of dates and a folder, nothing else. */
static int tides_options(struct export_args *a)
{
	if (a->date_text != NULL || a->key != NULL || a->previous != NULL)
		return cli_usage(CMD, "--tides takes --from, --to and --out only");
	if (a->from_text == NULL)
		return cli_usage(CMD, "--from is required with --tides");
	if (st_date_parse(a->from_text, &a->from) != 0)
		return cli_usage(CMD, "--from '%s' is not a date (YYYY-MM-DD)", a->from_text);
	a->to = a->from;
	if (a->to_text != NULL && st_date_parse(a->to_text, &a->to) != 0)
		return cli_usage(CMD, "--to '%s' is not a date (YYYY-MM-DD)", a->to_text);
	if (a->from > a->to)
		return cli_usage(CMD, "--from is after --to");
	if (a->out == NULL || a->out[0] == '\0')
		return cli_usage(CMD, "--out is required");
	return CLI_CONTINUE;
}

static int parse_options(struct kp_cli *cli, int argc, char **argv, struct export_args *a)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "date", required_argument, NULL, OPT_DATE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "previous", required_argument, NULL, OPT_PREVIOUS },
		{ "tides", no_argument, NULL, OPT_TIDES },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ NULL, 0, NULL, 0 },
	};
	int status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, export_option, a);

	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (a->tides)
		return tides_options(a);
	if (a->from_text != NULL || a->to_text != NULL)
		return cli_usage(CMD, "--from and --to go with --tides");
	if (a->date_text == NULL)
		return cli_usage(CMD, "--date is required");
	if (st_date_parse(a->date_text, &a->date) != 0)
		return cli_usage(CMD, "--date '%s' is not a date (YYYY-MM-DD)", a->date_text);
	if (a->out == NULL || a->out[0] == '\0')
		return cli_usage(CMD, "--out is required");
	return CLI_CONTINUE;
}

static int report(const struct export_args *a, const struct od_tables *t, const struct od_disclosure *d)
{
	printf("wrote %s: %zu tables, %llu counts, %llu suppressed (k %llu%s)\n", a->out, t->n,
	       (unsigned long long)t->cells, (unsigned long long)t->suppressed, (unsigned long long)d->k,
	       d->epsilon > 0 ? ", noisy" : "");
	printf("verify: (cd %s && sha256sum -c " OD_SUMS " && minisign -Vm " OD_MANIFEST " -p " OD_PUBKEY ")\n",
	       a->out);
	return cli_finish_output(CMD);
}

int cmd_export(struct kp_cli *cli, int argc, char **argv)
{
	struct export_args a = { 0 };
	struct kp_config cfg;
	struct od_disclosure d;
	struct od_tables t = { 0 };
	struct st_db *db = NULL;
	char err[OD_ERR_SIZE], kerr[KP_KEYFILE_ERR_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	int status;

	status = parse_options(cli, argc, argv, &a);
	if (status != CLI_CONTINUE)
		return status;
	if (a.tides)
		return export_tides_run(cli, CMD, a.from, a.to, a.out);
	if (cli_load_config(cli, CMD, &cfg) != 0)
		return KP_EXIT_FAIL;
	if (cfg.mqtt_partition.n > 1) /* as komposterd's publishing, config/config.h */
		return cli_fail(CMD,
		                "this instance is %" PRIu32 "/%" PRIu32 " of a partition: its package beside the city-wide "
		                "one would give away the cells it suppressed; merge the partials (komposter partial, merge)",
		                cfg.mqtt_partition.k, cfg.mqtt_partition.n);
	if (od_disclosure_init(&d, (uint64_t)cfg.open_data_k, cfg.open_data_epsilon) != 0)
		return cli_fail(CMD, "[open_data]: bad k or epsilon");
	if (kp_keyfile_read_secret(a.key != NULL ? a.key : cfg.server_key, sk, kerr) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return cli_fail(CMD, "%s", kerr);
	}
	if (od_disclosure_seed_from_key(&d, sk, sizeof(sk)) != 0) {
		status = cli_fail(CMD, "deriving the noise seed from the server key");
		goto out;
	}
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0) {
		status = KP_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr, "komposter: export: reading %s\n", a.date_text);
	if (od_tables_build(db, a.date, &d, cli_now_ms(), &t, err) != 0) {
		st_db_close(db);
		status = cli_fail(CMD, "%s", err);
		goto out;
	}
	st_db_close(db);
	const struct od_package_options o = { .dir = a.out, .sk = sk, .previous = a.previous, .disclosure = &d,
		                              .now_ms = cli_now_ms() };
	if (od_package_write(&t, &o, err) != 0)
		status = cli_fail(CMD, "%s", err);
	else
		status = report(&a, &t, &d);
out:
	od_tables_free(&t);
	od_disclosure_wipe(&d);
	sodium_memzero(sk, sizeof(sk));
	return status;
}
