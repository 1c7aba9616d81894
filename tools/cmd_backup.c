/*
 * cmd_backup.c — `komposter backup DIR`: a consistent copy of the database
 * (storage/backup.h) while komposterd runs.
 *
 * DIR must be new or empty: a backup never mixes with another one or with a
 * database, and that is checked before the database is opened, so an
 * operator's slip costs nothing. DIR is made (or set) mode 0700 and the copy
 * is 0600, like the database, since both hold the pseudonym epoch keys. A
 * DIR this command made is removed again when the copy fails.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/backup.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "backup"
#define DIR_MODE 0700

static const char help[] =
	"Usage: komposter backup [--no-compact] DIR\n\n"
	"Copies the database into DIR/data.mdb: one consistent snapshot, taken with\n"
	"LMDB's copy while komposterd goes on running (every frame ACKed before the\n"
	"backup began is in it). DIR must not exist or be empty; it is made mode\n"
	"0700 and the copy 0600, like the database. The copy is a database: restore\n"
	"it by stopping komposterd and putting DIR/data.mdb in place of the storage\n"
	"directory's data.mdb (removing its lock.mdb), or read it as it is with\n"
	"'komposter --db DIR check'. Progress goes to stderr, the result to stdout.\n\n"
	"Options:\n"
	"      --no-compact   copy page for page (default: leave out free pages)\n" KP_CLI_COMMON_HELP
	"\nExit status: 0 copied, 1 DIR is not empty or the copy failed (one line on\n"
	"stderr), 2 usage error.\n";

enum { OPT_NO_COMPACT = 0x200 };

static int backup_option(void *ctx, int opt, const char *arg)
{
	int *compact = ctx;

	(void)arg;
	if (opt != OPT_NO_COMPACT)
		return CLI_OPT_UNKNOWN;
	*compact = 0;
	return CLI_CONTINUE;
}

/* KP_EXIT_OK when dir has no entry but . and .., else reported. */
static int check_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return cli_fail(CMD, "%s: %s", dir, strerror(errno));
	errno = 0;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (!found && errno != 0) {
		int err = errno;
		closedir(d);
		return cli_fail(CMD, "%s: %s", dir, strerror(err));
	}
	closedir(d);
	if (found)
		return cli_fail(CMD, "%s is not empty: a backup goes into a new or empty directory", dir);
	return KP_EXIT_OK;
}

/* Makes dir, or takes an empty one; *made says which. */
static int prepare_dir(const char *dir, int *made)
{
	*made = mkdir(dir, DIR_MODE) == 0;
	if (*made)
		return KP_EXIT_OK;
	if (errno != EEXIST)
		return cli_fail(CMD, "%s: %s", dir, strerror(errno));
	if (check_empty(dir) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (chmod(dir, DIR_MODE) != 0)
		return cli_fail(CMD, "%s: %s", dir, strerror(errno));
	return KP_EXIT_OK;
}

static int copy_db(struct st_db *db, const char *dir, int compact)
{
	struct st_backup_report rep = { 0 };
	int rc;

	fprintf(stderr, "backup: copying %s to %s/data.mdb%s\n", st_db_options(db)->path, dir,
	        compact ? " (compacting)" : "");
	rc = st_backup(db, dir, compact, &rep);
	if (rc != ST_OK)
		return cli_fail(CMD, "%s/data.mdb: %s", dir, st_strerror(rc));
	fprintf(stderr, "backup: done, %" PRIu64 " of %" PRIu64 " bytes in use copied\n",
	        rep.copied_bytes, rep.used_bytes);
	printf("%s/data.mdb %" PRIu64 " bytes\n", dir, rep.copied_bytes);
	return cli_finish_output(CMD);
}

int cmd_backup(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "no-compact", no_argument, NULL, OPT_NO_COMPACT },
		{ NULL, 0, NULL, 0 },
	};
	struct st_db *db = NULL;
	const char *dir = NULL;
	int compact = 1, made = 0, status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                           backup_option, &compact);
	if (status == CLI_CONTINUE)
		status = cli_one_operand(CMD, argc, argv, "DIR", &dir);
	if (status != CLI_CONTINUE)
		return status;
	if (prepare_dir(dir, &made) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0)
		status = KP_EXIT_FAIL;
	else
		status = copy_db(db, dir, compact);
	st_db_close(db);
	if (status != KP_EXIT_OK && made)
		rmdir(dir); /* ours and empty again (st_backup removes a partial copy) */
	return status;
}
