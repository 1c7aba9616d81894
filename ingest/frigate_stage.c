/*
 * frigate_stage.c — Frigate messages to NVR rows and counts, in groups.
 *
 * Each event is prepared alone (parse, window, one short read transaction
 * for the camera and the vehicle position) into a row of the pending group,
 * with what kp_frigate_count_decide said for each direction. The metrics of
 * a row are added only after its group is committed, from the row's
 * `counted`, so a retried group is never counted twice in /metrics either.
 * A read transaction is never open while this thread commits (db.h).
 */
#include "ingest/frigate_stage.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/clock.h"
#include "ingest/frigate_count.h"
#include "ingest/frigate_event.h"
#include "ingest/thread_attr.h"
#include "storage/cameras.h"
#include "storage/derive.h"
#include "storage/nvr.h"
#include "storage/nvr_session.h"
#include "storage/service_day.h"
#include "storage/vehicle_pos.h"

#define TICK_MS 1000
#define RETRY_MS 1000
#define RETRIES_WHEN_STOPPING 3
#define ALIVE_EVERY_MS 60000

struct kp_frigate_stage {
	struct kp_frigate_stage_ctx ctx;
	pthread_t thread;
	atomic_int stopping;
	/* The pending group: rows[0..n) and, per direction, the outcome before
	 * the commit (KP_FRIGATE_COUNTED there means "wanted": the commit decides). */
	struct st_nvr_event *rows;
	int (*outcome)[2];
	size_t n, max;
	struct kp_frigate_event ev; /* large: parsed here, not on the stack */
	uint64_t offline_since_ns;  /* monotonic; 0 unless offline */
	int64_t taken_at;           /* received_at of the last message taken */
	int64_t alive_at;           /* the session marker's time; 0 without a session */
	int lost;                   /* something taken was given up: the run did not end clean */
};

int kp_frigate_msg_copy(struct kp_frigate_msg *msg, uint8_t topic, const void *payload, size_t len,
                        int64_t received_at)
{
	memset(msg, 0, sizeof(*msg));
	msg->payload = malloc(len > 0 ? len : 1);
	if (!msg->payload)
		return -1;
	if (len > 0)
		memcpy(msg->payload, payload, len);
	msg->topic = topic;
	msg->len = len;
	msg->received_at = received_at;
	return 0;
}

void kp_frigate_msg_free(struct kp_frigate_msg *msg)
{
	free(msg->payload);
	memset(msg, 0, sizeof(*msg));
}

