/*
 * cmd_device.c — `komposter device add|list|show|revoke`: the device
 * registry of storage/devices.h from the command line.
 *
 * Enrolment is made safe to repeat: provisioning scripts run `device add`
 * again after a partial failure, so adding a key that is already enrolled
 * under the same key_id with the same public key succeeds (and says so on
 * stderr), while a different public key under a taken key_id is an error —
 * key ids are never reused, or old signatures would verify under a new key.
 *
 * Reads copy what they need out of one short read transaction and print
 * after it has ended, so a slow terminal or pipe never holds an LMDB reader
 * open against the daemon's writer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
#include "storage/device_stats.h"
#include "storage/devices.h"
#include "storage/once.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

#define KEY_ID_MAX 255
#define PUBLIC_KEY_HEX_SIZE (2 * KP_PUBLIC_KEY_SIZE + 1)

/* ---------------------------------------------------------------- views */

/* One device and its keys, copied out of a read transaction. */
struct dev_view {
	struct st_device dev;
	uint64_t watermark;
	struct st_device_stats stats; /* zero (but the id) while it has none */
	struct st_device_key *keys;
	size_t nkeys, cap;
};

struct dev_list {
	struct dev_view *v;
	size_t n, cap;
};

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*items, want * size);
	if (p == NULL)
		return -1;
	*items = p;
	*cap = want;
	return 0;
}

static int collect_key(void *ctx, const struct st_device_key *key)
{
	struct dev_view *v = ctx;

	if (grow((void **)&v->keys, &v->cap, v->nkeys, sizeof(*v->keys)) != 0)
		return 1;
	v->keys[v->nkeys++] = *key;
	return 0;
}

static int collect_device(void *ctx, const struct st_device *dev)
{
	struct dev_list *l = ctx;

	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
		return 1;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n++].dev = *dev;
	return 0;
}

static void dev_list_free(struct dev_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].keys);
	free(l->v);
}

/* Fills v->keys, v->watermark and v->stats. */
static int load_keys(struct st_read *r, struct dev_view *v, const char *cmd)
{
	char hex[17];
	int rc, status;

	status = cli_collect_status(cmd, st_device_key_foreach(r, v->dev.id, collect_key, v), "keys");
	if (status != KP_EXIT_OK)
		return status;
	kp_device_id_format(v->dev.id, hex);
	rc = st_once_watermark(r, v->dev.id, &v->watermark);
	if (rc != ST_OK)
		return cli_fail(cmd, "device %s: watermark: %s", hex, st_strerror(rc));
	rc = st_device_stats_get(r, v->dev.id, &v->stats);
	if (rc == ST_ENOTFOUND)
		v->stats = (struct st_device_stats){.device_id = v->dev.id};
	else if (rc != ST_OK)
		return cli_fail(cmd, "device %s: traffic record: %s", hex, st_strerror(rc));
	return KP_EXIT_OK;
}

/* cli_load_fn: every device of the registry, into ctx (a struct dev_list). */
static int load_all(struct st_db *db, const char *cmd, void *ctx)
{
	struct dev_list *l = ctx;
	struct st_read r;
	int status;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	status = cli_collect_status(cmd, st_device_foreach(&r, collect_device, l), "devices");
	for (size_t i = 0; status == KP_EXIT_OK && i < l->n; i++)
		status = load_keys(&r, &l->v[i], cmd);
	st_read_end(&r);
	return status;
}

static int load_one(struct st_db *db, uint64_t id, struct dev_view *v, const char *cmd)
{
	char hex[17];
	struct st_read r;
	int rc, status;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	kp_device_id_format(id, hex);
	rc = st_device_get(&r, id, &v->dev);
	if (rc == ST_ENOTFOUND)
		status = cli_fail(cmd, "device %s: not found", hex);
	else if (rc != ST_OK)
		status = cli_fail(cmd, "device %s: %s", hex, st_strerror(rc));
	else
		status = load_keys(&r, v, cmd);
	st_read_end(&r);
	return status;
}

