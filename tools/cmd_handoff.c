/*
 * cmd_handoff.c — `komposter partition export` and `partition import`:
 * moving devices between komposterd instances with their once-only state
 * (issue #16, tools/handoff_file.h, README "Moving devices between
 * instances"). Both run on a stopped instance's database.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "firmware-proto/keyfile.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/handoff_file.h"

#define PUBS_MAX 16

static const char export_help[] =
	"Usage: komposter partition export --to N --owner J --out FILE [--from M]\n"
	"                                  [--key FILE]\n\n"
	"On a stopped instance K (the config's [mqtt] partition K/M): writes into\n"
	"FILE, and its minisign signature into FILE.minisig (neither may exist),\n"
	"the devices of the registry it owns that instance J owns once there are N\n"
	"instances, each with its watermark and the frames stored above it: what\n"
	"instance J needs (`komposter partition import`) to call a frame this\n"
	"instance stored a duplicate. Prints 'N devices handed from K/M to J/N'.\n\n"
	"Options:\n"
	"      --to N         the number of instances after the change (1..4096)\n"
	"      --owner J      the instance the devices move to (0..N-1)\n"
	"      --out FILE     the hand-over (FILE.minisig beside it)\n"
	"      --from M       the number before it (default: the config's N)\n"
	"      --key FILE     the server's secret key (default: the config's\n"
	"                     [ingest] server_key)\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

static const char import_help[] =
	"Usage: komposter partition import [--partition J/N] [--pub HEX]... FILE...\n\n"
	"On a stopped instance J of N: takes over the once-only state of the\n"
	"devices in each FILE (`komposter partition export`), so a frame their\n"
	"former owner stored is re-ACKed here, never stored twice, and their\n"
	"watermark goes on from the former owner's. Every FILE is checked before\n"
	"anything is written; refused with one line and exit 1, writing nothing:\n"
	"a signature that does not hold under a --pub key (or is missing), a file\n"
	"for another instance, a device that does not hash to J under N, a device\n"
	"in two files or handed here before. A new instance's database is created.\n"
	"Prints 'N devices imported'.\n\n"
	"Options:\n"
	"      --partition J/N this instance's partition after the change (default:\n"
	"                      the config's [mqtt] partition)\n"
	"      --pub HEX       a public key the files may be signed with, 64 hex\n"
	"                      digits; repeat for each old owner's (default: the\n"
	"                      public half of the config's [ingest] server_key)\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

enum { OPT_TO = 0x200, OPT_FROM, OPT_OWNER, OPT_OUT, OPT_KEY, OPT_PUB, OPT_PARTITION };

struct handoff_args {
	const char *to, *from, *owner, *out, *key, *partition;
	uint8_t pks[PUBS_MAX][OD_MINISIGN_PK_SIZE];
	size_t npk;
};

static int handoff_option(void *ctx, int opt, const char *arg)
{
	struct handoff_args *a = ctx;

	if (opt == OPT_TO)
		a->to = arg;
	else if (opt == OPT_FROM)
		a->from = arg;
	else if (opt == OPT_OWNER)
		a->owner = arg;
	else if (opt == OPT_OUT)
		a->out = arg;
	else if (opt == OPT_KEY)
		a->key = arg;
	else if (opt == OPT_PARTITION)
		a->partition = arg;
	else if (opt == OPT_PUB)
		return cli_add_pub("partition import", arg, a->pks, &a->npk, PUBS_MAX);
	else
		return CLI_OPT_UNKNOWN;
	return CLI_CONTINUE;
}

/* The secret key of --key or the config's; reported on failure. */
static int read_key(const char *cmd, const char *path, const struct kp_config *cfg, uint8_t sk[KP_SECRET_KEY_SIZE])
{
	char kerr[KP_KEYFILE_ERR_SIZE];

	if (kp_keyfile_read_secret(path != NULL ? path : cfg->server_key, sk, kerr) == 0)
		return 0;
	sodium_memzero(sk, KP_SECRET_KEY_SIZE);
	cli_fail(cmd, "%s", kerr);
	return -1;
}

/* --to, --owner and --from (or the config's K/M) into from and to. */
static int export_partitions(const char *cmd, const struct handoff_args *a, const struct kp_config *cfg,
                             struct kp_partition *from, struct kp_partition *to)
{
	uint64_t v;

	*from = cfg->mqtt_partition;
	if (a->to == NULL || cli_parse_u64(a->to, KP_PARTITION_N_MAX, &v) != 0 || v == 0)
		return cli_usage(cmd, "--to N is required (1..%d)", KP_PARTITION_N_MAX);
	to->n = (uint32_t)v;
	if (a->owner == NULL || cli_parse_u64(a->owner, to->n - 1, &v) != 0)
		return cli_usage(cmd, "--owner J is required (0..%u)", to->n - 1);
	to->k = (uint32_t)v;
	if (a->from != NULL) {
		if (cli_parse_u64(a->from, KP_PARTITION_N_MAX, &v) != 0 || v == 0 || v <= from->k)
			return cli_usage(cmd, "--from '%s' is not a number of instances above this one's %u",
			                 a->from, from->k);
		from->n = (uint32_t)v;
	}
	if (to->k == from->k)
		return cli_usage(cmd, "--owner %u is this instance: its devices stay here", to->k);
	return CLI_CONTINUE;
}

