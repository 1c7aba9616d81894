/*
 * loop.h — the io_uring loop of komposterd's main thread. It owns every
 * socket the daemon serves (the HTTP listener and its connections), the
 * once-a-second timer, and the signals (through a signalfd):
 *   SIGTERM, SIGINT  return from kp_loop_run so komposterd drains and exits;
 *   SIGHUP           logged, and on_hup called (the intake re-reads the
 *                    registry at once); verify.h reads it live anyway.
 * The caller must block those signals in every thread before starting any
 * (kp_loop_block_signals), so that only the signalfd sees them.
 *
 * The loop talks to no stage: what it serves reads atomics (http.h), and it
 * never calls Paho, whose lock a messageArrived waiting for ring room holds
 * under back-pressure (the intake's own thread does MQTT retries). So
 * /healthz, /readyz and /metrics answer however full the rings are.
 */
#ifndef KP_LOOP_H
#define KP_LOOP_H

#include "ingest/http.h"

/* The loop's io_uring has one entry per connection slot, the slots being
 * [http] max_connections plus KP_LOOP_CONN_RESERVE (a newcomer takes one
 * while the oldest waiting connection is cut off), and KP_LOOP_OWN_OPS for
 * the loop's own operations (accept, signal read, tick, cancel). io_uring
 * takes at most KP_LOOP_RING_MAX entries (the kernel's IORING_MAX_ENTRIES),
 * so KP_LOOP_MAX_CONNECTIONS is the largest max_connections: config.c
 * refuses more, instead of the ring failing at start. */
#define KP_LOOP_RING_MAX 32768
#define KP_LOOP_CONN_RESERVE 16
#define KP_LOOP_OWN_OPS 8
#define KP_LOOP_MAX_CONNECTIONS (KP_LOOP_RING_MAX - KP_LOOP_CONN_RESERVE - KP_LOOP_OWN_OPS)

struct kp_loop_config {
	const char *listen;     /* IPv4 host:port; borrowed */
	int max_connections;    /* beyond: the oldest waiting (idle kept-alive first) is cut off;
	                           with every one sending an answer, the newcomer gets 503 */
	int request_timeout_ms; /* a request's head and body must arrive within it, and while
	                           answers are sent each such time must move 32 KiB of them
	                           (or the rest): a slow reader cannot hold its slot */
	int idle_timeout_ms;    /* a kept-alive connection with no request this long is closed */
	int max_requests;       /* answers on one connection; the last says Connection: close */
};

struct kp_loop_ctx {
	struct kp_loop_config cfg;
	struct kp_http_ctx http;
	/* Called on the loop's thread at each SIGHUP (may be NULL); it must not
	 * block, nor call Paho (see above). */
	void (*on_hup)(void *arg);
	void *on_hup_arg;
};

int kp_loop_block_signals(void);
/* Binds the HTTP listener (so a bad address fails at start, not later) and
 * runs until SIGTERM/SIGINT. Returns 0 (also when the signal came while the
 * port was still busy), or -1 with a line on stderr. */
int kp_loop_run(const struct kp_loop_ctx *ctx);

#endif
