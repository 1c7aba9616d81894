/*
 * Description: the epoch keys shared between instances (epoch_share.h).
 * An export makes the missing keys of its range and an import into
 * another database gives the same card the same pseudonym there;
 * importing again adds nothing. Refused, all or none: a key that differs
 * from the one held (ST_ECONFLICT, the epoch named), a key of an epoch
 * destroyed here, a damaged file (ST_EINVAL), a file of other settings
 * (ST_EMISMATCH); an export of a destroyed epoch. With
 * epoch_keys_imported the writer makes no key: the frame is left out of
 * its group (ST_NOKEY), nothing of it stored, and stored after the import.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "storage/epoch_keys.h"
#include "storage/epoch_share.h"
#include "storage/log.h"

#define D15 20240515u
#define D17 20240517u

static const int64_t noon_0515 = 1715763600000; /* 2024-05-15, 12:00 in Kyiv */
static const int64_t now = 1715800000000;

static struct st_db *open_at(const char *name, int imported, const char *tz)
{
	char path[128];
	struct st_options o = tdb.opts;
	struct st_db *db;
	int rc;

	snprintf(path, sizeof path, "%s/%s", tdb.dir, name);
	o.path = path;
	o.epoch_keys_imported = imported;
	if (tz)
		o.timezone = tz;
	rc = st_db_open(&db, &o);
	cr_assert_eq(rc, ST_OK, "open %s: %s", name, st_strerror(rc));
	return db;
}

/* Commits one tap of card 42 at `at` as device d's batch seq; returns
 * st_commit_group's status (ST_ENOKEY: the frame was left out for want of
 * its epoch's key), the tap's pseudonym into out when stored. */
static int commit_card(struct st_db *db, const struct tdev *d, uint64_t seq, int64_t at,
                       uint8_t out[ST_PSEUDONYM_SIZE])
{
	struct kp_tap tap = t_tap(at, 7, 100, 1, 800, 42);
	uint8_t frame[KP_FRAME_MAX];
	struct st_commit_item it = {.frame = frame, .received_at = now};
	struct st_log_entry e;
	struct st_read r;
	struct kp_tap t;
	int rc;

	it.len = t_frame(frame, d, seq, &tap, 1);
	rc = st_commit_group(db, &it, 1, NULL);
	if (rc == ST_OK && it.outcome == ST_NOKEY)
		return ST_ENOKEY; /* left out; the rest of a group would be stored */
	if (rc != ST_OK) {
		cr_expect_eq(it.outcome, ST_FAILED);
		return rc;
	}
	cr_assert_eq(it.outcome, ST_STORED);
	cr_assert_eq(st_read_begin(db, &r), ST_OK);
	cr_assert_eq(st_log_get(&r, it.seq, &e), ST_OK);
	kp_frame_get_tap(e.frame, 0, &t);
	memcpy(out, t.card_token, ST_PSEUDONYM_SIZE);
	st_read_end(&r);
	return ST_OK;
}

static int count_keys_cb(void *ctx, const struct st_epoch_key_info *k)
{
	(void)k;
	++*(int *)ctx;
	return 0;
}

static int count_keys(struct st_db *db)
{
	struct st_read r;
	int n = 0;

	cr_assert_eq(st_read_begin(db, &r), ST_OK);
	cr_assert_eq(st_epoch_keys_foreach(&r, count_keys_cb, &n), ST_OK);
	st_read_end(&r);
	return n;
}

static void export_a(struct st_db *a, struct st_epoch_key_file *f)
{
	int rc = st_epoch_keys_export(a, D15, D17, now, f);

	cr_assert_eq(rc, ST_OK, "export: %s", st_strerror(rc));
	cr_assert_eq(f->count, 3);
}

TestSuite(epoch_share, .init = tdb_setup, .fini = tdb_teardown);

