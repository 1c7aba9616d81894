/*
 * Description: every commit is synced — the environment st_db_open makes
 * runs with none of LMDB's flags that trade durability for speed, so a
 * write that returned ST_OK is on disk (storage/db.c).
 */
#include <criterion/criterion.h>
#include <lmdb.h>

#include "helpers.h"
#include "storage/db.h"

TestSuite(durability, .init = tdb_setup, .fini = tdb_teardown);

Test(durability, every_commit_is_synced)
{
	struct st_read r;
	unsigned flags = 0;

	tdb_open();
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(mdb_env_get_flags(mdb_txn_env(r.txn), &flags), MDB_SUCCESS);
	st_read_end(&r);
	cr_expect_eq(flags & MDB_NOSYNC, 0, "MDB_NOSYNC set (flags %#x)", flags);
	cr_expect_eq(flags & MDB_NOMETASYNC, 0, "MDB_NOMETASYNC set (flags %#x)", flags);
	cr_expect_eq(flags & MDB_MAPASYNC, 0, "MDB_MAPASYNC set (flags %#x)", flags);
	cr_expect_eq(flags & MDB_WRITEMAP, 0, "MDB_WRITEMAP set (flags %#x)", flags);
}
