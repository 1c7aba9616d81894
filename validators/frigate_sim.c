/*
 * frigate_sim.c — the payloads of a simulated Frigate over stops.
 *
 * Design: an object is a short list of states (struct obj), each published
 * as `after` with the state before it as `before`, the way Frigate's
 * object_processing publishes obj.previous and obj.to_dict(). Every number
 * comes from one seeded xoshiro stream per simulator, drawn in call order,
 * so a seed and the same calls replay the same bytes. Times are the
 * boarding's own (start_time) plus seconds drawn for each step, printed
 * with six decimals as Frigate's floats are.
 *
 * Ids: the six characters are serial * A + B modulo 36^6 in base 36, with A
 * prime to 36 (so the map is a bijection) and A, B from the seed: unique
 * without remembering any, and not counting up visibly.
 */
#include "validators/frigate_sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validators/sim_rng.h"

#define FS_RNG_SALT 0xf41a7ec0ffeeULL
#define FS_ID_CHARS 6
#define FS_ID_SPACE 2176782336ULL /* 36^6 */
#define FS_FRAME_W 1920
#define FS_FRAME_H 1080
#define FS_DISTRACTION_ONE_IN 4 /* after about one object in four */
#define FS_STOP_HOURS_MIN 16
#define FS_STATES_MAX 5

struct fs_cam {
	struct vd_frigate_camera cam;
	char last_end[VD_FRIGATE_PAYLOAD_MAX]; /* the last end published, for a repeat */
	size_t last_end_len;
};

struct vd_frigate_sim {
	struct vd_rng rng;
	uint64_t id_mul, id_add, serial;
	char events_topic[VD_FRIGATE_TOPIC_SIZE];
	char available_topic[VD_FRIGATE_TOPIC_SIZE];
	struct fs_cam *cams; /* ascending stop id */
	struct vd_frigate_camera *list;
	size_t ncams;
	struct vd_frigate_stop_hour *hours; /* ascending (stop, hour) */
	size_t nhours, hours_cap;
	char buf[VD_FRIGATE_PAYLOAD_MAX];
};

/* One published state of a tracked object. */
struct obj {
	double frame_time;
	bool has_snapshot;
	double snapshot_time;
	double score, top_score;
	bool false_positive;
	bool has_end;
	double end_time;
	int box[4], region[4];
	bool stationary;
	int motionless_count, position_changes;
	const char *current_zone; /* NULL: [] */
	const char *entered_zone; /* NULL: [] */
	bool has_clip;
};

