/*
 * thread_attr.c — thread names and per-thread nice values.
 *
 * On Linux the nice value belongs to each thread (setpriority(2) on a
 * thread id), not to the process, so setting it on the calling thread's id
 * affects that thread alone.
 */
#define _GNU_SOURCE
#include "ingest/thread_attr.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int kp_thread_name(pthread_t thread, const char *name)
{
	char cut[16];
	size_t n = strlen(name);

	if (n >= sizeof(cut))
		n = sizeof(cut) - 1;
	memcpy(cut, name, n);
	cut[n] = '\0';
	return pthread_setname_np(thread, cut);
}

int kp_thread_nice(int nice)
{
	return setpriority(PRIO_PROCESS, (id_t)gettid(), nice) == 0 ? 0 : errno;
}

int kp_thread_nice_allowed(int nice)
{
	errno = 0;
	int now = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (now == -1 && errno != 0)
		return -1;
	/* A higher value is always allowed, and trying one could not be undone
	 * without the permission in question. */
	if (nice >= now)
		return 1;
	if (kp_thread_nice(nice) != 0)
		return 0;
	/* Back up to where it was: raising the value is always allowed. */
	return kp_thread_nice(now) == 0 ? 1 : -1;
}
