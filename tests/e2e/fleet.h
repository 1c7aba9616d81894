/*
 * fleet.h — a validator-sim fleet for the end-to-end tests: init + enrol,
 * then `run` in the foreground or background, and its summary and tokens.
 */
#ifndef KP_TEST_FLEET_H
#define KP_TEST_FLEET_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/e2e/harness.h"

struct kp_fleet {
	char state[320];
	char summary[340];
	char tokens[340];
	char log[340];
	int devices;
};

struct kp_fleet_summary {
	double devices, frames, taps, accepted, denied, amount, elapsed_s, boardings;
};

/* Copies from's server key (and .pub) over to's, so that one fleet's ACK
 * checks hold whichever instance answers (several instances, "Beyond one
 * machine"). 0 or -1. */
int kp_daemon_share_key(struct kp_daemon_proc *to, const struct kp_daemon_proc *from);

/* A broker, a running daemon and an enrolled fleet of `devices`. 0 or -1. */
int kp_fleet_bring_up(struct kp_broker *b, struct kp_daemon_proc *d, struct kp_fleet *f, int devices);
/* Makes the fleet under the daemon's directory and enrols it. */
int kp_fleet_init(struct kp_fleet *f, const struct kp_daemon_proc *d, int devices);
/* The same with a passenger counter (kind apc) on the first `apcs` vehicles. */
int kp_fleet_init_apcs(struct kp_fleet *f, const struct kp_daemon_proc *d, int devices, int apcs);
/* Starts `validator-sim run` in the background; extra args NULL-terminated. */
pid_t kp_fleet_start(struct kp_fleet *f, const struct kp_broker *b, const struct kp_daemon_proc *d,
                     int taps_per_device, ...);
int kp_fleet_summary(const struct kp_fleet *f, struct kp_fleet_summary *s);
/* Maps the street cameras a run with --street-cameras `cameras` will have,
 * as README says: `validator-sim cameras`, each line into `komposter camera
 * add` (the daemon may be running). The number mapped, or -1. */
int kp_fleet_map_cameras(const struct kp_daemon_proc *d, const struct kp_fleet *f, const char *cameras);

/* Sums of `komposter stats --json` over a wide date range around today. */
int kp_stats_totals(const struct kp_daemon_proc *d, double *accepted, double *denied, double *amount);
/* Boardings and alightings of `komposter stats --counts --json`, the same range. */
int kp_count_totals(const struct kp_daemon_proc *d, double *boardings, double *alightings);


/* `komposter stats --with-cameras --partial --by <by> --json` over the same
 * range, parsed (cJSON_Delete it), or NULL after printing why on stderr. */
cJSON *kp_stats_rate(const struct kp_daemon_proc *d, const char *by);
/* The validation rate a row reports: its rate when complete, else the
 * running partial_rate. 0, or -1 when it reports neither (no boardings). */
int kp_rate_reported(const cJSON *row, double *rate);

/* The daemon's (service date, local hour) of Unix second t, by the zone and
 * service-day start recorded in its database (opened read-only beside the
 * running daemon). 0 or -1. */
struct kp_service_hour {
	uint32_t service_date; /* yyyymmdd */
	int hour;
};
int kp_service_hour(const struct kp_daemon_proc *d, int64_t t, struct kp_service_hour *out);

/* The row of a kp_stats_rate document with this date, hour, place (its
 * place_key "route_id" or "stop_id") and source, NULL if none (borrowed). */
const cJSON *kp_rate_row(const cJSON *doc, const struct kp_service_hour *h, const char *place_key,
                         uint32_t place, const char *source);
/* How many of its rows have this source. */
int kp_rate_rows_of(const cJSON *doc, const char *source);

#endif