/* What stays the same over an object's life. */
struct obj_id {
	char id[40];
	const char *camera;
	const char *label;
	double start_time;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int prefix_ok(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	return n > 0 && n <= VD_FRIGATE_PREFIX_MAX && !strpbrk(prefix, "+#");
}

int vd_frigate_sim_create(uint64_t seed, const char *prefix, const uint32_t *stops, size_t nstops,
                          size_t ncameras, struct vd_frigate_sim **out)
{
	struct vd_frigate_sim *fs;
	uint32_t *pick = NULL;

	if (ncameras > nstops || !prefix_ok(prefix)) {
		errno = EINVAL;
		return -1;
	}
	fs = calloc(1, sizeof *fs);
	if (!fs)
		return -1;
	vd_rng_seed(&fs->rng, seed ^ FS_RNG_SALT);
	snprintf(fs->events_topic, sizeof fs->events_topic, "%s/events", prefix);
	snprintf(fs->available_topic, sizeof fs->available_topic, "%s/available", prefix);
	fs->id_mul = vd_rng_below(&fs->rng, FS_ID_SPACE);
	while (fs->id_mul % 2 == 0 || fs->id_mul % 3 == 0)
		fs->id_mul++; /* 36^6 - 1 is prime to 6: never passes the end */
	fs->id_add = vd_rng_below(&fs->rng, FS_ID_SPACE);
	fs->cams = calloc(ncameras ? ncameras : 1, sizeof *fs->cams);
	fs->list = calloc(ncameras ? ncameras : 1, sizeof *fs->list);
	pick = malloc((nstops ? nstops : 1) * sizeof *pick);
	if (!fs->cams || !fs->list || !pick)
		goto err;
	memcpy(pick, stops, nstops * sizeof *pick);
	/* A partial Fisher-Yates shuffle picks ncameras distinct stops. */
	for (size_t i = 0; i < ncameras; i++) {
		size_t j = i + (size_t)vd_rng_below(&fs->rng, nstops - i);
		uint32_t t = pick[i];
		pick[i] = pick[j];
		pick[j] = t;
	}
	qsort(pick, ncameras, sizeof *pick, cmp_u32);
	for (size_t i = 0; i < ncameras; i++) {
		if (i > 0 && pick[i] == pick[i - 1]) {
			errno = EINVAL; /* stops[] held a stop twice */
			goto err;
		}
		fs->cams[i].cam.stop_id = pick[i];
		snprintf(fs->cams[i].cam.name, sizeof fs->cams[i].cam.name, "stop%" PRIu32, pick[i]);
		fs->list[i] = fs->cams[i].cam;
	}
	fs->ncams = ncameras;
	free(pick);
	*out = fs;
	return 0;
err:
	free(pick);
	vd_frigate_sim_destroy(fs);
	if (errno != EINVAL)
		errno = ENOMEM;
	return -1;
}

void vd_frigate_sim_destroy(struct vd_frigate_sim *fs)
{
	if (!fs)
		return;
	free(fs->cams);
	free(fs->list);
	free(fs->hours);
	free(fs);
}

const struct vd_frigate_camera *vd_frigate_sim_cameras(const struct vd_frigate_sim *fs, size_t *n)
{
	*n = fs->ncams;
	return fs->list;
}

const char *vd_frigate_sim_events_topic(const struct vd_frigate_sim *fs)
{
	return fs->events_topic;
}

const char *vd_frigate_sim_available_topic(const struct vd_frigate_sim *fs)
{
	return fs->available_topic;
}

const struct vd_frigate_stop_hour *vd_frigate_sim_stop_hours(const struct vd_frigate_sim *fs,
                                                             size_t *n)
{
	*n = fs->nhours;
	return fs->hours;
}

static struct fs_cam *camera_at(struct vd_frigate_sim *fs, uint32_t stop_id)
{
	size_t lo = 0, hi = fs->ncams;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fs->cams[mid].cam.stop_id == stop_id)
			return &fs->cams[mid];
		if (fs->cams[mid].cam.stop_id < stop_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The (stop, hour) cell of at_ms, made when new; NULL when out of memory. */
static struct vd_frigate_stop_hour *stop_hour(struct vd_frigate_sim *fs, uint32_t stop_id,
                                              int64_t at_ms)
{
	int64_t hour_s = at_ms / 1000 - (at_ms / 1000) % 3600;
	size_t lo = 0, hi = fs->nhours;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vd_frigate_stop_hour *h = &fs->hours[mid];
		if (h->stop_id < stop_id || (h->stop_id == stop_id && h->hour_s < hour_s))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < fs->nhours && fs->hours[lo].stop_id == stop_id && fs->hours[lo].hour_s == hour_s)
		return &fs->hours[lo];
	if (fs->nhours == fs->hours_cap) {
		size_t cap = fs->hours_cap ? 2 * fs->hours_cap : FS_STOP_HOURS_MIN;
		struct vd_frigate_stop_hour *v = realloc(fs->hours, cap * sizeof *v);
		if (!v)
			return NULL;
		fs->hours = v;
		fs->hours_cap = cap;
	}
	memmove(&fs->hours[lo + 1], &fs->hours[lo], (fs->nhours - lo) * sizeof fs->hours[lo]);
	fs->nhours++;
	fs->hours[lo] = (struct vd_frigate_stop_hour){.stop_id = stop_id, .hour_s = hour_s};
	return &fs->hours[lo];
}

int vd_frigate_sim_tap(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms, int accepted)
{
	struct vd_frigate_stop_hour *h;

	if (!camera_at(fs, stop_id))
		return 0;
	h = stop_hour(fs, stop_id, at_ms);
	if (!h) {
		errno = ENOMEM;
		return -1;
	}
	h->taps++;
	h->accepted += accepted != 0;
	return 0;
}

/* Frigate's scores are a detector's 8-bit outputs: multiples of 1/256. */
static double draw_score(struct vd_frigate_sim *fs, unsigned lo256, unsigned hi256)
{
	return (double)(lo256 + vd_rng_below(&fs->rng, hi256 - lo256 + 1)) / 256.0;
}

static double draw_seconds(struct vd_frigate_sim *fs, double lo, double hi)
{
	/* whole microseconds, as time.time() has them */
	return lo + (double)vd_rng_below(&fs->rng, (uint64_t)((hi - lo) * 1e6) + 1) / 1e6;
}

/* A box of w x h somewhere in the frame, and the square region around it
 * that the detector ran on. */
static void draw_box(struct vd_frigate_sim *fs, struct obj *o, int w, int h)
{
	int x = (int)vd_rng_below(&fs->rng, (uint64_t)(FS_FRAME_W - w));
	int y = (int)vd_rng_below(&fs->rng, (uint64_t)(FS_FRAME_H - h));
	int side = (w > h ? w : h) + 64;
	int rx = x + w / 2 - side / 2, ry = y + h / 2 - side / 2;

	side = side > FS_FRAME_H ? FS_FRAME_H : side;
	rx = rx < 0 ? 0 : rx + side > FS_FRAME_W ? FS_FRAME_W - side : rx;
	ry = ry < 0 ? 0 : ry + side > FS_FRAME_H ? FS_FRAME_H - side : ry;
	o->box[0] = x;
	o->box[1] = y;
	o->box[2] = x + w;
	o->box[3] = y + h;
	o->region[0] = rx;
	o->region[1] = ry;
	o->region[2] = rx + side;
	o->region[3] = ry + side;
}

/* Moves the box a little, as the object walks. */
static void move_box(struct vd_frigate_sim *fs, struct obj *o)
{
	int dx = (int)vd_rng_below(&fs->rng, 81) - 40, dy = (int)vd_rng_below(&fs->rng, 41) - 20;

	if (o->box[0] + dx < 0 || o->box[2] + dx > FS_FRAME_W)
		dx = -dx;
	if (o->box[1] + dy < 0 || o->box[3] + dy > FS_FRAME_H)
		dy = -dy;
	for (int i = 0; i < 4; i += 2) {
		o->box[i] += dx;
		o->box[i + 1] += dy;
	}
}

struct out {
	char *p;
	size_t left;
	bool overflow;
};

static void put(struct out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p, w->left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->left) {
		w->overflow = true;
		return;
	}
	w->p += n;
	w->left -= (size_t)n;
}