int cmd_partition_export(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "partition export";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "to", required_argument, NULL, OPT_TO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	struct handoff_args a = { 0 };
	struct kp_handoff h = { 0 };
	struct kp_partition from, to;
	struct kp_config cfg;
	struct st_db *db = NULL;
	uint8_t sk[KP_SECRET_KEY_SIZE];
	char err[OD_ERR_SIZE], ftext[KP_PARTITION_TEXT_SIZE], ttext[KP_PARTITION_TEXT_SIZE];
	int status;

	status = cli_parse_options(cli, cmd, export_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, handoff_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status == CLI_CONTINUE && a.out == NULL)
		status = cli_usage(cmd, "--out is required");
	if (status != CLI_CONTINUE)
		return status;
	if (cli_load_config(cli, cmd, &cfg) != 0)
		return KP_EXIT_FAIL;
	status = export_partitions(cmd, &a, &cfg, &from, &to);
	if (status != CLI_CONTINUE)
		return status;
	if (read_key(cmd, a.key, &cfg, sk) != 0)
		return KP_EXIT_FAIL;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return KP_EXIT_FAIL;
	}
	if (kp_handoff_collect(db, &from, &to, &h, err) != 0 || kp_handoff_write(&h, sk, a.out, cli_now_ms(), err) != 0)
		status = cli_fail(cmd, "%s", err);
	else {
		kp_partition_format(&from, ftext);
		kp_partition_format(&to, ttext);
		printf("%zu devices handed from %s to %s\n", h.n, ftext, ttext);
		status = cli_finish_output(cmd);
	}
	st_db_close(db);
	sodium_memzero(sk, sizeof(sk));
	kp_handoff_free(&h);
	return status;
}

/* The --pub keys, or the public half of the server key. */
static int import_keys(const char *cmd, struct handoff_args *a, const struct kp_config *cfg)
{
	uint8_t sk[KP_SECRET_KEY_SIZE];

	if (a->npk > 0)
		return 0;
	if (read_key(cmd, NULL, cfg, sk) != 0)
		return -1;
	/* libsodium's Ed25519 secret key ends with its public key. */
	memcpy(a->pks[0], sk + KP_SECRET_KEY_SIZE - OD_MINISIGN_PK_SIZE, OD_MINISIGN_PK_SIZE);
	a->npk = 1;
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

/* Every file read and checked into h; reported on failure. */
static int import_read(const char *cmd, const struct handoff_args *a, const struct kp_partition *to, int nfiles,
                       char **files, struct kp_handoff *h)
{
	char err[OD_ERR_SIZE];

	for (int i = 0; i < nfiles; i++)
		if (kp_handoff_read(files[i], (const uint8_t(*)[OD_MINISIGN_PK_SIZE])a->pks, a->npk, to, h, err) != 0)
			return cli_fail(cmd, "%s", err);
	if (kp_handoff_sort_unique(h, err) != 0)
		return cli_fail(cmd, "%s", err);
	return KP_EXIT_OK;
}

static int import_write(struct kp_cli *cli, const char *cmd, const struct kp_handoff *h)
{
	struct st_handoff *v = kp_handoff_entries(h);
	struct st_db *db = NULL;
	int rc, status = KP_EXIT_OK;

	if (v == NULL)
		return cli_fail(cmd, "out of memory");
	if (cli_open_db(cli, cmd, CLI_DB_CREATE, &db) != 0) {
		free(v);
		return KP_EXIT_FAIL;
	}
	rc = st_handoff_put_all(db, v, h->n);
	if (rc == ST_EEXIST)
		status = cli_fail(cmd, "a device of the files was handed to this instance before; nothing imported");
	else if (rc != ST_OK)
		status = cli_fail(cmd, "writing the once-only state: %s", st_strerror(rc));
	st_db_close(db);
	free(v);
	if (status == KP_EXIT_OK) {
		printf("%zu devices imported\n", h->n);
		status = cli_finish_output(cmd);
	}
	return status;
}

int cmd_partition_import(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "partition import";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "pub", required_argument, NULL, OPT_PUB },
		{ NULL, 0, NULL, 0 },
	};
	struct handoff_args a = { 0 };
	struct kp_handoff h = { 0 };
	struct kp_partition to;
	struct kp_config cfg;
	int status;

	status = cli_parse_options(cli, cmd, import_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, handoff_option, &a);
	if (status == CLI_CONTINUE && optind >= argc)
		status = cli_usage(cmd, "no FILE given");
	if (status != CLI_CONTINUE)
		return status;
	if (cli_load_config(cli, cmd, &cfg) != 0)
		return KP_EXIT_FAIL;
	to = cfg.mqtt_partition;
	if (a.partition != NULL && kp_partition_parse(a.partition, &to) != 0)
		return cli_usage(cmd, "--partition '%s' is not J/N with 0 <= J < N <= %d", a.partition,
		                 KP_PARTITION_N_MAX);
	if (import_keys(cmd, &a, &cfg) != 0)
		return KP_EXIT_FAIL;
	status = import_read(cmd, &a, &to, argc - optind, &argv[optind], &h);
	if (status == KP_EXIT_OK)
		status = import_write(cli, cmd, &h);
	kp_handoff_free(&h);
	return status;
}