static void add(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static void reject(struct kp_frigate_stage *s, int reason)
{
	add(&s->ctx.m->frigate_rejected[reason], 1);
}

/* The offline alarm, from this thread's own clock: no Paho, no loop. */
static void tick(struct kp_frigate_stage *s)
{
	struct kp_metrics *m = s->ctx.m;
	int alarm = s->offline_since_ns != 0 &&
	            kp_now_mono_ns() - s->offline_since_ns >= (uint64_t)s->ctx.cfg.offline_alarm_s * 1000000000u;

	if (alarm && !atomic_load(&m->frigate_offline_alarm))
		fprintf(stderr, "komposterd: ALARM: Frigate offline for %d s or more: its cameras count nothing\n",
		        s->ctx.cfg.offline_alarm_s);
	atomic_store(&m->frigate_offline_alarm, alarm);
}

/* After a failed write: wait a second (keeping the alarm ticking) and say
 * whether to try again. Stopping, give up after a few more tries. */
static int retry_wait(struct kp_frigate_stage *s, int *attempt)
{
	if (atomic_load(&s->stopping) && ++*attempt > RETRIES_WHEN_STOPPING)
		return 0;
	kp_sleep_ms(RETRY_MS);
	tick(s);
	return 1;
}

/* A failed write's alarm, as the writer raises it: counted every time,
 * logged on the 1st, 2nd, 4th, 8th... try of one write. */
static void storage_alarm(struct kp_frigate_stage *s, int rc, const char *what, size_t n, unsigned tries)
{
	struct kp_metrics *m = s->ctx.m;

	atomic_store(&s->ctx.health->storage_ok, 0);
	add(rc == ST_EFULL ? &m->storage_full : &m->storage_errors, 1);
	if ((tries & (tries - 1)) != 0)
		return;
	if (rc == ST_EFULL) {
		fprintf(stderr, "komposterd: ALARM: storage full (map %zu bytes): %s (%zu) waits and is retried\n",
		        st_db_map_size(s->ctx.db), what, n);
	} else {
		fprintf(stderr, "komposterd: ALARM: %s (%zu) not stored: %s (%s); retried\n", what, n,
		        st_strerror(rc), mdb_strerror(st_last_error()));
	}
}

/* A full map or disk, or an I/O error, may clear: wait and retry. Any other
 * status (a record that does not decode, a bad argument) never will, and a
 * retry forever would stall the ring and Paho's receive thread behind it. */
static int transient(int rc)
{
	return rc == ST_EFULL || rc == ST_EIO;
}

/* Gives n events up, with the one ALARM line a decision to lose data gets. */
static void give_up(struct kp_frigate_stage *s, const char *what, size_t n, int rc)
{
	fprintf(stderr, "komposterd: ALARM: %zu %s given up (%s)\n", n, what, st_strerror(rc));
	add(&s->ctx.m->frigate_dropped_storage, n);
	s->lost = 1;
}

static void storage_good(struct kp_frigate_stage *s)
{
	atomic_store(&s->ctx.health->storage_ok, 1);
	atomic_store_explicit(&s->ctx.m->map_size_bytes, st_db_map_size(s->ctx.db), memory_order_relaxed);
}

static void count_outcomes(struct kp_frigate_stage *s, const int outcome[2])
{
	for (int d = 0; d < 2; d++)
		add(&s->ctx.m->frigate_outcomes[d][outcome[d]], 1);
}

/* Stores the pending group; on failure waits and tries again (the intake
 * waits meanwhile), giving up only while stopping. */
static void flush(struct kp_frigate_stage *s)
{
	static const unsigned bit[2] = { ST_NVR_BOARDED, ST_NVR_ALIGHTED };
	struct st_nvr_limits limits = { .counted_max = s->ctx.cfg.counted_max };
	int attempt = 0, rc;
	unsigned tries = 0;

	if (s->n == 0)
		return;
	for (;;) {
		struct st_nvr_stats stats = { 0 };

		for (size_t i = 0; i < s->n; i++)
			s->rows[i].counted = 0;
		rc = st_nvr_commit(s->ctx.db, s->rows, s->n, &limits, &stats);
		if (rc == ST_OK)
			break;
		storage_alarm(s, rc, "Frigate events", s->n, ++tries);
		if (!transient(rc) || !retry_wait(s, &attempt)) {
			give_up(s, "Frigate events", s->n, rc);
			s->n = 0;
			return;
		}
	}
	storage_good(s);
	for (size_t i = 0; i < s->n; i++) {
		int *outcome = s->outcome[i];

		for (int d = 0; d < 2; d++) {
			if (outcome[d] != KP_FRIGATE_COUNTED)
				continue;
			if (s->rows[i].counted & bit[d])
				add(d == 0 ? &s->ctx.m->frigate_boardings : &s->ctx.m->frigate_alightings, 1);
			else
				outcome[d] = KP_FRIGATE_ALREADY_COUNTED;
		}
		count_outcomes(s, outcome);
	}
	s->n = 0;
}

static int in_window(const struct kp_frigate_stage_config *cfg, int64_t t, int64_t now_ms)
{
	return t >= now_ms - (int64_t)cfg->accept_past_days * 86400000 &&
	       t <= now_ms + (int64_t)cfg->accept_future_s * 1000;
}

/* Entered zones ','-joined, whole zones only: a list longer than a row
 * holds keeps its first zones (the count was decided on the whole list). */
static void join_zones(const struct kp_frigate_zones *z, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < z->n; i++) {
		size_t len = strlen(z->name[i]);
		if (used + (i > 0) + len >= size)
			return;
		if (i > 0)
			out[used++] = ',';
		memcpy(out + used, z->name[i], len);
		used += len;
		out[used] = '\0';
	}
}

static int64_t ms_of(double seconds)
{
	return (int64_t)llround(seconds * 1000.0);
}