/* ------------------------------------------------------------ rendering */

static const char *state_name(uint8_t state)
{
	return state == ST_STATE_ACTIVE ? "active" : "revoked";
}

static cJSON *key_json(const struct st_device_key *k)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (json_add_u64(o, "key_id", k->key_id) || json_add_hex(o, "public_key", k->public_key, KP_PUBLIC_KEY_SIZE) ||
	    json_add_str(o, "state", state_name(k->state)) ||
	    json_add_i64(o, "added_at", k->added_at) ||
	    json_add_time_or_null(o, "revoked_at", k->revoked_at)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int add_fields(cJSON *o, const struct st_device *d)
{
	char hex[17];

	kp_device_id_format(d->id, hex);
	return json_add_str(o, "id", hex) || json_add_str(o, "kind", st_device_kind_name(d->kind)) ||
	       json_add_str(o, "state", state_name(d->state)) ||
	       json_add_str(o, "operator", d->operator_name) ||
	       json_add_u64(o, "vehicle_id", d->vehicle_id) ||
	       json_add_i64(o, "created_at", d->created_at) ||
	       json_add_time_or_null(o, "revoked_at", d->revoked_at);
}

/* The watermark and the traffic, with report/devices.h's field names. */
static int add_traffic(cJSON *o, const struct dev_view *v)
{
	const struct st_device_stats *s = &v->stats;
	cJSON *rej;

	if (json_add_u64(o, "watermark", v->watermark) || json_add_time_or_null(o, "last_seen", s->last_seen) ||
	    (s->frames ? json_add_i64(o, "last_sent_at", s->last_sent_at) ||
	                         json_add_i64(o, "clock_skew_ms", s->clock_skew_ms)
	               : cJSON_AddNullToObject(o, "last_sent_at") == NULL ||
	                         cJSON_AddNullToObject(o, "clock_skew_ms") == NULL) ||
	    cJSON_AddBoolToObject(o, "clock_skewed", st_device_clock_skewed(s)) == NULL ||
	    json_add_u64(o, "frames", s->frames) || json_add_u64(o, "gaps", s->gaps) ||
	    (rej = cJSON_AddObjectToObject(o, "rejects")) == NULL)
		return -1;
	for (unsigned i = 1; i < ST_REJECT_SLOTS; i++)
		if (json_add_u64(rej, st_reject_field(i), s->rejects[i]))
			return -1;
	return 0;
}

static cJSON *dev_json(const struct dev_view *v)
{
	cJSON *o = cJSON_CreateObject(), *keys;

	if (o == NULL)
		return NULL;
	if (add_fields(o, &v->dev) || (keys = cJSON_AddArrayToObject(o, "keys")) == NULL)
		goto err;
	for (size_t i = 0; i < v->nkeys; i++) {
		cJSON *k = key_json(&v->keys[i]);

		if (k == NULL || !cJSON_AddItemToArray(keys, k)) {
			cJSON_Delete(k);
			goto err;
		}
	}
	if (add_traffic(o, v))
		goto err;
	return o;
err:
	cJSON_Delete(o);
	return NULL;
}

/* json_print_list's view of dev_json. */
static cJSON *dev_json_of(const void *item)
{
	return dev_json(item);
}

static int print_list_json(const struct dev_list *l, const char *cmd)
{
	return json_print_list(l->v, l->n, sizeof(l->v[0]), dev_json_of, cmd);
}

static size_t active_keys(const struct dev_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nkeys; i++)
		n += v->keys[i].state == ST_STATE_ACTIVE;
	return n;
}

