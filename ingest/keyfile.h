/*
 * keyfile.h — Ed25519 key files, as `komposter keygen` writes them:
 *   NAME      the 64-byte libsodium secret key as 128 lowercase hex digits and
 *             a newline, mode 0600;
 *   NAME.pub  the 32-byte public key as 64 hex digits and a newline.
 * Also hex helpers for keys and device ids given on command lines.
 * Functions return 0 or -1; on -1 `err` (if not NULL) holds one line saying why.
 */
#ifndef KP_KEYFILE_H
#define KP_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KP_KEYFILE_ERR_SIZE 256

/* Makes a fresh key pair and writes NAME and NAME.pub (refuses to overwrite
 * an existing NAME unless force). */
int kp_keyfile_generate(const char *path, int force, uint8_t pk[32], char *err);
int kp_keyfile_read_secret(const char *path, uint8_t sk[64], char *err);
int kp_keyfile_read_public(const char *path, uint8_t pk[32], char *err);
int kp_keyfile_write_secret(const char *path, const uint8_t sk[64], int force, char *err);

/* Exactly 2*len hex digits (either case) into out. */
int kp_hex_decode(const char *hex, uint8_t *out, size_t len);
/* 2*len lowercase digits and a NUL into out (2*len+1 bytes). */
void kp_hex_encode(const uint8_t *in, size_t len, char *out);
/* A device id: 1..16 hex digits, nonzero. */
int kp_device_id_parse(const char *text, uint64_t *id);
/* 16 lowercase hex digits and a NUL. */
void kp_device_id_format(uint64_t id, char out[17]);

#endif
