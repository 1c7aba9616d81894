/*
 * cmd_keys.c — `komposter keys list|destroy`: the pseudonym epoch keys of
 * storage/epoch_keys.h, for an operator.
 *
 * `list` shows which epochs have a key and which were destroyed, and when;
 * never a key's bytes. `destroy --before DATE` does by hand what komposterd
 * does on schedule, with the same storage function: the keys of every
 * epoch that ends before DATE are destroyed for good, and komposterd's next
 * commit group sees it (it reads the horizon in every group), so it may run
 * while the daemon does.
 *
 * `export` and `import` share the keys between the instances of one
 * deployment (storage/epoch_share.h): the file is written 0600, never over
 * an existing one, and every buffer that held it is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "storage/epoch_keys.h"
#include "storage/epoch_share.h"
#include "storage/service_day.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

enum { OPT_BEFORE = 0x200, OPT_FROM, OPT_THROUGH, OPT_OUT };

/* ---------------------------------------------------------------- list */

static const char list_help[] =
	"Usage: komposter keys list [--json]\n\n"
	"Lists the pseudonym epoch keys, oldest epoch first: the epoch's first\n"
	"service date, when its key was made, and when it was destroyed ('-'\n"
	"while it exists); then the horizon, the first epoch whose key may still\n"
	"exist. Never a key. The JSON is {\"horizon\": DATE or null, \"epochs\":\n"
	"[{\"epoch\", \"created_at\", \"destroyed_at\"}]} (Unix ms; destroyed_at null\n"
	"while the key exists).\n\n"
	"Options:\n"
	"      --json         print JSON instead of a table\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct key_list {
	struct st_epoch_key_info *v;
	size_t n, cap;
	uint32_t horizon;
};

static int collect_key(void *ctx, const struct st_epoch_key_info *k)
{
	struct key_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct st_epoch_key_info *p = realloc(l->v, cap * sizeof(*p));

		if (p == NULL)
			return 1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *k;
	return 0;
}

