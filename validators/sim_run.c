/*
 * sim_run.c — `validator-sim run`: drives every device of a state directory
 * against a broker until each outbox is empty or the timeout passes.
 *
 * Design: one thread, the main one, owns every device (device.h's "owner"):
 * it makes taps, seals frames, and calls vd_device_poll for each device in
 * turn, which applies ACKs, publishes and re-sends. Paho's threads only fill
 * the devices' mailboxes and wake this thread through one condition variable
 * (sim_notify), so the loop sleeps until a reply arrives, a tap is due, a
 * device's resend timer falls due, or at most SIM_WAIT_MAX_MS.
 *
 * A run on a state directory that still holds frames (a restarted fleet)
 * re-sends them first: they are the oldest, so the window takes them before
 * any new frame, and the outbox continues the numbering.
 *
 * Offline spells: --offline-fraction picks that share of devices (seeded);
 * each, once online and a quarter through its taps, disconnects and keeps
 * tapping into its outbox (taps flagged offline) until three quarters through
 * and at least SIM_OFFLINE_MIN_MS, then reconnects and sends the backlog in
 * a burst.
 *
 * Passenger counters (kind apc in the fleet file) ride on their validator's
 * vehicle. Each simulated rider boards, is seen by the vehicle's counter, if
 * it has one, and taps unless they evade (--evasion-rate, drawn from a stream
 * of its own beside the taps', so a seed replays both). An evader draws no
 * rider from the pool: --tokens-out lists riders who tapped.
 * A stop visit is one door cycle: when its riders are in (or the validator
 * has made its last tap) the counter takes a door-cycle record and an
 * occupancy snapshot. Stop visits take no time here: every tap of a visit
 * and its records carry the time the visit began, so a visit's boardings and
 * taps fall in one hour, and per (route, hour) accepted taps / boardings is
 * exactly what the summary's route_hours say.
 *
 * Street cameras (--street-cameras N) only watch: N stops of the routes the
 * fleet rides, picked from the seed, each get a simulated Frigate
 * (frigate_sim.h) that sees every rider boarding there, tapping or not, and
 * every rider alighting, and publishes its events on a client of its own
 * (frigate_mqtt.h). They draw from a stream of their own, so the devices'
 * frames are the same with or without them. A rider boards at the time of
 * their tap (a counter's vehicle: the visit's time) and those who get off
 * do so when the first rider of the stop boards: on a vehicle with a
 * counter they are the counter's alightings, on one without, a number
 * drawn from the riders aboard, as the counters' are.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"
#include "validators/device.h"
#include "validators/fleet.h"
#include "validators/frigate_mqtt.h"
#include "validators/frigate_sim.h"
#include "validators/passwords.h"
#include "validators/sim.h"
#include "validators/sim_rng.h"
#include "validators/tapgen.h"

#define SIM_PATH_MAX 4096
#define SIM_OFFLINE_MIN_MS 2000
#define SIM_WAIT_MAX_MS 100
#define SIM_PROGRESS_MS 1000
#define SIM_POOL_MIN 100
#define SIM_POOL_MAX ((size_t)1 << 20)
#define SIM_RIDERS_PER_TAP 4 /* pool = taps / 4: riders tap a few times */
#define SIM_RNG_SALT 0x5eed0ff1e5ULL
#define SIM_EVADE_SALT 0xe7ade5a1750ULL
#define SIM_CAMERA_SALT 0xca3e7a5a17ULL
#define SIM_APC_DOOR 1          /* the simulated vehicles count at one door */
#define SIM_APC_CONFIDENCE 100  /* the simulated counter sees every rider */
#define SIM_ONBOARD_MAX (KP_OCCUPANCY_UNKNOWN - 1)
#define SIM_ROUTE_HOURS_MIN 16

/* The door cycle a vehicle's counter is in: one stop visit. */
struct sim_visit {
	int open;
	int64_t at_ms; /* when it began: the time of its taps and records */
	uint32_t route_id;
	uint32_t stop_id;
	uint16_t boardings;
	uint16_t alightings;
	uint16_t evaded;
};

