/*
 * python.h — the Python ingester under benchmark
 * (scripts/bench/python_ingester.py: paho-mqtt 1.6, PyNaCl, LMDB): what many
 * cities would write first. It decodes and verifies every frame, stores it
 * once in LMDB, committed and synced frame by frame, and answers each with
 * one signed ACK carrying its device's watermark. Its inputs are the files
 * the benchmark writes for the ideal ingester (device keys, server key).
 *
 * The interpreter is given (--python, default /usr/bin/python3: the
 * modules are Debian's python3-paho-mqtt, python3-nacl, python3-lmdb, which
 * a pyenv python3 first on PATH lacks).
 *
 * Functions return 0 / a pid, or -1 after one line on stderr.
 */
#ifndef KP_BENCH_PYTHON_H
#define KP_BENCH_PYTHON_H

#include <stddef.h>
#include <sys/types.h>

#define BENCH_PYTHON_DEFAULT "/usr/bin/python3"

/* The ingester's script: the source tree's (komposter built here), else
 * none; its path into buf. */
int bench_python_script(char *buf, size_t cap);
/* 0 when python imports every module the ingester needs; else -1 with
 * why (the interpreter's own error) on stderr. */
int bench_python_check(const char *python);
/* Starts `python SCRIPT HOST PORT KEYS SERVER_KEY DB_DIR` (log: its stderr);
 * db_dir must exist. */
pid_t bench_python_start(const char *python, const char *script, int port, const char *keys,
                         const char *server_key, const char *db_dir, const char *log);

#endif
