/*
 * helpers.h — shared by the storage tests: a fresh database in its own
 * temporary directory per test (the suite's .init and .fini), devices with
 * real Ed25519 keys, and signed TAPS and COUNTS frames made with the frame
 * codec.
 */
#ifndef TEST_STORAGE_HELPERS_H
#define TEST_STORAGE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"
#include "storage/commit.h"
#include "storage/db.h"
#include "storage/pseudonym.h"

#define T_MIB ((size_t)1 << 20)

/* The database of the running test. tdb_setup makes the directory and the
 * default options (Europe/Kyiv, service day from 03:00); a test may change
 * tdb.opts before tdb_open. tdb_teardown closes and removes everything. */
struct tdb {
	char dir[64];
	struct st_options opts;
	struct st_db *db;
};
extern struct tdb tdb;

void tdb_setup(void);
void tdb_teardown(void);
void tdb_open(void);
void tdb_close(void);
void tdb_reopen(void);

struct tdev {
	uint64_t id;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	uint8_t sk[KP_SECRET_KEY_SIZE];
};
void tdev_make(struct tdev *d, uint64_t id);

/* Unix ms of a UTC wall-clock time. */
int64_t t_utc_ms(int year, int month, int day, int hour, int min, int sec);

/* A card token made from a number (the same number, the same token). */
void t_token(uint8_t token[KP_CARD_TOKEN_SIZE], uint32_t n);

/* An accepted tap at `at` on route/stop/fare with amount, card t_token(card). */
struct kp_tap t_tap(int64_t at, uint32_t route, uint32_t stop, uint16_t fare, uint32_t amount,
                    uint32_t card);

/* A signed TAPS frame of d with these taps; returns its length. */
size_t t_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
               const struct kp_tap *taps, uint16_t n);

/* A signed frame of n accepted taps at `at` (route 7, stop 100, fare 1,
 * amount 800, cards card0, card0+1, …). */
size_t t_frame_simple(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                      uint16_t n, int64_t at, uint32_t card0);

/* A door-cycle record (kind KP_COUNT_KIND_DOOR_CYCLE) at `at`, vehicle 31,
 * occupancy and confidence unknown. */
struct kp_count t_door_cycle(int64_t at, uint32_t route, uint32_t stop, uint8_t door, uint16_t boardings,
                             uint16_t alightings);
/* An occupancy snapshot (door 0, stop 0) at `at`. */
struct kp_count t_occupancy(int64_t at, uint32_t route, uint16_t occupancy);

/* A signed COUNTS frame of d with these records; returns its length. */
size_t t_count_frame(uint8_t buf[KP_FRAME_MAX], const struct tdev *d, uint64_t batch_seq,
                     const struct kp_count *recs, uint16_t n);

/* Commits one frame alone; returns st_commit_group's status. */
int t_commit1(const uint8_t *frame, size_t len, struct st_commit_item *out);

/* The stored epoch key of the epoch starting at epoch_date, read with plain
 * LMDB; tdb.db is closed meanwhile (one environment per process) and opened
 * again. Fails the test when there is none. */
void t_stored_epoch_key(uint32_t epoch_date, uint8_t key[ST_EPOCH_KEY_SIZE]);

/* Edits the test database with plain LMDB, behind the storage API's back:
 * tdb.db is closed (one environment per process), fn gets a write
 * transaction and ctx, the transaction is committed; tdb.db stays closed. */
void t_raw_edit(void (*fn)(struct MDB_txn *txn, void *ctx), void *ctx);

/* The same inline: t_raw_begin opens the test database's directory (tdb.db
 * closed by the caller) with plain LMDB, a write transaction and, unless
 * tree is NULL, that named tree (opened with flags); t_raw_commit commits
 * and closes it. The caller opens tdb.db again when it wants it. */
struct t_raw {
	struct MDB_env *env;
	struct MDB_txn *txn;
	unsigned int dbi;
};
void t_raw_begin(struct t_raw *r, const char *tree, unsigned int flags);
void t_raw_commit(struct t_raw *r);

/* Reads a whole file into a malloc'd buffer (*len bytes). */
uint8_t *t_slurp(const char *path, size_t *len);

#endif
