/*
 * cli.c — the plumbing every subcommand shares (see cli.h).
 *
 * The database is found the way komposterd finds it: the built-in defaults,
 * then the config file's [storage] section, then --db on top. The
 * service-day settings (time zone, start hour, epoch) are the ones recorded
 * in the database (adopt_settings): the tool never changes them, so with
 * --db alone, or a config that says otherwise, it still gives the daemon's
 * dates; the config's only matter when `device add` creates the database.
 * A database that must exist is looked for before opening, because a
 * read-write LMDB open would quietly create an empty one and a read-only
 * open would fail with a less useful message.
 */
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config.h"
#include "firmware-proto/hex.h"
#include "storage/derive.h"
#include "storage/dir_lock.h"
#include "storage/riders.h"

#define PROG "komposter"
#define LMDB_DATA_FILE "data.mdb"

/* Resets getopt for a fresh parse of argv (argv[0] is the command name). */
static void cli_getopt_reset(void)
{
	optind = 0; /* glibc: 0 re-initialises the scanner completely */
	opterr = 0;
}

/* Handles a shared option: returns 1 if opt was one (stored in cli), 0 if not. */
static int cli_common_option(struct kp_cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
		cli->config_path = arg;
		return 1;
	case KP_OPT_DB:
		cli->db_path = arg;
		return 1;
	default:
		return 0;
	}
}

/* "komposter: cmd: message" on stderr; no "cmd: " for the top level (NULL). */
static void report(const char *cmd, const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(what, fmt, ap);
	va_end(ap);
	return KP_EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "try '" PROG "%s%s --help'\n", cmd != NULL ? " " : "",
	        cmd != NULL ? cmd : "");
	return KP_EXIT_USAGE;
}

/* The usage error for getopt_long's return of '?' or ':', or of an option
 * the command does not take (opterr is 0, the short options start with ':'). */
static int cli_bad_option(const char *cmd, char **argv, int opt)
{
	const char *word = argv[optind - 1];

	/* A short option inside a group (-xj) is not the whole word. */
	if (optopt != 0 && word[0] == '-' && word[1] != '-') {
		if (opt == ':')
			return cli_usage(cmd, "option '-%c' needs a value", optopt);
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	}
	if (opt == ':')
		return cli_usage(cmd, "option '%s' needs a value", word);
	return cli_usage(cmd, "unknown option '%s'", word);
}

int cli_finish_output(const char *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail(cmd, "writing output: %s", strerror(errno));
	return KP_EXIT_OK;
}

int cli_help(const char *cmd, const char *text)
{
	if (fputs(text, stdout) == EOF)
		return cli_fail(cmd, "writing help: %s", strerror(errno));
	return cli_finish_output(cmd);
}

static int db_exists(const char *cmd, const char *path)
{
	char data[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(data, sizeof(data), "%s/" LMDB_DATA_FILE, path) >= sizeof(data)) {
		cli_fail(cmd, "%s: path too long", path);
		return 0;
	}
	if (stat(data, &st) != 0) {
		if (errno == ENOENT)
			cli_fail(cmd, "%s: no database there", path);
		else
			cli_fail(cmd, "%s: %s", data, strerror(errno));
		return 0;
	}
	return 1;
}

int cli_load_config(const struct kp_cli *cli, const char *cmd, struct kp_config *cfg)
{
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(cfg);
	if (cli->config_path != NULL && kp_config_load(cli->config_path, cfg, err) != 0) {
		cli_fail(cmd, "%s", err);
		return -1;
	}
	return 0;
}

