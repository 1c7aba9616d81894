/*
 * riders.h — distinct riders per (service date, route) and per service
 * date: a HyperLogLog sketch (hll.h) of the rider pseudonyms of accepted
 * taps, stored per cell and updated in the same write transaction as the
 * taps (st_commit_group), so it never disagrees with the log (st_check
 * recomputes every sketch from the log and compares register for
 * register).
 *
 * Promises:
 *  - a stored TAPS frame adds the pseudonym of each accepted tap to the
 *    sketch of (service date, route) and of (service date, ST_RIDERS_ALL);
 *    denied taps and repeated frames add nothing; a tap of route
 *    0xFFFFFFFF (ST_RIDERS_ALL) counts in the date's total only.
 *  - estimates are exact or nearly so up to about 4000 distinct riders
 *    (sparse sketch), and within about 0.81 % (one standard error,
 *    ST_HLL_STD_ERROR) beyond.
 *  - sketches merge (st_riders_merge_bytes): the merge of the sketches of
 *    two instances that share the epoch secret (DESIGN.md) is the sketch
 *    of the riders of both.
 *
 * Distinct riders are only meaningful within one pseudonym epoch: a card
 * has one pseudonym per epoch (pseudonym.h), so with the default daily
 * epoch a date's figure counts cards, but merging sketches of dates of
 * different epochs (a week of daily epochs) counts a card once per epoch.
 * Merge across dates only within one epoch period.
 *
 * Why the pseudonym's bytes are the hash, with no second hashing: a
 * pseudonym is keyed BLAKE2b of the card token, a pseudorandom function
 * of it under a secret key, so its first 64 bits are uniform and
 * independent across distinct cards to anyone without the key, chosen
 * tokens included; the same card gives the same bits within the epoch.
 * Hashing them again could not make them more uniform.
 *
 * The sketches are derived from the log like the trees of derive.h: the
 * transaction that derives a frame (its commit group in step, or a run
 * behind the log with derive_defer_ms) notes its accepted taps, so a
 * deferring writer's commit groups touch no sketch.
 *
 * Deferred (st_options.riders_defer_ms > 0: komposterd's; riders_defer.c):
 * a sketch is 16 KiB, so the writer keeps each touched sketch in memory
 * and a run's taps go into them after its commit; a sketch that gained taps
 * is written once they are riders_defer_ms old, by a later run (at most
 * four per run, the oldest first, each with that run's taps) or, while the
 * writer is idle, by st_riders_sync a few at a time.
 * The mark (meta "riders_through", BE8) is the last log sequence whose taps
 * every stored sketch holds, never past the derived trees' mark; a sketch
 * written ahead of others may hold later ones too. A read-write st_db_open reads the taps of the log after
 * the mark back into the sketches, so a crash loses nothing: a sketch's
 * merge is idempotent, and the log is the record. Until then a reader sees
 * each sketch at most riders_defer_ms behind the derived trees while the
 * writer runs (a few more runs when many fall due at once); st_check compares them with the
 * log up to the mark, and a sketch holding taps after it with the log up to
 * its end. A database without a mark was always written in step.
 *
 * riders: key service_date BE4 ‖ route BE4 (ST_RIDERS_ALL for the date),
 * value the serialized sketch (hll.h, version 1).
 * Errors: ST_EINVAL for bad arguments or a buffer too small, ST_ECORRUPT
 * for a stored sketch that does not parse, ST_EIO when memory runs out,
 * or the LMDB error.
 */
#ifndef ST_RIDERS_H
#define ST_RIDERS_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"
#include "storage/hll.h"

#define ST_RIDERS_ALL 0xFFFFFFFFu

/* The estimated distinct riders of (date, route), route ST_RIDERS_ALL for
 * the whole date; 0 when no accepted tap is stored there. */
int st_riders_estimate(struct st_read *r, uint32_t date, uint32_t route, double *estimate);

/* The stored sketch's bytes into buf (cap bytes; ST_HLL_SERIALIZED_MAX
 * always suffices), *len their size: ST_ENOTFOUND when none is stored. */
int st_riders_sketch_get(struct st_read *r, uint32_t date, uint32_t route, uint8_t *buf, size_t cap,
                         size_t *len);

/* The sketch of the union of two serialized sketches into out (cap bytes),
 * *len its size. ST_ECORRUPT when either does not parse. */
int st_riders_merge_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                          size_t cap, size_t *len);

/* Every stored cell with date_from <= service_date <= date_to, in (date,
 * route) order, the date's total last: fn gets its estimate and returns 0
 * to go on, nonzero to stop (then ST_ESTOP). */
int st_riders_foreach(struct st_read *r, uint32_t date_from, uint32_t date_to,
                      int (*fn)(void *ctx, uint32_t date, uint32_t route, double estimate), void *ctx);

/* How far the stored sketches are behind the log: *through is the last log
 * sequence every stored sketch holds (the mark; the log's last in a
 * database written in step, which has none), *last the log's last. While a
 * komposterd holds taps in memory, or after one stopped without writing
 * them (a kill), *through < *last; its next start reads them back. */
int st_riders_behind(struct st_read *r, uint64_t *through, uint64_t *last);

/* Deferred sketches: the monotonic time (CLOCK_MONOTONIC, ms) at which the
 * first held sketch is due to be written; 0 when none is held. */
int64_t st_riders_due_ms(const struct st_db *db);
/* Writes the sketches that hold taps their stored copies do not, the
 * oldest first and at most max of them (0: every one), with the mark
 * moved up as far as those left held allow (never past the derived
 * frames), in a write transaction of its own: for the idle writer between groups (max
 * ST_RIDERS_SYNC_STEP, so that a frame arriving meanwhile waits for a
 * few sketches, not for all of them) and before it stops (0). The
 * writer's thread only. On a failure (a full map or disk) they stay held
 * and fall due again riders_defer_ms later. */
int st_riders_sync(struct st_db *db, unsigned max);
#define ST_RIDERS_SYNC_STEP 4

#endif
