/*
 * Description: the Frigate stage's run marker (nvr_session.h): a run that
 * ended clean leaves no marker and its successor stores no outage; a run
 * that did not (no st_nvr_session_end: a crash) leaves its last alive time,
 * and the next begin stores a closed outage from it to now, after the
 * outages already stored and never while the NVR's own outage is open.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "helpers.h"
#include "storage/nvr.h"
#include "storage/nvr_session.h"

TestSuite(nvr_session, .init = tdb_setup, .fini = tdb_teardown);

#define MIN_MS 60000

struct outages {
	int n;
	struct st_nvr_outage o[8];
};

static int collect(void *ctx, const struct st_nvr_outage *o)
{
	struct outages *out = ctx;

	if (out->n < 8)
		out->o[out->n] = *o;
	out->n++;
	return 0;
}

static struct outages outages(void)
{
	struct outages out = { 0 };
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_nvr_outage_foreach(&r, 0, INT64_MAX, collect, &out), ST_OK);
	st_read_end(&r);
	return out;
}

static int marker(int64_t *at)
{
	struct st_read r;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_nvr_session_get(&r, at);
	st_read_end(&r);
	return rc;
}

Test(nvr_session, a_clean_end_leaves_no_marker_and_the_next_run_no_outage)
{
	int64_t t0 = t_utc_ms(2026, 3, 2, 8, 0, 0), gap = -1, at;

	tdb_open();
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0, &gap), ST_OK);
	cr_expect_eq(gap, 0);
	cr_expect_eq(marker(&at), ST_OK);
	cr_expect_eq(at, t0);
	cr_assert_eq(st_nvr_session_alive(tdb.db, t0 + MIN_MS), ST_OK);
	cr_assert_eq(st_nvr_session_end(tdb.db), ST_OK);
	cr_expect_eq(marker(&at), ST_ENOTFOUND);
	tdb_reopen();
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0 + 10 * MIN_MS, &gap), ST_OK);
	cr_expect_eq(gap, 0);
	cr_expect_eq(outages().n, 0);
}

Test(nvr_session, a_run_without_an_end_leaves_an_outage_from_its_last_alive_to_the_next_begin)
{
	int64_t t0 = t_utc_ms(2026, 3, 2, 8, 0, 0), gap = 0;

	tdb_open();
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0, NULL), ST_OK);
	cr_assert_eq(st_nvr_session_alive(tdb.db, t0 + MIN_MS), ST_OK);
	tdb_reopen(); /* the crash: no end */
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0 + 5 * MIN_MS, &gap), ST_OK);
	cr_expect_eq(gap, t0 + MIN_MS);
	struct outages o = outages();
	cr_assert_eq(o.n, 1);
	cr_expect_eq(o.o[0].start, t0 + MIN_MS);
	cr_expect_eq(o.o[0].end, t0 + 5 * MIN_MS, "closed at the new run's begin");
	/* The new run ends clean: nothing more. */
	cr_assert_eq(st_nvr_session_end(tdb.db), ST_OK);
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0 + 9 * MIN_MS, &gap), ST_OK);
	cr_expect_eq(gap, 0);
	cr_expect_eq(outages().n, 1);
}

Test(nvr_session, the_gap_starts_after_the_last_outage_and_none_is_stored_while_one_is_open)
{
	int64_t t0 = t_utc_ms(2026, 3, 2, 8, 0, 0), gap = 0;

	tdb_open();
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0, NULL), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, t0 + MIN_MS), ST_OK);
	cr_assert_eq(st_nvr_set_available(tdb.db, 1, t0 + 3 * MIN_MS), ST_OK);
	/* Crash: the marker (t0) is before that outage's end. */
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0 + 5 * MIN_MS, &gap), ST_OK);
	cr_expect_eq(gap, t0 + 3 * MIN_MS);
	struct outages o = outages();
	cr_assert_eq(o.n, 2);
	cr_expect_eq(o.o[1].start, t0 + 3 * MIN_MS);
	cr_expect_eq(o.o[1].end, t0 + 5 * MIN_MS);
	/* The NVR says offline, then a crash: its open outage covers the gap. */
	cr_assert_eq(st_nvr_set_available(tdb.db, 0, t0 + 6 * MIN_MS), ST_OK);
	cr_assert_eq(st_nvr_session_begin(tdb.db, t0 + 8 * MIN_MS, &gap), ST_OK);
	cr_expect_eq(gap, 0);
	o = outages();
	cr_assert_eq(o.n, 3);
	cr_expect_eq(o.o[2].end, 0, "the NVR's outage stays open until it says online");
}

Test(nvr_session, bad_arguments_are_einval)
{
	tdb_open();
	cr_expect_eq(st_nvr_session_begin(NULL, 1, NULL), ST_EINVAL);
	cr_expect_eq(st_nvr_session_begin(tdb.db, 0, NULL), ST_EINVAL);
	cr_expect_eq(st_nvr_session_alive(tdb.db, -1), ST_EINVAL);
	cr_expect_eq(st_nvr_session_end(NULL), ST_EINVAL);
}
