/*
 * outbox.c — the device outbox on LMDB.
 *
 * Design: one small environment per device, so a device's durability does not
 * depend on any other's, and mdb_stat/mdb_dump work on it as on the daemon's
 * database. Keys are batch_seq in big-endian, so LMDB's default byte order is
 * numeric order and "oldest first" is a plain cursor walk. The counter lives
 * in `meta` and is bumped in the same write transaction that stores the frame
 * (written in place with MDB_RESERVE: the frame is signed straight into the
 * page), which is what makes numbering gapless and never reused.
 *
 * Every write goes through outbox_write(): begin, apply, commit; on
 * MDB_MAP_FULL the transaction is dropped, the map doubled (allowed because no
 * transaction of this environment is open: one thread uses an outbox) and the
 * write retried. The map stops growing at VD_OUTBOX_MAP_MAX, which depends on
 * the address space (64 GiB with a 64-bit size_t, 1 GiB with a 32-bit one),
 * and the doubling saturates there instead of wrapping.
 *
 * Creating an outbox makes the directory (if missing) and LMDB's two files;
 * the first commit syncs the data file, and then the directory and its parent
 * are fsynced too, so that a power cut right after creation cannot lose the
 * new entries and with them the numbering.
 */
#include "validators/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware-proto/bytes.h"
#include "storage/txn_retry.h"

#define OUTBOX_MAP_INITIAL ((size_t)16 << 20)
#define OUTBOX_KEY_SIZE 8
static const char OUTBOX_LAST_SEQ_KEY[] = "last_seq";

struct vd_outbox {
	MDB_env *env;
	MDB_dbi frames;
	MDB_dbi meta;
};

typedef int (*outbox_apply_fn)(struct vd_outbox *ob, MDB_txn *txn, void *arg);

static void key_encode(uint64_t seq, uint8_t out[OUTBOX_KEY_SIZE])
{
	kp_store_u64be(out, seq);
}

static uint64_t key_decode(const MDB_val *v)
{
	return kp_load_u64be(v->mv_data);
}

size_t vd_outbox_map_next(size_t current)
{
	return st_map_next(current, OUTBOX_MAP_INITIAL, VD_OUTBOX_MAP_MAX);
}

struct outbox_work {
	struct vd_outbox *ob;
	outbox_apply_fn apply;
	void *arg;
};

static int outbox_work_run(void *ctx, MDB_txn *txn)
{
	struct outbox_work *w = ctx;

	return w->apply(w->ob, txn, w->arg);
}

/* The loop is storage's (storage/txn_retry.h), without a resize lock: one
 * thread uses an outbox. Codes stay LMDB's. */
static int outbox_write(struct vd_outbox *ob, outbox_apply_fn apply, void *arg)
{
	const struct st_txn_env e = {ob->env, NULL, OUTBOX_MAP_INITIAL, VD_OUTBOX_MAP_MAX, NULL,
	                             MDB_MAP_FULL};
	struct outbox_work w = {ob, apply, arg};

	return st_txn_run(&e, outbox_work_run, &w, NULL);
}

static int last_seq_get(struct vd_outbox *ob, MDB_txn *txn, uint64_t *seq)
{
	MDB_val k = {sizeof OUTBOX_LAST_SEQ_KEY - 1, (void *)OUTBOX_LAST_SEQ_KEY};
	MDB_val v;
	int rc = mdb_get(txn, ob->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return 0;
	}
	if (rc)
		return rc;
	if (v.mv_size != OUTBOX_KEY_SIZE)
		return MDB_CORRUPTED;
	*seq = key_decode(&v);
	return 0;
}

static int last_seq_put(struct vd_outbox *ob, MDB_txn *txn, uint64_t seq)
{
	uint8_t buf[OUTBOX_KEY_SIZE];
	key_encode(seq, buf);
	MDB_val k = {sizeof OUTBOX_LAST_SEQ_KEY - 1, (void *)OUTBOX_LAST_SEQ_KEY};
	MDB_val v = {sizeof buf, buf};
	return mdb_put(txn, ob->meta, &k, &v, 0);
}

