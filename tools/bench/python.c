/*
 * python.c — the Python ingester's interpreter, script and process.
 */
#define _GNU_SOURCE
#include "tools/bench/python.h"

#include <stdio.h>
#include <unistd.h>

#include "tools/bench/proc.h"

#define MODULES "import paho.mqtt.client, nacl.signing, lmdb"

int bench_python_script(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", KP_BENCH_PYTHON_SCRIPT);
	if (access(buf, R_OK) == 0)
		return 0;
	fprintf(stderr, "komposter: bench: no Python ingester at %s; give --no-python\n", buf);
	return -1;
}

int bench_python_check(const char *python)
{
	char *argv[] = { (char *)python, "-c", MODULES, NULL };
	pid_t pid = bench_spawn(argv, NULL, -1);
	int st = pid > 0 ? bench_reap(pid, 0) : -1;

	if (st == 0)
		return 0;
	fprintf(stderr, "komposter: bench: %s cannot run the Python ingester (`%s` exited %d): install "
	                "python3-paho-mqtt python3-nacl python3-lmdb (scripts/setup.sh), give --python PATH "
	                "or --no-python\n", python, MODULES, st);
	return -1;
}

pid_t bench_python_start(const char *python, const char *script, int port, const char *keys,
                         const char *server_key, const char *db_dir, const char *log)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", port);
	char *argv[] = { (char *)python, (char *)script, "127.0.0.1", p, (char *)keys, (char *)server_key,
		         (char *)db_dir, NULL };
	return bench_spawn(argv, log, -1);
}
