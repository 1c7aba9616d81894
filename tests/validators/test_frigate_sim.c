/*
 * Description: the street cameras of validator-sim, without a broker: every
 * payload they make parses as a Frigate event (kp_frigate_event_parse), and
 * replayed through the daemon's counting rule (kp_frigate_count_apply, each
 * camera mapped to its boarding and alighting zones) counts per (stop, hour
 * of start_time) exactly the boardings and alightings of the simulator's
 * stop_hours tally, the one the summary prints; the distractions (a car, a
 * false positive, a person outside the zones, a repeated end) count nothing;
 * each object has an id of its own, "<start_time>-<6 lowercase alnum>"; a
 * seed gives the same bytes again, another seed other bytes.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/frigate_count.h"
#include "ingest/frigate_event.h"
#include "validators/frigate_sim.h"
#include "validators/tapgen.h"

#define ROUTES 3
#define CAMERAS 6
#define RIDERS 3000
#define T0_MS 1717398000000LL /* 07:00 UTC; the riders fill about six hours */
#define STEP_MS 7300
#define CELLS_MAX 256
#define RECORDS 4096
#define IDS_MAX 20000

struct cell {
	uint32_t stop_id;
	int64_t hour_s;
	uint64_t boardings, alightings, taps, accepted;
};

struct replay {
	const struct vd_frigate_camera *cams;
	size_t ncams;
	struct kp_frigate_counted set;
	struct kp_frigate_counted_record records[RECORDS];
	struct cell cells[CELLS_MAX];
	size_t ncells;
	uint64_t messages, by_object[VD_FRIGATE_OBJ_COUNT];
	uint64_t distraction_counts; /* counted boardings or alightings of distractions */
	char (*ids)[KP_FRIGATE_ID_MAX + 1];
	size_t nids;
	char last_id[KP_FRIGATE_ID_MAX + 1];
	char *bytes; /* every topic and payload, for comparing runs */
	size_t nbytes, cap;
};

static struct cell *cell(struct cell *cells, size_t *n, uint32_t stop_id, int64_t hour_s)
{
	for (size_t i = 0; i < *n; i++) {
		if (cells[i].stop_id == stop_id && cells[i].hour_s == hour_s)
			return &cells[i];
	}
	cr_assert_lt(*n, CELLS_MAX);
	cells[*n] = (struct cell){.stop_id = stop_id, .hour_s = hour_s};
	return &cells[(*n)++];
}

static const struct vd_frigate_camera *camera_named(const struct replay *r, const char *name)
{
	for (size_t i = 0; i < r->ncams; i++) {
		if (!strcmp(r->cams[i].name, name))
			return &r->cams[i];
	}
	return NULL;
}

static void keep_bytes(struct replay *r, const char *p, size_t len)
{
	if (r->nbytes + len > r->cap) {
		r->cap = 2 * (r->nbytes + len);
		r->bytes = realloc(r->bytes, r->cap);
		cr_assert_not_null(r->bytes);
	}
	memcpy(r->bytes + r->nbytes, p, len);
	r->nbytes += len;
}

/* "<start_time with 6 decimals>-<6 of [0-9a-z]>", a new id for each object. */
static void check_id(struct replay *r, const struct kp_frigate_event *ev,
                     const struct vd_frigate_message *m)
{
	char start[40];
	size_t n = (size_t)snprintf(start, sizeof start, "%.6f-", ev->start_time);

	cr_assert_eq(strncmp(ev->id, start, n), 0, "id %s, start_time %.6f", ev->id, ev->start_time);
	cr_assert_eq(strlen(ev->id), n + 6, "id %s", ev->id);
	for (size_t i = n; i < n + 6; i++)
		cr_assert(islower((unsigned char)ev->id[i]) || isdigit((unsigned char)ev->id[i]), "id %s", ev->id);
	if (m->object == VD_FRIGATE_OBJ_REPEATED_END || !strcmp(ev->id, r->last_id))
		return;
	/* an object's messages come together: a new id is a new object */
	cr_assert_eq(ev->type, m->object == VD_FRIGATE_OBJ_FALSE_POSITIVE ? KP_FRIGATE_UPDATE : KP_FRIGATE_NEW,
	             "first message of %s", ev->id);
	cr_assert_lt(r->nids, IDS_MAX);
	strcpy(r->ids[r->nids++], ev->id);
	strcpy(r->last_id, ev->id);
}

