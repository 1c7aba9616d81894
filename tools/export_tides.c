/*
 * export_tides.c — the TIDES files of `komposter export --tides`
 * (export_tides.h): each one streamed from the producer into its file.
 */
#include "tools/export_tides.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/tides.h"

#define PIECE 65536
#define PATH_SIZE 4096

/* Writes all of buf to fd; 0 or -1 (errno). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Streams the export t into fd; 0, or -1 with why filled. */
static int copy_rows(struct kp_tides *t, int fd, size_t *bytes, char *why, size_t why_size)
{
	static char piece[PIECE];
	ssize_t n;

	*bytes = 0;
	while ((n = kp_tides_read(t, piece, sizeof piece)) > 0) {
		if (write_all(fd, piece, (size_t)n) != 0) {
			snprintf(why, why_size, "%s", strerror(errno));
			return -1;
		}
		*bytes += (size_t)n;
	}
	if (n < 0) {
		snprintf(why, why_size, "reading the log: %s", st_strerror(kp_tides_error(t)));
		return -1;
	}
	if (fsync(fd) != 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

static int write_table(struct st_db *db, const char *cmd, enum kp_tides_table table, uint32_t from, uint32_t to,
                       const char *dir)
{
	char path[PATH_SIZE], why[256];
	struct kp_tides *t = NULL;
	struct st_read r;
	size_t bytes = 0;
	int fd, rc, bad;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, kp_tides_file_name(table)) >= sizeof path)
		return cli_fail(cmd, "%s: path too long", dir);
	rc = st_read_begin(db, &r);
	if (rc == ST_OK) {
		rc = kp_tides_open(&r, table, from, to, &t);
		st_read_end(&r);
	}
	if (rc != ST_OK)
		return cli_fail(cmd, "reading the log: %s", rc == ST_ESTOP ? "out of memory" : st_strerror(rc));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		kp_tides_close(t);
		return cli_fail(cmd, "%s: %s", path, strerror(errno));
	}
	bad = copy_rows(t, fd, &bytes, why, sizeof why);
	kp_tides_close(t);
	if (close(fd) != 0 && !bad) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		bad = -1;
	}
	if (bad) {
		unlink(path);
		return cli_fail(cmd, "%s: %s (removed)", path, why);
	}
	printf("wrote %s (%zu bytes)\n", path, bytes);
	return KP_EXIT_OK;
}

int export_tides_run(struct kp_cli *cli, const char *cmd, uint32_t from, uint32_t to, const char *dir)
{
	struct st_db *db = NULL;
	int status;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cli_fail(cmd, "%s: %s", dir, strerror(errno));
	if (cli_open_db(cli, cmd, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = write_table(db, cmd, KP_TIDES_FARE_TRANSACTIONS, from, to, dir);
	if (status == KP_EXIT_OK)
		status = write_table(db, cmd, KP_TIDES_PASSENGER_EVENTS, from, to, dir);
	st_db_close(db);
	if (status == KP_EXIT_OK)
		status = cli_finish_output(cmd);
	return status;
}
