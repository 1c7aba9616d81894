/*
 * db_internal.h — private to storage/: the definition of struct st_db, the
 * named database handles, the byte encoders every stored key and value goes
 * through, and the transaction plumbing (resize lock, map growth) that the
 * modules share. Nothing outside storage/ includes this file.
 *
 * Stored encodings: keys are big-endian so that LMDB's byte order is the
 * numeric order; values are little-endian; both are written and read field
 * by field through firmware-proto/bytes.h (kp_load_* and kp_store_*), never
 * as struct dumps. The two MDB_INTEGERKEY databases (log, chain) use the
 * native unsigned 64-bit key LMDB requires (dec_intkey below).
 */
#ifndef ST_DB_INTERNAL_H
#define ST_DB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "firmware-proto/bytes.h"
#include "firmware-proto/frame.h"
#include "storage/chain.h"
#include "storage/count_agg.h"
#include "storage/db.h"
#include "storage/hll.h"
#include "storage/log.h"
#include "storage/nvr.h"
#include "storage/pseudonym.h"
#include "storage/tap_agg.h"
#include "storage/txn_retry.h"

/* Bumped whenever a stored layout changes; an open of another version is
 * ST_ESCHEMA (db.h). 2: log entries "KPL2" (zero signature, keyed frame_hash).
 * 3: the log holds COUNTS frames too, with the door_agg and load_agg
 * tables (count_agg.h); a binary of schema 2 would misread them.
 * 4: the camera registry (cameras.h), vehicle positions (vehicle_pos.h)
 * and the NVR tables (nvr.h), and door_agg cells of source NVR with no log
 * entry behind them: a binary of schema 3 would neither keep vehicle_pos
 * current nor know that those cells are not recounted from the log, and
 * its st_check would call them inconsistent; and vehicle_hours
 * (vehicle_hours.h), accepted taps and camera counts per vehicle and hour
 * for the route-level validation rate, which a schema-3 binary would not
 * keep current; riders (riders.h), the distinct-rider sketches of each
 * (service date, route), which a schema-3 binary would neither keep
 * current nor recount; the imported GTFS routes and stops (gtfs.h); and
 * the operator tokens (tokens.h); device_stats (device_stats.h), each
 * device's last_seen, frames, gaps and rejects, which a schema-4 binary
 * without it would not keep current; date_rev (date_rev.h); date_frames (date_frames.h), the
 * log's frames by service date, which a binary without it would not keep
 * current; handed (handoff.h), once-only state of devices moved in, a new
 * named table an older schema-4 database gains on its first read-write open;
 * meta "derived_through" (derive.h), which a binary from before it would
 * neither move nor honour; the hash chain's heads and the watermarks' stored
 * bases written behind the log (derive.h, once.c), which a binary from
 * before them would take for complete (4 is not released yet: these joined
 * it before). */
#define ST_SCHEMA_VERSION 4u
#define ST_MAX_DBS 32

/* Internal status: the map is full, grow it and retry the transaction.
 * Never returned by a public function (they turn it into ST_EFULL). */
#define ST_EMAPFULL (-100)

#define ST_ONCE_KEY_SIZE 16      /* device_id BE ‖ batch_seq BE */
#define ST_DEVICE_KEY_SIZE 8     /* device_id BE */
#define ST_DEVICE_KEY_KEY_SIZE 9 /* device_id BE ‖ key_id */
#define ST_TAP_AGG_KEY_SIZE 15   /* date BE4 ‖ hour 1 ‖ route BE4 ‖ stop BE4 ‖ fare BE2 */
#define ST_TAP_AGG_VAL_SIZE 24   /* accepted, denied, amount: LE8 each */
#define ST_DOOR_AGG_KEY_SIZE 15  /* date BE4 ‖ hour 1 ‖ route BE4 ‖ stop BE4 ‖ door 1 ‖ source 1 */
#define ST_LOAD_AGG_KEY_SIZE 10  /* date BE4 ‖ hour 1 ‖ route BE4 ‖ source 1 */
#define ST_COUNT_VALUES 3
#define ST_COUNT_AGG_VAL_SIZE 24 /* three LE8 counters (count_agg.h's value fields, in order) */
#define ST_EPOCH_DATE_KEY_SIZE 4 /* yyyymmdd BE */
#define ST_U64_SIZE 8

