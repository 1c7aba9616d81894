/*
 * Description: the map grows (doubling) when a group does not fit, and the
 * group is stored whole; when it cannot grow past map_size_max the group
 * fails with ST_EFULL, every item is ST_FULL, nothing of it is stored, and
 * what was committed before is intact.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "storage/check.h"
#include "storage/log.h"
#include "storage/once.h"

TestSuite(map_growth, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

#define GROUP_MAX 96 /* 96 full frames: about 2.4 MB of log */

struct group {
	uint8_t frames[GROUP_MAX][KP_FRAME_MAX];
	struct st_commit_item items[GROUP_MAX];
};

/* n full frames of d, batch_seq first.. */
static void make_group(struct group *g, const struct tdev *d, uint64_t first, size_t n)
{
	cr_assert_leq(n, GROUP_MAX);
	for (size_t i = 0; i < n; i++) {
		uint64_t bs = first + i;
		size_t len = t_frame_simple(g->frames[i], d, bs, KP_RECORDS_MAX, noon + (int64_t)bs * 1000,
		                            (uint32_t)bs * KP_RECORDS_MAX);

		g->items[i] = (struct st_commit_item){.frame = g->frames[i], .len = len};
	}
}

static void expect_consistent(uint64_t entries)
{
	struct st_check_report rep;

	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
	cr_expect_eq(rep.entries, entries);
}

static int stored(uint64_t dev, uint64_t bs)
{
	struct st_read r;
	uint64_t seq;
	int rc;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	rc = st_once_lookup(&r, dev, bs, &seq);
	st_read_end(&r);
	cr_assert(rc == ST_OK || rc == ST_ENOTFOUND);
	return rc == ST_OK;
}

Test(map_growth, a_group_that_does_not_fit_grows_the_map_and_is_stored_whole)
{
	struct group *g = malloc(sizeof *g);
	struct st_commit_stats stats;
	struct tdev d;
	uint32_t grows = 0;

	cr_assert_not_null(g);
	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 64 * T_MIB;
	tdb_open();
	cr_expect_eq(st_db_map_size(tdb.db), 1 * T_MIB);
	tdev_make(&d, 0xF1);
	for (uint64_t round = 0; round < 8; round++) {
		make_group(g, &d, round * 16 + 1, 16);
		cr_assert_eq(st_commit_group(tdb.db, g->items, 16, &stats), ST_OK, "round %lu",
		             (unsigned long)round);
		cr_expect_eq(stats.stored, 16);
		for (int i = 0; i < 16; i++)
			cr_expect_eq(g->items[i].outcome, ST_STORED);
		grows += stats.map_grows;
	}
	cr_expect_gt(grows, 0, "the map never grew");
	cr_expect_gt(st_db_map_size(tdb.db), 1 * T_MIB);
	cr_expect_eq(g->items[15].watermark, 128);
	expect_consistent(128);
	tdb_reopen();
	cr_expect_gt(st_db_map_size(tdb.db), 1 * T_MIB, "a reopen keeps the grown map");
	expect_consistent(128);
	free(g);
}

Test(map_growth, a_full_map_stores_nothing_of_the_group_and_keeps_what_was_there)
{
	struct group *g = malloc(sizeof *g);
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_stats stats;
	struct st_read r;
	struct tdev d;
	uint64_t last;
	size_t len;

	cr_assert_not_null(g);
	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 2 * T_MIB;
	tdb_open();
	tdev_make(&d, 0xF2);
	len = t_frame_simple(frame, &d, 1, 10, noon, 7);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);

	make_group(g, &d, 2, GROUP_MAX);
	cr_expect_eq(st_commit_group(tdb.db, g->items, GROUP_MAX, &stats), ST_EFULL);
	for (int i = 0; i < GROUP_MAX; i++)
		cr_expect_eq(g->items[i].outcome, ST_FULL);
	cr_expect_eq(stats.stored, 0);
	cr_expect_eq(st_db_map_size(tdb.db), 2 * T_MIB, "grown to the maximum");

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_last_seq(&r, &last), ST_OK);
	st_read_end(&r);
	cr_expect_eq(last, 1);
	cr_expect(stored(0xF2, 1));
	cr_expect(!stored(0xF2, 2));
	cr_expect(!stored(0xF2, GROUP_MAX + 1));
	expect_consistent(1);

	/* A group that fits still goes in afterwards. */
	len = t_frame_simple(frame, &d, 2, 10, noon, 9000);
	cr_expect_eq(t_commit1(frame, len, NULL), ST_OK);
	expect_consistent(2);
	free(g);
}

