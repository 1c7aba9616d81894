/*
 * daemon.h — komposterd under benchmark: a fresh directory with a config
 * written for the run (its database, the run's broker, a server key made
 * for it, Frigate and open-data publishing off), every device of the
 * stream enrolled with its key, the process started and stopped, and the
 * database checked afterwards (st_check) with its stored frame count.
 *
 * Functions return 0, or -1 after one line on stderr.
 */
#ifndef KP_BENCH_DAEMON_H
#define KP_BENCH_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "firmware-proto/frame.h"
#include "tools/bench/stream.h"

struct bench_daemon {
	char dir[256];
	char config[320];
	char log[320];
	char client_id[64]; /* its MQTT session, cleaned after the run */
	uint8_t server_pk[KP_PUBLIC_KEY_SIZE];
	pid_t pid;
};

/* dir must exist and be empty; run numbers the MQTT client id; nice is its
 * [ingest] latency_nice (0: not set). */
int bench_daemon_setup(struct bench_daemon *d, const char *dir, const char *uri, const struct bench_stream *s,
                       int workers, int nice, int run);
int bench_daemon_start(struct bench_daemon *d, const char *komposterd);
/* SIGTERM and wait: 0 when it exits 0. */
int bench_daemon_stop(struct bench_daemon *d);
/* st_check of the stopped daemon's database: its stored frames (log
 * entries) and problems. */
int bench_daemon_check(const struct bench_daemon *d, uint64_t *stored, uint64_t *problems);

#endif