static cJSON *key_json(const struct st_epoch_key_info *k)
{
	char date[11];
	cJSON *o = cJSON_CreateObject();

	st_date_format(k->epoch_date, date);
	if (o == NULL || json_add_str(o, "epoch", date) || json_add_i64(o, "created_at", k->created_at) ||
	    json_add_time_or_null(o, "destroyed_at", k->destroyed_at)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_list_json(const struct key_list *l, const char *cmd)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(doc, "epochs");
	char date[11], *text = NULL;
	int ok = doc != NULL && arr != NULL;

	if (ok && l->horizon != 0) {
		st_date_format(l->horizon, date);
		ok = json_add_str(doc, "horizon", date) == 0;
	} else if (ok) {
		ok = cJSON_AddNullToObject(doc, "horizon") != NULL;
	}
	for (size_t i = 0; ok && i < l->n; i++) {
		cJSON *o = key_json(&l->v[i]);

		ok = o != NULL && cJSON_AddItemToArray(arr, o);
	}
	if (ok)
		text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (text == NULL)
		return cli_fail(cmd, "out of memory");
	printf("%s\n", text);
	cJSON_free(text);
	return cli_finish_output(cmd);
}

static int print_list_text(const struct key_list *l, const char *cmd)
{
	char date[11], created[CLI_TIME_SIZE], destroyed[CLI_TIME_SIZE];

	printf("%-10s  %-20s  %s\n", "EPOCH", "CREATED", "DESTROYED");
	for (size_t i = 0; i < l->n; i++) {
		st_date_format(l->v[i].epoch_date, date);
		cli_format_ms(l->v[i].created_at, created);
		cli_format_ms(l->v[i].destroyed_at, destroyed);
		printf("%-10s  %-20s  %s\n", date, created, destroyed);
	}
	if (l->horizon != 0) {
		st_date_format(l->horizon, date);
		printf("every epoch before %s is destroyed\n", date);
	}
	return cli_finish_output(cmd);
}

/* cli_load_fn: the horizon and every epoch key's record. */
static int load_keys(struct st_db *db, const char *cmd, void *ctx)
{
	struct key_list *l = ctx;
	struct st_read r;
	int rc;

	if (cli_read_begin(db, cmd, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	rc = st_epoch_horizon(&r, &l->horizon);
	if (rc == ST_OK)
		rc = st_epoch_keys_foreach(&r, collect_key, l);
	st_read_end(&r);
	return cli_collect_status(cmd, rc, "epoch keys");
}

static int keys_list(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "keys list";
	struct key_list l = { 0 };
	int json = 0;
	int status = cli_list_load(cli, cmd, list_help, argc, argv, load_keys, &l, &json);

	if (status == CLI_CONTINUE)
		status = json ? print_list_json(&l, cmd) : print_list_text(&l, cmd);
	free(l.v);
	return status;
}

/* ------------------------------------------------------------- destroy */

static const char destroy_help[] =
	"Usage: komposter keys destroy --before YYYY-MM-DD\n\n"
	"Destroys the pseudonym key of every epoch that ends before the date, for\n"
	"good: their pseudonyms can never again be linked to a card token, and a\n"
	"late tap of such an epoch gets a pseudonym that links to nothing. The\n"
	"same as komposterd does every hour for the epochs older than [storage]\n"
	"pseudonym_retention_days; a running komposterd obeys it from its next\n"
	"commit. With weekly or monthly epochs, the epoch that holds the date is\n"
	"kept. Destroying again, or before an earlier date, changes nothing. A\n"
	"date after today's service date is refused (exit 1).\n"
	"Prints how many keys were destroyed and the first epoch kept.\n\n"
	"Options:\n"
	"      --before DATE  the first service date whose epoch is kept (required)\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

static int before_option(void *ctx, int opt, const char *arg)
{
	if (opt != OPT_BEFORE)
		return CLI_OPT_UNKNOWN;
	*(const char **)ctx = arg;
	return CLI_CONTINUE;
}

/* 1 when date is not after today's service date in the database's zone:
 * a later one would make every tap until then unlinkable even to itself. */
static int before_today(struct st_db *db, uint32_t date)
{
	struct st_when w;

	if (st_service_day(st_db_zone(db), cli_now_ms(), st_db_options(db)->service_day_start_hour, &w) != 0)
		return 0;
	return date <= w.service_date;
}

static int keys_destroy(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "keys destroy";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "before", required_argument, NULL, OPT_BEFORE },
		{ NULL, 0, NULL, 0 },
	};
	const char *before_s = NULL;
	struct st_epoch_destroyed out;
	struct st_db *db = NULL;
	char kept[11];
	uint32_t before;
	int status, rc;

	status = cli_parse_options(cli, cmd, destroy_help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                           before_option, &before_s);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (before_s == NULL)
		return cli_usage(cmd, "--before is required (YYYY-MM-DD)");
	if (st_date_parse(before_s, &before) != 0)
		return cli_usage(cmd, "--before '%s' is not a date YYYY-MM-DD", before_s);
	if (cli_open_db(cli, cmd, CLI_DB_WRITE, &db) != 0)
		return KP_EXIT_FAIL;
	if (!before_today(db, before)) {
		st_db_close(db);
		return cli_fail(cmd, "--before %s is after today's service date: it would destroy the key of an epoch "
		                "still in use", before_s);
	}
	rc = st_epoch_keys_destroy_before(db, before, cli_now_ms(), &out);
	st_db_close(db);
	if (rc != ST_OK)
		return cli_fail(cmd, "%s", st_strerror(rc));
	st_date_format(out.horizon, kept);
	printf("destroyed %" PRIu32 " epoch keys; every epoch before %s is destroyed\n", out.count, kept);
	return cli_finish_output(cmd);
}

/* -------------------------------------------------------------- export */

static const char export_help[] =
	"Usage: komposter keys export --through YYYY-MM-DD --out FILE [--from YYYY-MM-DD]\n\n"
	"Writes the pseudonym keys of every epoch from --from (default: today's\n"
	"service date) through --through into FILE, making now the keys that do\n"
	"not exist yet, for `komposter keys import` on the other instances of the\n"
	"deployment: then one card has one pseudonym on every instance and their\n"
	"distinct-rider counts merge. FILE is created with mode 0600 and must not\n"
	"exist; it is as secret as the database: move it over a secure channel\n"
	"and delete it once imported. An epoch of the range that was destroyed\n"
	"fails the export (exit 1), so does a range longer than 3660 days.\n"
	"Prints how many keys were written and how many were made.\n\n"
	"Options:\n"
	"      --from DATE     first service date (default today's)\n"
	"      --through DATE  last service date (required)\n"
	"      --out FILE      the key file to create (required)\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

struct export_args {
	const char *from, *through, *out;
};

static int export_option(void *ctx, int opt, const char *arg)
{
	struct export_args *a = ctx;

	if (opt == OPT_FROM)
		a->from = arg;
	else if (opt == OPT_THROUGH)
		a->through = arg;
	else if (opt == OPT_OUT)
		a->out = arg;
	else
		return CLI_OPT_UNKNOWN;
	return CLI_CONTINUE;
}

/* Creates path (0600, not over an existing file) with the bytes of f. */
static int write_key_file(const char *cmd, const char *path, const struct st_epoch_key_file *f)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return cli_fail(cmd, "%s: %s", path, strerror(errno));
	while (done < f->len) {
		n = write(fd, f->buf + done, f->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done < f->len || fsync(fd) != 0) {
		int err = errno;

		close(fd);
		unlink(path);
		return cli_fail(cmd, "%s: %s (removed)", path, strerror(err));
	}
	if (close(fd) != 0) {
		unlink(path);
		return cli_fail(cmd, "%s: %s (removed)", path, strerror(errno));
	}
	return KP_EXIT_OK;
}

static int export_dates(struct st_db *db, const char *cmd, const struct export_args *a, uint32_t *from,
                        uint32_t *through)
{
	struct st_when w;

	if (a->from == NULL) {
		if (st_service_day(st_db_zone(db), cli_now_ms(), st_db_options(db)->service_day_start_hour, &w) != 0)
			return cli_fail(cmd, "today's service date cannot be computed");
		*from = w.service_date;
	}
	if (*from > *through)
		return cli_fail(cmd, "--through %s is before the first date exported", a->through);
	return KP_EXIT_OK;
}

static int keys_export(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "keys export";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "from", required_argument, NULL, OPT_FROM },
		{ "through", required_argument, NULL, OPT_THROUGH },
		{ "out", required_argument, NULL, OPT_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct export_args a = { 0 };
	struct st_epoch_key_file f;
	struct st_db *db = NULL;
	uint32_t from = 0, through;
	int status, rc;

	status = cli_parse_options(cli, cmd, export_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, export_option,
	                           &a);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (a.through == NULL || a.out == NULL)
		return cli_usage(cmd, "--through and --out are required");
	if (st_date_parse(a.through, &through) != 0)
		return cli_usage(cmd, "--through '%s' is not a date YYYY-MM-DD", a.through);
	if (a.from != NULL && st_date_parse(a.from, &from) != 0)
		return cli_usage(cmd, "--from '%s' is not a date YYYY-MM-DD", a.from);
	if (cli_open_db(cli, cmd, CLI_DB_WRITE, &db) != 0)
		return KP_EXIT_FAIL;
	status = export_dates(db, cmd, &a, &from, &through);
	if (status != KP_EXIT_OK) {
		st_db_close(db);
		return status;
	}
	rc = st_epoch_keys_export(db, from, through, cli_now_ms(), &f);
	st_db_close(db);
	if (rc == ST_ECONFLICT)
		return cli_fail(cmd, "an epoch from %s on was destroyed: its key cannot be exported", a.from ? a.from : "today");
	if (rc != ST_OK)
		return cli_fail(cmd, "%s", rc == ST_EINVAL ? "the range is longer than 3660 days" : st_strerror(rc));
	status = write_key_file(cmd, a.out, &f);
	if (status == KP_EXIT_OK)
		printf("wrote %" PRIu32 " epoch keys (%" PRIu32 " made now) to %s\n", f.count, f.made, a.out);
	st_epoch_key_file_free(&f);
	return status == KP_EXIT_OK ? cli_finish_output(cmd) : status;
}

/* -------------------------------------------------------------- import */

static const char import_help[] =
	"Usage: komposter keys import FILE\n\n"
	"Stores the pseudonym keys of a file made by `komposter keys export` on\n"
	"another instance of the deployment, all or none. A key already held and\n"
	"equal is skipped, so importing again is harmless. The import fails\n"
	"(exit 1, nothing stored, the epoch named) when a key differs from the\n"
	"one held for its epoch (this instance made its own: its riders of that\n"
	"epoch cannot merge), when the epoch's key was destroyed here (a\n"
	"destroyed epoch never comes back), or when the file was made under\n"
	"another timezone, service-day start or epoch period. A running\n"
	"komposterd uses the keys from its next commit. A database that does not\n"
	"exist yet is made (with the config's settings), so a new instance can\n"
	"import before its first start. Delete FILE afterwards.\n"
	"Prints how many keys were added and how many were already held.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

#define KEY_FILE_MAX (1u << 20)

/* Reads the whole of path (at most KEY_FILE_MAX bytes) into *buf. */
static int read_key_file(const char *cmd, const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t done = 0;
	ssize_t n;

	*buf = NULL;
	if (fd < 0)
		return cli_fail(cmd, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > KEY_FILE_MAX ||
	    (*buf = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return cli_fail(cmd, "%s: not a key file of komposter keys export", path);
	}
	*len = (size_t)st.st_size;
	while (done < *len && (n = read(fd, *buf + done, *len - done)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (done != *len) {
		sodium_memzero(*buf, *len);
		free(*buf);
		*buf = NULL;
		return cli_fail(cmd, "%s: could not be read whole", path);
	}
	return KP_EXIT_OK;
}

static int import_failure(const char *cmd, const char *path, int rc, const struct st_epoch_imported *im)
{
	char date[11];

	if (rc == ST_ECONFLICT) {
		st_date_format(im->epoch, date);
		return cli_fail(cmd, "%s: the key of epoch %s %s; nothing imported", path, date,
		                im->destroyed ? "was destroyed here" : "differs from the one held here");
	}
	if (rc == ST_EMISMATCH)
		return cli_fail(cmd, "%s: made under another timezone, service-day start or epoch period; nothing imported",
		                path);
	if (rc == ST_EINVAL)
		return cli_fail(cmd, "%s: not a key file of komposter keys export (or damaged)", path);
	return cli_fail(cmd, "%s", st_strerror(rc));
}

static int keys_import(struct kp_cli *cli, int argc, char **argv)
{
	static const char cmd[] = "keys import";
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct st_epoch_imported im;
	struct st_db *db = NULL;
	const char *path = NULL;
	uint8_t *buf;
	size_t len = 0;
	int status, rc;

	status = cli_parse_options(cli, cmd, import_help, argc, argv, KP_CLI_COMMON_SHORT, longopts, NULL, NULL);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(cmd, argc, argv, "FILE", &path);
	if (status != CLI_CONTINUE)
		return status;
	status = read_key_file(cmd, path, &buf, &len);
	if (status != KP_EXIT_OK)
		return status;
	/* A new instance imports before its first start: the database is made
	 * with the config's service-day settings, which the file must match. */
	if (cli_open_db(cli, cmd, CLI_DB_CREATE, &db) != 0) {
		sodium_memzero(buf, len);
		free(buf);
		return KP_EXIT_FAIL;
	}
	rc = st_epoch_keys_import(db, buf, len, &im);
	st_db_close(db);
	sodium_memzero(buf, len);
	free(buf);
	if (rc != ST_OK)
		return import_failure(cmd, path, rc, &im);
	printf("imported %" PRIu32 " epoch keys: %" PRIu32 " added, %" PRIu32 " already held\n", im.count, im.added,
	       im.same);
	return cli_finish_output(cmd);
}

/* ------------------------------------------------------------- command */

static const char keys_help[] =
	"Usage: komposter keys list [--json]\n"
	"       komposter keys destroy --before YYYY-MM-DD\n"
	"       komposter keys export --through YYYY-MM-DD --out FILE [--from YYYY-MM-DD]\n"
	"       komposter keys import FILE\n\n"
	"The pseudonym epoch keys: one random key per epoch (day, week or month)\n"
	"makes the rider pseudonyms of its taps.\n"
	"  list     epochs, when each key was made and destroyed; never a key\n"
	"  destroy  destroy the keys of the epochs that end before a date\n"
	"  export   write the keys of a range of epochs for the other instances\n"
	"  import   store the keys of an export, for one pseudonym city-wide\n"
	"Run 'komposter keys SUBCOMMAND --help' for each.\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n" KP_CLI_EXIT_HELP;

int cmd_keys(struct kp_cli *cli, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ "list", keys_list, NULL },
		{ "destroy", keys_destroy, NULL },
		{ "export", keys_export, NULL },
		{ "import", keys_import, NULL },
	};

	return cli_run_subcommands(cli, "keys", keys_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
