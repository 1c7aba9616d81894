/*
 * mosquitto_run.h — a private mosquitto for one run (an end-to-end test, a
 * benchmark): a free loopback port for its config, `mosquitto -c CONF`
 * started as a child that dies with its parent (stderr appended to a log;
 * mosquitto found in the sbin directories too), the wait until every
 * listener of the config accepts, and the stop. The config itself is the
 * caller's: the tests render the shipped templates, the benchmark writes a
 * self-contained one.
 *
 * Functions return 0 / a pid / a port, or -1 after one line on stderr
 * prefixed with the caller's name.
 */
#ifndef KP_MOSQUITTO_RUN_H
#define KP_MOSQUITTO_RUN_H

#include <sys/types.h>

/* A loopback TCP port free at the time of the call, or -1. */
int kp_mosquitto_free_port(void);
/* 0 once something accepts on 127.0.0.1:port, -1 after timeout_ms. */
int kp_mosquitto_wait_port(const char *who, int port, int timeout_ms);
/* Starts `mosquitto -c conf`, stderr appended to log, and waits (5 s at
 * most) until every port of ports[0..n) accepts. The pid, or -1 (the child
 * is killed and reaped). */
pid_t kp_mosquitto_start(const char *who, const char *conf, const char *log, const int *ports, int n);
/* SIGTERM and wait: its exit status (128+signal if killed), or -1. */
int kp_mosquitto_stop(pid_t pid);

#endif
