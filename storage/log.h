/*
 * log.h — the append-only log of every accepted frame, keyed by a global
 * 64-bit commit sequence (1, 2, 3, …, no gaps), written with MDB_APPEND.
 *
 * A stored entry is a fixed header followed by the frame as it arrived,
 * except that every TAPS record's card token is replaced by the rider
 * pseudonym (pseudonym.h). The frame's signature stays in place (it no longer
 * verifies over the pseudonymised bytes); frame_hash is the BLAKE2b-256 of the
 * original frame, so the original can be matched against a device's copy.
 * Raw card tokens are never written.
 *
 * Entry layout (little-endian): magic "KPL1" (4), reserved (4), received_at (8),
 * frame_hash (32), then the frame. ST_LOG_ENTRY_HEADER_SIZE bytes before it.
 */
#ifndef ST_LOG_H
#define ST_LOG_H

#include "storage/db.h"

#define ST_LOG_ENTRY_MAGIC "KPL1"
#define ST_LOG_ENTRY_HEADER_SIZE 48
#define ST_FRAME_HASH_SIZE 32

struct st_log_entry {
	uint64_t seq;
	int64_t received_at;
	uint8_t frame_hash[ST_FRAME_HASH_SIZE];
	const uint8_t *frame; /* pseudonymised frame, borrowed from the read txn */
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

/* Internal to storage/: appends one entry inside the writer's transaction. */
int st_log_append(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const uint8_t *value, size_t len);

#endif