#define ST_PSEUDONYM_STATE_SIZE 384 /* sizeof (crypto_generichash_state), checked in pseudonym.c */
#define ST_EPOCH_CACHE_SLOTS 8
#define ST_VPOS_KEY_SIZE 4       /* vehicle_id BE */
#define ST_VPOS_VAL_SIZE 16      /* route LE4 ‖ stop LE4 ‖ at LE8 */
#define ST_VPOS_SLOTS 512        /* a power of two */
#define ST_VHOUR_KEY_SIZE 13     /* date BE4 ‖ hour 1 ‖ route BE4 ‖ vehicle BE4 */
#define ST_VHOUR_VALUES 7        /* accepted; signed b, a, records; NVR b, a, records */
#define ST_VHOUR_VAL_SIZE 56     /* ST_VHOUR_VALUES LE8 */
#define ST_VHOUR_ACCEPTED 0      /* index of the accepted taps */
#define ST_VHOUR_SOURCE(src) (1 + 3 * ((src) - 1)) /* index of the boardings of a source */
#define ST_VPOS_FILL 384         /* flush before the table is fuller than this */
#define ST_RIDERS_KEY_SIZE 8     /* date BE4 ‖ route BE4 */

struct st_dbis {
	MDB_dbi meta;
	MDB_dbi log;
	MDB_dbi once;
	MDB_dbi watermark;
	MDB_dbi devices;
	MDB_dbi device_keys;
	MDB_dbi tap_agg;
	MDB_dbi door_agg;
	MDB_dbi load_agg;
	MDB_dbi epoch_keys;
	MDB_dbi chain;
	MDB_dbi cameras;     /* cameras.c */
	MDB_dbi vehicle_pos; /* vehicle_pos.c */
	MDB_dbi vehicle_hours; /* vehicle_hours.c */
	MDB_dbi riders;      /* riders.c: date ‖ route → sketch */
	MDB_dbi nvr_counted; /* nvr.c: camera\0id → directions, insertion seq */
	MDB_dbi nvr_order;   /* nvr.c: insertion seq → camera\0id */
	MDB_dbi nvr_events;  /* nvr.c: camera\0 start id → row */
	MDB_dbi nvr_outages; /* nvr.c: start → end */
	MDB_dbi gtfs_routes; /* gtfs.c: number BE → route */
	MDB_dbi gtfs_stops;  /* gtfs.c: number BE → stop */
	MDB_dbi tokens;      /* tokens.c: BLAKE2b-256 of the token → record */
	MDB_dbi device_stats; /* device_stats.c: device_id BE → traffic record */
	MDB_dbi date_rev;    /* date_rev.c: service date BE → last txn id that changed it */
	MDB_dbi date_frames; /* date_frames.c: type ‖ service date BE ‖ seq BE → empty */
	MDB_dbi handed;      /* handoff.c: device BE → watermark; device ‖ batch_seq BE → empty */
};

struct st_epoch_cache_slot {
	uint32_t epoch_date; /* 0: empty */
	uint8_t key[ST_EPOCH_KEY_SIZE];
	/* BLAKE2b initialised with key (a crypto_generichash_state's bytes,
	 * copied out and in: the struct st_db is not 64-byte aligned). */
	uint8_t keyed[ST_PSEUDONYM_STATE_SIZE];
};

/* The newest position of each vehicle seen in one commit group, written
 * once at the group's end (vehicle_pos.c). */
struct st_vpos_slot {
	uint32_t vehicle_id; /* 0: empty */
	uint32_t route_id;
	uint32_t stop_id;
	int64_t at;
};
struct st_vpos_batch {
	struct st_vpos_slot slot[ST_VPOS_SLOTS];
	unsigned used;
};

/* The tap cells of one commit group, summed at its end (tap_agg.c). */
struct st_tap_agg_note {
	uint8_t key[ST_TAP_AGG_KEY_SIZE];
	struct st_tap_agg_val v;
};
struct st_tap_agg_batch {
	struct st_tap_agg_note *a; /* malloc'd, owned by the batch; grown, never shrunk */
	size_t n, cap;
};

/* The accepted taps' (date, route, hash) of one commit group, or of the
 * whole log in st_check (riders.c). */
struct st_riders_note {
	uint32_t date;
	uint32_t route;
	uint64_t hash;
};
struct st_riders_batch {
	struct st_riders_note *a; /* malloc'd, owned by the batch */
	size_t n, cap;
};

