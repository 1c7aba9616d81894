/*
 * Description: validator-sim with passenger counters and an evasion rate,
 * without a broker (nothing ACKs, so every frame stays in its outbox): the
 * signed frames in the outboxes, read back as the daemon would read them,
 * give per (route, hour) exactly the boardings, taps and accepted taps the
 * summary reports (and its per-route lines are their sums), so accepted /
 * boardings is a known validation rate; on a
 * route whose one vehicle has a counter, boardings = taps + evaded; the same
 * seed gives the same riders, and without evasion every boarding is a tap.
 * Each run lasts its 2 s timeout; nothing here depends on how fast it went
 * beyond making its taps in that time (checked, not assumed).
 */
#include "tests/validators/tmpdir.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"
#include "validators/fleet.h"
#include "validators/outbox.h"
#include "validators/sim.h"

#define VEHICLES 3
#define APCS 2 /* on the first two vehicles, whose routes differ */
#define TAPS 150
#define SEED 42
#define CELLS_MAX 64

struct cell {
	uint32_t route_id;
	int64_t hour_s;
	uint64_t boardings, taps, accepted;
};

struct tally {
	struct cell c[CELLS_MAX];
	size_t n;
	uint64_t frames, bad_frames;
	const uint8_t *pk;
};

static char dir[64];

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	vd_tmpdir_make(dir, sizeof dir);
}

static void teardown(void)
{
	vd_tmpdir_remove(dir);
}

TestSuite(sim_evasion, .init = setup, .fini = teardown);

static struct cell *cell(struct tally *t, uint32_t route_id, int64_t at_ms)
{
	int64_t hour_s = at_ms / 1000 - (at_ms / 1000) % 3600;

	for (size_t i = 0; i < t->n; i++) {
		if (t->c[i].route_id == route_id && t->c[i].hour_s == hour_s)
			return &t->c[i];
	}
	cr_assert_lt(t->n, CELLS_MAX);
	t->c[t->n] = (struct cell){.route_id = route_id, .hour_s = hour_s};
	return &t->c[t->n++];
}

static void add_records(struct tally *t, const uint8_t *frame, const struct kp_header *h)
{
	for (uint16_t i = 0; i < h->count; i++) {
		if (h->type == KP_TYPE_TAPS) {
			struct kp_tap tap;
			kp_frame_get_tap(frame, i, &tap);
			struct cell *c = cell(t, tap.route_id, tap.tapped_at);
			c->taps++;
			c->accepted += tap.result == KP_TAP_ACCEPTED;
		} else {
			struct kp_count k;
			kp_frame_get_count(frame, i, &k);
			if (k.kind == KP_COUNT_KIND_DOOR_CYCLE)
				cell(t, k.route_id, k.observed_at)->boardings += k.boardings;
		}
	}
}

/* vd_outbox_frame_fn: one stored frame, checked as the daemon checks it. */
static int read_frame(void *arg, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct tally *t = arg;
	struct kp_header h;

	(void)seq;
	t->frames++;
	if (kp_frame_decode(frame, len, &h) != KP_OK || kp_frame_verify(frame, len, t->pk) != KP_OK) {
		t->bad_frames++;
		return 0;
	}
	add_records(t, frame, &h);
	return 0;
}

static void read_outboxes(const char *state, struct tally *t)
{
	char path[256], err[VD_FLEET_ERR_SIZE], id[KP_DEVICE_ID_TEXT_SIZE];
	struct vd_fleet_entry *fleet = NULL;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", state, VD_FLEET_FILE);
	cr_assert_eq(vd_fleet_read(path, &fleet, &n, err), 0, "%s", err);
	cr_assert_eq(n, VEHICLES + APCS);
	for (size_t i = 0; i < n; i++) {
		struct vd_outbox *ob;
		kp_device_id_format(fleet[i].device_id, id);
		snprintf(path, sizeof path, "%s/%s/%s", state, id, VD_SIM_OUTBOX_DIR);
		cr_assert_eq(vd_outbox_open(path, &ob), 0, "%s", path);
		t->pk = fleet[i].public_key;
		cr_assert_eq(vd_outbox_foreach(ob, 1, read_frame, t), 0);
		vd_outbox_close(ob);
	}
	free(fleet);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static uint64_t num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_assert(cJSON_IsNumber(v), "summary has no number %s", key);
	return (uint64_t)v->valuedouble;
}

/* Makes a fleet in dir/name and runs it to its timeout against a port where
 * no broker listens; returns the parsed summary (caller frees). */
