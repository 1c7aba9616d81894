/*
 * tmpdir.h — a fresh directory per test under /tmp, removed afterwards.
 * Include it first: it asks for nftw().
 */
#ifndef VD_TEST_TMPDIR_H
#define VD_TEST_TMPDIR_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static inline void vd_tmpdir_make(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/kp-validators-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp");
}

static inline int vd_tmpdir_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

static inline void vd_tmpdir_remove(const char *dir)
{
	nftw(dir, vd_tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
