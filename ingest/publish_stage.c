/*
 * publish_stage.c — see publish_stage.h. A round: which dates to look at
 * (scan_window), which of them have taps (dates_with_taps, one read
 * transaction), then for each the decision (publish_date): nothing, v1, or
 * vN+1 when the fingerprint changed.
 */
#include "ingest/publish_stage.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/clock.h"
#include "ingest/publish_index.h"
#include "ingest/thread_attr.h"
#include "opendata/fingerprint.h"
#include "opendata/package.h"
#include "opendata/tables.h"
#include "opendata/version_gap.h"
#include "storage/date_rev.h"
#include "storage/derive.h"
#include "storage/riders.h"
#include "storage/service_day.h"
#include "storage/tap_agg.h"

#define PATH_SIZE 4096
#define DAY_MS 86400000LL

/* A date and its revision (storage/date_rev.h). */
struct date_rev {
	uint32_t date;
	uint64_t rev;
};

struct dates {
	struct date_rev *v;
	size_t n, cap;
};

struct kp_publish {
	struct kp_publish_config cfg;
	char dir[PATH_SIZE];
	struct st_db *db;
	const uint8_t *sk;
	struct kp_metrics *m;
	struct od_disclosure disclosure;
	/* Every closed date before it has been looked at once: later rounds
	 * read again only the dates late taps can still change. */
	uint32_t looked_before;
	int index_written;
	/* Per date built since the start, the revision its last build saw:
	 * a date whose revision has not moved since would build the same
	 * tables, so it is not built again. */
	struct dates built;
	atomic_int stopping; /* set by kp_publish_stage_join: end the round between two dates */
};

/* snprintf for messages and paths: a message cut short is still a
 * message, and paths are bounded by the config's (KP_CONFIG_STR_SIZE). */
__attribute__((format(printf, 3, 4))) static void say(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

int kp_publish_open(const struct kp_publish_ctx *ctx, struct kp_publish **out)
{
	struct kp_publish *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL) {
		fprintf(stderr, "komposterd: publish: out of memory\n");
		return -1;
	}
	p->cfg = ctx->cfg;
	p->db = ctx->db;
	p->sk = ctx->server_sk;
	p->m = ctx->m;
	if (ctx->cfg.dir == NULL || snprintf(p->dir, sizeof(p->dir), "%s", ctx->cfg.dir) >= (int)sizeof(p->dir) ||
	    ctx->cfg.recheck_days < 1 || ctx->cfg.grace_ms < 0 || ctx->cfg.interval_ms < 1) {
		fprintf(stderr, "komposterd: publish: bad configuration (folder, recheck days, grace or interval)\n");
		free(p);
		return -1;
	}
	p->cfg.dir = p->dir;
	if (od_disclosure_init(&p->disclosure, ctx->cfg.k, ctx->cfg.epsilon) != 0 ||
	    od_disclosure_seed_from_key(&p->disclosure, p->sk, KP_SECRET_KEY_SIZE) != 0) {
		fprintf(stderr, "komposterd: publish: bad [open_data] k or epsilon, or no noise seed\n");
		kp_publish_close(p);
		return -1;
	}
	*out = p;
	return 0;
}

void kp_publish_close(struct kp_publish *p)
{
	if (p == NULL)
		return;
	od_disclosure_wipe(&p->disclosure);
	free(p->built.v);
	free(p);
}

/* --------------------------------------------------------- the dates */

/* The service date of an instant in the database's zone and service day. */
static int date_at(const struct kp_publish *p, int64_t ms, uint32_t *date)
{
	struct st_when w;

	if (st_service_day(st_db_zone(p->db), ms, st_db_options(p->db)->service_day_start_hour, &w) != 0)
		return -1;
	*date = w.service_date;
	return 0;
}

static int dates_push(struct dates *d, uint32_t date, uint64_t rev)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct date_rev *nv = realloc(d->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n++] = (struct date_rev){ date, rev };
	return 0;
}

static int add_date(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct dates *d = ctx;

	(void)v;
	if (d->n > 0 && d->v[d->n - 1].date == k->service_date)
		return 0;
	return dates_push(d, k->service_date, 0);
}

/* Each date's revision, read in the transaction that listed the dates:
 * the tables built after it see this revision or a later one, so a date
 * whose revision moves later is built again. */