static int outbox_open_dbs(struct vd_outbox *ob)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	if (rc)
		return rc;
	rc = mdb_dbi_open(txn, "frames", MDB_CREATE, &ob->frames);
	if (rc)
		goto err;
	rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ob->meta);
	if (rc)
		goto err;
	return mdb_txn_commit(txn);
err:
	mdb_txn_abort(txn);
	return rc;
}

static int outbox_env_open(struct vd_outbox *ob, const char *dir)
{
	int dead;
	int rc = mdb_env_create(&ob->env);
	if (rc)
		return rc;
	rc = mdb_env_set_maxdbs(ob->env, 2);
	if (rc)
		return rc;
	rc = mdb_env_set_mapsize(ob->env, OUTBOX_MAP_INITIAL);
	if (rc)
		return rc;
	rc = mdb_env_open(ob->env, dir, MDB_NOTLS, 0600);
	if (rc)
		return rc;
	return mdb_reader_check(ob->env, &dead);
}

static int fsync_dir(const char *path)
{
	int rc = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	if (close(fd) != 0 && rc == 0)
		rc = errno;
	return rc;
}

/* Makes the new directory entries durable: LMDB's files in dir, and dir in
 * its parent. */
static int fsync_created(const char *dir)
{
	char parent[PATH_MAX];
	int rc = fsync_dir(dir);
	if (rc)
		return rc;
	if (snprintf(parent, sizeof parent, "%s", dir) >= (int)sizeof parent)
		return ENAMETOOLONG;
	return fsync_dir(dirname(parent));
}

/* Whether the environment is new: no data file yet. */
static int outbox_exists(const char *dir, int *exists)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
		return ENAMETOOLONG;
	if (stat(path, &st) == 0) {
		*exists = 1;
		return 0;
	}
	*exists = 0;
	return errno == ENOENT ? 0 : errno;
}

int vd_outbox_open(const char *dir, struct vd_outbox **out)
{
	struct vd_outbox *ob;
	int existed;
	int rc;

	if (!dir || !out)
		return EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errno;
	rc = outbox_exists(dir, &existed);
	if (rc)
		return rc;
	ob = calloc(1, sizeof *ob);
	if (!ob)
		return ENOMEM;
	rc = outbox_env_open(ob, dir);
	if (rc)
		goto err;
	rc = outbox_open_dbs(ob);
	if (rc == 0 && !existed)
		rc = fsync_created(dir);
	if (rc)
		goto err;
	*out = ob;
	return 0;
err:
	vd_outbox_close(ob);
	return rc;
}

void vd_outbox_close(struct vd_outbox *ob)
{
	if (!ob)
		return;
	if (ob->env)
		mdb_env_close(ob->env);
	free(ob);
}

struct next_seq_args {
	size_t len;
	vd_outbox_fill_fn fill;
	void *arg;
	uint64_t seq;
};