static int print_list_text(const struct dev_list *l, const char *cmd)
{
	char hex[17];

	printf("%-16s  %-9s  %-7s  %4s  %10s  %s\n", "ID", "KIND", "STATE", "KEYS", "VEHICLE",
	       "OPERATOR");
	for (size_t i = 0; i < l->n; i++) {
		const struct dev_view *v = &l->v[i];

		kp_device_id_format(v->dev.id, hex);
		printf("%-16s  %-9s  %-7s  %4zu  %10" PRIu32 "  %s\n", hex,
		       st_device_kind_name(v->dev.kind), state_name(v->dev.state), active_keys(v),
		       v->dev.vehicle_id, v->dev.operator_name);
	}
	return cli_finish_output(cmd);
}

/* Watermark, last seen, skew, frames, gaps and the nonzero rejects. */
static void print_traffic_text(const struct dev_view *v)
{
	const struct st_device_stats *s = &v->stats;
	char t[CLI_TIME_SIZE];
	int any = 0;

	cli_format_ms(s->last_seen, t);
	printf("watermark %" PRIu64 "\nframes    %" PRIu64 "\ngaps      %" PRIu64 "\nlast seen %s\n",
	       v->watermark, s->frames, s->gaps, t);
	if (s->frames)
		printf("skew      %" PRId64 " ms (device clock minus server clock)\n", s->clock_skew_ms);
	else
		printf("skew      -\n");
	if (st_device_clock_skewed(s))
		printf("clock     SKEWED: off by more than %d s (stored frames or NACK 6)\n", ST_CLOCK_SKEW_FLAG_MS / 1000);
	printf("rejects  ");
	for (unsigned i = 1; i < ST_REJECT_SLOTS; i++)
		if (s->rejects[i]) {
			printf(" %s %" PRIu64, st_reject_field(i), s->rejects[i]);
			any = 1;
		}
	printf("%s\n", any ? "" : " 0");
}

static int print_show_text(const struct dev_view *v, const char *cmd)
{
	char hex[17], pk[PUBLIC_KEY_HEX_SIZE], t1[CLI_TIME_SIZE], t2[CLI_TIME_SIZE];

	kp_device_id_format(v->dev.id, hex);
	cli_format_ms(v->dev.created_at, t1);
	cli_format_ms(v->dev.revoked_at, t2);
	printf("device    %s\nkind      %s\nstate     %s\noperator  %s\nvehicle   %" PRIu32
	       "\ncreated   %s\nrevoked   %s\nkeys      %zu (%zu active)\n",
	       hex, st_device_kind_name(v->dev.kind), state_name(v->dev.state),
	       v->dev.operator_name, v->dev.vehicle_id, t1, t2, v->nkeys, active_keys(v));
	for (size_t i = 0; i < v->nkeys; i++) {
		const struct st_device_key *k = &v->keys[i];

		kp_hex_encode(k->public_key, KP_PUBLIC_KEY_SIZE, pk);
		cli_format_ms(k->added_at, t1);
		cli_format_ms(k->revoked_at, t2);
		printf("  key %3u  %-7s  %s  added %s  revoked %s\n", k->key_id,
		       state_name(k->state), pk, t1, t2);
	}
	print_traffic_text(v);
	return cli_finish_output(cmd);
}

/* ---------------------------------------------------------- list, show */

static const char list_help[] =
	"Usage: komposter device list [--json]\n\n"
	"Lists every enrolled device: id, kind, state, active keys, vehicle, operator.\n\n"
	"Options:\n"
	"      --json         print a JSON array of devices, each with its keys, watermark and\n"
	"                     traffic (last_seen, clock_skew_ms, frames, gaps, rejects)\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

static const char show_help[] =
	"Usage: komposter device show ID [--json]\n\n"
	"Shows one device (ID: its 1..16 hex digits) and every key it ever had,\n"
	"with the public key's hex and whether the key is active or revoked.\n\n"
	"Options:\n"
	"      --json         print a JSON object\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