/* A score as Python prints a float: never without its point. */
static void put_score(struct out *w, const char *key, double v)
{
	if (v == 0.0)
		put(w, ", \"%s\": 0.0", key);
	else
		put(w, ", \"%s\": %.8g", key, v);
}

static void put_zones(struct out *w, const char *key, const char *zone)
{
	if (zone)
		put(w, ", \"%s\": [\"%s\"]", key, zone);
	else
		put(w, ", \"%s\": []", key);
}

static void put_box(struct out *w, const char *key, const int b[4])
{
	put(w, ", \"%s\": [%d, %d, %d, %d]", key, b[0], b[1], b[2], b[3]);
}

static int box_area(const int b[4])
{
	return (b[2] - b[0]) * (b[3] - b[1]);
}

/* One object as Frigate 0.14's to_dict() has it, keys in its order. */
static void put_obj(struct out *w, const struct obj_id *id, const struct obj *o)
{
	put(w, "{\"id\": \"%s\", \"camera\": \"%s\", \"frame_time\": %.6f", id->id, id->camera,
	    o->frame_time);
	if (o->has_snapshot) {
		put(w, ", \"snapshot\": {\"frame_time\": %.6f", o->snapshot_time);
		put_box(w, "box", o->box);
		put(w, ", \"area\": %d", box_area(o->box));
		put_box(w, "region", o->region);
		put_score(w, "score", o->top_score);
		put(w, ", \"attributes\": []}");
	} else {
		put(w, ", \"snapshot\": null");
	}
	put(w, ", \"label\": \"%s\", \"sub_label\": null", id->label);
	put_score(w, "top_score", o->top_score);
	put(w, ", \"false_positive\": %s, \"start_time\": %.6f", o->false_positive ? "true" : "false",
	    id->start_time);
	if (o->has_end)
		put(w, ", \"end_time\": %.6f", o->end_time);
	else
		put(w, ", \"end_time\": null");
	put_score(w, "score", o->score);
	put_box(w, "box", o->box);
	put(w, ", \"area\": %d, \"ratio\": %.6f", box_area(o->box),
	    (double)(o->box[2] - o->box[0]) / (double)(o->box[3] - o->box[1]));
	put_box(w, "region", o->region);
	put(w, ", \"active\": %s, \"stationary\": %s, \"motionless_count\": %d, \"position_changes\": %d",
	    o->stationary ? "false" : "true", o->stationary ? "true" : "false", o->motionless_count,
	    o->position_changes);
	put_zones(w, "current_zones", o->current_zone);
	put_zones(w, "entered_zones", o->entered_zone);
	put(w, ", \"thumbnail\": null, \"has_clip\": %s, \"has_snapshot\": %s"
	    ", \"attributes\": {}, \"current_attributes\": [], \"pending_loitering\": false}",
	    o->has_clip ? "true" : "false", o->has_snapshot ? "true" : "false");
}