struct sim_dev {
	struct vd_device *dev;
	enum vd_device_kind kind;
	struct sim_dev *apc;       /* a validator's: the counter on its vehicle, or NULL */
	struct sim_dev *validator; /* a counter's: the validator on its vehicle */
	struct sim_visit visit;    /* a validator's with a counter */
	uint16_t onboard;          /* riders on the vehicle, as its counter sees them */
	struct vd_vehicle veh;
	uint64_t taps_done;
	double next_tap_ms; /* monotonic; used when --rate > 0 */
	int goes_offline;   /* picked for an offline spell */
	int offline;        /* in the spell now */
	int offline_done;
	int64_t offline_since;
	int flushed;
	int64_t next_due; /* from vd_device_poll */
	int cam_visit;         /* with street cameras: the stop's first rider is in */
	uint16_t cam_onboard;  /* riders aboard a vehicle without a counter */
};

struct sim {
	const struct vd_sim_run_opts *o;
	struct vd_fleet_entry *fleet;
	struct vd_passwords *passwords; /* NULL without --broker-passwords */
	struct sim_dev *devs;
	size_t n;
	struct vd_tapgen *gen;
	struct vd_rng rng;
	struct vd_rng evade_rng; /* evasion and alightings */
	size_t nvalidators;
	size_t napcs;
	struct vd_sim_route_hour *route_hours; /* with counters: ascending (route, hour) */
	size_t nroute_hours;
	size_t route_hours_cap;
	uint64_t boardings, evaded;
	struct vd_frigate_sim *cams;   /* NULL without street cameras */
	struct vd_frigate_mqtt *cam_link;
	struct vd_rng cam_rng;         /* alightings of vehicles without a counter */
	uint64_t frigate_events;
	char cam_err[VD_FRIGATE_MQTT_ERR_SIZE];
	uint8_t server_pk[KP_PUBLIC_KEY_SIZE];
	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond; /* on CLOCK_MONOTONIC */
	int woken;
	int wake_ready;
	int64_t start_ms;
	uint64_t taps, accepted, denied, amount;
};

static volatile sig_atomic_t sim_interrupted;

static void on_signal(int sig)
{
	sim_interrupted = sig;
}

static int64_t clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called on Paho's threads (vd_device_config.notify): quick, never blocks long. */
static void sim_notify(void *arg)
{
	struct sim *s = arg;

	pthread_mutex_lock(&s->wake_lock);
	s->woken = 1;
	pthread_cond_signal(&s->wake_cond);
	pthread_mutex_unlock(&s->wake_lock);
}

static void sim_wait(struct sim *s, int64_t until_ms)
{
	struct timespec ts = {until_ms / 1000, (until_ms % 1000) * 1000000};

	pthread_mutex_lock(&s->wake_lock);
	while (!s->woken && !sim_interrupted && clock_ms(CLOCK_MONOTONIC) < until_ms) {
		if (pthread_cond_timedwait(&s->wake_cond, &s->wake_lock, &ts) == ETIMEDOUT)
			break;
	}
	s->woken = 0;
	pthread_mutex_unlock(&s->wake_lock);
}

static int wake_init(struct sim *s)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->wake_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc == 0 && (rc = pthread_mutex_init(&s->wake_lock, NULL)) != 0)
		pthread_cond_destroy(&s->wake_cond);
	if (rc)
		return vd_sim_fail("pthread: %s", strerror(rc));
	s->wake_ready = 1;
	return 0;
}

/* Each device holds two LMDB files and a socket open: lift the soft limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: opening says if too few */
	}
}

static int device_config(struct sim *s, size_t i, char *dir, struct vd_device_config *cfg)
{
	char key[SIM_PATH_MAX], id[KP_DEVICE_ID_TEXT_SIZE], err[KP_KEYFILE_ERR_SIZE];
	const struct vd_fleet_entry *e = &s->fleet[i];

	kp_device_id_format(e->device_id, id);
	if (snprintf(key, sizeof key, "%s/%s/%s", s->o->state, id, VD_SIM_KEY_FILE) >= (int)sizeof key ||
	    snprintf(dir, SIM_PATH_MAX, "%s/%s/%s", s->o->state, id, VD_SIM_OUTBOX_DIR) >= SIM_PATH_MAX)
		return vd_sim_fail("%s: path too long", s->o->state);
	*cfg = (struct vd_device_config){
		.device_id = e->device_id,
		.kind = e->kind,
		.key_id = e->key_id,
		.batch = s->o->batch,
		.window = s->o->window,
		.resend_ms = s->o->resend_ms,
		.publish_timeout_ms = s->o->publish_timeout_ms,
		.duplicate = s->o->duplicate,
		.broker_password = s->passwords ? vd_passwords_find(s->passwords, e->device_id) : NULL,
		.notify = sim_notify,
		.notify_arg = s,
	};
	if (kp_keyfile_read_secret(key, cfg->secret_key, err) != 0)
		return vd_sim_fail("%s", err);
	memcpy(cfg->server_pk, s->server_pk, sizeof cfg->server_pk);
	return 0;
}