static int read_revs(struct st_read *r, struct dates *d)
{
	for (size_t i = 0; i < d->n; i++) {
		int rc = st_date_rev_max(r, d->v[i].date, d->v[i].date, &d->v[i].rev);

		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

/* The dates from..to (inclusive) that have tap aggregates, ascending,
 * with their revisions. */
static int dates_with_taps(struct kp_publish *p, uint32_t from, uint32_t to, struct dates *out, char *err)
{
	struct st_read r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (from > to)
		return 0;
	st_derive_current(p->db); /* the package's tables hold every frame stored */
	rc = st_riders_sync(p->db, 0); /* and its riders every tap the derived frames hold */
	if (rc != ST_OK) {
		say(err, KP_PUBLISH_ERR_SIZE, "writing the distinct riders' sketches held: %s", st_strerror(rc));
		return -1;
	}
	rc = st_read_begin(p->db, &r);
	if (rc != ST_OK) {
		say(err, KP_PUBLISH_ERR_SIZE, "reading the database: %s", st_strerror(rc));
		return -1;
	}
	rc = st_tap_agg_foreach(&r, from, to, add_date, out);
	if (rc == ST_OK)
		rc = read_revs(&r, out);
	st_read_end(&r);
	if (rc != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "listing the dates with taps: %s",
		         rc == ST_ESTOP ? "out of memory" : st_strerror(rc));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ a date */

static int make_dir(const char *path, char *err)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	say(err, KP_PUBLISH_ERR_SIZE, "%s: %s", path, strerror(errno));
	return -1;
}

/* A build that a crash interrupted: files only (package.h writes no
 * folder), never published, so removed. */
static int remove_tmp(const char *path, char *err)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL && errno == ENOENT)
		return 0;
	if (d == NULL) {
		say(err, KP_PUBLISH_ERR_SIZE, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0) {
			say(err, KP_PUBLISH_ERR_SIZE, "%s/%s: %s", path, e->d_name, strerror(errno));
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (rmdir(path) != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int sync_path(const char *path, char *err)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		say(err, KP_PUBLISH_ERR_SIZE, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = fsync(fileno(f));
	fclose(f);
	if (rc != 0)
		say(err, KP_PUBLISH_ERR_SIZE, "syncing %s: %s", path, strerror(errno));
	return rc;
}

/* Builds the package in a temporary folder and renames it to DATE/vN. */
static int write_version(struct kp_publish *p, const struct od_tables *t, uint32_t version,
                         const struct kp_published *previous, int64_t now_ms, char *err)
{
	char tmp[PATH_SIZE], date_dir[PATH_SIZE], final[PATH_SIZE], prev[PATH_SIZE];
	const struct od_package_options o = {
		.dir = tmp,
		.sk = p->sk,
		.previous = previous ? prev : NULL,
		.disclosure = &p->disclosure,
		.now_ms = now_ms,
		.version = version,
	};

	say(tmp, sizeof(tmp), "%s/.tmp-%08u-v%u", p->dir, (unsigned)t->service_date, (unsigned)version);
	say(date_dir, sizeof(date_dir), "%s/%08u", p->dir, (unsigned)t->service_date);
	say(final, sizeof(final), "%s/v%u", date_dir, (unsigned)version);
	if (previous)
		say(prev, sizeof(prev), "%s/%08u/v%u/" OD_MANIFEST, p->dir, (unsigned)previous->date,
		         (unsigned)previous->version);
	if (remove_tmp(tmp, err) != 0)
		return -1;
	if (od_package_write(t, &o, err) != 0) {
		char ignored[KP_PUBLISH_ERR_SIZE];

		(void)remove_tmp(tmp, ignored); /* the error that matters is in err */
		return -1;
	}
	if (make_dir(date_dir, err) != 0)
		return -1;
	if (rename(tmp, final) != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "renaming %s to %s: %s", tmp, final, strerror(errno));
		return -1;
	}
	return sync_path(date_dir, err) == 0 && sync_path(p->dir, err) == 0 ? 0 : -1;
}

/* 1 when vN's data files differ from what t would publish. */
static int changed_since(const struct kp_publish *p, const struct od_tables *t, uint32_t version, char *err)
{
	char now_fp[OD_FINGERPRINT_HEX_SIZE], then_fp[OD_FINGERPRINT_HEX_SIZE], why[OD_ERR_SIZE], *buf = NULL;
	size_t len = 0;
	int rc;

	if (kp_published_read_manifest(p->dir, t->service_date, version, &buf, &len, err) != 0)
		return -1;
	rc = od_manifest_fingerprint(buf, len, then_fp, why) == 0 && od_tables_fingerprint(t, now_fp, why) == 0 ? 0 : -1;
	free(buf);
	if (rc != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "%08u v%u: %s", (unsigned)t->service_date, (unsigned)version, why);
		return -1;
	}
	return strcmp(now_fp, then_fp) != 0;
}

/* 1 when t may not follow v1..vN yet: a count would move by less than k
 * from one of them (opendata/version_gap.h: every version, since a count
 * suppressed in vN may have been published in an earlier one); said on
 * stderr and counted. -1 on an error. */
static int held_back(struct kp_publish *p, const struct od_tables *t, uint32_t last, char *err)
{
	char prev[PATH_SIZE], why[OD_ERR_SIZE];
	uint32_t v;
	int rc = 0;

	for (v = last; v >= 1 && rc == 0; v--) {
		say(prev, sizeof(prev), "%s/%08u/v%u", p->dir, (unsigned)t->service_date, (unsigned)v);
		rc = od_version_gap(t, prev, p->disclosure.k, why);
	}
	if (rc < 0)
		say(err, KP_PUBLISH_ERR_SIZE, "comparing with %08u v%u: %s", (unsigned)t->service_date,
		    (unsigned)v + 1, why);
	if (rc > 0) {
		atomic_fetch_add_explicit(&p->m->open_data_held_back, 1, memory_order_relaxed);
		fprintf(stderr, "komposterd: publish: %08u v%u held back: against v%u, %s; it waits for more late taps\n",
		        (unsigned)t->service_date, (unsigned)last + 1, (unsigned)v + 1, why);
	}
	return rc;
}

/* Publishes date's next version when it has none or what it publishes
 * changed, and the change tells no count below k. 1 when it wrote one, 0
 * when not, -1 on an error. */
static int publish_date(struct kp_publish *p, uint32_t date, const struct kp_published_list *done, int64_t now_ms,
                        char *err)
{
	struct od_tables t = { 0 };
	uint32_t last = kp_published_last_version(done, date);
	char why[OD_ERR_SIZE];
	int rc = -1, changed = 1, held;

	if (od_tables_build(p->db, date, &p->disclosure, now_ms, &t, why) != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "building %08u: %s", (unsigned)date, why);
		goto out;
	}
	atomic_fetch_add_explicit(&p->m->open_data_builds, 1, memory_order_relaxed);
	if (last > 0 && (changed = changed_since(p, &t, last, err)) < 0)
		goto out;
	if (changed && last > 0 && (held = held_back(p, &t, last, err)) != 0) {
		rc = held < 0 ? -1 : 0;
		goto out;
	}
	if (!changed) {
		rc = 0;
		goto out;
	}
	if (write_version(p, &t, last + 1, kp_published_tip(done), now_ms, err) != 0)
		goto out;
	atomic_fetch_add_explicit(&p->m->open_data_published, 1, memory_order_relaxed);
	fprintf(stderr, "komposterd: publish: %08u v%u published (%llu counts, %llu suppressed)\n", (unsigned)date,
	        (unsigned)(last + 1), (unsigned long long)t.cells, (unsigned long long)t.suppressed);
	rc = 1;
out:
	od_tables_free(&t);
	return rc;
}

/* ------------------------------------------------------------ a round */

/* Closed dates are those before *closed; of those already published, only
 * the ones from *recheck on can still change. */
static int scan_window(const struct kp_publish *p, int64_t now_ms, uint32_t *closed, uint32_t *recheck, char *err)
{
	if (date_at(p, now_ms - p->cfg.grace_ms, closed) != 0 ||
	    date_at(p, now_ms - (int64_t)p->cfg.recheck_days * DAY_MS, recheck) != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "no service date at %lld ms", (long long)now_ms);
		return -1;
	}
	return 0;
}

