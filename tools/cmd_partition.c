/*
 * cmd_partition.c — `komposter partition plan --to N [--from M]`: which
 * devices of the registry change owner when the deployment goes from M to N
 * komposterd instances (firmware-proto/partition.h), so that the operator
 * can hand their once-only state over before the new instances start.
 *
 * Only devices that send signed frames over MQTT are partitioned
 * (validators and counting cameras); NVR cameras come through Frigate's
 * topics and are listed by no plan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "firmware-proto/hex.h"
#include "firmware-proto/partition.h"
#include "storage/devices.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

enum { OPT_JSON = 0x200, OPT_TO, OPT_FROM };

static const char plan_help[] =
	"Usage: komposter partition plan --to N [--from M] [--json]\n\n"
	"Lists the devices of the registry (validators and counting cameras) whose\n"
	"owner changes when the deployment goes from M to N komposterd instances:\n"
	"the device id, its owner among M and its owner among N, one per line,\n"
	"then a summary line 'N of T devices move from M to N instances'. The owner\n"
	"is the jump consistent hash of the id (README \"Partitions\"): growing by\n"
	"one instance moves only devices to the new one. The JSON is {\"from\",\n"
	"\"to\", \"devices\", \"moving\", \"moves\": [{\"device\", \"from\", \"to\"}]}.\n\n"
	"Options:\n"
	"      --to N         the number of instances after the change (1..4096)\n"
	"      --from M       the number before it (default: N of the config's\n"
	"                     [mqtt] partition, 1 without a config)\n"
	"      --json         print JSON instead of a table\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct plan_opts {
	const char *to, *from;
	int json;
};

struct move {
	uint64_t device;
	uint32_t from, to;
};

struct plan {
	uint32_t from_n, to_n;
	uint64_t devices;
	struct move *v;
	size_t n, cap;
};

static int plan_option(void *ctx, int opt, const char *arg)
{
	struct plan_opts *o = ctx;

	if (opt == OPT_TO)
		o->to = arg;
	else if (opt == OPT_FROM)
		o->from = arg;
	else if (opt == OPT_JSON)
		o->json = 1;
	else
		return CLI_OPT_UNKNOWN;
	return CLI_CONTINUE;
}

/* st_device_foreach: keeps the devices that move; 1 (stop) out of memory. */
static int collect_move(void *ctx, const struct st_device *dev)
{
	struct plan *p = ctx;

	if (dev->kind == ST_KIND_NVR)
		return 0;
	p->devices++;
	uint32_t from = kp_partition_owner(dev->id, p->from_n), to = kp_partition_owner(dev->id, p->to_n);
	if (from == to)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct move *v = realloc(p->v, cap * sizeof(*v));

		if (v == NULL)
			return 1;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct move){ dev->id, from, to };
	return 0;
}

static cJSON *move_json(const void *item)
{
	const struct move *m = item;
	char hex[KP_DEVICE_ID_DIGITS + 1];
	cJSON *o = cJSON_CreateObject();

	kp_device_id_format(m->device, hex);
	if (o == NULL || json_add_str(o, "device", hex) || json_add_u64(o, "from", m->from) ||
	    json_add_u64(o, "to", m->to)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_plan_json(const struct plan *p, const char *cmd)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(doc, "moves");
	int ok = doc != NULL && arr != NULL && json_add_u64(doc, "from", p->from_n) == 0 &&
	         json_add_u64(doc, "to", p->to_n) == 0 && json_add_u64(doc, "devices", p->devices) == 0 &&
	         json_add_u64(doc, "moving", p->n) == 0;

	for (size_t i = 0; ok && i < p->n; i++) {
		cJSON *o = move_json(&p->v[i]);

		ok = o != NULL && cJSON_AddItemToArray(arr, o);
	}
	if (!ok) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	return json_print_answer(doc, cmd);
}

static int print_plan_text(const struct plan *p, const char *cmd)
{
	char hex[KP_DEVICE_ID_DIGITS + 1];

	if (p->n > 0)
		printf("%-16s  %4s  %4s\n", "DEVICE", "FROM", "TO");
	for (size_t i = 0; i < p->n; i++) {
		kp_device_id_format(p->v[i].device, hex);
		printf("%-16s  %4" PRIu32 "  %4" PRIu32 "\n", hex, p->v[i].from, p->v[i].to);
	}
	printf("%zu of %" PRIu64 " devices move from %" PRIu32 " to %" PRIu32 " instances\n", p->n, p->devices,
	       p->from_n, p->to_n);
	return cli_finish_output(cmd);
}

/* --to and --from (or the config's N) into p. */
static int plan_counts(struct kp_cli *cli, const char *cmd, const struct plan_opts *o, struct plan *p)
{
	uint64_t v;

	if (o->to == NULL)
		return cli_usage(cmd, "--to is required (1..%d)", KP_PARTITION_N_MAX);
	if (cli_parse_u64(o->to, KP_PARTITION_N_MAX, &v) != 0 || v == 0)
		return cli_usage(cmd, "--to '%s' is not a number of instances from 1 to %d", o->to, KP_PARTITION_N_MAX);
	p->to_n = (uint32_t)v;
	if (o->from != NULL) {
		if (cli_parse_u64(o->from, KP_PARTITION_N_MAX, &v) != 0 || v == 0)
			return cli_usage(cmd, "--from '%s' is not a number of instances from 1 to %d", o->from,
			                 KP_PARTITION_N_MAX);
		p->from_n = (uint32_t)v;
		return CLI_CONTINUE;
	}
	struct kp_config cfg;

	if (cli_load_config(cli, cmd, &cfg) != 0)
		return KP_EXIT_FAIL;
	p->from_n = cfg.mqtt_partition.n;
	return CLI_CONTINUE;
}

static int partition_plan(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "partition plan";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "to", required_argument, NULL, OPT_TO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct plan_opts o = { 0 };
	struct plan p = { 0 };
	struct st_db *db = NULL;
	struct st_read r;
	int status;

	status = cli_parse_options(cli, cmd, plan_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, plan_option, &o);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status == CLI_CONTINUE)
		status = plan_counts(cli, cmd, &o, &p);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = cli_read_begin(db, cmd, &r);
	if (status == KP_EXIT_OK) {
		status = cli_collect_status(cmd, st_device_foreach(&r, collect_move, &p), "devices");
		st_read_end(&r);
	}
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = o.json ? print_plan_json(&p, cmd) : print_plan_text(&p, cmd);
	free(p.v);
	return status;
}

static const char partition_help[] =
	"Usage: komposter partition plan|export|import ...\n\n"
	"The partitions of the device space among komposterd instances ([mqtt]\n"
	"partition = K/N).\n"
	"  plan     the devices that change owner when N changes\n"
	"  export   hand the devices moving to instance J over, signed (old owner)\n"
	"  import   take devices handed over (new owner)\n"
	"Run 'komposter partition SUBCOMMAND --help' for each.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_partition(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ "plan", partition_plan, NULL },
		{ "export", cmd_partition_export, NULL },
		{ "import", cmd_partition_import, NULL },
	};

	return cli_run_subcommands(cli, "partition", partition_help, subs, sizeof(subs) / sizeof(subs[0]), argc,
	                           argv);
}
