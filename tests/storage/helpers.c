/*
 * helpers.c — see helpers.h.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tdb tdb;

void tdb_setup(void)
{
	cr_assert_eq(sodium_init() >= 0, 1);
	memset(&tdb, 0, sizeof tdb);
	snprintf(tdb.dir, sizeof tdb.dir, "/tmp/kp-storage-XXXXXX");
	cr_assert_not_null(mkdtemp(tdb.dir), "mkdtemp");
	st_options_default(&tdb.opts);
	tdb.opts.path = tdb.dir;
	tdb.opts.map_size_initial = 16 * T_MIB;
	tdb.opts.map_size_max = 1024 * T_MIB;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

void tdb_teardown(void)
{
	tdb_close();
	if (tdb.dir[0])
		nftw(tdb.dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tdb_open(void)
{
	int rc = st_db_open(&tdb.db, &tdb.opts);

	cr_assert_eq(rc, ST_OK, "st_db_open: %s", st_strerror(rc));
}

void tdb_close(void)
{
	st_db_close(tdb.db);
	tdb.db = NULL;
}

void tdb_reopen(void)
{
	tdb_close();
	tdb_open();
}

void tdev_make(struct tdev *d, uint64_t id)
{
	d->id = id;
	cr_assert_eq(crypto_sign_keypair(d->pk, d->sk), 0);
}

int64_t t_utc_ms(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
	                .tm_hour = hour, .tm_min = min, .tm_sec = sec};

	return (int64_t)timegm(&tm) * 1000;
}

void t_token(uint8_t token[KP_CARD_TOKEN_SIZE], uint32_t n)
{
	uint8_t seed[8] = {'c', 'a', 'r', 'd', (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
	                   (uint8_t)(n >> 24)};

	crypto_generichash(token, KP_CARD_TOKEN_SIZE, seed, sizeof seed, NULL, 0);
}

struct kp_tap t_tap(int64_t at, uint32_t route, uint32_t stop, uint16_t fare, uint32_t amount,
                    uint32_t card)
{
	struct kp_tap t = {.tapped_at = at, .route_id = route, .stop_id = stop, .vehicle_id = 4242,
	                   .fare_product = fare, .direction = 0, .result = KP_TAP_ACCEPTED,
	                   .amount = amount};

	t_token(t.card_token, card);
	return t;
}

/* A signed frame of n records, taps or counts (the other NULL), sent a
 * second after its first record. */
static size_t signed_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                           const struct kp_tap *taps, const struct kp_count *counts, uint16_t n)
{
	struct kp_header h = {.type = taps ? KP_TYPE_TAPS : KP_TYPE_COUNTS, .key_id = 0, .count = n,
	                      .device_id = d->id, .batch_seq = batch_seq,
	                      .sent_at = (taps ? taps[0].tapped_at : counts[0].observed_at) + 1000};
	size_t len = kp_frame_size(h.type, n);

	cr_assert_eq(kp_frame_put_header(buf, KP_FRAME_MAX, &h), KP_OK);
	for (uint16_t i = 0; i < n; i++) {
		if (taps)
			kp_frame_put_tap(buf, i, &taps[i]);
		else
			kp_frame_put_count(buf, i, &counts[i]);
	}
	cr_assert_eq(kp_frame_sign(buf, len, d->sk), KP_OK);
	cr_assert_eq(kp_frame_decode(buf, len, &h), KP_OK);
	return len;
}

size_t t_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
               const struct kp_tap *taps, uint16_t n)
{
	return signed_frame(buf, d, batch_seq, taps, NULL, n);
}

size_t t_frame_simple(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                      uint16_t n, int64_t at, uint32_t card0)
{
	struct kp_tap taps[KP_RECORDS_MAX];

	for (uint16_t i = 0; i < n; i++)
		taps[i] = t_tap(at + i, 7, 100, 1, 800, card0 + i);
	return t_frame(buf, d, batch_seq, taps, n);
}

struct kp_count t_door_cycle(int64_t at, uint32_t route, uint32_t stop, uint8_t door, uint16_t boardings,
                             uint16_t alightings)
{
	return (struct kp_count){.observed_at = at, .route_id = route, .stop_id = stop, .vehicle_id = 31,
	                         .door = door, .kind = KP_COUNT_KIND_DOOR_CYCLE, .boardings = boardings,
	                         .alightings = alightings, .occupancy = KP_OCCUPANCY_UNKNOWN,
	                         .confidence = KP_CONFIDENCE_UNKNOWN};
}

struct kp_count t_occupancy(int64_t at, uint32_t route, uint16_t occupancy)
{
	return (struct kp_count){.observed_at = at, .route_id = route, .vehicle_id = 31,
	                         .kind = KP_COUNT_KIND_OCCUPANCY, .occupancy = occupancy,
	                         .confidence = KP_CONFIDENCE_UNKNOWN};
}

size_t t_count_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                     const struct kp_count *recs, uint16_t n)
{
	return signed_frame(buf, d, batch_seq, NULL, recs, n);
}

int t_commit1(const uint8_t *frame, size_t len, struct st_commit_item *out)
{
	struct st_commit_item it = {.frame = frame, .len = len, .received_at = 1700000000000};
	int rc = st_commit_group(tdb.db, &it, 1, NULL);

	if (out)
		*out = it;
	return rc;
}

void t_raw_begin(struct t_raw *r, const char *tree, unsigned int flags)
{
	cr_assert_eq(mdb_env_create(&r->env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(r->env, 32), 0);
	cr_assert_eq(mdb_env_open(r->env, tdb.dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
	if (tree != NULL)
		cr_assert_eq(mdb_dbi_open(r->txn, tree, flags, &r->dbi), 0, "tree %s", tree);
}

void t_raw_commit(struct t_raw *r)
{
	cr_assert_eq(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
}

void t_raw_edit(void (*fn)(MDB_txn *txn, void *ctx), void *ctx)
{
	struct t_raw r;

	tdb_close();
	t_raw_begin(&r, NULL, 0);
	fn(r.txn, ctx);
	t_raw_commit(&r);
}

uint8_t *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long size;

	cr_assert_not_null(f, "open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	cr_assert_geq(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

void t_stored_epoch_key(uint32_t epoch_date, uint8_t key[ST_EPOCH_KEY_SIZE])
{
	uint8_t kb[4] = {(uint8_t)(epoch_date >> 24), (uint8_t)(epoch_date >> 16), (uint8_t)(epoch_date >> 8),
	                 (uint8_t)epoch_date};
	MDB_val k = {sizeof kb, kb}, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	tdb_close();
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 16), 0);
	cr_assert_eq(mdb_env_open(env, tdb.dir, MDB_RDONLY, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "epoch_keys", 0, &dbi), 0);
	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0, "no epoch key for %u", epoch_date);
	cr_assert_eq(v.mv_size, ST_EPOCH_KEY_SIZE + 8, "not a live key record (key ‖ created_at)");
	memcpy(key, v.mv_data, ST_EPOCH_KEY_SIZE);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	tdb_open();
}