/* The first run of a group makes the epoch key of its date, then fills the
 * map; the run after the growth must store that date's key again, not take
 * the aborted run's key from the writer's cache and store pseudonyms and a
 * frame_hash made with a key that is nowhere. */
Test(map_growth, a_group_run_again_after_growing_stores_the_epoch_key_it_used)
{
	struct group *g = malloc(sizeof *g);
	uint8_t key[ST_EPOCH_KEY_SIZE];
	uint8_t want[ST_FRAME_HASH_SIZE];
	struct st_commit_stats stats;
	struct st_log_entry e;
	struct st_read r;
	struct tdev d;

	cr_assert_not_null(g);
	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb.opts.map_size_max = 64 * T_MIB;
	tdb_open();
	tdev_make(&d, 0xF4);
	make_group(g, &d, 1, GROUP_MAX);
	cr_assert_eq(st_commit_group(tdb.db, g->items, GROUP_MAX, &stats), ST_OK);
	cr_assert_gt(stats.map_grows, 0, "the group fitted: the test needs one that does not");
	t_stored_epoch_key(20240515, key); /* noon is 2024-05-15 in Kyiv */
	st_frame_hash(key, g->frames[0], g->items[0].len, want);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, 1, &e), ST_OK);
	cr_expect_eq(memcmp(e.frame_hash, want, sizeof want), 0,
	             "frame_hash is not keyed with the stored epoch key");
	st_read_end(&r);
	expect_consistent(GROUP_MAX);
	free(g);
}

/* ---- readers in other threads while the writer grows the map ---- */

struct reader {
	pthread_t thread;
	atomic_int *stop;
	uint64_t reads;
	int failures;
};

static void *read_loop(void *arg)
{
	struct reader *rd = arg;

	while (!atomic_load(rd->stop)) {
		struct st_read r;
		uint64_t last, seq;

		if (st_read_begin(tdb.db, &r) != ST_OK) {
			rd->failures++;
			continue;
		}
		if (st_log_last_seq(&r, &last) != ST_OK ||
		    (last > 0 && st_once_lookup(&r, 0xF3, last, &seq) != ST_OK) || (last > 0 && seq != last))
			rd->failures++;
		st_read_end(&r);
		rd->reads++;
	}
	return NULL;
}

Test(map_growth, readers_in_other_threads_neither_block_growth_nor_see_a_torn_map)
{
	enum { READERS = 3, ROUNDS = 8, PER = 16 };
	struct group *g = malloc(sizeof *g);
	struct reader rd[READERS];
	struct st_commit_stats stats;
	atomic_int stop = 0;
	uint32_t grows = 0;
	struct tdev d;

	cr_assert_not_null(g);
	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb_open();
	tdev_make(&d, 0xF3);
	for (int i = 0; i < READERS; i++) {
		rd[i] = (struct reader){.stop = &stop};
		cr_assert_eq(pthread_create(&rd[i].thread, NULL, read_loop, &rd[i]), 0);
	}
	for (uint64_t round = 0; round < ROUNDS; round++) {
		make_group(g, &d, round * PER + 1, PER);
		cr_assert_eq(st_commit_group(tdb.db, g->items, PER, &stats), ST_OK);
		grows += stats.map_grows;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < READERS; i++) {
		cr_assert_eq(pthread_join(rd[i].thread, NULL), 0);
		cr_expect_eq(rd[i].failures, 0, "reader %d failed %d times", i, rd[i].failures);
		cr_expect_gt(rd[i].reads, 0);
	}
	cr_expect_gt(grows, 0);
	expect_consistent(ROUNDS * PER);
	free(g);
}