static cJSON *simulate(const char *name, double evasion, char *state, size_t cap)
{
	char pub[256], summary[256], id[KP_DEVICE_ID_TEXT_SIZE];
	struct vd_sim_init_opts io = {.devices = VEHICLES, .apcs = APCS, .first_id = 1,
	                              .seed = SEED, .quiet = 1};
	struct vd_sim_run_opts ro = {
		.broker = "tcp://127.0.0.1:1",
		.taps_per_device = TAPS,
		.batch = 16,
		.evasion_rate = evasion,
		.seed = SEED,
		.timeout_s = 2,
		.quiet = 1,
	};
	cJSON *j;

	snprintf(state, cap, "%s/%s", dir, name);
	io.state = state;
	cr_assert_eq(vd_sim_init(&io), 0);
	/* Any public key will do: no reply ever comes. */
	kp_device_id_format(1, id);
	snprintf(pub, sizeof pub, "%s/%s/%s.pub", state, id, VD_SIM_KEY_FILE);
	snprintf(summary, sizeof summary, "%s/summary.json", state);
	ro.state = state;
	ro.server_pub = pub;
	ro.summary = summary;
	cr_assert_eq(vd_sim_run(&ro), 1, "without a broker the run ends at its timeout");
	j = cJSON_Parse(read_text(summary));
	cr_assert_not_null(j, "summary is not JSON");
	cr_assert_eq(num(j, "taps"), (uint64_t)VEHICLES * TAPS, "every tap was made");
	cr_assert_eq(num(j, "apcs"), APCS);
	return j;
}

static const struct cell *find(const struct tally *t, uint32_t route_id, int64_t hour_s)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->c[i].route_id == route_id && t->c[i].hour_s == hour_s)
			return &t->c[i];
	}
	return NULL;
}

/* The summary's routes are its route_hours summed per route. */
static void expect_routes_sum_hours(const cJSON *j)
{
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(j, "routes");
	const cJSON *hours = cJSON_GetObjectItemCaseSensitive(j, "route_hours");

	cr_assert(cJSON_IsArray(routes));
	for (const cJSON *r = routes->child; r; r = r->next) {
		uint64_t boardings = 0, taps = 0, accepted = 0;
		for (const cJSON *h = hours->child; h; h = h->next) {
			if (num(h, "route_id") != num(r, "route_id"))
				continue;
			boardings += num(h, "boardings");
			taps += num(h, "taps");
			accepted += num(h, "accepted");
		}
		cr_expect_eq(num(r, "boardings"), boardings);
		cr_expect_eq(num(r, "taps"), taps);
		cr_expect_eq(num(r, "accepted"), accepted);
	}
	cr_expect_eq(cJSON_GetArraySize(routes), VEHICLES, "one route per vehicle");
}

Test(sim_evasion, frames_give_the_summarys_counts_per_route_and_hour)
{
	char state[128];
	struct tally t = {0};
	cJSON *j = simulate("a", 0.3, state, sizeof state), *rh;
	uint64_t boardings = 0, evaded = 0, with_counter = 0;

	read_outboxes(state, &t);
	cr_assert_gt(t.frames, 0);
	cr_assert_eq(t.bad_frames, 0, "every frame decodes and verifies");
	rh = cJSON_GetObjectItemCaseSensitive(j, "route_hours");
	cr_assert(cJSON_IsArray(rh));
	cr_assert_eq((size_t)cJSON_GetArraySize(rh), t.n, "one summary line per (route, hour)");
	for (const cJSON *r = rh->child; r; r = r->next) {
		const struct cell *c = find(&t, (uint32_t)num(r, "route_id"), (int64_t)num(r, "hour_s"));
		const cJSON *rate = cJSON_GetObjectItemCaseSensitive(r, "validation_rate");
		cr_assert_not_null(c, "route %llu in the summary, not in the frames",
		                   (unsigned long long)num(r, "route_id"));
		cr_expect_eq(num(r, "boardings"), c->boardings);
		cr_expect_eq(num(r, "taps"), c->taps);
		cr_expect_eq(num(r, "accepted"), c->accepted);
		if (c->boardings == 0) {
			cr_expect(cJSON_IsNull(rate), "no counter, no rate");
			continue;
		}
		/* One vehicle per route: its counter saw its validator's riders. */
		cr_expect_eq(num(r, "boardings"), num(r, "taps") + num(r, "evaded"));
		cr_expect_float_eq(rate->valuedouble, (double)c->accepted / (double)c->boardings, 1e-6);
		boardings += c->boardings;
		evaded += num(r, "evaded");
		with_counter += c->taps;
	}
	cr_expect_eq(with_counter, (uint64_t)APCS * TAPS);
	expect_routes_sum_hours(j);
	cr_expect_gt(evaded, 0, "a rate of 0.3 leaves someone not tapping");
	cr_expect_lt(evaded, boardings);
	cJSON_Delete(j);
}

Test(sim_evasion, same_seed_same_riders_and_no_evasion_is_all_taps)
{
	char a[128], b[128], c[128];
	cJSON *ja = simulate("a", 0.3, a, sizeof a), *jb = simulate("b", 0.3, b, sizeof b);
	cJSON *jc = simulate("c", 0, c, sizeof c);

	cr_expect_eq(num(ja, "boardings"), num(jb, "boardings"));
	cr_expect_eq(num(ja, "evaded"), num(jb, "evaded"));
	cr_expect_eq(num(ja, "accepted"), num(jb, "accepted"));
	cr_expect_eq(num(ja, "counts"), num(jb, "counts"));
	cr_expect_eq(num(jc, "evaded"), 0);
	cr_expect_eq(num(jc, "boardings"), (uint64_t)VEHICLES * TAPS);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	cJSON_Delete(jc);
}