static int replay_message(void *arg, const struct vd_frigate_message *m)
{
	struct replay *r = arg;
	struct kp_frigate_event ev;
	struct kp_frigate_decision d;
	struct kp_frigate_camera_zones zones = {VD_FRIGATE_BOARDING_ZONE, VD_FRIGATE_ALIGHTING_ZONE};
	enum kp_frigate_err err;
	const struct vd_frigate_camera *cam;

	cr_assert_eq(m->len, strlen(m->payload));
	keep_bytes(r, m->topic, strlen(m->topic) + 1);
	keep_bytes(r, m->payload, m->len + 1);
	err = kp_frigate_event_parse(m->payload, m->len, &ev);
	cr_assert_eq(err, KP_FRIGATE_OK, "%s: %.200s", kp_frigate_err_name(err), m->payload);
	cam = camera_named(r, ev.camera);
	cr_assert_not_null(cam, "camera %s", ev.camera);
	cr_assert_eq(cam->stop_id, m->stop_id);
	check_id(r, &ev, m);
	if (ev.type == KP_FRIGATE_END)
		cr_assert(ev.has_end_time && ev.has_clip && ev.end_time >= ev.start_time, "%s", ev.id);
	else
		cr_assert(!ev.has_end_time, "%s", ev.id);
	cr_assert_eq(kp_frigate_count_apply(&r->set, &zones, &ev, &d), 0);
	r->messages++;
	r->by_object[m->object]++;
	if (m->object != VD_FRIGATE_OBJ_BOARDING && m->object != VD_FRIGATE_OBJ_ALIGHTING) {
		r->distraction_counts += (d.boarding == KP_FRIGATE_COUNTED) + (d.alighting == KP_FRIGATE_COUNTED);
		return 0;
	}
	/* the daemon dates a count by start_time */
	int64_t start_s = (int64_t)floor(ev.start_time);
	struct cell *c = cell(r->cells, &r->ncells, cam->stop_id, start_s - start_s % 3600);
	c->boardings += d.boarding == KP_FRIGATE_COUNTED;
	c->alightings += d.alighting == KP_FRIGATE_COUNTED;
	cr_assert(m->object == VD_FRIGATE_OBJ_BOARDING ? d.alighting != KP_FRIGATE_COUNTED
	                                               : d.boarding != KP_FRIGATE_COUNTED);
	return 0;
}

static void replay_init(struct replay *r, const struct vd_frigate_sim *fs)
{
	memset(r, 0, sizeof *r);
	r->cams = vd_frigate_sim_cameras(fs, &r->ncams);
	cr_assert_eq(kp_frigate_counted_init(&r->set, r->records, RECORDS), 0);
	r->ids = calloc(IDS_MAX, sizeof *r->ids);
	cr_assert_not_null(r->ids);
}

static void replay_free(struct replay *r)
{
	free(r->ids);
	free(r->bytes);
}

/* The stops three vehicles ride, as validator-sim's fleet would. */
static size_t network_stops(uint32_t *stops)
{
	size_t n = 0;

	for (unsigned route = 0; route < ROUTES; route++) {
		for (unsigned stop = 0; stop < VD_TAPGEN_STOPS; stop++)
			stops[n++] = vd_tapgen_stop_at(route, stop);
	}
	return n;
}

/* A small run: riders board at stops of the network every STEP_MS, most tap
 * (some taps denied), some ride on and alight; the taps the test expects at
 * camera stops go into expected (boardings and alightings stay 0 there). */