/* A sketch held in memory while deferred (riders_defer.c). */
struct st_riders_cell {
	uint32_t date, route;
	uint64_t dirty_from;  /* the first log sequence whose taps it holds and the stored copy may not; 0: clean */
	int64_t dirty_since;  /* monotonic ms it became dirty */
	uint64_t used;        /* the last group that touched it */
	size_t notes;         /* 1 + the running group's last note for it; 0: none (riders_defer.c) */
	int write;            /* the running transaction writes it */
	struct st_hll *h;     /* malloc'd */
};
struct st_riders_cache {
	struct st_riders_cell *a; /* malloc'd */
	size_t n, cap, last[2];   /* last: the two cells found last */
	uint32_t *note_cell;      /* per note of the group: its cell (malloc'd) */
	uint32_t *note_next;      /* per note: 1 + the cell's note before it, 0: none (malloc'd) */
	size_t links;             /* room in note_cell and note_next */
	uint64_t groups;          /* groups run, the clock of `used` */
	uint64_t first_seq;       /* the running group's first log sequence */
	uint64_t mark, mark_next; /* the stored mark; the running group's */
	uint64_t through, through_next; /* the last sequence whose taps the cells hold; the running group's */
	int pending;              /* the running transaction flushed: st_riders_group_done applies it */
	_Atomic int64_t due_ms;   /* st_riders_due_ms, kept for the writer's thread */
};

/* The frames of one commit group newly stored, per device (device_stats.c). */
struct st_dstats_note {
	uint64_t device_id;
	uint64_t batch_seq;
	int64_t received_at;
	int64_t sent_at;
	size_t order;   /* position in the group */
	uint8_t reason; /* 0: a stored frame; else a reject of that NACK reason */
};
struct st_dstats_batch {
	struct st_dstats_note *a; /* malloc'd, owned by the batch */
	size_t n, cap;
};

/* date_rev.c: the service dates a commit group changed, written once each at
 * its end (date_rev.h). */
#define ST_DATE_BATCH_MAX 16
struct st_date_batch {
	uint32_t dates[ST_DATE_BATCH_MAX];
	size_t n;
};
void st_date_batch_clear(struct st_date_batch *b);
int st_date_batch_note(MDB_txn *txn, MDB_dbi dbi, struct st_date_batch *b, uint32_t date);
int st_date_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_date_batch *b);

/* date_frames.c: the service dates of one frame's indexed records, put
 * once each when the frame is stored (date_frames.h). Begin it for each
 * frame with its type and seq, note each record's date, flush after. */
#define ST_FRAME_DATES_MAX 8
struct st_frame_dates {
	uint8_t type;
	uint64_t seq;
	uint32_t dates[ST_FRAME_DATES_MAX];
	size_t n;
};
void st_frame_dates_begin(struct st_frame_dates *b, uint8_t type, uint64_t seq);
int st_frame_dates_note(MDB_txn *txn, MDB_dbi dbi, struct st_frame_dates *b, uint32_t date);
int st_frame_dates_flush(MDB_txn *txn, MDB_dbi dbi, struct st_frame_dates *b);

/* derive.c: what a run of frames derives, summed over the run and written
 * at its end (derive.h). The batches are used under `lock` by whichever
 * thread derives; `committed`, `held_since` and `marked` are the writer's. */
struct st_derive {
	pthread_mutex_t lock;
	int lock_ready;
	struct st_frame_dates dates;  /* of the frame being derived */
	struct st_vpos_batch vpos;
	struct st_tap_agg_batch taps; /* freed by st_db_close */
	struct st_dstats_batch dstats; /* frames' traffic; freed by st_db_close */
	struct st_date_batch revs;    /* dates whose cells changed */
	_Atomic uint64_t through;     /* the derived trees hold the log up to here */
	uint64_t committed;           /* the log's last after the writer's last group */
	int64_t held_since;           /* monotonic ms: the oldest frame not derived was committed */
	int64_t retry_at;             /* monotonic ms: after a failed run, not before; 0: none failed */
	int marked;                   /* the database holds a mark */
};

