/*
 * ideal.h — the ideal ingester: the least any ingester must do per frame,
 * built on firmware-proto alone (no daemon code, no storage): receive a
 * TAPS frame, decode it, verify it with its device's key, answer it with
 * one signed ACK (watermark 0: it stores nothing) on .../ack. W workers.
 *
 * It runs as its own process (`komposter bench-ideal`, hidden), so that its
 * CPU time and memory are measured the way komposterd's are. Its inputs are
 * files the benchmark writes: the device keys (bench_ideal_write_keys) and
 * the server's secret key (a keyfile.h key file).
 */
#ifndef KP_BENCH_IDEAL_H
#define KP_BENCH_IDEAL_H

#include <stdint.h>
#include <sys/types.h>

#include "tools/bench/stream.h"
#include "tools/cli.h"

/* Writes every device's id and public key (the probe's too) to path. */
int bench_ideal_write_keys(const struct bench_stream *s, const char *path);
/* Starts `self bench-ideal URI KEYS SERVER_KEY WORKERS FRAME_SIZE DROP_EVERY
 * NICE` (log: its stderr). drop_every > 0, for tests: every drop_every-th
 * frame it receives for the first time is left unanswered; a re-send is
 * answered. nice (-20..0) is its workers' nice value: the whole path of a
 * frame in the ideal, given what komposterd's writer and publisher get. */
pid_t bench_ideal_start(const char *self, const char *uri, const char *keys, const char *server_key,
                        int workers, size_t frame_size, uint64_t drop_every, int nice, const char *log);
/* The hidden subcommand; runs until killed. */
int cmd_bench_ideal(struct kp_cli *cli, int argc, char **argv);

#endif
