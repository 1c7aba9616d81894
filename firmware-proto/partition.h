/*
 * partition.h — which of N komposterd instances owns a device (DESIGN.md
 * "Beyond one machine"): the one definition the daemon, the CLI and any
 * device-side tool share.
 *
 * Promises:
 *  - the owner of device id D among N instances is
 *      jump(key, N), key = the first 8 bytes, read little-endian, of
 *      BLAKE2b-256 (unkeyed, 32-byte digest) of D's 8 bytes little-endian
 *    where jump is Lamping and Veach's jump consistent hash ("A Fast,
 *    Minimal Memory, Consistent Hash Algorithm", 2014). Any tool can check
 *    it (README "Partitions" has the vectors, and Python's
 *    hashlib.blake2b(digest_size=32) gives the same key).
 *  - consistent: going from N to N+1 instances moves only the devices whose
 *    new owner is N, about 1/(N+1) of them; no device moves between the
 *    instances that stay.
 *  - the result is in 0..N-1; N = 1 gives 0 for every device.
 *  - "K/N" text is the one spelling of a partition: two decimal numbers,
 *    0 <= K < N <= KP_PARTITION_N_MAX, nothing else (no sign, space,
 *    leading zero or trailing byte).
 *  - no allocation, no I/O, no global state (libsodium's BLAKE2b only, which
 *    kp_proto links already for Ed25519; the caller has called
 *    sodium_init()).
 */
#ifndef KP_PARTITION_H
#define KP_PARTITION_H

#include <stdint.h>

#define KP_PARTITION_N_MAX 4096
/* "4095/4096" and its NUL. */
#define KP_PARTITION_TEXT_SIZE 16

struct kp_partition {
	uint32_t k; /* this instance */
	uint32_t n; /* instances in all */
};

/* The 64-bit key of a device id (above). */
uint64_t kp_partition_key(uint64_t device_id);
/* Jump consistent hash of key into 0..n-1 (n >= 1). */
uint32_t kp_partition_jump(uint64_t key, uint32_t n);
/* The owner of device_id among n instances (n >= 1). */
uint32_t kp_partition_owner(uint64_t device_id, uint32_t n);
/* Whether p owns device_id. */
int kp_partition_owns(const struct kp_partition *p, uint64_t device_id);

/* Parses "K/N" (above) into p: 0, or -1 with p unchanged. */
int kp_partition_parse(const char *text, struct kp_partition *p);
/* Writes "K/N" into out (KP_PARTITION_TEXT_SIZE bytes). */
void kp_partition_format(const struct kp_partition *p, char out[KP_PARTITION_TEXT_SIZE]);

#endif
