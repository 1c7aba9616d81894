/*
 * harness.c — the subprocess runner and scratch directories of the tools
 * tests (see harness.h). Output goes to anonymous temporary files rather
 * than pipes, so a chatty child can never block on a full pipe while the
 * test waits for it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGS_MAX 64

static char *slurp(FILE *f, size_t *len)
{
	long size;
	char *buf;

	if (fflush(f) != 0 || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	buf = malloc((size_t)size + 1);
	if (buf == NULL)
		return NULL;
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

static void child(FILE *out, FILE *err, char **argv)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
		_exit(126);
	execv(KOMPOSTER_BIN, argv);
	_exit(127);
}

static int wait_child(pid_t pid, int *status)
{
	int ws;

	if (waitpid(pid, &ws, 0) != pid)
		return -1;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

int tools_run(struct tools_run *r, ...)
{
	char *argv[ARGS_MAX + 2] = { "komposter" };
	FILE *out = tmpfile(), *err = tmpfile();
	size_t argc = 1;
	va_list ap;
	pid_t pid;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	va_start(ap, r);
	while (argc <= ARGS_MAX && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (out == NULL || err == NULL || fflush(stdout) != 0 || fflush(stderr) != 0)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0)
		child(out, err, argv);
	if (wait_child(pid, &r->status) != 0)
		goto out;
	r->out = slurp(out, &r->out_len);
	r->err = slurp(err, &r->err_len);
	rc = r->out != NULL && r->err != NULL ? 0 : -1;
out:
	if (out != NULL)
		fclose(out);
	if (err != NULL)
		fclose(err);
	return rc;
}

void tools_run_free(struct tools_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

size_t tools_count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

int tools_scratch_make(char *path)
{
	snprintf(path, 64, "/tmp/kp-tools-XXXXXX");
	return mkdtemp(path) != NULL ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void tools_scratch_remove(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *tools_slurp_file(const char *folder, const char *name, size_t *len)
{
	char path[256], *buf;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/%s", folder, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)size;
	return buf;
}

void tools_write_file(const char *folder, const char *name, const char *buf, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", folder, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}
