/*
 * signed_file.h — a text file and its minisign signature beside it
 * (FILE.minisig, minisign.h), made with the server's key and checked
 * against a set of public keys: how one instance hands a file to another
 * (a device hand-over, tools/handoff_file.h).
 *
 * Promises: od_signed_write creates both files exclusively (an existing
 * one is refused), the signature last, so a file without its signature is
 * never taken; od_signed_read returns the text only when its signature
 * holds under one of the keys given.
 */
#ifndef OD_SIGNED_FILE_H
#define OD_SIGNED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "opendata/minisign.h"
#include "opendata/tables.h"

#define OD_SIGNED_SUFFIX ".minisig"

/* Writes text into path and its signature (trusted comment `comment`) into
 * path.minisig. 0, or -1 with one line in err. */
int od_signed_write(const char *path, const char *text, const char *comment, const uint8_t sk[OD_MINISIGN_SK_SIZE],
                    char err[OD_ERR_SIZE]);

/* Reads path (at most max bytes) into *text (NUL-terminated, *len bytes;
 * free it) when path.minisig holds under one of pks[0..npk). 0, or -1 with
 * one line in err naming path. */
int od_signed_read(const char *path, size_t max, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                   char **text, size_t *len, char err[OD_ERR_SIZE]);

#endif
