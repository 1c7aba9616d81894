/*
 * cmd_token.c — `komposter token add|list|revoke`: the operator tokens of
 * storage/tokens.h, which the daemon's HTTP API takes as
 * `Authorization: Bearer <token>`.
 *
 * `add` prints the token, once, and nothing else on stdout, so that a
 * script can capture it (`T=$(komposter token add --scope read)`); the
 * database keeps only its hash, so a lost token is revoked and replaced,
 * never shown again. `list` shows ids, names, scopes and times, never a
 * token or its hash.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "storage/tokens.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

enum { OPT_SCOPE = 0x200, OPT_NAME };

/* ----------------------------------------------------------------- add */

static const char add_help[] =
	"Usage: komposter token add --scope read|export [--name NAME]\n\n"
	"Makes an operator token for the HTTP API and prints it on stdout, once:\n"
	"it is not stored (only its BLAKE2b hash is) and cannot be shown again.\n"
	"Scope read allows /v1/ridership and /v1/devices; export allows the\n"
	"record-level exports too. Creates the database if it does not exist.\n\n"
	"Options:\n"
	"      --scope SCOPE  read or export (required)\n"
	"      --name NAME    who or what the token is for (printable ASCII, at\n"
	"                     most 63 bytes), shown by `token list`\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct add_args {
	const char *scope, *name;
};

static int add_option(void *ctx, int opt, const char *arg)
{
	struct add_args *a = ctx;

	switch (opt) {
	case OPT_SCOPE: a->scope = arg; return CLI_CONTINUE;
	case OPT_NAME: a->name = arg; return CLI_CONTINUE;
	default: return CLI_OPT_UNKNOWN;
	}
}

static int name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len > ST_TOKEN_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] < ' ' || name[i] >= 0x7f)
			return 0;
	return 1;
}

static int token_add(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "token add";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct add_args a = { 0 };
	char text[ST_TOKEN_TEXT_LEN + 1];
	struct st_db *db = NULL;
	int status, scope, rc;

	status = cli_parse_options(cli, cmd, add_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, add_option, &a);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (a.scope == NULL)
		return cli_usage(cmd, "--scope is required (read or export)");
	scope = st_token_scope_parse(a.scope);
	if (scope < 0)
		return cli_usage(cmd, "--scope '%s' is not read or export", a.scope);
	if (a.name != NULL && !name_ok(a.name))
		return cli_usage(cmd, "--name: printable ASCII, at most %d bytes", ST_TOKEN_NAME_MAX);
	if (cli_open_db(cli, cmd, CLI_DB_CREATE, &db) != 0)
		return KP_EXIT_FAIL;
	rc = st_token_create(db, (uint8_t)scope, a.name, cli_now_ms(), text, NULL);
	st_db_close(db);
	if (rc != ST_OK)
		return cli_fail(cmd, "%s", st_strerror(rc));
	printf("%s\n", text);
	sodium_memzero(text, sizeof text);
	return cli_finish_output(cmd);
}

/* ---------------------------------------------------------------- list */

static const char list_help[] =
	"Usage: komposter token list [--json]\n\n"
	"Lists the operator tokens, oldest first: id, scope, when made, when\n"
	"revoked ('-' while valid) and name. Never the token or its hash.\n"
	"The JSON is an array of {\"id\", \"name\", \"scope\", \"created_at\",\n"
	"\"revoked_at\"} (Unix ms; revoked_at null while valid).\n\n"
	"Options:\n"
	"      --json         print JSON instead of a table\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct tok_list {
	struct st_token *v;
	size_t n, cap;
};

