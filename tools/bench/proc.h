/*
 * proc.h — child processes of a benchmark run: started with fork+exec (they
 * die with the benchmark), their CPU time (utime + stime from
 * /proc/PID/stat) and their peak RssAnon (sampled from /proc/PID/status
 * every few milliseconds by a thread, since LMDB's mapped file pages must
 * not count), and the private mosquitto, with a config written for the run
 * and started by tools/mosquitto_run.h.
 *
 * Functions return 0 / a pid, or -1 after one line on stderr.
 */
#ifndef KP_BENCH_PROC_H
#define KP_BENCH_PROC_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* argv[0] a path; stdout to out_fd when >= 0, stderr appended to log. */
pid_t bench_spawn(char *const argv[], const char *log, int out_fd);
/* Sends sig (0: none) and waits; the exit status, 128+signal if killed. */
int bench_reap(pid_t pid, int sig);
/* utime + stime of pid in ns, or -1. */
int64_t bench_cpu_ns(pid_t pid);

struct bench_sampler {
	pid_t pid;
	pthread_t th;
	volatile int stop;
	int64_t peak_kib; /* highest RssAnon seen */
};
int bench_sampler_start(struct bench_sampler *s, pid_t pid);
void bench_sampler_stop(struct bench_sampler *s);

struct bench_broker {
	pid_t pid;
	int port;
	char dir[256];
	char uri[64];
};
/* A free port, a config in dir (made by the caller), mosquitto on it
 * (tools/mosquitto_run.h). */
int bench_broker_start(struct bench_broker *b, const char *dir);
void bench_broker_stop(struct bench_broker *b);

#endif
