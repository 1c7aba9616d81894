/*
 * slow_sync.c — an LD_PRELOAD shim (libkp_slow_sync.so) that makes a disk
 * slow on demand: while the file named by KP_SLOW_SYNC_FLAG exists,
 * fdatasync, fsync and msync each sleep 1 s before doing their work. With
 * the variable unset or the file absent they are the libc calls as they are.
 * Only for the end-to-end tests (test_slow_disk); never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void slow_down_while_flagged(void)
{
	const char *flag = getenv("KP_SLOW_SYNC_FLAG");
	struct timespec second = { 1, 0 };

	if (flag && flag[0] && access(flag, F_OK) == 0)
		nanosleep(&second, NULL);
}

/* The next definition of `name` (libc's); NULL leaves the call failing. */
static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))next("fdatasync");

	slow_down_while_flagged();
	return real ? real(fd) : -1;
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))next("fsync");

	slow_down_while_flagged();
	return real ? real(fd) : -1;
}

int msync(void *addr, size_t len, int flags)
{
	int (*real)(void *, size_t, int) = (int (*)(void *, size_t, int))next("msync");

	slow_down_while_flagged();
	return real ? real(addr, len, flags) : -1;
}
