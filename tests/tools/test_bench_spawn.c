/*
 * Description: the benchmark's children (tools/bench/proc.c). bench_spawn
 * returns only once the child runs the program it was asked for: a sampler
 * started right after it reads the ingester's memory, never the bench's own
 * (a forked child shares the bench's pre-signed stream until it execs). A
 * program that cannot be run is -1, not a pid.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench/proc.h"

static void exe_of(pid_t pid, char out[PATH_MAX])
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, out, PATH_MAX - 1);
	cr_assert_gt(n, 0, "readlink %s", path);
	out[n] = 0;
}

Test(bench_spawn, returns_once_the_child_runs_its_program)
{
	char *argv[] = { "sleep", "30", NULL };
	char self[PATH_MAX], child[PATH_MAX];

	for (int i = 0; i < 20; i++) {
		pid_t pid = bench_spawn(argv, NULL, -1);

		cr_assert_gt(pid, 0);
		exe_of(getpid(), self);
		exe_of(pid, child);
		cr_assert_str_neq(child, self, "the child was still the bench when bench_spawn returned");
		cr_assert_eq(bench_reap(pid, SIGKILL), 128 + SIGKILL);
	}
}

Test(bench_spawn, a_program_that_cannot_run_is_refused)
{
	char *argv[] = { "/nonexistent/komposterd", NULL };

	cr_assert_eq(bench_spawn(argv, "/dev/null", -1), -1);
}
