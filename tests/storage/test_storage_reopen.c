/*
 * Description: closing and reopening keeps everything (log, chain, once-only
 * index, watermarks, aggregates, devices) and the sequence carries on; a
 * read-only open in another process works while the writer has the
 * database open, and follows the map when the writer grows it; a database
 * of another schema version (the old "KPL1" log layout included) is refused.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "storage/chain.h"
#include "storage/check.h"
#include "storage/devices.h"
#include "storage/log.h"
#include "storage/once.h"
#include "storage/tap_agg.h"

TestSuite(reopen, .init = tdb_setup, .fini = tdb_teardown);

static const int64_t noon = 1715763600000;

struct snapshot {
	uint64_t last;
	uint8_t head[ST_CHAIN_HEAD_SIZE];
	uint64_t wa, wb, seq_b3;
	uint64_t accepted, amount;
	struct st_device dev;
	struct st_device_key key;
};

static int sum(void *ctx, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v)
{
	struct snapshot *s = ctx;

	s->accepted += v->accepted;
	s->amount += v->amount;
	return 0;
}

static void take(struct snapshot *s)
{
	struct st_read r;

	memset(s, 0, sizeof *s);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_log_last_seq(&r, &s->last), ST_OK);
	cr_assert_eq(st_chain_head(&r, s->last, s->head), ST_OK);
	cr_assert_eq(st_once_watermark(&r, 0xAA, &s->wa), ST_OK);
	cr_assert_eq(st_once_watermark(&r, 0xBB, &s->wb), ST_OK);
	cr_assert_eq(st_once_lookup(&r, 0xBB, 3, &s->seq_b3), ST_OK);
	cr_assert_eq(st_tap_agg_foreach(&r, 0, UINT32_MAX, sum, s), ST_OK);
	cr_assert_eq(st_device_get(&r, 0xAA, &s->dev), ST_OK);
	cr_assert_eq(st_device_key_get(&r, 0xAA, 1, &s->key), ST_OK);
	st_read_end(&r);
}

Test(reopen, a_reopened_database_holds_everything_and_carries_on)
{
	uint8_t frame[KP_FRAME_MAX];
	struct st_device dev = {.id = 0xAA, .kind = ST_KIND_VALIDATOR, .operator_name = "op",
	                        .created_at = 5};
	struct st_device_key key = {.device_id = 0xAA, .key_id = 1, .added_at = 6};
	struct st_commit_item it;
	struct st_check_report rep;
	struct snapshot before, after;
	struct tdev a, b;
	size_t len;

	tdb_open();
	tdev_make(&a, 0xAA);
	tdev_make(&b, 0xBB);
	memcpy(key.public_key, a.pk, sizeof a.pk);
	cr_assert_eq(st_device_add(tdb.db, &dev), ST_OK);
	cr_assert_eq(st_device_key_add(tdb.db, &key), ST_OK);
	for (uint64_t bs = 1; bs <= 3; bs++) {
		len = t_frame_simple(frame, &a, bs, 3, noon + (int64_t)bs, (uint32_t)bs * 10);
		cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	}
	len = t_frame_simple(frame, &b, 3, 2, noon, 99);
	cr_assert_eq(t_commit1(frame, len, NULL), ST_OK);
	take(&before);
	tdb_reopen();
	take(&after);
	cr_expect_eq(memcmp(&before, &after, sizeof before), 0, "something changed across the reopen");
	cr_expect_eq(after.last, 4);
	cr_expect_eq(after.wa, 3);
	cr_expect_eq(after.wb, 0);
	cr_expect_eq(after.accepted, 11);

	len = t_frame_simple(frame, &b, 1, 1, noon, 500);
	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_expect_eq(it.seq, 5, "the sequence carries on");
	len = t_frame_simple(frame, &a, 3, 3, noon, 30);
	cr_assert_eq(t_commit1(frame, len, &it), ST_OK);
	cr_expect_eq(it.outcome, ST_DUPLICATE, "the once-only index survives");
	cr_assert_eq(st_check(tdb.db, &rep, stderr, NULL, NULL), ST_OK);
	cr_expect_eq(rep.problems, 0);
}

Test(reopen, a_read_only_open_of_a_missing_database_is_enotfound)
{
	struct st_db *db = NULL;
	char path[128];
	struct stat sb;

	snprintf(path, sizeof path, "%s/nothing-here", tdb.dir);
	tdb.opts.path = path;
	tdb.opts.read_only = 1;
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ENOTFOUND);
	cr_expect_null(db);
	cr_expect_neq(stat(path, &sb), 0, "a read-only open creates nothing");
}

/* Opens the closed test database with plain LMDB, lets edit change the
 * named database in one write transaction, and commits. */
static void raw_edit(const char *name, void (*edit)(MDB_txn *txn, MDB_dbi dbi, uint8_t arg), uint8_t arg)
{
	struct t_raw raw;

	t_raw_begin(&raw, name, 0);
	edit(raw.txn, raw.dbi, arg);
	t_raw_commit(&raw);
}

