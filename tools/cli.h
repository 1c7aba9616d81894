/*
 * cli.h — what every `komposter` subcommand shares: the exit codes, the one
 * way of reporting a failure or a usage error, parsing a command line (the
 * options that say where the database is, -c/--config FILE and --db DIR,
 * --help, the command's own options, its operands) and dispatching to
 * subcommands, opening and reading the database, and strict parsing of
 * numbers given on the command line.
 *
 * Errors are reported once, here, as "komposter: <what>: <why>" on stderr;
 * callers only pass the exit code up.
 */
#ifndef KP_CLI_H
#define KP_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

enum kp_exit {
	KP_EXIT_OK = 0,
	KP_EXIT_FAIL = 1,  /* the command ran and failed */
	KP_EXIT_USAGE = 2, /* the command line is wrong */
};

/* Where the database is, from the command line (strings borrowed from
 * argv). cli_open_db reads the config file they name. */
struct kp_cli {
	const char *config_path; /* -c/--config; NULL: built-in defaults */
	const char *db_path;     /* --db; NULL: the config's [storage] path */
};

/* getopt_long codes of the shared options (short ones are their letters),
 * and of --json as cli_parse_json_flag takes it. */
#define KP_OPT_DB 0x100
#define KP_OPT_JSON 0x101

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

/* In these, a NULL cmd or what is the top-level command: "komposter: why". */
/* "komposter: what: why" on stderr; returns KP_EXIT_FAIL. */
int cli_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "komposter: cmd: why" and "try 'komposter cmd --help'"; returns KP_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints text to stdout (a --help text) and returns KP_EXIT_OK, or
 * KP_EXIT_FAIL when stdout cannot be written. */
int cli_help(const char *cmd, const char *text);
/* Flushes stdout; KP_EXIT_FAIL (reported) if anything written was lost. */
int cli_finish_output(const char *cmd);

enum cli_db_mode {
	CLI_DB_READ,   /* read-only; the database must exist */
	CLI_DB_READ_WHOLE, /* read-only, and refused unless what is derived from the
	                    * log holds all of it: for artefacts made to be kept */
	CLI_DB_WRITE,  /* read-write; the database must exist */
	CLI_DB_CREATE, /* read-write; created when missing */
};

struct kp_config; /* config/config.h */
/* The built-in defaults and, with -c, the config file over them (checked
 * whole). On failure reports it (as `cmd`) and returns -1. */
int cli_load_config(const struct kp_cli *cli, const char *cmd, struct kp_config *cfg);

/* Loads the config (if any), applies --db, opens the database with the
 * service-day settings recorded in it (the config's are used only to create
 * one). On failure reports it (as `cmd`) and returns -1. */
int cli_open_db(struct kp_cli *cli, const char *cmd, enum cli_db_mode mode,
                struct st_db **out);

/* ---------------------------------------------------------------------
 * Command lines. The parsing helpers return CLI_CONTINUE when the command
 * goes on, or else the exit status to return at once (help was printed, or
 * a usage error reported).
 */
#define CLI_CONTINUE (-1)
/* From a cli_option_fn: the option is not one of the command's own. */
#define CLI_OPT_UNKNOWN (-2)

/* A command's own options: called with each option getopt_long returns
 * that is not a shared one. Returns CLI_CONTINUE when it took the option,
 * CLI_OPT_UNKNOWN when it is not its own, or an exit status (a usage error
 * it reported about the value, or the status of an option that ends the
 * command, such as -V). */
typedef int (*cli_option_fn)(void *ctx, int opt, const char *arg);

/* Parses the options of argv (argv[0] is the command's name): the shared
 * ones go into cli, -h/--help prints help and ends the command (when help is
 * NULL, -h goes to own like any other option), the others go to own (NULL:
 * the command has none of its own); an unknown option or a missing value is
 * a usage error. shortopts is KP_CLI_COMMON_SHORT and the command's own
 * letters, after a '+' to stop at the first operand. On CLI_CONTINUE,
 * optind is the first operand. */
int cli_parse_options(struct kp_cli *cli, const char *cmd, const char *help, int argc,
                      char **argv, const char *shortopts, const struct option *longopts,
                      cli_option_fn own, void *ctx);
/* After cli_parse_options: CLI_CONTINUE when no operand follows. */
int cli_no_operands(const char *cmd, int argc, char **argv);
/* After cli_parse_options: CLI_CONTINUE when exactly one operand follows,
 * stored in *operand; `what` names it in the usage error ("FILE"). */
int cli_one_operand(const char *cmd, int argc, char **argv, const char *what,
                    const char **operand);

/* cli_parse_options for a command whose one option of its own is --json
 * (sets *json to 1). */
int cli_parse_json_flag(struct kp_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                        int *json);

/* A command (or subcommand) of a dispatch table. */
struct cli_command {
	const char *name;
	int (*run)(struct kp_cli *cli, int argc, char **argv); /* argv[0]: its name */
	const char *summary;                                   /* for --help lists, or NULL */
};
/* Runs the entry of table[n] that argv[optind] names, with the command line
 * from that name on; a usage error of cmd when no name or an unknown one is
 * given. noun ("command", "subcommand") is for those errors. */
int cli_run_command(struct kp_cli *cli, const char *cmd, const char *noun,
                    const struct cli_command *table, size_t n, int argc, char **argv);
/* A command made of subcommands (`komposter device add ...`): takes the
 * common options up to the subcommand's name (help is cmd's --help), then
 * runs the subcommand with cli_run_command. Returns the exit status. */
int cli_run_subcommands(struct kp_cli *cli, const char *cmd, const char *help,
                        const struct cli_command *subs, size_t n, int argc, char **argv);

/* ---------------------------------------------------------------------
 * Reading the database.
 */
/* st_read_begin; a failure is reported as cmd's. KP_EXIT_OK or KP_EXIT_FAIL. */
int cli_read_begin(struct st_db *db, const char *cmd, struct st_read *r);
/* The exit status for rc, returned by a storage foreach whose callback
 * stops only when it cannot allocate (ST_ESTOP: "out of memory"); other
 * errors are reported as "reading <what>: <why>". */
int cli_collect_status(const char *cmd, int rc, const char *what);

/* What a listing reads into ctx from the database open to read: KP_EXIT_OK,
 * or an exit status after its one line on stderr. */
typedef int (*cli_load_fn)(struct st_db *db, const char *cmd, void *ctx);
/* A listing command (`komposter device list`): [--json] and no operand,
 * the database opened to read, load, the database closed. CLI_CONTINUE
 * when ctx holds what to print (as JSON when *json); else the exit status
 * (0 after --help, which ends the command). */
int cli_list_load(struct kp_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                  cli_load_fn load, void *ctx, int *json);

/* Decimal unsigned integer in 0..max, the whole string, no sign. 0 or -1. */
int cli_parse_u64(const char *text, uint64_t max, uint64_t *out);

/* A --pub option: 64 hex digits of an Ed25519 public key into pks[*n],
 * at most max of them. CLI_CONTINUE, or a usage error of cmd reported. */
#define CLI_PUB_SIZE 32
int cli_add_pub(const char *cmd, const char *arg, uint8_t (*pks)[CLI_PUB_SIZE], size_t *n, size_t max);

/* Unix epoch milliseconds now. */
int64_t cli_now_ms(void);
/* "2024-06-15T05:10:00Z" (UTC, whole seconds), or "-" for 0. */
#define CLI_TIME_SIZE 32
void cli_format_ms(int64_t ms, char out[CLI_TIME_SIZE]);

#endif