static int open_device(struct sim *s, size_t i)
{
	char dir[SIM_PATH_MAX], err[VD_DEVICE_ERR_SIZE];
	struct vd_device_config cfg;
	struct sim_dev *d = &s->devs[i];
	int rc;

	if (device_config(s, i, dir, &cfg) != 0) {
		sodium_memzero(&cfg, sizeof cfg);
		return 1;
	}
	cfg.outbox_dir = dir;
	rc = vd_device_open(&cfg, &d->dev, err);
	sodium_memzero(cfg.secret_key, sizeof cfg.secret_key);
	if (rc != VD_OK)
		return vd_sim_fail("%s", err);
	rc = vd_device_connect(d->dev, s->o->broker);
	if (rc != VD_OK)
		return vd_sim_fail("%s", vd_device_error(d->dev));
	d->kind = s->fleet[i].kind;
	if (d->kind == VD_KIND_VALIDATOR)
		vd_tapgen_vehicle(s->gen, &d->veh, i, s->fleet[i].vehicle_id);
	d->next_due = INT64_MAX;
	return 0;
}

/* Offline spells are for validators: a counter's records follow its
 * validator's taps. */
static void plan_offline(struct sim *s)
{
	size_t m = s->nvalidators, k = (size_t)llround(s->o->offline_fraction * (double)m);

	/* A partial Fisher-Yates shuffle picks k distinct validators. */
	size_t *order = malloc((m ? m : 1) * sizeof *order);
	if (!order)
		return; /* no spells then; the run itself goes on */
	for (size_t i = 0, v = 0; i < s->n; i++) {
		if (s->fleet[i].kind == VD_KIND_VALIDATOR)
			order[v++] = i;
	}
	for (size_t i = 0; i < k && i < m; i++) {
		size_t j = i + (size_t)vd_rng_below(&s->rng, m - i);
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
		s->devs[order[i]].goes_offline = 1;
	}
	free(order);
}

static size_t pool_size(const struct sim *s)
{
	double taps = (double)s->nvalidators * (double)s->o->taps_per_device / SIM_RIDERS_PER_TAP;

	if (taps < SIM_POOL_MIN)
		return SIM_POOL_MIN;
	return taps > (double)SIM_POOL_MAX ? SIM_POOL_MAX : (size_t)taps;
}

/* Every device needs its password before any goes online: a device left
 * without one would only be refused by the broker, over and over. */
static int load_passwords(struct sim *s)
{
	char err[VD_PASSWORDS_ERR_SIZE];

	if (vd_passwords_read(s->o->broker_passwords, &s->passwords, err) != 0)
		return vd_sim_fail("--broker-passwords %s", err);
	for (size_t i = 0; i < s->n; i++) {
		if (!vd_passwords_find(s->passwords, s->fleet[i].device_id))
			return vd_sim_fail("--broker-passwords %s: no password for device %016" PRIx64,
			                   s->o->broker_passwords, s->fleet[i].device_id);
	}
	return 0;
}

static int sim_load(struct sim *s)
{
	char path[SIM_PATH_MAX], err[VD_FLEET_ERR_SIZE];

	_Static_assert(KP_KEYFILE_ERR_SIZE <= VD_FLEET_ERR_SIZE, "err holds both kinds");

	if (kp_keyfile_read_public(s->o->server_pub, s->server_pk, err) != 0)
		return vd_sim_fail("%s", err);
	if (snprintf(path, sizeof path, "%s/%s", s->o->state, VD_FLEET_FILE) >= (int)sizeof path)
		return vd_sim_fail("%s: path too long", s->o->state);
	if (vd_fleet_read(path, &s->fleet, &s->n, err) != 0)
		return vd_sim_fail("%s", err);
	if (s->o->broker_passwords && load_passwords(s) != 0)
		return 1;
	for (size_t i = 0; i < s->n; i++) {
		if (s->fleet[i].kind == VD_KIND_APC)
			s->napcs++;
	}
	s->nvalidators = s->n - s->napcs;
	if (s->nvalidators == 0)
		return vd_sim_fail("%s: no validators", path);
	s->devs = calloc(s->n, sizeof *s->devs);
	if (!s->devs || vd_tapgen_create(s->o->seed, pool_size(s), &s->gen) != 0)
		return vd_sim_fail("out of memory");
	return 0;
}