/* The revision date's last build saw, or NULL when not built since the start. */
static struct date_rev *built_find(struct kp_publish *p, uint32_t date)
{
	for (size_t i = 0; i < p->built.n; i++)
		if (p->built.v[i].date == date)
			return &p->built.v[i];
	return NULL;
}

static int built_note(struct kp_publish *p, const struct date_rev *d, char *err)
{
	struct date_rev *seen = built_find(p, d->date);

	if (seen != NULL) {
		seen->rev = d->rev;
		return 0;
	}
	if (dates_push(&p->built, d->date, d->rev) != 0) {
		say(err, KP_PUBLISH_ERR_SIZE, "out of memory");
		return -1;
	}
	return 0;
}

/* Dates before from are never looked at again. */
static void built_forget_before(struct kp_publish *p, uint32_t from)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->built.n; i++)
		if (p->built.v[i].date >= from)
			p->built.v[kept++] = p->built.v[i];
	p->built.n = kept;
}

/* Keeps the dates whose revision moved since their last build. */
static void keep_moved(struct kp_publish *p, struct dates *d)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct date_rev *seen = built_find(p, d->v[i].date);

		if (seen == NULL || seen->rev != d->v[i].rev)
			d->v[kept++] = d->v[i];
	}
	d->n = kept;
}

/* A date that cannot be built or compared is left for the next round and
 * the dates after it go on (one bad date must not hold the city's later
 * ones back for ever): the round still fails, with the first date's error.
 * A package that cannot be indexed, or a revision not noted, stops it. */