static void put_schema(MDB_txn *txn, MDB_dbi dbi, uint8_t version)
{
	uint8_t le[4] = {version, 0, 0, 0};
	MDB_val k = {14, "schema_version"}, v = {sizeof le, le};

	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void set_schema(uint8_t version)
{
	raw_edit("meta", put_schema, version);
}

Test(reopen, a_database_of_another_schema_version_is_refused)
{
	struct st_db *db = NULL;

	tdb_open();
	tdb_close();
	set_schema(99); /* a version no build has had */
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA);
	cr_expect_null(db);
}

Test(reopen, a_database_of_schema_3_is_refused)
{
	struct st_db *db = NULL;

	tdb_open();
	tdb_close();
	set_schema(3); /* no cameras, vehicle_pos or NVR tables; NVR door cells unknown to its check */
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA);
	cr_expect_null(db);
	cr_expect_str_eq(st_strerror(ST_ESCHEMA),
	                 "the database was made by another version of komposter (schema version differs)",
	                 "operators are told it is another version, not corruption");
}

Test(reopen, a_database_of_the_old_log_layout_is_refused)
{
	struct st_db *db = NULL;

	tdb_open();
	tdb_close();
	set_schema(1); /* "KPL1" entries: signature kept, unkeyed frame_hash */
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA);
	cr_expect_null(db);
	tdb.opts.read_only = 1;
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA, "read-only too");
	cr_expect_null(db);
}

static void drop(MDB_txn *txn, MDB_dbi dbi, uint8_t unused)
{
	cr_assert_eq(mdb_drop(txn, dbi, 1), 0);
}

static void drop_table(const char *name)
{
	raw_edit(name, drop, 0);
}

Test(reopen, a_database_of_schema_2_without_count_tables_is_refused)
{
	struct st_db *db = NULL;

	tdb_open();
	tdb_close();
	set_schema(2); /* taps only: no door_agg, no load_agg */
	drop_table("door_agg");
	drop_table("load_agg");
	tdb.opts.read_only = 1;
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA, "read-only: refused for its schema");
	cr_expect_null(db);
	tdb.opts.read_only = 0;
	cr_expect_eq(st_db_open(&db, &tdb.opts), ST_ESCHEMA);
	cr_expect_null(db);
}

/* ---- a reader in another process ---- */

enum { CHILD_OK = 0, CHILD_OPEN = 10, CHILD_FIRST_READ, CHILD_PIPE, CHILD_SECOND_READ, CHILD_GET };

/* The child: opens read-only while the parent has the db open, reads, tells
 * the parent, waits for it to grow the map, reads again. */
static int reader_child(int to_parent, int from_parent, uint64_t want_last)
{
	struct st_options o = tdb.opts;
	struct st_db *db;
	struct st_read r;
	struct st_log_entry e;
	uint64_t last = 0;
	char c = 'r';

	o.read_only = 1;
	if (st_db_open(&db, &o) != ST_OK)
		return CHILD_OPEN;
	if (st_read_begin(db, &r) != ST_OK || st_log_last_seq(&r, &last) != ST_OK || last != 1)
		return CHILD_FIRST_READ;
	st_read_end(&r);
	if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1)
		return CHILD_PIPE;
	if (st_read_begin(db, &r) != ST_OK || st_log_last_seq(&r, &last) != ST_OK || last != want_last)
		return CHILD_SECOND_READ;
	if (st_log_get(&r, want_last, &e) != ST_OK || e.frame_len != kp_frame_size(KP_TYPE_TAPS, KP_RECORDS_MAX))
		return CHILD_GET;
	st_read_end(&r);
	st_db_close(db);
	return CHILD_OK;
}

Test(reopen, a_reader_in_another_process_follows_the_writer_growing_the_map)
{
	enum { GROUPS = 6, PER_GROUP = 8 };
	static uint8_t frames[PER_GROUP][KP_FRAME_MAX];
	struct st_commit_item items[PER_GROUP];
	struct st_commit_stats stats;
	uint32_t grows = 0;
	int up[2], down[2], status;
	uint64_t bs = 1;
	struct tdev d;
	pid_t pid;
	char c;
	size_t len;

	tdb.opts.map_size_initial = 1 * T_MIB;
	tdb_open();
	tdev_make(&d, 0x99);
	len = t_frame_simple(frames[0], &d, bs++, 1, noon, 1);
	cr_assert_eq(t_commit1(frames[0], len, NULL), ST_OK);
	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(reader_child(up[1], down[0], 1 + GROUPS * PER_GROUP));
	cr_assert_eq(read(up[0], &c, 1), 1, "the reader did not open");
	for (int g = 0; g < GROUPS; g++) {
		for (int i = 0; i < PER_GROUP; i++, bs++) {
			len = t_frame_simple(frames[i], &d, bs, KP_RECORDS_MAX, noon, (uint32_t)bs * KP_RECORDS_MAX);
			items[i] = (struct st_commit_item){.frame = frames[i], .len = len};
		}
		cr_assert_eq(st_commit_group(tdb.db, items, PER_GROUP, &stats), ST_OK);
		grows += stats.map_grows;
	}
	cr_expect_gt(grows, 0, "the writer never grew the map");
	cr_assert_eq(write(down[1], "g", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), CHILD_OK, "reader child failed at step %d", WEXITSTATUS(status));
}