/* Puts each counter on the vehicle of a validator that has none yet. */
static int pair_counters(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sim_dev *c = &s->devs[i];
		for (size_t j = 0; c->kind == VD_KIND_APC && !c->validator && j < s->n; j++) {
			struct sim_dev *v = &s->devs[j];
			if (v->kind == VD_KIND_VALIDATOR && !v->apc &&
			    s->fleet[j].vehicle_id == s->fleet[i].vehicle_id) {
				v->apc = c;
				c->validator = v;
			}
		}
		if (c->kind == VD_KIND_APC && !c->validator)
			return vd_sim_fail("counter %016" PRIx64 ": no validator of its own on vehicle %" PRIu32,
			                   s->fleet[i].device_id, s->fleet[i].vehicle_id);
	}
	return 0;
}

/* Street cameras on --street-cameras stops of the routes the validators
 * ride (sim_cameras.c), and their link. */
static int cameras_open(struct sim *s)
{
	if (s->o->street_cameras == 0)
		return 0;
	if (vd_sim_cameras_pick(s->fleet, s->n, s->o->street_cameras, s->o->seed,
	                        s->o->frigate_prefix, &s->cams) != 0)
		return 1;
	vd_rng_seed(&s->cam_rng, s->o->seed ^ SIM_CAMERA_SALT);
	if (vd_frigate_mqtt_open(s->o->broker, vd_frigate_sim_available_topic(s->cams),
	                         s->o->publish_timeout_ms, &s->cam_link, s->cam_err) != 0)
		return vd_sim_fail("%s", s->cam_err);
	return 0;
}

static int sim_open(struct sim *s)
{
	vd_rng_seed(&s->rng, s->o->seed ^ SIM_RNG_SALT);
	vd_rng_seed(&s->evade_rng, s->o->seed ^ SIM_EVADE_SALT);
	if (wake_init(s) != 0)
		return 1;
	if (sim_load(s) != 0)
		return 1;
	for (size_t i = 0; i < s->n; i++) {
		if (open_device(s, i) != 0)
			return 1;
	}
	if (pair_counters(s) != 0)
		return 1;
	if (cameras_open(s) != 0)
		return 1;
	plan_offline(s);
	s->start_ms = clock_ms(CLOCK_MONOTONIC);
	for (size_t i = 0; s->o->rate > 0 && i < s->n; i++) {
		if (s->devs[i].kind == VD_KIND_VALIDATOR)
			s->devs[i].next_tap_ms = (double)s->start_ms + vd_rng_unit(&s->rng) * 1000.0 / s->o->rate;
	}
	return 0;
}

/* Disconnect everyone first, so the closes then find their disconnects done. */
static void sim_close(struct sim *s)
{
	for (size_t i = 0; s->devs && i < s->n; i++) {
		if (s->devs[i].dev)
			(void)vd_device_disconnect(s->devs[i].dev); /* close retries whatever is left */
	}
	for (size_t i = 0; s->devs && i < s->n; i++)
		vd_device_close(s->devs[i].dev);
	free(s->devs);
	free(s->fleet);
	free(s->route_hours);
	(void)vd_frigate_mqtt_close(s->cam_link, 0, s->cam_err); /* a failed run: nothing to wait for */
	vd_frigate_sim_destroy(s->cams);
	vd_passwords_free(s->passwords);
	vd_tapgen_destroy(s->gen);
	if (s->wake_ready) {
		pthread_cond_destroy(&s->wake_cond);
		pthread_mutex_destroy(&s->wake_lock);
	}
}

/* The (route, hour) cell of at_ms, made when new; NULL when out of memory. */
static struct vd_sim_route_hour *route_hour(struct sim *s, uint32_t route_id, int64_t at_ms)
{
	int64_t hour_s = at_ms / 1000 - (at_ms / 1000) % 3600;
	size_t i = 0;