struct st_db {
	MDB_env *env;
	struct st_options opts; /* path and timezone point at the copies below; the
	                         * service-day settings are the ones in use (settings.c) */
	char *path;
	char *timezone;
	struct st_zone *zone; /* of opts.timezone, once settled (zone.h) */
	struct st_dbis dbi;
	pthread_rwlock_t resize_lock; /* shared by every open txn, exclusive to resize */
	int lock_ready;
	int lock_fd;        /* dir_lock.h, -1 unless opts.exclusive */
	struct st_txn_env txe; /* env, resize_lock and the map limits, for txn_retry.h */
	/* Writer-thread state (st_commit_group only): */
	struct st_epoch_cache_slot epoch_cache[ST_EPOCH_CACHE_SLOTS];
	unsigned epoch_cache_next;
	uint32_t epoch_horizon; /* first epoch date kept, as of the group's txn (epoch_keys.h) */
	uint8_t entry_buf[ST_LOG_ENTRY_HEADER_SIZE + KP_FRAME_MAX];
	struct st_riders_batch riders;              /* the group's notes; freed by st_db_close */
	struct st_riders_cache riders_cache;        /* the sketches in memory (riders_defer.c) */
	int riders_marked;                          /* the database holds a mark (riders.h) */
	struct st_hll riders_hll;                   /* a written sketch with the group's notes */
	uint8_t riders_bytes[ST_HLL_SERIALIZED_MAX]; /* and its bytes */
	struct st_dstats_batch dstats;              /* the group's rejects; freed by st_db_close */
	struct st_derive derive;                    /* derive.c */
};

/* ---- byte encoders (the others are in firmware-proto/bytes.h) ---- */

/* An MDB_INTEGERKEY key read back from LMDB (may be unaligned). */
static inline uint64_t dec_intkey(const MDB_val *k)
{
	uint64_t v;

	memcpy(&v, k->mv_data, sizeof v);
	return v;
}

/* ---- status and transactions (db.c) ---- */

/* Maps an LMDB or errno code to an ST_ status (ST_EMAPFULL for
 * MDB_MAP_FULL) and remembers the raw code for st_last_error(). */
int st_status(int mdb_rc);
/* The last record of dbi, copied out of a short-lived cursor: ST_OK,
 * ST_ENOTFOUND when the database is empty, or an error. */
int st_get_last(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val);

/* From an st_walk callback: end the walk here; st_walk returns ST_OK. */
#define ST_WALK_DONE 1
/* Calls fn for each record of dbi in key order, from the first key >= *from
 * (NULL: from the first record), with the cursor on that record (fn may
 * write through it with MDB_CURRENT). fn returns ST_OK to go on,
 * ST_WALK_DONE to end the walk early, anything else to end it with that
 * status. ST_OK when the walk reached the end. */
int st_walk(MDB_txn *txn, MDB_dbi dbi, const MDB_val *from,
            int (*fn)(void *ctx, MDB_cursor *cur, const MDB_val *key, const MDB_val *val), void *ctx);

/* Runs fn in a write transaction and commits; on a full map grows it (up to
 * map_size_max) and runs fn again from the start (st_txn_run). *grows (may
 * be NULL) counts the growths. ST_EFULL when the map cannot grow; ST_EINVAL
 * on a read-only db. */
int st_write_run(struct st_db *db, int (*fn)(void *ctx, MDB_txn *txn), void *ctx, uint32_t *grows);

/* ---- module internals ---- */

/* db.c: CLOCK_MONOTONIC in ms, the clock of the trees written behind the
 * log (their due times, riders.h and derive.h). */
int64_t st_mono_ms(void);

/* db.c: a log sequence recorded in meta under key (the marks of the trees
 * written behind the log, riders.h and derive.h), BE8; *seq UINT64_MAX when
 * none is recorded, ST_ECORRUPT for a value of another size. */
int st_meta_mark_get(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t *seq);
int st_meta_mark_put(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t seq);

/* settings.c: the service-day settings recorded in meta. */
/* In the opening transaction, after the schema check. Recorded settings:
 * a read-only or adopt_settings open takes them into db->opts, any other
 * gets ST_EMISMATCH unless its options equal them. None recorded: a new
 * database (created) or an older one opened read-write without
 * adopt_settings records db->opts'; otherwise they are used unrecorded.
 * ST_ECORRUPT for a record that does not decode. */
int st_settings_settle(struct st_db *db, MDB_txn *txn, int created);

/* once.c */
void st_once_key(uint8_t key[ST_ONCE_KEY_SIZE], uint64_t device_id, uint64_t batch_seq);
int st_once_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, uint64_t *seq);
int st_once_put(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, uint64_t seq);
/* The device's stored watermark base (once.c): 0 when none. */
int st_watermark_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t *w);
/* The device's watermark: its base, then every consecutive batch_seq the
 * once-only index holds after it. */
int st_watermark_now(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id, uint64_t *w);
/* Writes the device's base up to its watermark now (nothing when equal). */
int st_watermark_settle(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id);
/* Raises the device's base to w when it is below, then over the frames
 * this log holds from w + 1 on: a device moved in (handoff.h), whose frames
 * up to w are in its former owner's log. */
