/*
 * threads.c — /proc/self/task/<tid>/comm, read per thread.
 */
#include "threads.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

pid_t tt_thread_find(const char *name)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	pid_t found = -1;

	cr_assert_not_null(dir);
	while (found < 0 && (e = readdir(dir)) != NULL) {
		char path[300], comm[32] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue; /* the thread ended meanwhile */
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		if (strcmp(comm, name) == 0)
			found = (pid_t)atoi(e->d_name);
	}
	closedir(dir);
	return found;
}

int tt_thread_nice(pid_t tid)
{
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)tid);
	cr_assert(nice != -1 || errno == 0, "getpriority(%d): %s", (int)tid, strerror(errno));
	return nice;
}