	while (i < s->nroute_hours && (s->route_hours[i].route_id < route_id ||
	       (s->route_hours[i].route_id == route_id && s->route_hours[i].hour_s < hour_s)))
		i++;
	if (i < s->nroute_hours && s->route_hours[i].route_id == route_id &&
	    s->route_hours[i].hour_s == hour_s)
		return &s->route_hours[i];
	if (s->nroute_hours == s->route_hours_cap) {
		size_t cap = s->route_hours_cap ? 2 * s->route_hours_cap : SIM_ROUTE_HOURS_MIN;
		struct vd_sim_route_hour *v = realloc(s->route_hours, cap * sizeof *v);
		if (!v)
			return NULL;
		s->route_hours = v;
		s->route_hours_cap = cap;
	}
	memmove(&s->route_hours[i + 1], &s->route_hours[i],
	        (s->nroute_hours - i) * sizeof s->route_hours[i]);
	s->nroute_hours++;
	s->route_hours[i] = (struct vd_sim_route_hour){.route_id = route_id, .hour_s = hour_s};
	return &s->route_hours[i];
}

static int counter_record(struct sim_dev *d, const struct kp_count *c)
{
	if (vd_device_count(d->apc->dev, c) != VD_OK)
		return vd_sim_fail("counter %016" PRIx64 ": %s", vd_device_id(d->apc->dev),
		                   vd_device_error(d->apc->dev));
	return 0;
}

/* The doors close: the counter takes the visit's door cycle and the load
 * after it. */
static int visit_close(struct sim *s, struct sim_dev *d)
{
	struct sim_visit *v = &d->visit;
	struct vd_sim_route_hour *rh = route_hour(s, v->route_id, v->at_ms);
	struct kp_count c = {
		.observed_at = v->at_ms,
		.route_id = v->route_id,
		.stop_id = v->stop_id,
		.vehicle_id = d->veh.vehicle_id,
		.door = SIM_APC_DOOR,
		.kind = KP_COUNT_KIND_DOOR_CYCLE,
		.boardings = v->boardings,
		.alightings = v->alightings,
		.occupancy = d->onboard,
		.confidence = SIM_APC_CONFIDENCE,
	};

	if (!rh)
		return vd_sim_fail("out of memory");
	rh->boardings += v->boardings;
	rh->evaded += v->evaded;
	v->open = 0;
	if (counter_record(d, &c) != 0)
		return 1;
	c.door = 0;
	c.kind = KP_COUNT_KIND_OCCUPANCY;
	c.boardings = 0;
	c.alightings = 0;
	return counter_record(d, &c);
}

/* One rider boards where the vehicle is now; the first opens the visit,
 * and those who were aboard get off first. */
static void visit_board(struct sim *s, struct sim_dev *d, int64_t now, int evades)
{
	struct sim_visit *v = &d->visit;

	if (!v->open) {
		*v = (struct sim_visit){
			.open = 1,
			.at_ms = now,
			.route_id = vd_tapgen_route_id(&d->veh),
			.stop_id = vd_tapgen_stop_id(&d->veh),
			.alightings = (uint16_t)vd_rng_below(&s->evade_rng, (uint64_t)d->onboard + 1),
		};
		d->onboard = (uint16_t)(d->onboard - v->alightings);
	}
	v->boardings++;
	v->evaded = (uint16_t)(v->evaded + evades);
	if (d->onboard < SIM_ONBOARD_MAX)
		d->onboard++;
}

/* The visit is over when the stop's riders are in. */
static int visit_close_if_done(struct sim *s, struct sim_dev *d)
{
	return d->apc && d->visit.open && d->veh.stop_taps == 0 ? visit_close(s, d) : 0;
}

static int camera_publish(void *arg, const struct vd_frigate_message *m)
{
	struct sim *s = arg;

	if (vd_frigate_mqtt_publish(s->cam_link, m->topic, m->payload, m->len, s->cam_err) != 0)
		return -1;
	s->frigate_events++;
	return 0;
}

/* A street camera call failed: a publish (cam_err says why) or memory. */
static int camera_failed(struct sim *s)
{
	return vd_sim_fail("%s", s->cam_err[0] ? s->cam_err : "street cameras: out of memory");
}