int st_watermark_seed(MDB_txn *txn, MDB_dbi once_dbi, MDB_dbi wm_dbi, uint64_t device_id, uint64_t w);

/* handoff.c: *handed = 1 when a former owner stored (device, batch_seq). */
int st_handed_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t batch_seq, int *handed);
int st_handed_watermark_get(MDB_txn *txn, MDB_dbi dbi, uint64_t device_id, uint64_t *w);

/* log.c */
void st_log_entry_header(uint8_t out[ST_LOG_ENTRY_HEADER_SIZE], int64_t received_at,
                         const uint8_t frame_hash[ST_FRAME_HASH_SIZE]);
int st_log_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *seq); /* 0 when empty */
/* Appends one entry inside the writer's transaction (MDB_APPEND). */
int st_log_append(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const uint8_t *value, size_t len);

/* chain.c */
int st_chain_put(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const uint8_t head[ST_CHAIN_HEAD_SIZE]);
/* Last stored (seq, head), (0, zero head) when empty. */
int st_chain_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *seq, uint8_t head[ST_CHAIN_HEAD_SIZE]);
/* The head after entry seq (seq 0: the zero head); ST_ENOTFOUND when none
 * is stored. */
int st_chain_at(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, uint8_t head[ST_CHAIN_HEAD_SIZE]);

/* tap_agg.c */
void st_tap_agg_key_encode(const struct st_tap_agg_key *k, uint8_t out[ST_TAP_AGG_KEY_SIZE]);
void st_tap_agg_key_decode(const uint8_t in[ST_TAP_AGG_KEY_SIZE], struct st_tap_agg_key *k);
void st_tap_agg_val_encode(const struct st_tap_agg_val *v, uint8_t out[ST_TAP_AGG_VAL_SIZE]);
void st_tap_agg_val_decode(const uint8_t in[ST_TAP_AGG_VAL_SIZE], struct st_tap_agg_val *v);
/* The cell a tap counts in and what it adds there, with the service-day
 * zone and start hour; -1 if tapped_at has no service date. */
int st_tap_agg_of(const struct kp_tap *t, const struct st_zone *zone, int start_hour,
                  struct st_tap_agg_key *k, struct st_tap_agg_val *v);
/* A commit group's tap cells (tap_agg.c): clear the batch at the start of
 * every run of a group, add each frame's cells (ST_EIO when memory runs
 * out), flush once at the end: equal cells are summed and each is read and
 * written once, in key order. */
void st_tap_agg_batch_clear(struct st_tap_agg_batch *b);
void st_tap_agg_batch_free(struct st_tap_agg_batch *b);
int st_tap_agg_batch_add(struct st_tap_agg_batch *b, const struct st_tap_agg_key *k, const struct st_tap_agg_val *v);
int st_tap_agg_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_tap_agg_batch *b);

/* count_agg.c: a cell of door_agg or load_agg, encoded, with what a count
 * record adds to it (the value fields of count_agg.h, in order). */
enum st_count_table {
	ST_COUNT_TABLE_NONE = 0, /* the record adds to no cell (unknown occupancy) */
	ST_COUNT_TABLE_DOOR = 1,
	ST_COUNT_TABLE_LOAD = 2,
};
struct st_count_cell {
	enum st_count_table table;
	uint8_t key[ST_DOOR_AGG_KEY_SIZE]; /* the longer of the two keys */
	size_t key_size;
	uint64_t v[ST_COUNT_VALUES];
};
void st_count_val_encode(const uint64_t v[ST_COUNT_VALUES], uint8_t out[ST_COUNT_AGG_VAL_SIZE]);
void st_count_val_decode(const uint8_t in[ST_COUNT_AGG_VAL_SIZE], uint64_t v[ST_COUNT_VALUES]);
/* into += add by the table's rule: load cells keep the higher peak and
 * sum the sum and the samples; every other table (door cells, and tap
 * cells in st_check) sums all three. */
void st_count_val_combine(enum st_count_table table, uint64_t into[ST_COUNT_VALUES],
                          const uint64_t add[ST_COUNT_VALUES]);
/* The cell record c of a frame from `source` adds to (table NONE: none),
 * with the service-day zone and start hour; -1 if observed_at has no
 * service date. */
int st_count_cell_of(const struct kp_count *c, uint8_t source, const struct st_zone *zone, int start_hour,
                     struct st_count_cell *cell);
/* The door cell of key k (its source as given) adding v. */
void st_door_cell_make(const struct st_door_agg_key *k, const uint64_t v[ST_COUNT_VALUES],
                       struct st_count_cell *cell);
