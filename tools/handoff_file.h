/*
 * handoff_file.h — the signed file that hands devices over from one
 * komposterd instance to another (issue #16, README "Moving devices between
 * instances"): per device, the old owner's watermark W and the ids of the
 * frames it stored above W, what the new owner's once-only index needs to
 * call a re-sent frame a duplicate (storage/handoff.h).
 *
 * FILE is one JSON object: "format": "komposter-handoff-1", "from": "K/M"
 * (the old owner), "to": "J/N" (the new owner), "created" (Unix ms),
 * "devices": [{"device": 16 hex digits, "watermark": W, "above": [ids]}];
 * FILE.minisig signs it with the old owner's server key
 * (opendata/signed_file.h), trusted comment "komposter handoff K/M to J/N".
 *
 * Promises: kp_handoff_read returns a hand-over only when its signature
 * holds, its format is this one, its "to" is the partition asked for and
 * every device hashes to it under N, with ids strictly increasing above W.
 */
#ifndef KP_HANDOFF_FILE_H
#define KP_HANDOFF_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/partition.h"
#include "opendata/minisign.h"
#include "opendata/tables.h"
#include "storage/db.h"
#include "storage/handoff.h"

#define KP_HANDOFF_FORMAT "komposter-handoff-1"

struct kp_handoff_dev {
	uint64_t id, watermark;
	uint64_t *above;
	size_t n, cap;
};

struct kp_handoff {
	struct kp_partition from, to;
	struct kp_handoff_dev *devs; /* in device id order */
	size_t n, cap;
};

/* The devices of db's registry (validators and counting cameras) that
 * partition `from` owns and `to` owns after the change, with their
 * once-only state. 0, or -1 with err. */
int kp_handoff_collect(struct st_db *db, const struct kp_partition *from, const struct kp_partition *to,
                       struct kp_handoff *h, char err[OD_ERR_SIZE]);

/* Writes h into path and path.minisig (both created exclusively). */
int kp_handoff_write(const struct kp_handoff *h, const uint8_t sk[OD_MINISIGN_SK_SIZE], const char *path,
                     int64_t now_ms, char err[OD_ERR_SIZE]);

/* Reads and checks path (above) for partition `to`; the devices are
 * appended to h (h->from is the file's). 0, or -1 with one line in err. */
int kp_handoff_read(const char *path, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                    const struct kp_partition *to, struct kp_handoff *h, char err[OD_ERR_SIZE]);

/* Sorts h's devices by id; -1 with err when one is there twice (two
 * files handing the same device). */
int kp_handoff_sort_unique(struct kp_handoff *h, char err[OD_ERR_SIZE]);

/* h's devices as storage hand-overs; out[h->n] (free it). NULL on no memory. */
struct st_handoff *kp_handoff_entries(const struct kp_handoff *h);

void kp_handoff_free(struct kp_handoff *h);

#endif
