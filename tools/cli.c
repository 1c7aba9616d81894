/*
 * cli.c — the plumbing every subcommand shares (see cli.h).
 *
 * The database is found the way komposterd finds it: the built-in defaults,
 * then the config file's [storage] section, then --db on top. So the tool
 * and the daemon agree on the path, the time zone and the service-day start
 * without the operator repeating them. A database that must exist is looked
 * for before opening, because a read-write LMDB open would quietly create an
 * empty one and a read-only open would fail with a less useful message.
 */
#include "tools/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PROG "komposter"
#define LMDB_DATA_FILE "data.mdb"

void cli_getopt_reset(void)
{
	optind = 0; /* glibc: 0 re-initialises the scanner completely */
	opterr = 0;
}

int cli_common_option(struct kp_cli *cli, int opt, const char *arg)
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

int cli_fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return KP_EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry '" PROG " %s --help'\n", cmd);
	return KP_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int opt)
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

int cli_open_db(struct kp_cli *cli, const char *cmd, enum cli_db_mode mode,
                struct st_db **out)
{
	char err[KP_CONFIG_ERR_SIZE];
	struct st_options opts;
	int rc;

	kp_config_default(&cli->cfg);
	if (cli->config_path != NULL && kp_config_load(cli->config_path, &cli->cfg, err) != 0) {
		cli_fail(cmd, "%s", err);
		return -1;
	}
	kp_config_storage_options(&cli->cfg, &opts);
	if (cli->db_path != NULL)
		opts.path = cli->db_path;
	opts.read_only = mode == CLI_DB_READ;
	if (mode != CLI_DB_CREATE && !db_exists(cmd, opts.path))
		return -1;
	rc = st_db_open(out, &opts);
	if (rc != ST_OK) {
		cli_fail(cmd, "%s: %s", opts.path, st_strerror(rc));
		return -1;
	}
	return 0;
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