/* The source byte of an encoded key of a door (or else load) cell. */
uint8_t st_count_key_source(enum st_count_table table, const uint8_t *key);
/* Adds the cell's values to the stored cell inside the writer's transaction. */
int st_count_cell_add(MDB_txn *txn, const struct st_dbis *dbis, const struct st_count_cell *cell);
MDB_dbi st_count_table_dbi(const struct st_dbis *dbis, enum st_count_table table);
/* "20240515 h12 route 7 stop 100 door 1 source 1", for check's reports. */
void st_count_cell_describe(const struct st_count_cell *cell, char *buf, size_t cap);

/* cameras.c: ST_OK when a stored cameras record decodes to a camera
 * st_camera_valid accepts, else ST_ECORRUPT (for st_check). */
int st_camera_check_record(const MDB_val *k, const MDB_val *v);

/* gtfs.c: ST_OK when a stored gtfs_routes (gtfs_stops) record decodes to
 * a record st_gtfs_route_valid (st_gtfs_stop_valid) accepts, else
 * ST_ECORRUPT (for st_check). */
int st_gtfs_route_check_record(const MDB_val *k, const MDB_val *v);
int st_gtfs_stop_check_record(const MDB_val *k, const MDB_val *v);

/* vehicle_pos.c: positions gathered over a commit group. Clear at the start
 * of every run of the group; note each stored record (vehicle 0 is
 * ignored; the newest by `at` wins, a tie keeps the first); flush once at
 * the end, which writes each vehicle whose gathered position is newer than
 * its stored one and clears the batch. A batch that would overfill flushes
 * itself first, so a group of more vehicles than ST_VPOS_FILL still keeps
 * every newest position, at the cost of a second put for some. */
void st_vpos_batch_clear(struct st_vpos_batch *b);
int st_vpos_batch_note(MDB_txn *txn, MDB_dbi dbi, struct st_vpos_batch *b, uint32_t vehicle_id,
                       uint32_t route_id, uint32_t stop_id, int64_t at);
int st_vpos_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_vpos_batch *b);
/* ST_OK when a stored vehicle_pos record decodes, else ST_ECORRUPT. */
int st_vehicle_pos_check_record(const MDB_val *k, const MDB_val *v);

/* vehicle_hours.c: cells as an encoded key and ST_VHOUR_VALUES counters
 * (accepted; then boardings, alightings, records per source at
 * ST_VHOUR_SOURCE(source)). st_vhour_add sums add into the stored cell
 * inside the writer's transaction (ST_ECORRUPT for a stored cell of the
 * wrong size). A run sums consecutive additions to one cell and adds them
 * once: open it zeroed, add, flush at the end (and it flushes itself when
 * the cell changes). */
#include "storage/vehicle_hours.h"
struct st_vhour_run {
	int open;
	uint8_t key[ST_VHOUR_KEY_SIZE];
	uint64_t v[ST_VHOUR_VALUES];
};
void st_vhour_key_encode(const struct st_vehicle_hour_key *k, uint8_t out[ST_VHOUR_KEY_SIZE]);
void st_vhour_key_decode(const uint8_t in[ST_VHOUR_KEY_SIZE], struct st_vehicle_hour_key *k);
void st_vhour_val_decode(const uint8_t in[ST_VHOUR_VAL_SIZE], uint64_t v[ST_VHOUR_VALUES]);
int st_vhour_add(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[ST_VHOUR_KEY_SIZE],
                 const uint64_t add[ST_VHOUR_VALUES]);
int st_vhour_run_add(MDB_txn *txn, MDB_dbi dbi, struct st_vhour_run *run, const struct st_vehicle_hour_key *k,
                     const uint64_t add[ST_VHOUR_VALUES]);
int st_vhour_run_flush(MDB_txn *txn, MDB_dbi dbi, struct st_vhour_run *run);

/* nvr.c, nvr_event.c, nvr_outage.c (nvr.h). Times in keys are stored
 * big-endian after flipping the sign bit, so LMDB's byte order is the
 * numeric order of signed milliseconds (st_time_key). */