enum {
	OPT_ID = 0x200,
	OPT_KEY_ID,
	OPT_PUBLIC_KEY,
	OPT_PUBLIC_KEY_FILE,
	OPT_KIND,
	OPT_OPERATOR,
	OPT_VEHICLE,
};

/* The one operand, a device ID; returns CLI_CONTINUE, or the usage error. */
static int parse_device_operand(const char *cmd, int argc, char **argv, uint64_t *id)
{
	const char *text = NULL;
	int status = cli_one_operand(cmd, argc, argv, "device ID", &text);

	if (status == CLI_CONTINUE && kp_device_id_parse(text, id) != 0)
		return cli_usage(cmd, "'%s' is not a device id (1..16 hex digits, nonzero)", text);
	return status;
}

/* --key-id's value; returns CLI_CONTINUE, or the usage error. */
static int parse_key_id(const char *cmd, const char *text, uint8_t *key_id)
{
	uint64_t v;

	if (cli_parse_u64(text, KEY_ID_MAX, &v) != 0)
		return cli_usage(cmd, "--key-id '%s' is not in 0..255", text);
	*key_id = (uint8_t)v;
	return CLI_CONTINUE;
}

static int device_list(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "device list";
	struct dev_list l = { 0 };
	int json = 0;
	int status = cli_list_load(cli, cmd, list_help, argc, argv, load_all, &l, &json);

	if (status == CLI_CONTINUE)
		status = json ? print_list_json(&l, cmd) : print_list_text(&l, cmd);
	dev_list_free(&l);
	return status;
}

static int device_show(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "device show";
	struct dev_view v = { 0 };
	struct st_db *db = NULL;
	int json = 0, status;
	uint64_t id;

	status = cli_parse_json_flag(cli, cmd, show_help, argc, argv, &json);
	if (status == CLI_CONTINUE)
		status = parse_device_operand(cmd, argc, argv, &id);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = load_one(db, id, &v, cmd);
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = json ? json_print_answer(dev_json(&v), cmd) : print_show_text(&v, cmd);
	free(v.keys);
	return status;
}

/* -------------------------------------------------------------- registry */

/* "device HEX", or "key N of device HEX" when key_id >= 0: how errors and
 * messages name what a command works on. */
#define REGISTRY_NAME_SIZE 64
static void registry_name(uint64_t id, int key_id, char what[REGISTRY_NAME_SIZE])
{
	char hex[17];

	kp_device_id_format(id, hex);
	if (key_id >= 0)
		snprintf(what, REGISTRY_NAME_SIZE, "key %d of device %s", key_id, hex);
	else
		snprintf(what, REGISTRY_NAME_SIZE, "device %s", hex);
}

/* Reads device id and, when key_id >= 0, its key key_id, in one short read
 * transaction. A failure (not found included) is reported as "what: why". */
static int read_registry(struct st_db *db, const char *cmd, uint64_t id, int key_id,
                         struct st_device *dev, struct st_device_key *key)
{
	char what[REGISTRY_NAME_SIZE];
	struct st_read r;
	int rc;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_device_get(&r, id, dev);
	if (rc == ST_OK && key_id >= 0)
		rc = st_device_key_get(&r, id, (uint8_t)key_id, key);
	st_read_end(&r);
	if (rc == ST_OK)
		return KP_EXIT_OK;
	registry_name(id, key_id, what);
	return cli_fail(cmd, "%s: %s", what, st_strerror(rc));
}

/* ------------------------------------------------------------------ add */