static int apply_next_seq(struct vd_outbox *ob, MDB_txn *txn, void *arg)
{
	struct next_seq_args *a = arg;
	uint8_t kbuf[OUTBOX_KEY_SIZE];
	uint64_t last;
	int rc = last_seq_get(ob, txn, &last);
	if (rc)
		return rc;
	if (last == UINT64_MAX)
		return EOVERFLOW;
	a->seq = last + 1;
	key_encode(a->seq, kbuf);
	MDB_val k = {sizeof kbuf, kbuf};
	MDB_val v = {a->len, NULL};
	rc = mdb_put(txn, ob->frames, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
	if (rc)
		return rc;
	rc = a->fill(a->arg, a->seq, v.mv_data, a->len);
	if (rc)
		return rc;
	return last_seq_put(ob, txn, a->seq);
}

int vd_outbox_next_seq(struct vd_outbox *ob, size_t len, vd_outbox_fill_fn fill, void *arg,
                       uint64_t *seq)
{
	struct next_seq_args a = {len, fill, arg, 0};
	int rc;

	if (!ob || !fill || !seq || len == 0)
		return EINVAL;
	rc = outbox_write(ob, apply_next_seq, &a);
	if (rc)
		return rc;
	*seq = a.seq;
	return 0;
}

struct put_args {
	uint64_t seq;
	const uint8_t *frame;
	size_t len;
};

static int apply_put(struct vd_outbox *ob, MDB_txn *txn, void *arg)
{
	struct put_args *a = arg;
	uint8_t kbuf[OUTBOX_KEY_SIZE];
	uint64_t last;
	int rc = last_seq_get(ob, txn, &last);
	if (rc)
		return rc;
	key_encode(a->seq, kbuf);
	MDB_val k = {sizeof kbuf, kbuf};
	MDB_val v = {a->len, (void *)a->frame};
	rc = mdb_put(txn, ob->frames, &k, &v, 0);
	if (rc)
		return rc;
	return a->seq > last ? last_seq_put(ob, txn, a->seq) : 0;
}

int vd_outbox_put(struct vd_outbox *ob, uint64_t seq, const uint8_t *frame, size_t len)
{
	struct put_args a = {seq, frame, len};

	if (!ob || seq == 0 || !frame || len == 0)
		return EINVAL;
	return outbox_write(ob, apply_put, &a);
}

struct ack_args {
	uint64_t seq;
	uint64_t watermark;
	size_t removed;
};

/* Deletes from the front while the oldest frame is <= watermark. Restarting
 * from MDB_FIRST after each delete keeps the cursor logic trivially right. */
static int ack_below_watermark(MDB_cursor *cur, uint64_t watermark, size_t *removed)
{
	MDB_val k, v;
	int rc;

	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != OUTBOX_KEY_SIZE)
			return MDB_CORRUPTED;
		if (key_decode(&k) > watermark)
			return 0;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			return rc;
		(*removed)++;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int apply_ack(struct vd_outbox *ob, MDB_txn *txn, void *arg)
{
	struct ack_args *a = arg;
	uint8_t kbuf[OUTBOX_KEY_SIZE];
	MDB_cursor *cur;
	int rc;

	a->removed = 0;
	key_encode(a->seq, kbuf);
	MDB_val k = {sizeof kbuf, kbuf};
	rc = mdb_del(txn, ob->frames, &k, NULL);
	if (rc == 0)
		a->removed++;
	else if (rc != MDB_NOTFOUND)
		return rc;
	if (a->watermark == 0)
		return 0;
	rc = mdb_cursor_open(txn, ob->frames, &cur);
	if (rc)
		return rc;
	rc = ack_below_watermark(cur, a->watermark, &a->removed);
	mdb_cursor_close(cur);
	return rc;
}

int vd_outbox_ack(struct vd_outbox *ob, uint64_t seq, uint64_t watermark, size_t *removed)
{
	struct ack_args a = {seq, watermark, 0};
	int rc;

	if (!ob)
		return EINVAL;
	rc = outbox_write(ob, apply_ack, &a);
	if (rc == 0 && removed)
		*removed = a.removed;
	return rc;
}

static int walk_frames(MDB_cursor *cur, uint64_t from_seq, vd_outbox_frame_fn fn, void *arg)
{
	uint8_t kbuf[OUTBOX_KEY_SIZE];
	MDB_val k = {sizeof kbuf, kbuf};
	MDB_val v;
	int rc;

	key_encode(from_seq, kbuf);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		if (k.mv_size != OUTBOX_KEY_SIZE)
			return MDB_CORRUPTED;
		if (fn(arg, key_decode(&k), v.mv_data, v.mv_size))
			return 0;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int vd_outbox_foreach(struct vd_outbox *ob, uint64_t from_seq, vd_outbox_frame_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc;

	if (!ob || !fn)
		return EINVAL;
	rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, ob->frames, &cur);
	if (rc)
		goto out;
	rc = walk_frames(cur, from_seq, fn, arg);
	mdb_cursor_close(cur);
out:
	mdb_txn_abort(txn);
	return rc;
}

int vd_outbox_count(struct vd_outbox *ob, size_t *count)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if (!ob || !count)
		return EINVAL;
	rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	rc = mdb_stat(txn, ob->frames, &st);
	if (rc == 0)
		*count = st.ms_entries;
	mdb_txn_abort(txn);
	return rc;
}

int vd_outbox_last_seq(struct vd_outbox *ob, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	if (!ob || !seq)
		return EINVAL;
	rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	rc = last_seq_get(ob, txn, seq);
	mdb_txn_abort(txn);
	return rc;
}