static int emit_payload(struct vd_frigate_sim *fs, const struct fs_cam *c, enum vd_frigate_object kind,
                        const char *payload, size_t len, vd_frigate_emit_fn emit, void *arg)
{
	struct vd_frigate_message m = {
		.topic = fs->events_topic,
		.payload = payload,
		.len = len,
		.object = kind,
		.stop_id = c->cam.stop_id,
	};

	return emit(arg, &m) != 0 ? -1 : 0;
}

/* Publishes after with before as the previous state. */
static int emit_state(struct vd_frigate_sim *fs, struct fs_cam *c, enum vd_frigate_object kind,
                      const char *type, const struct obj_id *id, const struct obj *before,
                      const struct obj *after, vd_frigate_emit_fn emit, void *arg)
{
	struct out w = {fs->buf, sizeof fs->buf, false};
	size_t len;

	put(&w, "{\"type\": \"%s\", \"before\": ", type);
	put_obj(&w, id, before);
	put(&w, ", \"after\": ");
	put_obj(&w, id, after);
	put(&w, "}");
	if (w.overflow) {
		errno = EOVERFLOW;
		return -1;
	}
	len = sizeof fs->buf - w.left;
	if (after->has_end && kind != VD_FRIGATE_OBJ_REPEATED_END) {
		memcpy(c->last_end, fs->buf, len + 1);
		c->last_end_len = len;
	}
	return emit_payload(fs, c, kind, fs->buf, len, emit, arg);
}