static int collect_token(void *ctx, const struct st_token *t)
{
	struct tok_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct st_token *p = realloc(l->v, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *t;
	return 0;
}

static int by_created(const void *a, const void *b)
{
	const struct st_token *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static cJSON *token_json(const struct st_token *t)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || json_add_str(o, "id", t->id) || json_add_str(o, "name", t->name) ||
	    json_add_str(o, "scope", st_token_scope_name(t->scope)) || json_add_i64(o, "created_at", t->created_at) ||
	    json_add_time_or_null(o, "revoked_at", t->revoked_at)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* json_print_list's view of token_json. */
static cJSON *token_json_of(const void *item)
{
	return token_json(item);
}

static int print_list_json(const struct tok_list *l, const char *cmd)
{
	return json_print_list(l->v, l->n, sizeof(l->v[0]), token_json_of, cmd);
}

static int print_list_text(const struct tok_list *l, const char *cmd)
{
	char created[CLI_TIME_SIZE], revoked[CLI_TIME_SIZE];

	printf("%-8s  %-6s  %-20s  %-20s  %s\n", "ID", "SCOPE", "CREATED", "REVOKED", "NAME");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_token *t = &l->v[i];

		cli_format_ms(t->created_at, created);
		cli_format_ms(t->revoked_at, revoked);
		printf("%-8s  %-6s  %-20s  %-20s  %s\n", t->id, st_token_scope_name(t->scope), created, revoked,
		       t->name[0] ? t->name : "-");
	}
	return cli_finish_output(cmd);
}

/* cli_load_fn: every token's record. */
static int load_tokens(struct st_db *db, const char *cmd, void *ctx)
{
	struct st_read r;
	int rc;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_token_foreach(&r, collect_token, ctx);
	st_read_end(&r);
	return cli_collect_status(cmd, rc, "tokens");
}

static int token_list(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "token list";
	struct tok_list l = { 0 };
	int json = 0;
	int status = cli_list_load(cli, cmd, list_help, argc, argv, load_tokens, &l, &json);

	if (status == CLI_CONTINUE) {
		qsort(l.v, l.n, sizeof(*l.v), by_created);
		status = json ? print_list_json(&l, cmd) : print_list_text(&l, cmd);
	}
	free(l.v);
	return status;
}

/* -------------------------------------------------------------- revoke */

static const char revoke_help[] =
	"Usage: komposter token revoke ID\n\n"
	"Revokes the token with ID (from `token list`): the daemon refuses it from\n"
	"its next request on (401). The token stays listed, with when it was\n"
	"revoked; revoking it again changes nothing.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

static int id_ok(const char *id)
{
	if (strlen(id) != ST_TOKEN_ID_LEN)
		return 0;
	for (size_t i = 0; i < ST_TOKEN_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static int token_revoke(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "token revoke";
	static const struct option longopts[] = { KP_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *id = NULL;
	struct st_db *db = NULL;
	int status, rc;

	status = cli_parse_options(cli, cmd, revoke_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, NULL, NULL);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "token ID", &id);
	if (status != CLI_CONTINUE)
		return status;
	if (!id_ok(id))
		return cli_usage(cmd, "'%s' is not a token id (%d lowercase hex digits)", id, ST_TOKEN_ID_LEN);
	if (cli_open_db(cli, cmd, CLI_DB_WRITE, &db) != 0)
		return KP_EXIT_FAIL;
	rc = st_token_revoke(db, id, cli_now_ms());
	st_db_close(db);
	if (rc == ST_ENOTFOUND)
		return cli_fail(cmd, "token %s: not found", id);
	if (rc != ST_OK)
		return cli_fail(cmd, "token %s: %s", id, st_strerror(rc));
	printf("revoked token %s\n", id);
	return cli_finish_output(cmd);
}

/* ------------------------------------------------------------- command */

static const char token_help[] =
	"Usage: komposter token add --scope read|export [--name NAME]\n"
	"       komposter token list [--json]\n"
	"       komposter token revoke ID\n\n"
	"Operator tokens for the daemon's HTTP API (Authorization: Bearer).\n"
	"  add     make a token and print it, once (only its hash is kept)\n"
	"  list    list tokens: id, scope, times, name; never the token\n"
	"  revoke  revoke a token by its id\n"
	"Run 'komposter token SUBCOMMAND --help' for each.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_token(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ "add", token_add, NULL },
		{ "list", token_list, NULL },
		{ "revoke", token_revoke, NULL },
	};

	return cli_run_subcommands(cli, "token", token_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