/* Whether the komposterd recorded in the database's lock file is alive. */
static int daemon_running(struct st_db *db)
{
	pid_t pid = st_dir_lock_holder(st_db_options(db)->path);

	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* What a komposterd derives from the log behind it, and how far it holds it. */
struct log_follower {
	const char *what; /* for the note */
	int (*behind)(struct st_read *r, uint64_t *through, uint64_t *last);
};
static const struct log_follower followers[] = {
	{ "the cells, indexes and device traffic", st_derive_behind }, /* storage/derive.h */
	{ "the distinct-rider sketches", st_riders_behind },           /* storage/riders.h */
};
#define N_FOLLOWERS (sizeof(followers) / sizeof(followers[0]))

/* through[i] of followers[i] and the log's last frame; whether any is behind. */
static int followers_behind(struct st_db *db, uint64_t through[N_FOLLOWERS], uint64_t *last)
{
	struct st_read r;
	int behind = 0;

	if (st_read_begin(db, &r) != ST_OK)
		return 0; /* the command's own read says why */
	for (size_t i = 0; i < N_FOLLOWERS; i++) {
		uint64_t l;
		if (followers[i].behind(&r, &through[i], &l) != ST_OK)
			through[i] = l = 0;
		*last = l;
		behind |= through[i] < l;
	}
	st_read_end(&r);
	return behind;
}

/* What is derived from the log (storage/derive.h, storage/riders.h) is
 * brought up to what was stored when the command started: a read-write
 * open derived it at open; a read-only one beside a running komposterd
 * waits for it to (it does within a fraction of a second), up to
 * CLI_DERIVE_WAIT_MS. Returns whether anything still holds less than the
 * log the command started with, *through and *want set for the first such. */
#define CLI_DERIVE_WAIT_MS 5000
static const struct log_follower *derived_current(struct st_db *db, uint64_t *through, uint64_t *want)
{
	uint64_t at[N_FOLLOWERS], last;

	if (!followers_behind(db, at, want))
		return NULL;
	for (int waited = 0;; waited += 10) {
		size_t i = 0;
		while (i < N_FOLLOWERS && at[i] >= *want)
			i++;
		if (i == N_FOLLOWERS)
			return NULL;
		if (waited >= CLI_DERIVE_WAIT_MS || !daemon_running(db)) {
			*through = at[i];
			return &followers[i];
		}
		nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
		if (!followers_behind(db, at, &last))
			return NULL;
	}
}

static const char *why_behind(struct st_db *db)
{
	return daemon_running(db) ? "the running komposterd has not derived the rest within 5 s"
	                          : "a komposterd stopped before it derived the rest, which it does when started";
}

int cli_open_db(struct kp_cli *cli, const char *cmd, enum cli_db_mode mode,
                struct st_db **out)
{
	struct kp_config cfg; /* only while opening: st_db_open copies what it keeps */
	struct st_options opts;
	int rc;

	if (cli_load_config(cli, cmd, &cfg) != 0)
		return -1;
	kp_config_storage_options(&cfg, &opts);
	if (cli->db_path != NULL)
		opts.path = cli->db_path;
	opts.read_only = mode == CLI_DB_READ || mode == CLI_DB_READ_WHOLE;
	opts.adopt_settings = 1;
	if (mode != CLI_DB_CREATE && !db_exists(cmd, opts.path))
		return -1;
	rc = st_db_open(out, &opts);
	if (rc != ST_OK) {
		cli_fail(cmd, "%s: %s", opts.path, st_strerror(rc));
		return -1;
	}
	if (!opts.read_only)
		return 0;
	uint64_t through, want;
	const struct log_follower *f = derived_current(*out, &through, &want);
	if (!f)
		return 0;
	if (mode == CLI_DB_READ_WHOLE) {
		cli_fail(cmd, "%s hold the log up to frame %" PRIu64 " of %" PRIu64 ": %s; nothing written", f->what,
		         through, want, why_behind(*out));
		st_db_close(*out);
		*out = NULL;
		return -1;
	}
	fprintf(stderr, PROG ": %s: note: %s hold the log up to frame %" PRIu64 " of %" PRIu64 ": %s\n", cmd, f->what,
	        through, want, why_behind(*out));
	return 0;
}

int cli_parse_options(struct kp_cli *cli, const char *cmd, const char *help, int argc,
                      char **argv, const char *shortopts, const struct option *longopts,
                      cli_option_fn own, void *ctx)
{
	int opt, status;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (cli_common_option(cli, opt, optarg))
			continue;
		if (opt == 'h' && help != NULL)
			return cli_help(cmd, help);
		status = own != NULL && opt != '?' && opt != ':' ? own(ctx, opt, optarg)
		                                                 : CLI_OPT_UNKNOWN;
		if (status == CLI_OPT_UNKNOWN)
			return cli_bad_option(cmd, argv, opt);
		if (status != CLI_CONTINUE)
			return status;
	}
	return CLI_CONTINUE;
}

