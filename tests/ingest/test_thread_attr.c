/*
 * Description: komposterd's threads are named (cut to the kernel's 15
 * bytes), a nice value set by a thread is that thread's alone, and
 * kp_thread_nice_allowed answers as the kernel would: a lower value only
 * with CAP_SYS_NICE (or RLIMIT_NICE), a higher one always, and the asking
 * thread keeps the value it had.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest/thread_attr.h"
#include "threads.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage; /* 0: started, 1: named and niced, 2: may end */
static int nice_rc = -1;

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	nice_rc = kp_thread_nice(7);
	stage = 1;
	pthread_cond_broadcast(&cv);
	while (stage < 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

Test(thread_attr, a_named_thread_is_found_by_its_cut_name_and_its_nice_is_its_own)
{
	pthread_t th;
	int main_nice = tt_thread_nice(0);

	cr_assert_eq(pthread_create(&th, NULL, sleeper, NULL), 0);
	cr_assert_eq(kp_thread_name(th, "kp-a-name-of-twenty"), 0);
	pthread_mutex_lock(&mu);
	while (stage < 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	pid_t tid = tt_thread_find("kp-a-name-of-tw");
	cr_expect_gt(tid, 0, "no thread named by its first 15 bytes");
	cr_expect_eq(nice_rc, 0);
	if (tid > 0)
		cr_expect_eq(tt_thread_nice(tid), 7);
	cr_expect_eq(tt_thread_nice(0), main_nice, "the thread that did not ask kept its value");

	pthread_mutex_lock(&mu);
	stage = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
}

/* Whether this process holds CAP_SYS_NICE, from /proc (the oracle the
 * function under test must agree with). */
static int has_cap_sys_nice(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 23) & 1; /* CAP_SYS_NICE */
}

Test(thread_attr, allowed_says_what_setpriority_would_and_changes_nothing)
{
	struct rlimit rl;
	int before = tt_thread_nice(0);

	cr_assert_eq(getrlimit(RLIMIT_NICE, &rl), 0);
	int may_lower = has_cap_sys_nice() || rl.rlim_cur == RLIM_INFINITY || 20 - (long long)rl.rlim_cur <= before - 5;
	cr_expect_eq(kp_thread_nice_allowed(before - 5), may_lower);
	cr_expect_eq(kp_thread_nice_allowed(before + 3), 1, "a higher value is always allowed");
	cr_expect_eq(tt_thread_nice(0), before, "asking changed the thread's nice value");
}

Test(thread_attr, without_cap_sys_nice_or_rlimit_nice_a_lower_value_is_refused)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit zero = { 0, 0 };
		/* Root drops every capability by becoming nobody; RLIMIT_NICE 0
		 * lets nobody lower nothing. */
		if (setrlimit(RLIMIT_NICE, &zero) != 0 || (geteuid() == 0 && setuid(65534) != 0))
			_exit(10);
		int now = getpriority(PRIO_PROCESS, 0);
		if (kp_thread_nice_allowed(now - 1) != 0)
			_exit(11);
		if (kp_thread_nice_allowed(now + 1) != 1)
			_exit(12);
		if (kp_thread_nice(now - 1) == 0)
			_exit(13);
		_exit(getpriority(PRIO_PROCESS, 0) == now ? 0 : 14);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child step %d failed", WEXITSTATUS(status));
}
