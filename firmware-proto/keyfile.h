/*
 * keyfile.h — Ed25519 key files, as `komposter keygen` writes them:
 *   NAME      the 64-byte libsodium secret key as 128 lowercase hex digits and
 *             a newline, mode 0600;
 *   NAME.pub  the 32-byte public key as 64 hex digits and a newline.
 *
 * This is the host-side part of firmware-proto: it does file I/O (POSIX
 * files, atomic replacement, fsync) and allocates, which the codec (frame.h,
 * hex.h, topic.h, library kp_proto) promises never to do, so it is a library
 * of its own, kp_keyfile, for komposterd, the komposter tool and the
 * simulated validators. Firmware keeps its keys its own way.
 *
 * Functions return 0 or -1; on -1 `err` (if not NULL) holds one line saying why.
 */
#ifndef KP_KEYFILE_H
#define KP_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h" /* KP_PUBLIC_KEY_SIZE, KP_SECRET_KEY_SIZE */

#define KP_KEYFILE_ERR_SIZE 256

/* Makes a fresh key pair and writes NAME and NAME.pub (refuses to overwrite
 * an existing NAME unless force). */
int kp_keyfile_generate(const char *path, int force, uint8_t pk[KP_PUBLIC_KEY_SIZE], char *err);
int kp_keyfile_read_secret(const char *path, uint8_t sk[KP_SECRET_KEY_SIZE], char *err);
int kp_keyfile_read_public(const char *path, uint8_t pk[KP_PUBLIC_KEY_SIZE], char *err);
int kp_keyfile_write_secret(const char *path, const uint8_t sk[KP_SECRET_KEY_SIZE], int force,
                            char *err);

#endif