/* The row of a parsed event, without its cell. */
static void fill_row(struct st_nvr_event *row, const struct kp_frigate_event *ev, int64_t received_at)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->camera, sizeof(row->camera), "%s", ev->camera);
	snprintf(row->id, sizeof(row->id), "%s", ev->id);
	snprintf(row->label, sizeof(row->label), "%s", ev->label);
	row->type = (uint8_t)(ev->type == KP_FRIGATE_NEW ? ST_NVR_NEW :
	                      ev->type == KP_FRIGATE_UPDATE ? ST_NVR_UPDATE : ST_NVR_END);
	row->false_positive = ev->false_positive;
	row->has_clip = ev->has_clip;
	row->start = ms_of(ev->start_time);
	row->end = ev->has_end_time ? ms_of(ev->end_time) : 0;
	join_zones(&ev->entered_zones, row->zones, sizeof(row->zones));
	row->received_at = received_at;
}

/* Looks the camera and, onboard, its vehicle up. ST_OK with *cam filled and
 * *pos found or not (pos->vehicle_id 0), ST_ENOTFOUND for an unmapped
 * camera, another status when the database could not be read. */
static int look_up(struct kp_frigate_stage *s, const char *camera, struct st_camera *cam,
                   struct st_vehicle_pos *pos)
{
	struct st_read r;
	int rc = st_read_begin(s->ctx.db, &r);

	memset(pos, 0, sizeof(*pos));
	if (rc != ST_OK)
		return rc;
	rc = st_camera_get(&r, camera, cam);
	if (rc == ST_OK && cam->place == ST_CAMERA_ONBOARD && st_read_current(&r) != ST_OK)
		return ST_EIO; /* r ended: st_read_begin failed */
	if (rc == ST_OK && cam->place == ST_CAMERA_ONBOARD) {
		int prc = st_vehicle_pos_get(&r, cam->vehicle_id, pos);
		if (prc == ST_ENOTFOUND)
			memset(pos, 0, sizeof(*pos));
		else if (prc != ST_OK)
			rc = prc;
	}
	st_read_end(&r);
	return rc;
}

/* Where the counts of this camera's event go: 0 with *cell, 1 when an
 * onboard camera's vehicle has no usable position (none, route 0, or one
 * further than position_max_age_s from start), -1 when start is outside
 * the service calendar. */
static int cell_of(struct kp_frigate_stage *s, const struct st_camera *cam, const struct st_vehicle_pos *pos,
                   int64_t start, struct st_door_agg_key *cell)
{
	const struct st_options *opts = st_db_options(s->ctx.db);
	struct st_when when;

	if (st_service_day(st_db_zone(s->ctx.db), start, opts->service_day_start_hour, &when) != 0)
		return -1;
	*cell = (struct st_door_agg_key){
		.service_date = when.service_date,
		.hour = when.hour,
		.source = ST_COUNT_SOURCE_NVR,
	};
	if (cam->place == ST_CAMERA_STREET) {
		cell->stop_id = cam->stop_id;
		return 0;
	}
	if (pos->vehicle_id == 0 || pos->route_id == 0 ||
	    llabs(start - pos->at) > (int64_t)s->ctx.cfg.position_max_age_s * 1000)
		return 1; /* never seen, off route, or seen too long before or after */
	cell->route_id = pos->route_id;
	cell->stop_id = pos->stop_id;
	cell->door = cam->door;
	return 0;
}

/* Parses and prepares one event into the next pending row (or only counts
 * it, refused or unmapped). The group is flushed first when full. */