static struct vd_frigate_sim *run(uint64_t seed, struct replay *r, struct cell *expected,
                                  size_t *nexpected)
{
	uint32_t stops[ROUTES * VD_TAPGEN_STOPS];
	size_t nstops = network_stops(stops);
	struct vd_frigate_sim *fs;
	uint64_t x = seed;

	cr_assert_eq(vd_frigate_sim_create(seed, "frigate", stops, nstops, CAMERAS, &fs), 0);
	replay_init(r, fs);
	*nexpected = 0;
	for (int i = 0; i < RIDERS; i++) {
		int64_t at = T0_MS + (int64_t)i * STEP_MS;
		uint32_t stop;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* a stop at random */
		stop = stops[(x >> 33) % nstops];
		cr_assert_eq(vd_frigate_sim_board(fs, stop, at, replay_message, r), 0);
		if (i % 5 != 0) { /* one in five evades */
			int accepted = i % 11 != 0;
			cr_assert_eq(vd_frigate_sim_tap(fs, stop, at, accepted), 0);
			for (size_t k = 0; k < r->ncams; k++) {
				if (r->cams[k].stop_id != stop)
					continue;
				struct cell *c = cell(expected, nexpected, stop, at / 1000 - at / 1000 % 3600);
				c->taps++;
				c->accepted += (uint64_t)accepted;
			}
		}
		if (i % 3 == 0)
			cr_assert_eq(vd_frigate_sim_alight(fs, stops[(i * 7) % nstops], at, replay_message, r), 0);
	}
	return fs;
}

TestSuite(frigate_sim);

Test(frigate_sim, replayed_events_count_exactly_the_stop_hours)
{
	static struct replay r;
	struct cell expected[CELLS_MAX];
	size_t nexpected, nh;
	struct vd_frigate_sim *fs = run(7, &r, expected, &nexpected);
	const struct vd_frigate_stop_hour *h = vd_frigate_sim_stop_hours(fs, &nh);
	uint64_t boardings = 0, alightings = 0;

	cr_assert_eq(r.ncams, CAMERAS);
	cr_assert_gt(nh, CAMERAS, "several hours at each camera");
	for (size_t i = 0; i < nh; i++) {
		struct cell *c = cell(r.cells, &r.ncells, h[i].stop_id, h[i].hour_s);
		struct cell *e = cell(expected, &nexpected, h[i].stop_id, h[i].hour_s);
		cr_assert(i == 0 || h[i - 1].stop_id < h[i].stop_id ||
		          (h[i - 1].stop_id == h[i].stop_id && h[i - 1].hour_s < h[i].hour_s));
		cr_expect_eq(c->boardings, h[i].boardings, "stop %u hour %lld", h[i].stop_id, (long long)h[i].hour_s);
		cr_expect_eq(c->alightings, h[i].alightings, "stop %u hour %lld", h[i].stop_id, (long long)h[i].hour_s);
		cr_expect_eq(e->taps, h[i].taps);
		cr_expect_eq(e->accepted, h[i].accepted);
		boardings += h[i].boardings;
		alightings += h[i].alightings;
	}
	/* nothing counted outside the tally's cells */
	cr_assert_eq(r.ncells, nh);
	cr_assert_eq(nexpected, nh);
	cr_assert_gt(boardings, 100);
	cr_assert_gt(alightings, 30);
	cr_assert_eq(r.by_object[VD_FRIGATE_OBJ_BOARDING] >= 3 * boardings, 1);
	vd_frigate_sim_destroy(fs);
	replay_free(&r);
}

