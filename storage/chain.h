/*
 * chain.h — the hash chain over the log: head(n) = BLAKE2b-256(head(n-1) ‖
 * stored entry n), head(0) = 32 zero bytes. The head after every entry is
 * kept (database `chain`, keyed by commit sequence), so an export can publish
 * the head of its last entry and anyone holding the log can recompute it.
 * The heads are derived from the log like the cells (derive.h): written
 * with the frames in step, behind them with derive_defer_ms, so the chain
 * holds the log up to the derived trees' mark (a chain written further by
 * an older komposter is kept and continued).
 */
#ifndef ST_CHAIN_H
#define ST_CHAIN_H

#include "storage/db.h"

#define ST_CHAIN_HEAD_SIZE 32

/* Head after entry seq (seq 0: the zero head). */
int st_chain_head(struct st_read *r, uint64_t seq, uint8_t head[ST_CHAIN_HEAD_SIZE]);

/* next = BLAKE2b-256(prev ‖ entry). */
void st_chain_next(const uint8_t prev[ST_CHAIN_HEAD_SIZE], const uint8_t *entry, size_t len,
                   uint8_t next[ST_CHAIN_HEAD_SIZE]);

#endif
