/*
 * minisign.h — signatures in minisign's own file format, made and checked
 * with libsodium's Ed25519 and the server's key (firmware-proto/keyfile.h),
 * so that the stock tool verifies them: `minisign -Vm FILE -P PUBKEY` or
 * `-p minisign.pub`.
 *
 * The formats (minisign 0.9 and later):
 *  - public key file: "untrusted comment: minisign public key KEYID\n" and
 *    base64("Ed" ‖ key id (8) ‖ public key (32)) and "\n";
 *  - signature file (FILE.minisig): "untrusted comment: ...\n",
 *    base64("ED" ‖ key id (8) ‖ Ed25519 signature (64) of the BLAKE2b-512
 *    hash of FILE) "\n", "trusted comment: TEXT\n", and base64 of the
 *    global signature, Ed25519 over (signature ‖ TEXT), "\n". "ED" is the
 *    prehashed form current minisign makes; the legacy "Ed" (the file
 *    itself signed) is accepted by od_minisign_verify too.
 * The key id is a name for the key, not a secret: minisign makes a random
 * one; ours is the first 8 bytes of BLAKE2b-256 of the public key, so the
 * same server key always has the same id. A signature is checked against
 * the id of the public key file it is verified with (the stock tool's
 * rule), so a key pair made by `minisign -G` verifies too. KEYID in comments is the id read
 * as a little-endian 64-bit number, in upper-case hex (as minisign prints).
 *
 * Functions return 0 or -1; text outputs are NUL-terminated.
 */
#ifndef OD_MINISIGN_H
#define OD_MINISIGN_H

#include <stddef.h>
#include <stdint.h>

#define OD_MINISIGN_PK_SIZE 32
#define OD_MINISIGN_SK_SIZE 64
#define OD_MINISIGN_KEYID_SIZE 8
/* Room for a public key file, and for a signature file with a trusted
 * comment of up to OD_MINISIGN_COMMENT_MAX bytes. */
#define OD_MINISIGN_PUB_TEXT_SIZE 160
#define OD_MINISIGN_COMMENT_MAX 256
#define OD_MINISIGN_SIG_TEXT_SIZE 768
#define OD_MINISIGN_WHY_SIZE 160

void od_minisign_keyid(const uint8_t pk[OD_MINISIGN_PK_SIZE], uint8_t id[OD_MINISIGN_KEYID_SIZE]);

/* The base64 line of the public key (what `minisign -P` takes): 57 bytes
 * and a NUL. */
#define OD_MINISIGN_PUB_B64_SIZE 57
void od_minisign_pub_b64(const uint8_t pk[OD_MINISIGN_PK_SIZE], char out[OD_MINISIGN_PUB_B64_SIZE]);
/* The whole public key file (two lines). */
void od_minisign_pub_text(const uint8_t pk[OD_MINISIGN_PK_SIZE], char out[OD_MINISIGN_PUB_TEXT_SIZE]);
/* Reads the public key and its key id (the 8 bytes after "Ed", as stored:
 * random for a key made by `minisign -G`) from a public key file's text
 * (the first line is a comment; the second the base64) or from the base64
 * line alone. */
int od_minisign_pub_parse(const char *text, uint8_t pk[OD_MINISIGN_PK_SIZE], uint8_t id[OD_MINISIGN_KEYID_SIZE]);

/* Signs msg (prehashed, "ED") with the 64-byte libsodium secret key; the
 * trusted comment (no newline, at most OD_MINISIGN_COMMENT_MAX bytes) is
 * signed too. */
int od_minisign_sign(const uint8_t sk[OD_MINISIGN_SK_SIZE], const uint8_t *msg, size_t len,
                     const char *trusted_comment, char out[OD_MINISIGN_SIG_TEXT_SIZE]);

/* Checks a signature file's text over msg with pk: its layout, that its
 * key id is id (the public key file's, od_minisign_pub_parse; NULL: ours,
 * od_minisign_keyid(pk), for a bare hex key), the signature and the global
 * signature over the trusted comment. On -1 why says what is wrong in one
 * line. */
int od_minisign_verify(const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id, const uint8_t *msg, size_t len,
                       const char *sig_text, char why[OD_MINISIGN_WHY_SIZE]);

#endif