/* One rider boards where the vehicle is now; the first of the stop lets
 * those who get off out first. A camera at the stop sees them all. */
static int camera_board(struct sim *s, struct sim_dev *d, int64_t now)
{
	uint32_t stop = vd_tapgen_stop_id(&d->veh);
	int64_t at = d->apc ? d->visit.at_ms : now;

	if (!d->cam_visit) {
		unsigned off = d->apc ? d->visit.alightings
		                      : (unsigned)vd_rng_below(&s->cam_rng, (uint64_t)d->cam_onboard + 1);
		if (!d->apc)
			d->cam_onboard = (uint16_t)(d->cam_onboard - off);
		d->cam_visit = 1;
		for (unsigned i = 0; i < off; i++) {
			if (vd_frigate_sim_alight(s->cams, stop, at, camera_publish, s) != 0)
				return camera_failed(s);
		}
	}
	if (!d->apc && d->cam_onboard < SIM_ONBOARD_MAX)
		d->cam_onboard++;
	if (vd_frigate_sim_board(s->cams, stop, at, camera_publish, s) != 0)
		return camera_failed(s);
	return 0;
}

/* The stop's riders are in: the next rider boards at another stop. */
static void camera_visit_end_if_done(struct sim_dev *d)
{
	if (d->veh.stop_taps == 0)
		d->cam_visit = 0;
}

static int count_tap(struct sim *s, const struct kp_tap *t)
{
	struct vd_sim_route_hour *rh;

	s->taps++;
	if (t->result == KP_TAP_ACCEPTED) {
		s->accepted++;
		s->amount += t->amount;
	} else {
		s->denied++;
	}
	if (s->cams && vd_frigate_sim_tap(s->cams, t->stop_id, t->tapped_at,
	                                  t->result == KP_TAP_ACCEPTED) != 0)
		return vd_sim_fail("out of memory");
	if (s->napcs == 0)
		return 0;
	rh = route_hour(s, t->route_id, t->tapped_at);
	if (!rh)
		return vd_sim_fail("out of memory");
	rh->taps++;
	rh->accepted += t->result == KP_TAP_ACCEPTED;
	return 0;
}

/* Riders board until one taps: each is seen by the vehicle's counter, if it
 * has one, and taps unless they evade (--evasion-rate < 1, so one does). */
static int sim_tap(struct sim *s, struct sim_dev *d)
{
	/* --days-ago: the rider's clock only; frames are sent, resent and
	 * ACKed now. */
	int64_t now = clock_ms(CLOCK_REALTIME) - (int64_t)s->o->days_ago * 86400000;
	struct kp_tap t;
	int evades;
	int rc;

	do {
		vd_tapgen_board(s->gen, &d->veh);
		evades = s->o->evasion_rate > 0 && vd_rng_unit(&s->evade_rng) < s->o->evasion_rate;
		s->boardings++;
		s->evaded += (uint64_t)evades;
		if (d->apc)
			visit_board(s, d, now, evades);
		if (s->cams && camera_board(s, d, now) != 0)
			return 1;
		if (evades && visit_close_if_done(s, d) != 0)
			return 1;
		if (evades)
			camera_visit_end_if_done(d);
	} while (evades);
	vd_tapgen_tap(s->gen, &d->veh, d->apc ? d->visit.at_ms : now, d->offline, &t);
	rc = vd_device_tap(d->dev, &t);
	if (rc != VD_OK)
		return vd_sim_fail("device %016" PRIx64 ": %s", vd_device_id(d->dev),
		                   vd_device_error(d->dev));
	d->taps_done++;
	if (count_tap(s, &t) != 0)
		return 1;
	camera_visit_end_if_done(d);
	return visit_close_if_done(s, d);
}

/* --rate 0: one frame's worth per pass; else the taps whose time has come,
 * at intervals jittered uniformly around 1000/rate ms. */
static int make_taps(struct sim *s, struct sim_dev *d, int64_t now)
{
	uint64_t left = s->o->taps_per_device - d->taps_done;
	double interval = s->o->rate > 0 ? 1000.0 / s->o->rate : 0;

	if (s->o->rate <= 0) {
		for (uint64_t i = 0; i < left && i < s->o->batch; i++) {
			if (sim_tap(s, d) != 0)
				return 1;
		}
		return 0;
	}
	while (left-- > 0 && d->next_tap_ms <= (double)now) {
		if (sim_tap(s, d) != 0)
			return 1;
		d->next_tap_ms += interval * (0.5 + vd_rng_unit(&s->rng));
	}
	return 0;
}

