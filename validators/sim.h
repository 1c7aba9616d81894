/*
 * sim.h — the two commands of validator-sim, called by validator_sim.c once
 * the command line is parsed. Each returns the process exit code: 0 done,
 * 1 failed (one line on stderr says why).
 */
#ifndef VD_SIM_H
#define VD_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "validators/frigate_sim.h"

#define VD_SIM_KEY_ID 1
#define VD_SIM_KEY_FILE "device.key"
#define VD_SIM_OUTBOX_DIR "outbox"

struct vd_sim_init_opts {
	const char *state;
	uint64_t devices;
	uint64_t apcs; /* passenger counters, one on each of the first `apcs` vehicles (<= devices) */
	uint64_t first_id;
	uint64_t seed;
	int quiet;
};

struct vd_sim_run_opts {
	const char *state;
	const char *broker;
	const char *server_pub;
	const char *broker_passwords; /* "<16 hex id>:<password>" lines (passwords.h); NULL: none */
	uint64_t taps_per_device;
	unsigned batch;
	double rate;             /* taps per second per device; 0: as fast as possible */
	double offline_fraction; /* 0..1 */
	double evasion_rate;     /* 0 <= R < 1: share of riders who board without tapping */
	uint64_t street_cameras; /* stops with a Frigate camera (frigate_sim.h); 0: none */
	const char *frigate_prefix; /* their topic prefix; NULL: VD_FRIGATE_PREFIX_DEFAULT */
	uint64_t days_ago;       /* taps and counts dated this many days before now (sent now) */
	uint64_t seed;
	uint64_t timeout_s;
	int64_t resend_ms;
	int64_t publish_timeout_ms;
	unsigned window;
	const char *summary;
	const char *tokens_out;
	int duplicate;
	int quiet;
};

struct vd_sim_cameras_opts {
	const char *state;
	uint64_t street_cameras;
	uint64_t seed;
	const char *frigate_prefix; /* NULL: VD_FRIGATE_PREFIX_DEFAULT */
};

int vd_sim_init(const struct vd_sim_init_opts *o);
int vd_sim_run(const struct vd_sim_run_opts *o);
/* Prints "<camera> <stop id> <boarding zone> <alighting zone>" for each
 * street camera a run of the same fleet, count and seed has (sim_cameras.c). */
int vd_sim_cameras(const struct vd_sim_cameras_opts *o);

/* Street cameras are picked among the stops of the routes the fleet's
 * validators ride: writes them into stops, returns how many. */
#define VD_SIM_DAYS_AGO_MAX 29
#define VD_SIM_STOPS_MAX 150 /* VD_TAPGEN_ROUTES * VD_TAPGEN_STOPS */
struct vd_fleet_entry;
size_t vd_sim_camera_stops(const struct vd_fleet_entry *fleet, size_t n,
                           uint32_t stops[VD_SIM_STOPS_MAX]);
/* Picks them and makes their simulator (caller destroys). Returns 0, or 1
 * after saying why (more cameras than stops, out of memory). */
int vd_sim_cameras_pick(const struct vd_fleet_entry *fleet, size_t n, uint64_t street_cameras,
                        uint64_t seed, const char *prefix, struct vd_frigate_sim **out);

/* One (route, hour) of a run with passenger counters: what the counters saw
 * and what the validators took. accepted / boardings is the validation rate
 * the daemon should find for that route and hour. */
struct vd_sim_route_hour {
	uint32_t route_id;
	int64_t hour_s;     /* Unix seconds at the start of the UTC hour */
	uint64_t boardings; /* riders the counters saw board (door cycles) */
	uint64_t evaded;    /* of them, riders who did not tap */
	uint64_t taps;      /* taps of every validator on the route */
	uint64_t accepted;  /* of them, accepted */
};

/* What a run did, summed over the fleet (sim_report.c). */
struct vd_sim_totals {
	uint64_t devices;
	uint64_t apcs;      /* passenger counters among the devices */
	uint64_t online;
	uint64_t frames;
	uint64_t taps;
	uint64_t taps_target;
	uint64_t accepted;
	uint64_t denied;
	uint64_t amount;
	uint64_t acks;
	uint64_t nacks;
	uint64_t resent;
	uint64_t ignored;
	uint64_t remaining; /* frames still in outboxes */
	double elapsed_s;
	/* With apcs > 0 only: */
	double evasion_rate;
	uint64_t counts;    /* count records sealed by the counters */
	uint64_t boardings; /* riders every vehicle took, tapping or not */
	uint64_t evaded;
	const struct vd_sim_route_hour *route_hours; /* borrowed; ascending route, hour */
	size_t nroute_hours;
	/* With street cameras only (ncameras > 0), borrowed: */
	const struct vd_frigate_camera *cameras;
	size_t ncameras;
	const char *frigate_prefix;
	uint64_t frigate_events; /* messages published on {prefix}/events */
	const struct vd_frigate_stop_hour *stop_hours; /* ascending stop, hour */
	size_t nstop_hours;
};

/* One progress line on stderr. */
void vd_sim_progress(const struct vd_sim_totals *t);
/* The --summary JSON object. Returns 0 or 1 (after saying why). */
int vd_sim_write_summary(const char *path, const struct vd_sim_totals *t);

/* Prints "validator-sim: <message>\n" on stderr; returns 1 (sim_report.c). */
int vd_sim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
