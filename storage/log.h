/*
 * log.h — the append-only log of every accepted frame, keyed by a global
 * 64-bit commit sequence (1, 2, 3, …, no gaps), written with MDB_APPEND.
 *
 * Entry layout (little-endian), ST_LOG_ENTRY_HEADER_SIZE bytes of header,
 * then the frame:
 *   magic "KPL2" (4) | reserved, zero (4) | received_at, ms (8) |
 *   frame_hash (32) | frame (its length is the rest of the value)
 * What is stored, and why:
 *  - the frame's header and every tap field as they arrived, except the
 *    card token, which is replaced by the rider pseudonym of the tap's
 *    epoch (pseudonym.h, 16 bytes in the token's place); the records of a
 *    COUNTS frame as they arrived (they hold nothing about a rider);
 *  - the frame's 64 signature bytes are zeros. The signature would no
 *    longer verify over pseudonymised bytes, and kept beside every other
 *    field and the device's public key it would let anyone test a guessed
 *    card token offline (card tokens come from short card UIDs);
 *  - frame_hash = BLAKE2b-256 keyed with the frame's epoch key over the
 *    original frame (raw tokens and signature included), st_frame_hash. The
 *    frame's epoch is the epoch of the service date of its first record
 *    (tapped_at or observed_at, with the database's settings), even when
 *    later records fall on another date.
 *    Whoever holds that key and a device's copy of the frame can match the
 *    two; once the key is destroyed nobody can, and the hash tests no
 *    guess. It cannot be recomputed from the entry (the tokens are gone).
 * Raw card tokens and device signatures are never written. The layout
 * belongs to the schema version: a database of an older layout is refused
 * at open (db.h), and an entry with another magic does not parse
 * (ST_ECORRUPT).
 */
#ifndef ST_LOG_H
#define ST_LOG_H

#include "storage/db.h"
#include "storage/pseudonym.h"

#define ST_LOG_ENTRY_MAGIC "KPL2"
#define ST_LOG_ENTRY_HEADER_SIZE 48
#define ST_FRAME_HASH_SIZE 32

struct st_log_entry {
	uint64_t seq;
	int64_t received_at;
	uint8_t frame_hash[ST_FRAME_HASH_SIZE];
	const uint8_t *frame; /* stored frame (pseudonyms, zero signature), borrowed from the read txn */
	size_t frame_len;
	const uint8_t *raw;   /* the whole stored value (header + frame), for the hash chain */
	size_t raw_len;
};

/* Highest sequence stored, 0 when the log is empty. */
int st_log_last_seq(struct st_read *r, uint64_t *seq);
int st_log_get(struct st_read *r, uint64_t seq, struct st_log_entry *out);

/* Calls fn for every entry with seq >= from_seq in order. fn returns 0 to go
 * on, nonzero to stop (then ST_ESTOP). ST_ECORRUPT if an entry does not parse. */
int st_log_foreach(struct st_read *r, uint64_t from_seq,
                   int (*fn)(void *ctx, const struct st_log_entry *e), void *ctx);

/* Parses a stored value into *out (seq left as given). ST_ECORRUPT if bad. */
int st_log_entry_parse(const uint8_t *raw, size_t len, struct st_log_entry *out);

/* The stored frame_hash of an original frame: BLAKE2b-256 keyed with the
 * epoch key of the service date of the frame's first tap. */
void st_frame_hash(const uint8_t key[ST_EPOCH_KEY_SIZE], const uint8_t *frame, size_t len,
                   uint8_t out[ST_FRAME_HASH_SIZE]);

#endif