static int publish_dates(struct kp_publish *p, const struct dates *dates, uint32_t recheck,
                         struct kp_published_list *done, int64_t now_ms, char *err)
{
	char date_err[KP_PUBLISH_ERR_SIZE];
	int published = 0, failed = 0;

	for (size_t i = 0; i < dates->n && !atomic_load(&p->stopping); i++) {
		uint32_t date = dates->v[i].date;
		int rc;

		if (date < recheck && kp_published_last_version(done, date) > 0)
			continue; /* settled: no late tap can reach it any more */
		rc = publish_date(p, date, done, now_ms, date_err);
		if (rc < 0) {
			if (!failed++)
				say(err, KP_PUBLISH_ERR_SIZE, "%s", date_err);
			continue; /* not noted as built: tried again next round */
		}
		if (rc == 1) {
			published++;
			if (kp_published_add(p->dir, date, kp_published_last_version(done, date) + 1, done, err) != 0 ||
			    kp_published_write_index(p->dir, done, err) != 0)
				return -1;
		}
		if (built_note(p, &dates->v[i], err) != 0)
			return -1;
	}
	return failed ? -1 : published;
}

/* The published packages, read from the folder; once at the start, the
 * index written from them: a crash may have come between a rename and the
 * index that lists it. */
static int read_published(struct kp_publish *p, struct kp_published_list *done, char *err)
{
	if (kp_published_scan(p->dir, done, err) != 0)
		return -1;
	if (!p->index_written && kp_published_write_index(p->dir, done, err) != 0)
		return -1;
	p->index_written = 1;
	return 0;
}

static int round_checked(struct kp_publish *p, int64_t now_ms, char *err)
{
	struct kp_published_list done = { 0 };
	struct dates dates = { 0 };
	uint32_t closed, recheck, from;
	int rc = -1, have_done = !p->index_written;

	if (scan_window(p, now_ms, &closed, &recheck, err) != 0 || make_dir(p->dir, err) != 0)
		goto out;
	if (have_done && read_published(p, &done, err) != 0)
		goto out;
	from = recheck < p->looked_before ? recheck : p->looked_before;
	if (closed == 0 || dates_with_taps(p, from, closed - 1, &dates, err) != 0)
		goto out;
	keep_moved(p, &dates);
	/* The folder's manifests are read only when a date is to be built. */
	if (dates.n > 0 && !have_done && read_published(p, &done, err) != 0)
		goto out;
	rc = publish_dates(p, &dates, recheck, &done, now_ms, err);
	if (rc >= 0 && !atomic_load(&p->stopping) && closed > p->looked_before)
		p->looked_before = closed;
	if (rc >= 0)
		built_forget_before(p, from);
out:
	free(dates.v);
	kp_published_free(&done);
	return rc;
}

int kp_publish_round(struct kp_publish *p, int64_t now_ms)
{
	char err[KP_PUBLISH_ERR_SIZE] = "";
	int rc;

	if (!p->cfg.enabled)
		return 0;
	rc = round_checked(p, now_ms, err);
	if (rc < 0) {
		atomic_fetch_add_explicit(&p->m->open_data_publish_errors, 1, memory_order_relaxed);
		p->index_written = 0; /* the error may have come between a package and the index */
		fprintf(stderr, "komposterd: ALARM: open data not published (retried in %d s): %s\n",
		        p->cfg.interval_ms / 1000, err);
	}
	return rc;
}

/* ------------------------------------------------------------ the thread */

struct kp_publish_stage {
	struct kp_publish *p;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
};

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *stage_main(void *arg)
{
	struct kp_publish_stage *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->mu);
		(void)kp_publish_round(s->p, kp_now_ms()); /* an error is reported and retried */
		pthread_mutex_lock(&s->mu);
		deadline_after(&until, s->p->cfg.interval_ms);
		while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int init_sync(struct kp_publish_stage *s)
{
	pthread_condattr_t attr;
	int ok;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&s->cv, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (!ok)
		return -1;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		pthread_cond_destroy(&s->cv);
		return -1;
	}
	return 0;
}

int kp_publish_stage_start(const struct kp_publish_ctx *ctx, struct kp_publish_stage **out)
{
	struct kp_publish_stage *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL || kp_publish_open(ctx, &s->p) != 0) {
		free(s);
		return -1;
	}
	if (init_sync(s) != 0) {
		kp_publish_close(s->p);
		free(s);
		return -1;
	}
	if (pthread_create(&s->thread, NULL, stage_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		kp_publish_close(s->p);
		free(s);
		return -1;
	}
	(void)kp_thread_name(s->thread, "kp-opendata"); /* unnamed works the same (thread_attr.h) */
	*out = s;
	return 0;
}

void kp_publish_stage_join(struct kp_publish_stage *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->p->stopping, 1);
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	kp_publish_close(s->p);
	free(s);
}
