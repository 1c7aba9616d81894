/*
 * cli.h — what every `komposter` subcommand shares: the exit codes, the one
 * way of reporting a failure or a usage error, the options that say where
 * the database is (-c/--config FILE, --db DIR), opening the database, and
 * strict parsing of numbers given on the command line.
 *
 * Errors are reported once, here, as "komposter: <what>: <why>" on stderr;
 * callers only pass the exit code up.
 */
#ifndef KP_CLI_H
#define KP_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "ingest/config.h"
#include "storage/db.h"

enum kp_exit {
	KP_EXIT_OK = 0,
	KP_EXIT_FAIL = 1,  /* the command ran and failed */
	KP_EXIT_USAGE = 2, /* the command line is wrong */
};

/* Where the database is, from the command line (strings borrowed from
 * argv), and the config read by cli_open_db (the database's options borrow
 * from it, so it lives as long as the cli). */
struct kp_cli {
	const char *config_path; /* -c/--config; NULL: built-in defaults */
	const char *db_path;     /* --db; NULL: the config's [storage] path */
	struct kp_config cfg;
};

/* getopt_long codes of the shared options (short ones are their letters). */
#define KP_OPT_DB 0x100

/* Long options every subcommand takes; put first in its table. */
#define KP_CLI_COMMON_OPTIONS                                   \
	{ "config", required_argument, NULL, 'c' },             \
	{ "db", required_argument, NULL, KP_OPT_DB },           \
	{ "help", no_argument, NULL, 'h' }
/* getopt short options for them; ':' first makes a missing value return ':'. */
#define KP_CLI_COMMON_SHORT ":c:h"

/* The "Options" lines for the shared options, for --help texts. */
#define KP_CLI_COMMON_HELP                                                            \
	"  -c, --config FILE  komposterd's INI file; its [storage] section names the\n" \
	"                     database (default: built-in defaults, ./data)\n"        \
	"      --db DIR       the database directory, overriding the config\n"        \
	"  -h, --help         show this help and exit\n"
#define KP_CLI_EXIT_HELP                                     \
	"Exit status: 0 success, 1 failure (one line on stderr), " \
	"2 usage error.\n"

/* Resets getopt for a fresh parse of argv (argv[0] is the command name). */
void cli_getopt_reset(void);

/* Handles a shared option: returns 1 if opt was one (stored in cli), 0 if not. */
int cli_common_option(struct kp_cli *cli, int opt, const char *arg);

/* "komposter: what: why" on stderr; returns KP_EXIT_FAIL. */
int cli_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "komposter: cmd: why" and "try 'komposter cmd --help'"; returns KP_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for getopt_long's return of '?' or ':' (opterr must be 0,
 * the short options must start with ':'). */
int cli_bad_option(const char *cmd, char **argv, int opt);

/* Prints text to stdout (a --help text) and returns KP_EXIT_OK, or
 * KP_EXIT_FAIL when stdout cannot be written. */
int cli_help(const char *cmd, const char *text);
/* Flushes stdout; KP_EXIT_FAIL (reported) if anything written was lost. */
int cli_finish_output(const char *cmd);

enum cli_db_mode {
	CLI_DB_READ,   /* read-only; the database must exist */
	CLI_DB_WRITE,  /* read-write; the database must exist */
	CLI_DB_CREATE, /* read-write; created when missing */
};

/* Loads the config (if any), applies --db, opens the database. On failure
 * reports it (as `cmd`) and returns -1. */
int cli_open_db(struct kp_cli *cli, const char *cmd, enum cli_db_mode mode,
                struct st_db **out);

/* Decimal unsigned integer in 0..max, the whole string, no sign. 0 or -1. */
int cli_parse_u64(const char *text, uint64_t max, uint64_t *out);

/* Unix epoch milliseconds now. */
int64_t cli_now_ms(void);
/* "2024-06-15T05:10:00Z" (UTC, whole seconds), or "-" for 0. */
#define CLI_TIME_SIZE 32
void cli_format_ms(int64_t ms, char out[CLI_TIME_SIZE]);

#endif