int cli_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind != argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return CLI_CONTINUE;
}

/* cli_option_fn: --json. */
static int json_option(void *json, int opt, const char *arg)
{
	(void)arg;
	if (opt != KP_OPT_JSON)
		return CLI_OPT_UNKNOWN;
	*(int *)json = 1;
	return CLI_CONTINUE;
}

int cli_parse_json_flag(struct kp_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                        int *json)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "json", no_argument, NULL, KP_OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};

	return cli_parse_options(cli, cmd, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, json_option, json);
}

int cli_one_operand(const char *cmd, int argc, char **argv, const char *what,
                    const char **operand)
{
	if (optind == argc)
		return cli_usage(cmd, "no %s given", what);
	if (argc - optind != 1)
		return cli_usage(cmd, "one %s only", what);
	*operand = argv[optind];
	return CLI_CONTINUE;
}

int cli_run_command(struct kp_cli *cli, const char *cmd, const char *noun,
                    const struct cli_command *table, size_t n, int argc, char **argv)
{
	if (optind >= argc)
		return cli_usage(cmd, "no %s given", noun);
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, argv[optind]) == 0)
			return table[i].run(cli, argc - optind, argv + optind);
	return cli_usage(cmd, "unknown %s '%s'", noun, argv[optind]);
}

int cli_read_begin(struct st_db *db, const char *cmd, struct st_read *r)
{
	int rc = st_read_begin(db, r);

	if (rc != ST_OK)
		return cli_fail(cmd, "read transaction: %s", st_strerror(rc));
	return KP_EXIT_OK;
}

int cli_collect_status(const char *cmd, int rc, const char *what)
{
	if (rc == ST_ESTOP)
		return cli_fail(cmd, "out of memory");
	if (rc != ST_OK)
		return cli_fail(cmd, "reading %s: %s", what, st_strerror(rc));
	return KP_EXIT_OK;
}

int cli_list_load(struct kp_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                  cli_load_fn load, void *ctx, int *json)
{
	struct st_db *db = NULL;
	int status = cli_parse_json_flag(cli, cmd, help, argc, argv, json);

	if (status == CLI_CONTINUE)
		status = cli_no_operands(cmd, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = load(db, cmd, ctx);
	st_db_close(db);
	return status == KP_EXIT_OK ? CLI_CONTINUE : status;
}

int cli_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_add_pub(const char *cmd, const char *arg, uint8_t (*pks)[CLI_PUB_SIZE], size_t *n, size_t max)
{
	if (*n == max)
		return cli_usage(cmd, "at most %zu --pub keys", max);
	if (kp_hex_decode(arg, pks[*n], CLI_PUB_SIZE) != 0)
		return cli_usage(cmd, "--pub: '%.80s' is not %d hex digits", arg, 2 * CLI_PUB_SIZE);
	(*n)++;
	return CLI_CONTINUE;
}

int64_t cli_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_format_ms(int64_t ms, char out[CLI_TIME_SIZE])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CLI_TIME_SIZE, "-");
}

int cli_run_subcommands(struct kp_cli *cli, const char *cmd, const char *help,
                        const struct cli_command *subs, size_t n, int argc, char **argv)
{
	static const struct option longopts[] = { KP_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	/* '+': stop at the subcommand, its options are its own. */
	int status = cli_parse_options(cli, cmd, help, argc, argv, "+" KP_CLI_COMMON_SHORT, longopts, NULL, NULL);

	if (status != CLI_CONTINUE)
		return status;
	return cli_run_command(cli, cmd, "subcommand", subs, n, argc, argv);
}
