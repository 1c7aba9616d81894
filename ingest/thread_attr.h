/*
 * thread_attr.h — how komposterd's threads show themselves to the system:
 * a name each ("kp-writer", "kp-verify", ...) for top -H, ps -L, perf and
 * gdb, and a scheduling priority for the two a frame's latency waits on.
 *
 * Why a priority: a frame's ACK waits for the writer's commit and the
 * publisher's send, both short bursts between waits on the disk or a queue.
 * When they wake up behind CPU-bound work (Ed25519 verification, and on a
 * shared machine the broker and everything else), each wake-up can wait a
 * scheduler slice, and a group commit that waits grows the next one. A
 * lower nice value for just these two (`[ingest] latency_nice`) lets them
 * run as soon as they are runnable; they use little CPU, so the rest loses
 * little. Nice values rank threads within one scheduler autogroup (one
 * session): under systemd that is komposterd's own threads, and
 * CPUWeight= ranks the service against others.
 *
 * A name that cannot be set changes nothing else (the thread works the same
 * unnamed), so its failure is only returned. A nice value below the
 * thread's current one needs CAP_SYS_NICE or RLIMIT_NICE (systemd:
 * LimitNICE=); kp_thread_nice_allowed says beforehand whether this process
 * has them, so that a configuration asking for what it cannot get is
 * refused at start, not found out later.
 */
#ifndef KP_THREAD_ATTR_H
#define KP_THREAD_ATTR_H

#include <pthread.h>

/* Names a thread; names longer than 15 bytes are cut. 0, or the error
 * number pthread_setname_np gave. */
int kp_thread_name(pthread_t thread, const char *name);

/* Sets the calling thread's nice value (-20..19), for it alone. 0, or the
 * errno of setpriority (EACCES/EPERM: not allowed). */
int kp_thread_nice(int nice);

/* 1 when the calling thread may set its nice value to `nice` (so may the
 * threads it starts), 0 when not; -1 when the current value cannot be read.
 * Leaves the calling thread's nice value as it was. */
int kp_thread_nice_allowed(int nice);

#endif
