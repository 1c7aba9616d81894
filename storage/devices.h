/*
 * devices.h — the device registry: which devices exist, their enrolled
 * Ed25519 public keys by key_id, and whether each is active or revoked.
 *
 * Promises: a revocation is visible to every read transaction begun after
 * st_device_revoke returns (revocation takes effect at once). A device has at
 * most ST_DEVICE_KEYS_MAX keys; key ids are 0..255 and never reused.
 * Write calls open and commit their own write transaction.
 */
#ifndef ST_DEVICES_H
#define ST_DEVICES_H

#include "firmware-proto/frame.h"
#include "storage/db.h"

#define ST_DEVICE_KEYS_MAX 256
#define ST_OPERATOR_SIZE 32 /* NUL-terminated, so 31 characters at most */

enum st_device_kind {
	ST_KIND_VALIDATOR = 1,
	ST_KIND_APC = 2, /* onboard counting camera, signed frames */
	ST_KIND_NVR = 3, /* NVR camera (Frigate), unsigned JSON */
};

enum st_state {
	ST_STATE_ACTIVE = 0,
	ST_STATE_REVOKED = 1,
};

struct st_device {
	uint64_t id;
	uint8_t kind;  /* enum st_device_kind */
	uint8_t state; /* enum st_state */
	char operator_name[ST_OPERATOR_SIZE];
	uint32_t vehicle_id;
	int64_t created_at;
	int64_t revoked_at; /* 0 while active */
};

struct st_device_key {
	uint64_t device_id;
	uint8_t key_id;
	uint8_t state; /* enum st_state */
	uint8_t public_key[KP_PUBLIC_KEY_SIZE];
	int64_t added_at;
	int64_t revoked_at;
};

/* Adds the device if it does not exist (ST_EEXIST if it does, with other
 * fields unchanged) */
int st_device_add(struct st_db *db, const struct st_device *dev);
/* Enrols a key. ST_ENOTFOUND if the device is unknown, ST_EEXIST if key_id is taken. */
int st_device_key_add(struct st_db *db, const struct st_device_key *key);
/* Revokes the whole device (key_id < 0; its keys are revoked with it) or
 * one key. ST_ENOTFOUND if absent; revoking twice keeps the first time. */
int st_device_revoke(struct st_db *db, uint64_t device_id, int key_id, int64_t now_ms);

int st_device_get(struct st_read *r, uint64_t device_id, struct st_device *out);
int st_device_key_get(struct st_read *r, uint64_t device_id, uint8_t key_id, struct st_device_key *out);

/* Calls fn for every device in id order / every key of one device in key_id
 * order. fn returns 0 to go on, nonzero to stop (then foreach returns ST_ESTOP). */
int st_device_foreach(struct st_read *r, int (*fn)(void *ctx, const struct st_device *dev), void *ctx);
int st_device_key_foreach(struct st_read *r, uint64_t device_id,
                          int (*fn)(void *ctx, const struct st_device_key *key), void *ctx);

const char *st_device_kind_name(uint8_t kind); /* "validator", "apc", "nvr"; "unknown" otherwise */
int st_device_kind_parse(const char *name);     /* enum value, or -1 */

#endif