static void take_event(struct kp_frigate_stage *s, const struct kp_frigate_msg *msg)
{
	struct kp_frigate_event *ev = &s->ev;
	struct st_camera cam;
	struct st_vehicle_pos pos;
	struct st_door_agg_key cell;
	int attempt = 0, rc, where;
	unsigned tries = 0;

	enum kp_frigate_err err = kp_frigate_event_parse(msg->payload, msg->len, ev);
	if (err != KP_FRIGATE_OK) {
		reject(s, err);
		return;
	}
	int64_t start = ms_of(ev->start_time);
	if (!in_window(&s->ctx.cfg, start, kp_now_ms())) {
		reject(s, KP_FRIGATE_REJECT_OUT_OF_WINDOW);
		return;
	}
	while ((rc = look_up(s, ev->camera, &cam, &pos)) != ST_OK && rc != ST_ENOTFOUND) {
		storage_alarm(s, rc, "a Frigate event's camera lookup", 1, ++tries);
		if (!transient(rc) || !retry_wait(s, &attempt)) {
			give_up(s, "Frigate events (camera lookup)", 1, rc);
			return;
		}
	}
	if (rc == ST_ENOTFOUND) {
		struct kp_frigate_decision d = kp_frigate_count_decide(NULL, ev, 0);
		add(&s->ctx.m->frigate_unmapped_events, 1);
		count_outcomes(s, (int[2]){ d.boarding, d.alighting });
		return;
	}
	where = cell_of(s, &cam, &pos, start, &cell);
	if (where < 0) {
		reject(s, KP_FRIGATE_REJECT_OUT_OF_WINDOW);
		return;
	}

	struct kp_frigate_camera_zones zones = { cam.boarding_zone, cam.alighting_zone };
	struct kp_frigate_decision d = kp_frigate_count_decide(&zones, ev, 0);
	if (strcmp(ev->label, KP_FRIGATE_PERSON) != 0) {
		count_outcomes(s, (int[2]){ d.boarding, d.alighting }); /* rows only for what is counted */
		return;
	}
	if (s->n == s->max)
		flush(s);
	struct st_nvr_event *row = &s->rows[s->n];
	int *outcome = s->outcome[s->n];

	s->n++;
	fill_row(row, ev, msg->received_at);
	row->vehicle_id = cam.place == ST_CAMERA_ONBOARD ? cam.vehicle_id : 0; /* its vehicle's hour too */
	outcome[0] = (int)d.boarding;
	outcome[1] = (int)d.alighting;
	for (int i = 0; i < 2; i++) {
		if (outcome[i] != KP_FRIGATE_COUNTED)
			continue;
		if (where == 1) {
			outcome[i] = KP_FRIGATE_OUTCOME_NO_VEHICLE_POSITION;
			continue;
		}
		row->want |= i == 0 ? ST_NVR_BOARDED : ST_NVR_ALIGHTED;
	}
	if (row->want)
		row->cell = cell;
}

/* "online", "offline", and 0.18's "stopped" (a clean shutdown): 1, 0; -1
 * for anything else. */
static int availability(const struct kp_frigate_msg *msg)
{
	static const struct { const char *text; int online; } states[] = {
		{ "online", 1 }, { "offline", 0 }, { "stopped", 0 },
	};

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (msg->len == strlen(states[i].text) && memcmp(msg->payload, states[i].text, msg->len) == 0)
			return states[i].online;
	return -1;
}

static void take_available(struct kp_frigate_stage *s, const struct kp_frigate_msg *msg)
{
	int online = availability(msg), attempt = 0, rc;
	unsigned tries = 0;

	if (online < 0) {
		reject(s, KP_FRIGATE_REJECT_BAD_AVAILABLE);
		return;
	}
	flush(s); /* the events Frigate sent before it went away go first */
	if (!online && s->offline_since_ns == 0)
		s->offline_since_ns = kp_now_mono_ns();
	if (online)
		s->offline_since_ns = 0;
	atomic_store(&s->ctx.m->frigate_available, online);
	tick(s);
	while ((rc = st_nvr_set_available(s->ctx.db, online, msg->received_at)) != ST_OK) {
		storage_alarm(s, rc, "Frigate's availability", 1, ++tries);
		if (!transient(rc) || !retry_wait(s, &attempt)) {
			s->lost = 1;
			fprintf(stderr, "komposterd: ALARM: Frigate %s at %lld not stored\n",
			        online ? "online" : "offline", (long long)msg->received_at);
			return;
		}
	}
	storage_good(s);
}

static void take(struct kp_frigate_stage *s, struct kp_frigate_msg *msg)
{
	s->taken_at = msg->received_at;
	if (msg->topic == KP_FRIGATE_TOPIC_AVAILABLE)
		take_available(s, msg);
	else
		take_event(s, msg);
	kp_frigate_msg_free(msg);
}

/* The session (nvr_session.h): a previous run that did not end clean
 * leaves an outage over what it may have lost. A lasting error runs
 * without one (ALARM): counting goes on, a crash would go unmarked. */