static const char add_help[] =
	"Usage: komposter device add --id HEX --key-id N\n"
	"                            (--public-key HEX | --public-key-file FILE)\n"
	"                            [--kind validator|apc|nvr] [--operator NAME] [--vehicle N]\n\n"
	"Adds the device if it is new, then enrols its public key under key_id N.\n"
	"Repeating an enrolment (same device, key_id and public key) succeeds and\n"
	"says so on stderr; a different public key under a taken key_id fails, as\n"
	"does enrolling under a revoked key_id (key ids are never reused). For a\n"
	"device that exists already, --kind, --operator and --vehicle are ignored.\n"
	"Creates the database if it does not exist.\n\n"
	"Options:\n"
	"      --id HEX               the device id, 1..16 hex digits, nonzero\n"
	"      --key-id N             0..255\n"
	"      --public-key HEX       the Ed25519 public key, 64 hex digits\n"
	"      --public-key-file FILE a FILE.pub written by 'komposter keygen'\n"
	"      --kind KIND            validator (default), apc or nvr\n"
	"      --operator NAME        the transport operator, at most 31 characters\n"
	"      --vehicle N            the vehicle the device is mounted in (default 0)\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

struct add_args {
	const char *id_text, *key_id_text, *pk_hex, *pk_file, *kind_text, *operator_name,
		*vehicle_text;
	struct st_device dev;
	struct st_device_key key;
};

/* cli_option_fn: keeps the values; add_check_values checks them. */
static int add_option(void *ctx, int opt, const char *arg)
{
	struct add_args *a = ctx;

	switch (opt) {
	case OPT_ID: a->id_text = arg; break;
	case OPT_KEY_ID: a->key_id_text = arg; break;
	case OPT_PUBLIC_KEY: a->pk_hex = arg; break;
	case OPT_PUBLIC_KEY_FILE: a->pk_file = arg; break;
	case OPT_KIND: a->kind_text = arg; break;
	case OPT_OPERATOR: a->operator_name = arg; break;
	case OPT_VEHICLE: a->vehicle_text = arg; break;
	default: return CLI_OPT_UNKNOWN;
	}
	return CLI_CONTINUE;
}

/* Parses the options; returns CLI_CONTINUE, or an exit status. */
static int add_parse_options(struct kp_cli *cli, int argc, char **argv, struct add_args *a)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "id", required_argument, NULL, OPT_ID },
		{ "key-id", required_argument, NULL, OPT_KEY_ID },
		{ "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
		{ "public-key-file", required_argument, NULL, OPT_PUBLIC_KEY_FILE },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "operator", required_argument, NULL, OPT_OPERATOR },
		{ "vehicle", required_argument, NULL, OPT_VEHICLE },
		{ NULL, 0, NULL, 0 },
	};
	int status = cli_parse_options(cli, "device add", add_help, argc, argv,
	                               KP_CLI_COMMON_SHORT, longopts, add_option, a);

	if (status == CLI_CONTINUE)
		status = cli_no_operands("device add", argc, argv);
	return status;
}

/* Checks the option values and fills a->dev and a->key (except the public
 * key when it comes from a file); returns CLI_CONTINUE, or an exit status. */
static int add_check_values(struct add_args *a)
{
	static const char cmd[] = "device add";
	uint64_t vehicle = 0;
	int kind = ST_KIND_VALIDATOR, status;

	if (a->id_text == NULL || a->key_id_text == NULL)
		return cli_usage(cmd, "--id and --key-id are required");
	if ((a->pk_hex == NULL) == (a->pk_file == NULL))
		return cli_usage(cmd, "give one of --public-key and --public-key-file");
	if (kp_device_id_parse(a->id_text, &a->dev.id) != 0)
		return cli_usage(cmd, "--id '%s' is not a device id (1..16 hex digits, nonzero)",
		                 a->id_text);
	if ((status = parse_key_id(cmd, a->key_id_text, &a->key.key_id)) != CLI_CONTINUE)
		return status;
	if (a->pk_hex != NULL && kp_hex_decode(a->pk_hex, a->key.public_key, KP_PUBLIC_KEY_SIZE) != 0)
		return cli_usage(cmd, "--public-key is not 64 hex digits");
	if (a->kind_text != NULL && (kind = st_device_kind_parse(a->kind_text)) < 0)
		return cli_usage(cmd, "--kind '%s' is not validator, apc or nvr", a->kind_text);
	if (a->operator_name != NULL && strlen(a->operator_name) >= ST_OPERATOR_SIZE)
		return cli_usage(cmd, "--operator is longer than %d characters", ST_OPERATOR_SIZE - 1);
	if (a->vehicle_text != NULL && cli_parse_u64(a->vehicle_text, UINT32_MAX, &vehicle) != 0)
		return cli_usage(cmd, "--vehicle '%s' is not in 0..%" PRIu32, a->vehicle_text,
		                 UINT32_MAX);
	a->dev.kind = (uint8_t)kind;
	a->dev.state = ST_STATE_ACTIVE;
	a->dev.vehicle_id = (uint32_t)vehicle;
	if (a->operator_name != NULL)
		snprintf(a->dev.operator_name, sizeof(a->dev.operator_name), "%s", a->operator_name);
	a->key.device_id = a->dev.id;
	a->key.state = ST_STATE_ACTIVE;
	return CLI_CONTINUE;
}

