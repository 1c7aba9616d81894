/* Description: one komposterd per database: an exclusive open holds the
 * directory's lock until closed, a second exclusive open is refused with
 * ST_EBUSY and the holder's pid, and tools that only read are not held up. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "helpers.h"
#include "storage/dir_lock.h"

TestSuite(dir_lock, .init = tdb_setup, .fini = tdb_teardown);

Test(dir_lock, a_second_exclusive_open_is_refused_and_names_the_holder)
{
	struct st_db *second = NULL;

	tdb.opts.exclusive = 1;
	tdb_open();
	cr_expect_eq(st_db_open(&second, &tdb.opts), ST_EBUSY);
	cr_expect_null(second);
	cr_expect_eq(st_dir_lock_holder(tdb.dir), getpid());
	cr_expect_str_eq(st_strerror(ST_EBUSY), "database is in use by another komposterd");
}

Test(dir_lock, closing_releases_the_lock)
{
	struct st_db *again = NULL;

	tdb.opts.exclusive = 1;
	tdb_open();
	tdb_close();
	cr_assert_eq(st_db_open(&again, &tdb.opts), ST_OK);
	st_db_close(again);
}

Test(dir_lock, readers_and_non_exclusive_opens_are_not_held_up)
{
	struct st_db *reader = NULL;
	struct st_options ro = tdb.opts;

	tdb.opts.exclusive = 1;
	tdb_open();
	ro.exclusive = 0;
	ro.read_only = 1;
	cr_expect_eq(st_db_open(&reader, &ro), ST_OK);
	st_db_close(reader);
}

Test(dir_lock, the_lock_is_per_open_file_not_per_process)
{
	int a = -1, b = -1;

	cr_assert_eq(st_dir_lock(tdb.dir, &a), ST_OK);
	cr_expect_eq(st_dir_lock(tdb.dir, &b), ST_EBUSY);
	cr_expect_eq(b, -1);
	st_dir_unlock(a);
	cr_expect_eq(st_dir_lock(tdb.dir, &b), ST_OK);
	st_dir_unlock(b);
}