#define ST_NVR_OBJECT_KEY_MAX (ST_CAMERA_NAME_MAX + 1 + ST_NVR_ID_MAX) /* camera ‖ 0 ‖ id */
#define ST_NVR_COUNTED_VAL_SIZE 16 /* directions u8, reserved[7] = 0, seq LE8 */
#define ST_NVR_ORDER_KEY_SIZE 8    /* seq BE */
#define ST_NVR_OUTAGE_SIZE 8       /* key: start (time key); value: end LE8, 0 while open */
void st_time_key(uint8_t out[8], int64_t t);
int64_t st_time_of_key(const uint8_t in[8]);
/* camera ‖ 0 ‖ id of NUL-terminated strings within their arrays; *len its
 * size. ST_EINVAL when either is empty or unterminated. */
int st_nvr_object_key(const char *camera, const char *id, uint8_t out[ST_NVR_OBJECT_KEY_MAX], size_t *len);
/* ST_OK when a stored nvr_counted record decodes (directions 1..3), else
 * ST_ECORRUPT. */
int st_nvr_counted_decode(const MDB_val *k, const MDB_val *v, unsigned *dirs, uint64_t *seq);
/* Upserts the row of ev inside txn. */
int st_nvr_event_put(MDB_txn *txn, MDB_dbi dbi, const struct st_nvr_event *ev);
/* ST_OK when a stored nvr_events record decodes, else ST_ECORRUPT. */
int st_nvr_event_check_record(const MDB_val *k, const MDB_val *v);
/* ST_OK with *o filled when a stored nvr_outages record decodes, else
 * ST_ECORRUPT. */
int st_nvr_outage_check_record(const MDB_val *k, const MDB_val *v, struct st_nvr_outage *o);

/* riders.c: the sketches' batch. Clear it at the start of every run of a
 * group; note every accepted tap's pseudonym (it goes to the tap's route
 * and to the date's total; ST_EIO when memory runs out). Sorting it drops
 * repeats; st_riders_batch_cell then adds the notes of the cell starting
 * at i to h, returns where the next cell starts and sets *changed (may be
 * NULL) when they changed h. */
void st_riders_key(uint8_t out[ST_RIDERS_KEY_SIZE], uint32_t date, uint32_t route);
void st_riders_batch_clear(struct st_riders_batch *b);
void st_riders_batch_free(struct st_riders_batch *b);
int st_riders_batch_note(struct st_riders_batch *b, uint32_t date, uint32_t route,
                         const uint8_t pseudonym[ST_PSEUDONYM_SIZE]);
void st_riders_batch_sort(struct st_riders_batch *b);
size_t st_riders_batch_cell(const struct st_riders_batch *b, size_t i, struct st_hll *h, int *changed);
/* riders_defer.c, the sketches kept in memory (riders.h, "Deferred"),
 * fed by the transactions that derive frames (derive.c), under the derive
 * lock. In such a transaction, after its frames (seq_before, last_seq: the
 * derived trees' last before and after them): loads the cells its notes
 * (db->riders) touch, writes the ones due, and the mark when it moves.
 * After the commit, st_riders_group_done adds the notes to the cells; after
 * a failed commit nothing is to be done (the next run starts afresh: only a
 * flush arms the done). */
int st_riders_group_flush(struct st_db *db, MDB_txn *txn, uint64_t seq_before, uint64_t last_seq);
int st_riders_group_done(struct st_db *db);
void st_riders_cache_free(struct st_riders_cache *c);
/* At a read-write open: the taps of the log after the mark, into their
 * cells, due at once (the mark missing: a database whose sketches were
 * always written with their frames; it is written with the next group). */
int st_riders_replay(struct st_db *db);
/* The mark: the last log sequence whose taps are in the stored sketches;
 * UINT64_MAX when none is recorded (all of them are). */
int st_riders_mark_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq);
int st_riders_mark_put(MDB_txn *txn, MDB_dbi meta, uint64_t seq);

/* derive.c (derive.h). In a write transaction: begin a run, derive each
 * stored frame (its entry's frame and received_at), end it (writes the
 * run's cells, positions, traffic and date revisions; *records: the
 * frame's). st_derive_group
 * derives, inside a commit group's transaction, the frames after the mark
 * (without one, after seq_before) and moves the mark when there is one;
 * st_derive_group_mark records a deferred group's mark when the database
 * has none; st_derive_group_done notes a committed deferred group. The
 * caller holds db->derive.lock around the transaction of any of them
 * that derives. */
void st_derive_begin(struct st_db *db);
int st_derive_frame(struct st_db *db, MDB_txn *txn, uint64_t seq, const uint8_t *frame, size_t len,
                    int64_t received_at, uint16_t *records);