/* The device exists already: fine unless it is revoked. */
static int add_existing_device(struct st_db *db, const struct add_args *a, const char *hex)
{
	static const char cmd[] = "device add";
	struct st_device cur;

	if (read_registry(db, cmd, a->dev.id, -1, &cur, NULL) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (cur.state != ST_STATE_ACTIVE)
		return cli_fail(cmd, "device %s is revoked", hex);
	if (a->kind_text != NULL || a->operator_name != NULL || a->vehicle_text != NULL)
		fprintf(stderr, "komposter: device %s exists; its kind, operator and vehicle are "
		                "left as they are\n", hex);
	return KP_EXIT_OK;
}

/* key_id is taken: success when it holds the same, active public key. */
static int add_existing_key(struct st_db *db, const struct add_args *a, const char *hex)
{
	static const char cmd[] = "device add";
	struct st_device dev;
	struct st_device_key cur;

	if (read_registry(db, cmd, a->dev.id, a->key.key_id, &dev, &cur) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (memcmp(cur.public_key, a->key.public_key, KP_PUBLIC_KEY_SIZE) != 0)
		return cli_fail(cmd, "key_id %u of device %s is taken by another public key",
		                a->key.key_id, hex);
	if (cur.state != ST_STATE_ACTIVE)
		return cli_fail(cmd, "key %u of device %s was revoked; key ids are never reused",
		                a->key.key_id, hex);
	fprintf(stderr, "komposter: key %u of device %s is already enrolled with this public "
	                "key; nothing to do\n", a->key.key_id, hex);
	return KP_EXIT_OK;
}

static int add_enrol(struct st_db *db, struct add_args *a)
{
	static const char cmd[] = "device add";
	char hex[17];
	int64_t now = cli_now_ms();
	int rc, status;

	kp_device_id_format(a->dev.id, hex);
	a->dev.created_at = now;
	a->key.added_at = now;
	rc = st_device_add(db, &a->dev);
	if (rc == ST_EEXIST)
		status = add_existing_device(db, a, hex);
	else if (rc != ST_OK)
		status = cli_fail(cmd, "device %s: %s", hex, st_strerror(rc));
	else
		status = printf("added device %s\n", hex) < 0 ? KP_EXIT_FAIL : KP_EXIT_OK;
	if (status != KP_EXIT_OK)
		return status;
	rc = st_device_key_add(db, &a->key);
	if (rc == ST_EEXIST)
		return add_existing_key(db, a, hex);
	if (rc != ST_OK)
		return cli_fail(cmd, "key %u of device %s: %s", a->key.key_id, hex, st_strerror(rc));
	printf("enrolled key %u of device %s\n", a->key.key_id, hex);
	return cli_finish_output(cmd);
}

static int device_add(struct kp_cli *cli, int argc, char **argv)
{
	struct add_args a = { 0 };
	char err[KP_KEYFILE_ERR_SIZE];
	struct st_db *db = NULL;
	int status;

	status = add_parse_options(cli, argc, argv, &a);
	if (status == CLI_CONTINUE)
		status = add_check_values(&a);
	if (status != CLI_CONTINUE)
		return status;
	if (a.pk_file != NULL && kp_keyfile_read_public(a.pk_file, a.key.public_key, err) != 0)
		return cli_fail("device add", "%s", err);
	if (cli_open_db(cli, "device add", CLI_DB_CREATE, &db) != 0)
		return KP_EXIT_FAIL;
	status = add_enrol(db, &a);
	st_db_close(db);
	return status;
}

/* --------------------------------------------------------------- revoke */

static const char revoke_help[] =
	"Usage: komposter device revoke ID [--key-id N]\n\n"
	"Revokes the whole device, or only its key N. Takes effect at once: frames\n"
	"signed by a revoked device or key are refused from then on. Revoking what\n"
	"is revoked already succeeds and says so on stderr.\n\n"
	"Options:\n"
	"      --key-id N     revoke only this key (0..255)\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

static int revoke(struct st_db *db, uint64_t id, int key_id)
{
	static const char cmd[] = "device revoke";
	char what[REGISTRY_NAME_SIZE];
	struct st_device dev;
	struct st_device_key key;
	int rc;

	registry_name(id, key_id, what);
	if (read_registry(db, cmd, id, key_id, &dev, &key) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if ((key_id >= 0 ? key.state : dev.state) != ST_STATE_ACTIVE) {
		fprintf(stderr, "komposter: %s is revoked already; nothing to do\n", what);
		return KP_EXIT_OK;
	}
	rc = st_device_revoke(db, id, key_id, cli_now_ms());
	if (rc != ST_OK)
		return cli_fail(cmd, "%s: %s", what, st_strerror(rc));
	printf("revoked %s\n", what);
	return cli_finish_output(cmd);
}

/* cli_option_fn: --key-id N (its text, checked after parsing). */
static int revoke_option(void *key_id_text, int opt, const char *arg)
{
	if (opt != OPT_KEY_ID)
		return CLI_OPT_UNKNOWN;
	*(const char **)key_id_text = arg;
	return CLI_CONTINUE;
}

static int device_revoke(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "device revoke";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "key-id", required_argument, NULL, OPT_KEY_ID },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_id_text = NULL;
	struct st_db *db = NULL;
	uint64_t id;
	uint8_t key_id = 0;
	int status;

	status = cli_parse_options(cli, cmd, revoke_help, argc, argv, KP_CLI_COMMON_SHORT,
	                           longopts, revoke_option, &key_id_text);
	if (status == CLI_CONTINUE)
		status = parse_device_operand(cmd, argc, argv, &id);
	if (status == CLI_CONTINUE && key_id_text != NULL)
		status = parse_key_id(cmd, key_id_text, &key_id);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_WRITE, &db) != 0)
		return KP_EXIT_FAIL;
	status = revoke(db, id, key_id_text != NULL ? key_id : -1);
	st_db_close(db);
	return status;
}

/* ------------------------------------------------------------- dispatch */

static const char device_help[] =
	"Usage: komposter device SUBCOMMAND [OPTIONS]\n\n"
	"The device registry: which devices may send frames, and with which keys.\n\n"
	"Subcommands:\n"
	"  add      add a device and enrol one of its public keys\n"
	"  list     list the devices\n"
	"  show     show one device and its keys\n"
	"  revoke   revoke a device or one of its keys\n\n"
	"'komposter device SUBCOMMAND --help' describes a subcommand.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_device(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		/* Their summaries are in device_help. */
		{ "add", device_add, NULL },
		{ "list", device_list, NULL },
		{ "show", device_show, NULL },
		{ "revoke", device_revoke, NULL },
	};

	return cli_run_subcommands(cli, "device", device_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
