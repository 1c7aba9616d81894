/*
 * harness.h — running the built `komposter` binary as a subprocess, the way
 * an operator does, and a scratch directory for its files and database.
 *
 * tools_run() captures the exit status, stdout and stderr (whole, NUL-
 * terminated); tools_run_free() releases them. tools_scratch_*() make and
 * remove a fresh directory under /tmp; tools_slurp_file() and
 * tools_write_file() read and write the files a command made.
 */
#ifndef KP_TESTS_TOOLS_HARNESS_H
#define KP_TESTS_TOOLS_HARNESS_H

#include <stddef.h>

#define KOMPOSTER_BIN KP_BUILD_DIR "/tools/komposter"

struct tools_run {
	int status; /* exit code; 128 + signal when killed */
	char *out, *err;
	size_t out_len, err_len;
};

/* Runs komposter with the given arguments (a NULL-terminated list, not
 * including the program). Returns 0, or -1 when it could not be run. */
int tools_run(struct tools_run *r, ...) __attribute__((sentinel));
void tools_run_free(struct tools_run *r);

/* Number of '\n'-terminated lines in text. */
size_t tools_count_lines(const char *text);

/* folder/name's bytes, NUL-terminated (len may be NULL); a Criterion
 * assertion fails when it cannot be read. Free it. */
char *tools_slurp_file(const char *folder, const char *name, size_t *len);
/* Writes len bytes to folder/name (made or emptied); asserts it worked. */
void tools_write_file(const char *folder, const char *name, const char *buf, size_t len);

/* A fresh directory; path must hold 64 bytes. 0 or -1. */
int tools_scratch_make(char *path);
void tools_scratch_remove(const char *path);

#endif