int st_derive_end(struct st_db *db, MDB_txn *txn);
int st_derive_group(struct st_db *db, MDB_txn *txn, uint64_t seq_before);
int st_derive_group_mark(struct st_db *db, MDB_txn *txn, uint64_t seq_before);
void st_derive_group_done(struct st_db *db, uint64_t last_seq);
/* The mark, UINT64_MAX when none is recorded. */
int st_derive_mark_get(MDB_txn *txn, MDB_dbi meta, uint64_t *seq);
/* In txn: the derived trees' mark, the log's last when none is recorded. */
int st_derive_through(struct st_db *db, MDB_txn *txn, uint64_t *through);
/* At open (the lock made; read-write: everything after the mark derived). */
int st_derive_open(struct st_db *db);
void st_derive_close(struct st_db *db);

/* device_stats.c: the records and the group's batch. Clear the batch at
 * the start of every run of a group, note every newly stored frame (ST_EIO
 * when memory runs out), flush once at the end: one read and one put per
 * device, inside txn; the batch is cleared. */
#include "storage/device_stats.h"
#define ST_DSTATS_VAL_SIZE_V1 (32 + 8 * ST_REJECT_SLOTS) /* before the skew fields */
#define ST_DSTATS_VAL_SIZE (ST_DSTATS_VAL_SIZE_V1 + 16)
void st_dstats_encode(const struct st_device_stats *s, uint8_t out[ST_DSTATS_VAL_SIZE]);
/* ST_ECORRUPT unless the record decodes and holds together (frames <=
 * max_batch_seq, rejects[0] == 0, no last_seen without a frame). */
int st_dstats_decode(const MDB_val *k, const MDB_val *v, struct st_device_stats *s);
void st_dstats_batch_clear(struct st_dstats_batch *b);
void st_dstats_batch_free(struct st_dstats_batch *b);
int st_dstats_batch_note(struct st_dstats_batch *b, uint64_t device_id, uint64_t batch_seq, int64_t received_at,
                         int64_t sent_at);
/* A reject of an enrolled device (reason 1..KP_NACK_REASON_MAX), received
 * at received_at, the frame's sent_at (0 when unreadable). */
int st_dstats_batch_reject(struct st_dstats_batch *b, uint64_t device_id, uint8_t reason, int64_t received_at,
                           int64_t sent_at);
int st_dstats_batch_flush(MDB_txn *txn, MDB_dbi dbi, struct st_dstats_batch *b);

/* pseudonym.c: the key of the epoch starting at epoch_date, made and
 * stored inside txn (created at now_ms) if absent and `make`, else
 * ST_ENOKEY; a one-off random key, *one_off set, if the record is a
 * tombstone (epoch_keys.h). */
int st_epoch_key_get_or_create(MDB_txn *txn, MDB_dbi dbi, uint32_t epoch_date, int64_t now_ms, int make,
                               uint8_t key[ST_EPOCH_KEY_SIZE], int *one_off);
/* The writer's epoch key cache in front of st_epoch_key_get_or_create; an
 * epoch below db->epoch_horizon gets a one-off key; a missing key is made
 * unless db->opts.epoch_keys_imported (then ST_ENOKEY). Clear it whenever a
 * write txn is aborted. */
int st_epoch_key_cached(struct st_db *db, MDB_txn *txn, uint32_t epoch_date, int64_t now_ms,
                        uint8_t key[ST_EPOCH_KEY_SIZE]);
void st_epoch_cache_clear(struct st_db *db);
/* The pseudonym of token under the key of epoch_date, as st_pseudonym with
 * st_epoch_key_cached's key, from the slot's keyed state when it is cached
 * (a quarter less per tap than keying BLAKE2b afresh). */
int st_pseudonym_cached(struct st_db *db, MDB_txn *txn, uint32_t epoch_date, int64_t now_ms,
                        const uint8_t token[16], uint8_t out[ST_PSEUDONYM_SIZE]);
/* epoch_keys.c: the stored horizon (0 when absent) into *horizon; and into
 * db->epoch_horizon, clearing the cache when it moved. */
int st_epoch_horizon_get(MDB_txn *txn, MDB_dbi meta, uint32_t *horizon);
int st_epoch_horizon_load(struct st_db *db, MDB_txn *txn);
/* ST_OK when an epoch_keys record decodes and, live, is not below
 * horizon; ST_ECORRUPT otherwise (for st_check). */
int st_epoch_key_check_record(const MDB_val *k, const MDB_val *v, uint32_t horizon);
/* 1 when date is a yyyymmdd of a real calendar date. */
int st_epoch_date_valid(uint32_t date);

#endif