Test(frigate_sim, distractions_come_and_count_nothing)
{
	static struct replay r;
	struct cell expected[CELLS_MAX];
	size_t nexpected;
	struct vd_frigate_sim *fs = run(11, &r, expected, &nexpected);

	for (int k = VD_FRIGATE_OBJ_CAR; k < VD_FRIGATE_OBJ_COUNT; k++)
		cr_expect_gt(r.by_object[k], 0, "distraction %d never came", k);
	cr_assert_eq(r.distraction_counts, 0);
	vd_frigate_sim_destroy(fs);
	replay_free(&r);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(frigate_sim, every_object_has_an_id_of_its_own)
{
	static struct replay r;
	struct cell expected[CELLS_MAX];
	size_t nexpected;
	struct vd_frigate_sim *fs = run(3, &r, expected, &nexpected);
	size_t nh;
	const struct vd_frigate_stop_hour *h = vd_frigate_sim_stop_hours(fs, &nh);
	uint64_t persons = 0;

	for (size_t i = 0; i < nh; i++)
		persons += h[i].boardings + h[i].alightings;
	cr_assert_gt(persons, 100);
	cr_assert_gt(r.nids, persons, "every person and some distractions");
	qsort(r.ids, r.nids, sizeof *r.ids, cmp_id);
	for (size_t i = 1; i < r.nids; i++)
		cr_assert_str_neq(r.ids[i - 1], r.ids[i]);
	vd_frigate_sim_destroy(fs);
	replay_free(&r);
}

Test(frigate_sim, same_seed_same_bytes_other_seed_other_bytes)
{
	static struct replay a, b, c;
	struct cell expected[CELLS_MAX];
	size_t nexpected;
	struct vd_frigate_sim *fa = run(5, &a, expected, &nexpected);
	struct vd_frigate_sim *fb = run(5, &b, expected, &nexpected);
	struct vd_frigate_sim *fc = run(6, &c, expected, &nexpected);

	cr_assert_eq(a.nbytes, b.nbytes);
	cr_assert_eq(memcmp(a.bytes, b.bytes, a.nbytes), 0);
	cr_assert(c.nbytes != a.nbytes || memcmp(a.bytes, c.bytes, a.nbytes) != 0);
	vd_frigate_sim_destroy(fa);
	vd_frigate_sim_destroy(fb);
	vd_frigate_sim_destroy(fc);
	replay_free(&a);
	replay_free(&b);
	replay_free(&c);
}

Test(frigate_sim, cameras_are_picked_from_the_seed_among_the_stops)
{
	uint32_t stops[ROUTES * VD_TAPGEN_STOPS];
	size_t nstops = network_stops(stops), n1, n2;
	struct vd_frigate_sim *f1, *f2;

	cr_assert_eq(vd_frigate_sim_create(9, "fr/x", stops, nstops, 4, &f1), 0);
	cr_assert_eq(vd_frigate_sim_create(9, "fr/x", stops, nstops, 4, &f2), 0);
	const struct vd_frigate_camera *c1 = vd_frigate_sim_cameras(f1, &n1);
	const struct vd_frigate_camera *c2 = vd_frigate_sim_cameras(f2, &n2);
	cr_assert_eq(n1, 4);
	cr_assert_eq(n2, 4);
	for (size_t i = 0; i < n1; i++) {
		char name[VD_FRIGATE_CAMERA_NAME_SIZE];
		snprintf(name, sizeof name, "stop%u", c1[i].stop_id);
		cr_assert_str_eq(c1[i].name, name);
		cr_assert_eq(c1[i].stop_id, c2[i].stop_id);
		cr_assert(i == 0 || c1[i - 1].stop_id < c1[i].stop_id);
		size_t k = 0;
		while (k < nstops && stops[k] != c1[i].stop_id)
			k++;
		cr_assert_lt(k, nstops, "stop %u is not on the network", c1[i].stop_id);
	}
	cr_assert_str_eq(vd_frigate_sim_events_topic(f1), "fr/x/events");
	cr_assert_str_eq(vd_frigate_sim_available_topic(f1), "fr/x/available");
	vd_frigate_sim_destroy(f1);
	vd_frigate_sim_destroy(f2);
	errno = 0;
	cr_assert_eq(vd_frigate_sim_create(9, "frigate", stops, 2, 3, &f1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(vd_frigate_sim_create(9, "frig+ate", stops, nstops, 3, &f1), -1);
	cr_assert_eq(vd_frigate_sim_create(9, "", stops, nstops, 3, &f1), -1);
}