static void make_id(struct vd_frigate_sim *fs, struct obj_id *id, const struct fs_cam *c,
                    const char *label, int64_t at_ms)
{
	static const char ALNUM[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t x = (fs->serial++ % FS_ID_SPACE * fs->id_mul + fs->id_add) % FS_ID_SPACE;
	char suffix[FS_ID_CHARS + 1];

	for (int i = FS_ID_CHARS - 1; i >= 0; i--, x /= 36)
		suffix[i] = ALNUM[x % 36];
	suffix[FS_ID_CHARS] = '\0';
	id->camera = c->cam.name;
	id->label = label;
	id->start_time = (double)at_ms / 1000.0;
	snprintf(id->id, sizeof id->id, "%.6f-%s", id->start_time, suffix);
}

/* The path of one object: its states, the first never published (it is
 * `before` of `new`), and the zone it enters at the second update. */
struct path {
	enum vd_frigate_object kind;
	const char *label;
	const char *zone;     /* entered at step 2; NULL: none */
	bool false_positive;  /* stays one all its life */
	int w, h;             /* box size */
};

/* Builds the states of one object and publishes them: new (or, for a false
 * positive, which Frigate would never call new, update), update entering
 * the zone, perhaps another update, end. */
static int emit_object(struct vd_frigate_sim *fs, struct fs_cam *c, const struct path *p,
                       int64_t at_ms, vd_frigate_emit_fn emit, void *arg)
{
	struct obj s[FS_STATES_MAX];
	struct obj_id id;
	size_t n = 0;
	int extra = (int)vd_rng_below(&fs->rng, 2);

	make_id(fs, &id, c, p->label, at_ms);
	s[0] = (struct obj){.frame_time = id.start_time, .false_positive = true,
	                    .score = draw_score(fs, 150, 240)};
	draw_box(fs, &s[0], p->w, p->h);
	/* detected: no longer a false positive */
	s[1] = s[0];
	s[1].frame_time += draw_seconds(fs, 0.2, 1.0);
	s[1].false_positive = p->false_positive;
	s[1].score = draw_score(fs, 180, 245);
	s[1].top_score = s[1].score;
	s[1].position_changes = 1;
	move_box(fs, &s[1]);
	/* walks on, into the zone if it has one; the first snapshot */
	s[2] = s[1];
	s[2].frame_time += draw_seconds(fs, 0.5, 2.5);
	s[2].current_zone = p->zone;
	s[2].entered_zone = p->zone;
	s[2].has_snapshot = true;
	s[2].snapshot_time = s[2].frame_time - draw_seconds(fs, 0.0, 0.4);
	s[2].score = draw_score(fs, 180, 250);
	s[2].top_score = s[2].score > s[1].top_score ? s[2].score : s[1].top_score;
	s[2].position_changes = 2;
	move_box(fs, &s[2]);
	n = 3;
	if (extra) { /* a better snapshot, the clip begins */
		s[3] = s[2];
		s[3].frame_time += draw_seconds(fs, 0.5, 3.0);
		s[3].snapshot_time = s[3].frame_time;
		s[3].top_score = s[2].top_score + (1.0 - s[2].top_score) / 2;
		s[3].score = s[3].top_score;
		s[3].has_clip = true;
		s[3].position_changes = 3;
		move_box(fs, &s[3]);
		n = 4;
	}
	/* gone */
	s[n] = s[n - 1];
	s[n].frame_time += draw_seconds(fs, 1.0, 6.0);
	s[n].has_end = true;
	s[n].end_time = s[n].frame_time;
	s[n].current_zone = NULL;
	s[n].has_clip = true;
	n++;
	for (size_t i = 1; i < n; i++) {
		const char *type = i + 1 == n ? "end" : i == 1 && !p->false_positive ? "new" : "update";
		if (emit_state(fs, c, p->kind, type, &id, &s[i - 1], &s[i], emit, arg) != 0)
			return -1;
	}
	return 0;
}

static const struct path PERSON_BOARDING = {VD_FRIGATE_OBJ_BOARDING, "person",
                                            VD_FRIGATE_BOARDING_ZONE, false, 96, 260};
static const struct path PERSON_ALIGHTING = {VD_FRIGATE_OBJ_ALIGHTING, "person",
                                             VD_FRIGATE_ALIGHTING_ZONE, false, 96, 260};
static const struct path DISTRACTIONS[] = {
	{VD_FRIGATE_OBJ_CAR, "car", VD_FRIGATE_BOARDING_ZONE, false, 420, 240},
	{VD_FRIGATE_OBJ_FALSE_POSITIVE, "person", VD_FRIGATE_BOARDING_ZONE, true, 60, 90},
	{VD_FRIGATE_OBJ_NO_ZONE, "person", NULL, false, 90, 250},
	{VD_FRIGATE_OBJ_REPEATED_END, NULL, NULL, false, 0, 0},
};

/* After about one object in FS_DISTRACTION_ONE_IN, one of the four. */
static int maybe_distraction(struct vd_frigate_sim *fs, struct fs_cam *c, int64_t at_ms,
                             vd_frigate_emit_fn emit, void *arg)
{
	const struct path *p;

	if (vd_rng_below(&fs->rng, FS_DISTRACTION_ONE_IN) != 0)
		return 0;
	p = &DISTRACTIONS[vd_rng_below(&fs->rng, sizeof DISTRACTIONS / sizeof DISTRACTIONS[0])];
	if (p->kind == VD_FRIGATE_OBJ_REPEATED_END)
		return emit_payload(fs, c, p->kind, c->last_end, c->last_end_len, emit, arg);
	return emit_object(fs, c, p, at_ms, emit, arg);
}

static int person(struct vd_frigate_sim *fs, const struct path *p, uint32_t stop_id,
                  int64_t at_ms, vd_frigate_emit_fn emit, void *arg)
{
	struct fs_cam *c = camera_at(fs, stop_id);
	struct vd_frigate_stop_hour *h;

	if (!c)
		return 0;
	h = stop_hour(fs, stop_id, at_ms);
	if (!h) {
		errno = ENOMEM;
		return -1;
	}
	if (p->kind == VD_FRIGATE_OBJ_BOARDING)
		h->boardings++;
	else
		h->alightings++;
	if (emit_object(fs, c, p, at_ms, emit, arg) != 0)
		return -1;
	return maybe_distraction(fs, c, at_ms, emit, arg);
}

int vd_frigate_sim_board(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms,
                         vd_frigate_emit_fn emit, void *arg)
{
	return person(fs, &PERSON_BOARDING, stop_id, at_ms, emit, arg);
}

int vd_frigate_sim_alight(struct vd_frigate_sim *fs, uint32_t stop_id, int64_t at_ms,
                          vd_frigate_emit_fn emit, void *arg)
{
	return person(fs, &PERSON_ALIGHTING, stop_id, at_ms, emit, arg);
}