static void session_begin(struct kp_frigate_stage *s)
{
	int64_t now = kp_now_ms(), gap = 0;
	int attempt = 0, rc;
	unsigned tries = 0;

	while ((rc = st_nvr_session_begin(s->ctx.db, now, &gap)) != ST_OK) {
		storage_alarm(s, rc, "the Frigate session marker", 1, ++tries);
		if (!transient(rc) || !retry_wait(s, &attempt)) {
			fprintf(stderr, "komposterd: ALARM: no Frigate session marker (%s): a crash would not be "
			        "marked as missing NVR data\n", st_strerror(rc));
			return;
		}
	}
	storage_good(s);
	s->alive_at = now;
	if (gap != 0)
		fprintf(stderr, "komposterd: the last run did not stop cleanly: NVR data from %lld to %lld "
		        "may be missing (stored as an outage)\n", (long long)gap, (long long)now);
}

/* Moves the marker, about once a minute, to a time before which every
 * message received has been taken: now when the ring is empty, else the
 * last taken message's receipt (messages are taken in order). */
static void session_alive(struct kp_frigate_stage *s)
{
	int64_t now = kp_now_ms();
	int64_t at = kp_ring_depth(s->ctx.in) == 0 ? now : s->taken_at;
	int rc;

	if (s->alive_at == 0 || s->n != 0 || at - s->alive_at < ALIVE_EVERY_MS)
		return;
	rc = st_nvr_session_alive(s->ctx.db, at);
	if (rc != ST_OK) {
		storage_alarm(s, rc, "the Frigate session marker", 1, 1);
		return; /* the older marker stays: a crash now only marks more */
	}
	s->alive_at = at;
}

static void session_end(struct kp_frigate_stage *s)
{
	int rc;

	if (s->alive_at == 0 || s->lost)
		return; /* the marker stays: the next run marks what was lost */
	rc = st_nvr_session_end(s->ctx.db);
	if (rc != ST_OK)
		fprintf(stderr, "komposterd: the Frigate session marker stays (%s): the next run marks an outage\n",
		        st_strerror(rc));
}

static void *stage_main(void *arg)
{
	struct kp_frigate_stage *s = arg;
	struct kp_ring *in = s->ctx.in;
	struct kp_frigate_msg msg;

	if (s->ctx.cfg.session)
		session_begin(s);
	for (;;) {
		int rc = kp_ring_pop(in, &msg, kp_now_mono_ns() + (uint64_t)TICK_MS * 1000000u);
		if (rc < 0)
			break;
		if (rc == 0) {
			uint64_t deadline = kp_now_mono_ns() + (uint64_t)s->ctx.cfg.group_max_wait_ms * 1000000u;
			take(s, &msg);
			while (s->n < s->max && kp_ring_pop(in, &msg, deadline) == 0)
				take(s, &msg);
			atomic_store_explicit(&s->ctx.m->frigate_queue_depth, (int_fast64_t)kp_ring_depth(in),
			                      memory_order_relaxed);
			flush(s);
		}
		tick(s);
		session_alive(s);
	}
	flush(s);
	session_end(s);
	return NULL;
}

static void stage_free(struct kp_frigate_stage *s)
{
	free(s->rows);
	free(s->outcome);
	free(s);
}

int kp_frigate_stage_start(const struct kp_frigate_stage_ctx *ctx, struct kp_frigate_stage **out)
{
	struct kp_frigate_stage *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->ctx = *ctx;
	s->max = ctx->cfg.group_max_events > 0 ? (size_t)ctx->cfg.group_max_events : 1;
	s->rows = calloc(s->max, sizeof(*s->rows));
	s->outcome = calloc(s->max, sizeof(*s->outcome));
	if (!s->rows || !s->outcome || pthread_create(&s->thread, NULL, stage_main, s) != 0) {
		stage_free(s);
		return -1;
	}
	(void)kp_thread_name(s->thread, "kp-frigate"); /* unnamed works the same (thread_attr.h) */
	*out = s;
	return 0;
}

void kp_frigate_stage_join(struct kp_frigate_stage *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	pthread_join(s->thread, NULL);
	stage_free(s);
}
