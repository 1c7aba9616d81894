/*
 * daemon.c — komposterd's directory, config, enrolment, process and check.
 */
#define _GNU_SOURCE
#include "tools/bench/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firmware-proto/keyfile.h"
#include "storage/check.h"
#include "storage/db.h"
#include "storage/devices.h"
#include "tools/bench/proc.h"
#include "tools/mosquitto_run.h"

static int write_config(const struct bench_daemon *d, const char *uri, int workers, int nice)
{
	FILE *f = fopen(d->config, "w");
	if (!f)
		return -1;
	fprintf(f, "[storage]\npath = %s/data\n[mqtt]\nuri = %s\nclient_id = %s\n"
	           "[ingest]\nserver_key = %s/server.key\nverify_workers = %d\nlatency_nice = %d\n"
	           "[http]\nlisten = 127.0.0.1:%d\n[frigate]\nenabled = false\n[open_data]\npublish = false\n",
	        d->dir, uri, d->client_id, d->dir, workers, nice, kp_mosquitto_free_port());
	return fclose(f) == 0 ? 0 : -1;
}

static int enrol(struct st_db *db, const struct bench_device *dev, int64_t now_ms)
{
	struct st_device sd = { .id = dev->id, .kind = ST_KIND_VALIDATOR, .state = ST_STATE_ACTIVE,
		                .vehicle_id = (uint32_t)(dev->id & 0xffff), .created_at = now_ms };
	struct st_device_key k = { .device_id = dev->id, .key_id = BENCH_KEY_ID, .state = ST_STATE_ACTIVE,
		                   .added_at = now_ms };

	snprintf(sd.operator_name, sizeof(sd.operator_name), "bench");
	memcpy(k.public_key, dev->pk, sizeof(k.public_key));
	int rc = st_device_add(db, &sd);
	if (rc == ST_OK)
		rc = st_device_key_add(db, &k);
	return rc;
}

static int enrol_all(const struct bench_daemon *d, const struct bench_stream *s)
{
	struct st_options o;
	struct st_db *db = NULL;
	char path[300];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(path, sizeof(path), "%s/data", d->dir);
	st_options_default(&o);
	o.path = path;
	int rc = st_db_open(&db, &o);
	for (uint32_t i = 0; rc == ST_OK && i <= s->devices; i++)
		rc = enrol(db, &s->dev[i], now_ms);
	if (rc != ST_OK)
		fprintf(stderr, "komposter: bench: enrolling the devices in %s: %s\n", path, st_strerror(rc));
	if (db)
		st_db_close(db);
	return rc == ST_OK ? 0 : -1;
}

int bench_daemon_setup(struct bench_daemon *d, const char *dir, const char *uri, const struct bench_stream *s,
                       int workers, int nice, int run)
{
	char key[300], err[KP_KEYFILE_ERR_SIZE];

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(d->config, sizeof(d->config), "%s/komposterd.ini", dir);
	snprintf(d->log, sizeof(d->log), "%s/komposterd.log", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	if (kp_keyfile_generate(key, 0, d->server_pk, err) != 0) {
		fprintf(stderr, "komposter: bench: server key: %s\n", err);
		return -1;
	}
	snprintf(d->client_id, sizeof(d->client_id), "kp-bench-komposterd-%d-%d", (int)getpid(), run);
	if (write_config(d, uri, workers, nice) != 0) {
		fprintf(stderr, "komposter: bench: cannot write %s\n", d->config);
		return -1;
	}
	return enrol_all(d, s);
}

int bench_daemon_start(struct bench_daemon *d, const char *komposterd)
{
	char *argv[] = { (char *)komposterd, "-c", d->config, NULL };

	d->pid = bench_spawn(argv, d->log, -1);
	return d->pid > 0 ? 0 : -1;
}

int bench_daemon_stop(struct bench_daemon *d)
{
	int st = bench_reap(d->pid, SIGTERM);
	d->pid = 0;
	if (st != 0)
		fprintf(stderr, "komposter: bench: komposterd exited with status %d; see %s\n", st, d->log);
	return st == 0 ? 0 : -1;
}

int bench_daemon_check(const struct bench_daemon *d, uint64_t *stored, uint64_t *problems)
{
	struct st_options o;
	struct st_db *db = NULL;
	struct st_check_report rep;
	char path[300];

	snprintf(path, sizeof(path), "%s/data", d->dir);
	st_options_default(&o);
	o.path = path;
	o.read_only = 1;
	int rc = st_db_open(&db, &o);
	if (rc == ST_OK) {
		rc = st_check(db, &rep, stderr, NULL, NULL);
		st_db_close(db);
	}
	if (rc != ST_OK) {
		fprintf(stderr, "komposter: bench: checking %s: %s\n", path, st_strerror(rc));
		return -1;
	}
	*stored = rep.entries;
	*problems = rep.problems;
	return 0;
}