Test(epoch_share, imported_keys_give_one_pseudonym_on_two_instances)
{
	struct st_db *a = open_at("a", 0, NULL), *b = open_at("b", 1, NULL);
	struct st_epoch_key_file f;
	struct st_epoch_imported im;
	uint8_t pa[ST_PSEUDONYM_SIZE], pb[ST_PSEUDONYM_SIZE];
	struct tdev da, db_;

	tdev_make(&da, 0xa1);
	tdev_make(&db_, 0xb1);
	cr_assert_eq(commit_card(a, &da, 1, noon_0515, pa), ST_OK);
	export_a(a, &f);
	cr_expect_eq(f.made, 2, "the key of 05-15 existed, 05-16 and 05-17 are made");
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_OK);
	cr_expect(im.count == 3 && im.added == 3 && im.same == 0);
	cr_assert_eq(commit_card(b, &db_, 1, noon_0515, pb), ST_OK);
	cr_expect(memcmp(pa, pb, sizeof pa) == 0, "one card, two pseudonyms");
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_OK);
	cr_expect(im.added == 0 && im.same == 3);
	st_epoch_key_file_free(&f);
	cr_expect_null(f.buf);
	st_db_close(a);
	st_db_close(b);
}

Test(epoch_share, imported_mode_makes_no_key_and_leaves_the_frame_out)
{
	struct st_db *a = open_at("a", 0, NULL), *b = open_at("b", 1, NULL);
	struct st_epoch_key_file f;
	struct st_epoch_imported im;
	uint8_t p[ST_PSEUDONYM_SIZE];
	struct tdev d;

	tdev_make(&d, 0xb2);
	cr_assert_eq(commit_card(b, &d, 1, noon_0515, p), ST_ENOKEY);
	cr_expect_eq(count_keys(b), 0, "a key was made");
	export_a(a, &f);
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_OK);
	cr_expect_eq(commit_card(b, &d, 1, noon_0515, p), ST_OK);
	/* An epoch after the file's: refused again, still no key made. */
	cr_expect_eq(commit_card(b, &d, 2, noon_0515 + 3 * 86400000, p), ST_ENOKEY);
	cr_expect_eq(count_keys(b), 3);
	st_epoch_key_file_free(&f);
	st_db_close(a);
	st_db_close(b);
}

Test(epoch_share, a_conflicting_key_refuses_the_whole_file)
{
	struct st_db *a = open_at("a", 0, NULL), *b = open_at("b", 0, NULL);
	struct st_epoch_key_file f;
	struct st_epoch_imported im;
	uint8_t p[ST_PSEUDONYM_SIZE];
	struct tdev d;

	tdev_make(&d, 0xb3);
	export_a(a, &f);
	cr_assert_eq(commit_card(b, &d, 1, noon_0515 + 86400000, p), ST_OK); /* b makes its own 05-16 */
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_ECONFLICT);
	cr_expect_eq(im.epoch, 20240516u);
	cr_expect_eq(im.destroyed, 0);
	cr_expect_eq(count_keys(b), 1, "part of the file was imported");
	st_epoch_key_file_free(&f);
	st_db_close(a);
	st_db_close(b);
}

Test(epoch_share, a_destroyed_epoch_never_comes_back)
{
	struct st_db *a = open_at("a", 0, NULL), *b = open_at("b", 0, NULL);
	struct st_epoch_key_file f, g;
	struct st_epoch_imported im;

	export_a(a, &f);
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_OK);
	cr_assert_eq(st_epoch_keys_destroy_before(b, 20240516u, now, NULL), ST_OK);
	cr_assert_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_ECONFLICT);
	cr_expect(im.epoch == D15 && im.destroyed == 1);
	cr_assert_eq(st_epoch_keys_destroy_before(a, 20240516u, now, NULL), ST_OK);
	cr_expect_eq(st_epoch_keys_export(a, D15, D17, now, &g), ST_ECONFLICT);
	cr_expect_null(g.buf);
	st_epoch_key_file_free(&f);
	st_db_close(a);
	st_db_close(b);
}

Test(epoch_share, a_damaged_file_or_one_of_other_settings_is_refused)
{
	struct st_db *a = open_at("a", 0, NULL), *b = open_at("b", 0, "UTC");
	struct st_epoch_key_file f;
	struct st_epoch_imported im;

	export_a(a, &f);
	cr_expect_eq(st_epoch_keys_import(b, f.buf, f.len, &im), ST_EMISMATCH);
	f.buf[f.len / 2] ^= 1;
	cr_expect_eq(st_epoch_keys_import(a, f.buf, f.len, &im), ST_EINVAL);
	cr_expect_eq(st_epoch_keys_import(a, f.buf, f.len - 1, &im), ST_EINVAL);
	cr_expect_eq(count_keys(b), 0);
	st_epoch_key_file_free(&f);
	st_db_close(a);
	st_db_close(b);
}