static int offline_step(struct sim *s, struct sim_dev *d, int64_t now)
{
	uint64_t m = s->o->taps_per_device;

	if (d->goes_offline && !d->offline && !d->offline_done && vd_device_online(d->dev) &&
	    d->taps_done >= m / 4) {
		d->offline = 1;
		d->offline_since = now;
		return vd_device_disconnect(d->dev);
	}
	if (d->offline && d->taps_done >= m - m / 4 && now - d->offline_since >= SIM_OFFLINE_MIN_MS) {
		d->offline = 0;
		d->offline_done = 1;
		return vd_device_connect(d->dev, NULL);
	}
	return VD_OK;
}

/* A validator taps; after its last tap its vehicle's counter closes the
 * open visit, and the validator seals its last frame. */
static int validator_step(struct sim *s, struct sim_dev *d, int64_t now)
{
	if (make_taps(s, d, now) != 0)
		return 1;
	if (d->taps_done == s->o->taps_per_device && !d->flushed) {
		if (d->apc && d->visit.open && visit_close(s, d) != 0)
			return 1;
		d->flushed = vd_device_flush(d->dev) == VD_OK;
		if (!d->flushed)
			return vd_sim_fail("device %016" PRIx64 ": %s", vd_device_id(d->dev),
			                   vd_device_error(d->dev));
	}
	return 0;
}

static int device_step(struct sim *s, struct sim_dev *d, int64_t now)
{
	int rc = offline_step(s, d, now);

	if (rc != VD_OK)
		return vd_sim_fail("device %016" PRIx64 ": %s", vd_device_id(d->dev),
		                   vd_device_error(d->dev));
	if (d->kind == VD_KIND_VALIDATOR && validator_step(s, d, now) != 0)
		return 1;
	if (d->kind == VD_KIND_APC && d->validator->flushed && !d->flushed) {
		rc = vd_device_flush(d->dev);
		d->flushed = rc == VD_OK;
	}
	if (rc == VD_OK)
		rc = vd_device_poll(d->dev, now, &d->next_due);
	if (rc != VD_OK)
		return vd_sim_fail("device %016" PRIx64 ": %s", vd_device_id(d->dev),
		                   vd_device_error(d->dev));
	return 0;
}

static int device_done(const struct sim *s, const struct sim_dev *d)
{
	return d->flushed && !d->offline && (!d->goes_offline || d->offline_done) &&
	       vd_device_pending(d->dev) == 0;
}

/* When this device next needs the loop: a tap, a timer, the end of a spell. */
static int64_t device_wake(const struct sim *s, const struct sim_dev *d, int64_t now)
{
	int64_t wake = d->next_due;

	if (d->kind == VD_KIND_VALIDATOR && d->taps_done < s->o->taps_per_device) {
		int64_t tap = s->o->rate > 0 ? (int64_t)ceil(d->next_tap_ms) : now;
		if (tap < wake)
			wake = tap;
	}
	if (d->offline && d->offline_since + SIM_OFFLINE_MIN_MS < wake)
		wake = d->offline_since + SIM_OFFLINE_MIN_MS;
	return wake;
}

static void sim_totals(const struct sim *s, struct vd_sim_totals *t)
{
	*t = (struct vd_sim_totals){
		.devices = s->n,
		.apcs = s->napcs,
		.taps = s->taps,
		.taps_target = s->nvalidators * s->o->taps_per_device,
		.accepted = s->accepted,
		.denied = s->denied,
		.amount = s->amount,
		.elapsed_s = (double)(clock_ms(CLOCK_MONOTONIC) - s->start_ms) / 1000.0,
		.evasion_rate = s->o->evasion_rate,
		.boardings = s->boardings,
		.evaded = s->evaded,
		.route_hours = s->route_hours,
		.nroute_hours = s->nroute_hours,
		.frigate_prefix = s->o->frigate_prefix ? s->o->frigate_prefix : VD_FRIGATE_PREFIX_DEFAULT,
		.frigate_events = s->frigate_events,
	};
	if (s->cams) {
		t->cameras = vd_frigate_sim_cameras(s->cams, &t->ncameras);
		t->stop_hours = vd_frigate_sim_stop_hours(s->cams, &t->nstop_hours);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct vd_device_stats *st = vd_device_stats(s->devs[i].dev);
		t->frames += st->frames;
		t->counts += st->counts;
		t->acks += st->acks;
		t->nacks += st->nacks;
		t->resent += st->resent;
		t->ignored += st->ignored;
		t->remaining += vd_device_pending(s->devs[i].dev);
		t->online += (uint64_t)vd_device_online(s->devs[i].dev);
	}
}

