/*
 * threads.h — for the tests of threads the stages name (ingest/thread_attr.h):
 * finds this process's thread by its name in /proc/self/task.
 */
#ifndef TEST_INGEST_THREADS_H
#define TEST_INGEST_THREADS_H

#include <sys/types.h>

/* The id of this process's thread named `name` (its comm), or -1. */
pid_t tt_thread_find(const char *name);
/* The nice value of thread tid (0: the calling thread); asserts it can be read. */
int tt_thread_nice(pid_t tid);

#endif
