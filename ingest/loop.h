/*
 * loop.h — the io_uring loop of komposterd's main thread. It owns every
 * socket the daemon serves (the HTTP listener and its connections), the
 * once-a-second timer, and the signals (through a signalfd):
 *   SIGTERM, SIGINT  return from kp_loop_run so komposterd drains and exits;
 *   SIGHUP           logged; the registry is read live, see verify.h.
 * The caller must block those signals in every thread before starting any
 * (kp_loop_block_signals), so that only the signalfd sees them.
 */
#ifndef KP_LOOP_H
#define KP_LOOP_H

#include "ingest/daemon.h"

int kp_loop_block_signals(void);
/* Binds the HTTP listener (so a bad address fails at start, not later) and
 * runs until SIGTERM/SIGINT. Returns 0, or -1 with a line on stderr. */
int kp_loop_run(struct kp_daemon *d);

#endif