/* One pass over the fleet. Returns 1 on failure, else sets *all_done and
 * *wake (the earliest time any device needs the loop again). */
static int sim_pass(struct sim *s, int64_t now, int *all_done, int64_t *wake)
{
	*all_done = 1;
	*wake = now + SIM_WAIT_MAX_MS;
	for (size_t i = 0; i < s->n; i++) {
		struct sim_dev *d = &s->devs[i];
		int64_t w;
		if (device_step(s, d, now) != 0)
			return 1;
		if (!device_done(s, d))
			*all_done = 0;
		w = device_wake(s, d, now);
		if (w < *wake)
			*wake = w;
	}
	return 0;
}

static int report_timeout(const struct sim *s)
{
	size_t boxes = 0, offline = 0;
	uint64_t frames = 0;

	for (size_t i = 0; i < s->n; i++) {
		size_t p = vd_device_pending(s->devs[i].dev);
		frames += p;
		boxes += p > 0;
		offline += !vd_device_online(s->devs[i].dev);
	}
	return vd_sim_fail("timeout after %" PRIu64 " s: %" PRIu64 " frames remain in %zu outboxes"
	                   " (%zu of %zu devices not connected)",
	                   s->o->timeout_s, frames, boxes, offline, s->n);
}

static void maybe_progress(const struct sim *s, int64_t now, int64_t *last)
{
	struct vd_sim_totals t;

	if (s->o->quiet || now - *last < SIM_PROGRESS_MS)
		return;
	*last = now;
	sim_totals(s, &t);
	vd_sim_progress(&t);
}

static int sim_loop(struct sim *s)
{
	int64_t deadline = s->start_ms + (int64_t)s->o->timeout_s * 1000;
	int64_t last_progress = s->start_ms;

	for (;;) {
		int64_t now = clock_ms(CLOCK_MONOTONIC), wake;
		int all_done;
		if (sim_interrupted)
			return vd_sim_fail("interrupted by signal %d", (int)sim_interrupted);
		if (sim_pass(s, now, &all_done, &wake) != 0)
			return 1;
		if (all_done)
			return 0;
		if (now >= deadline) {
			maybe_progress(s, now, &(int64_t){INT64_MIN / 2});
			return report_timeout(s);
		}
		maybe_progress(s, now, &last_progress);
		if (wake > now)
			sim_wait(s, wake < deadline ? wake : deadline);
	}
}

static int sim_report(const struct sim *s, int rc)
{
	struct vd_sim_totals t;

	sim_totals(s, &t);
	if (!s->o->quiet && rc == 0)
		vd_sim_progress(&t);
	if (s->o->summary && vd_sim_write_summary(s->o->summary, &t) != 0)
		rc = 1;
	if (s->o->tokens_out && vd_tapgen_write_tokens(s->gen, s->o->tokens_out) != 0)
		rc = vd_sim_fail("--tokens-out %s: %s", s->o->tokens_out, strerror(errno));
	return rc;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The caller has called sodium_init(). */
int vd_sim_run(const struct vd_sim_run_opts *o)
{
	struct sim s = {.o = o};
	int rc;

	raise_fd_limit();
	catch_signals();
	rc = sim_open(&s);
	if (rc == 0) {
		rc = sim_loop(&s);
		if (s.cam_link) { /* every camera event delivered before the summary says so */
			int cam_rc = vd_frigate_mqtt_close(s.cam_link, rc == 0, s.cam_err);
			s.cam_link = NULL;
			if (cam_rc != 0 && rc == 0)
				rc = vd_sim_fail("%s", s.cam_err);
		}
		rc = sim_report(&s, rc);
	}
	sim_close(&s);
	return rc;
}
