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
/* A broker, a running daemon, a fleet of `devices` each with a passenger
 * counter, and `cameras` street cameras mapped (kp_fleet_map_cameras). */
int kp_fleet_bring_up_cameras(struct kp_broker *b, struct kp_daemon_proc *d, struct kp_fleet *f, int devices,
                              const char *cameras);
/* Waits for a started run to end with 0 and reads its summary, which must
 * count `taps` taps. 0, or -1 after a line on stderr. */
int kp_fleet_end(const struct kp_fleet *f, pid_t sim, double taps, struct kp_fleet_summary *sum);
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

/* Waits, bounded by timeout_ms, until the daemon's /metrics sample `name`
 * is >= at_least. 0, or -1 after a line on stderr. */
int kp_wait_metric(const struct kp_daemon_proc *d, const char *name, double at_least, int timeout_ms);
/* The records `komposter dump` prints (one a line), or -1. */
long kp_dump_count(const struct kp_daemon_proc *d);
/* The daemon's last stop line's "N messages dropped while stopping" (its
 * komposterd.log), or -1 when no stop line says it. */
long kp_dropped_at_stop(const struct kp_daemon_proc *d);

/* Waits, bounded, until the daemon has taken the cameras' last word,
 * "offline" (komposter_frigate_available 0). 0 or -1. */
int kp_wait_frigate_offline(const struct kp_daemon_proc *d, int timeout_ms);
/* Against the simulator's summary (parsed JSON): the signed counts and
 * accepted taps per (route, hour) are exactly the summary's; the cameras'
 * counts per (stop, hour) are at most the summary's (never doubled), some
 * stored in all, the accepted taps beside them exact. 0, or -1 after a
 * line on stderr for each difference. */
int kp_check_route_hours_exact(const struct kp_daemon_proc *d, const cJSON *sum);
int kp_check_stop_hours_at_most(const struct kp_daemon_proc *d, const cJSON *sum);

/* After a fleet's run: the taps stored (accepted, denied, amount of
 * `komposter stats`) equal the summary's, and `komposter check` recounts
 * the aggregates from the log and agrees. 0, or -1 after lines on stderr. */
int kp_check_taps_stored_once(const struct kp_daemon_proc *d, const struct kp_fleet_summary *sum);
/* The same for a fleet with counters and street cameras: also the signed
 * boardings, every (route, hour) exact and every (stop, hour) of the
 * cameras at most the summary's (kp_check_*_hours below). */
int kp_check_fleet_stored_once(const struct kp_daemon_proc *d, const struct kp_fleet *f,
                               const struct kp_fleet_summary *sum);

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
