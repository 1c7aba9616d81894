/*
 * cmd_check.c — `komposter check`: runs the consistency check of
 * storage/check.h over the whole database and says what it found.
 *
 * A check of a large log takes a while, so it shows progress on stderr: a
 * line rewritten in place when stderr is a terminal, and otherwise (a log
 * file, a CI job) a plain line every tenth of the way. The problems the
 * check reports go to a temporary file first and are copied to stdout at
 * the end, so they never tangle with a progress line on the same terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "storage/check.h"
#include "tools/cli.h"
#include "tools/commands.h"

#define CMD "check"
#define PROGRESS_STEPS 10 /* non-terminal progress lines: every 10% */

static const char help[] =
	"Usage: komposter check\n\n"
	"Checks the database: every log entry parses, the sequence has no gaps, the\n"
	"hash chain recomputes to the stored heads, the once-only index matches the\n"
	"log and each watermark's stored base lies between the derived frames' and\n"
	"the log's, and the tap aggregates equal the sums of the log.\n"
	"Problems are printed one per line, then a summary. Progress goes to stderr.\n"
	"Safe to run while komposterd is running (it reads a snapshot).\n\n"
	"Options:\n" KP_CLI_COMMON_HELP "\n"
	"Exit status: 0 consistent, 1 problems found or the check failed,\n"
	"2 usage error.\n";

struct progress {
	int tty;
	unsigned next_step; /* non-tty: the next tenth to report */
	int shown;          /* tty: a progress line is on screen */
};

static unsigned percent(uint64_t done, uint64_t total)
{
	if (total == 0 || done >= total)
		return 100;
	return (unsigned)(done * 100 / total);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	unsigned pct = percent(done, total);

	if (p->tty) {
		fprintf(stderr, "\rcheck: %" PRIu64 "/%" PRIu64 " entries (%u%%)", done, total, pct);
		p->shown = 1;
		return;
	}
	if (pct < p->next_step * (100 / PROGRESS_STEPS))
		return;
	fprintf(stderr, "check: %" PRIu64 "/%" PRIu64 " entries (%u%%)\n", done, total, pct);
	p->next_step = pct / (100 / PROGRESS_STEPS) + 1;
}

static int copy_problems(FILE *problems)
{
	char buf[4096];
	size_t n;

	if (fflush(problems) != 0 || fseek(problems, 0, SEEK_SET) != 0)
		return cli_fail(CMD, "reading back problems: %s", strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), problems)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			return cli_fail(CMD, "writing output: %s", strerror(errno));
	if (ferror(problems))
		return cli_fail(CMD, "reading back problems: %s", strerror(errno));
	return KP_EXIT_OK;
}

static int report(const struct st_check_report *rep)
{
	printf("entries %" PRIu64 ", taps %" PRIu64 ", counts %" PRIu64 ", problems %" PRIu64 "\n",
	       rep->entries, rep->taps, rep->counts, rep->problems);
	if (cli_finish_output(CMD) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (rep->problems > 0)
		return cli_fail(CMD, "%" PRIu64 " problem%s found", rep->problems,
		                rep->problems == 1 ? "" : "s");
	return KP_EXIT_OK;
}

static int run_check(struct st_db *db)
{
	struct progress p = { .tty = isatty(STDERR_FILENO) };
	struct st_check_report rep = { 0 };
	FILE *problems = tmpfile();
	int rc, status;

	if (problems == NULL)
		return cli_fail(CMD, "temporary file: %s", strerror(errno));
	rc = st_check(db, &rep, problems, on_progress, &p);
	if (p.shown)
		fputc('\n', stderr);
	if (rc != ST_OK)
		status = cli_fail(CMD, "%s", st_strerror(rc));
	else
		status = copy_problems(problems);
	fclose(problems);
	return status == KP_EXIT_OK ? report(&rep) : status;
}

int cmd_check(struct kp_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { KP_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct st_db *db = NULL;
	int status;

	status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts, NULL,
	                           NULL);
	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = run_check(db);
	st_db_close(db);
	return status;
}
