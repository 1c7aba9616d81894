/*
 * pseudonym.h — rider pseudonyms: BLAKE2b-128 keyed with the epoch key of the
 * tap's service date, over the 16-byte card token. One random 32-byte key per
 * epoch (day, week or month), made with libsodium's randomness the first time
 * the epoch is needed (or, with st_options.epoch_keys_imported, only taken
 * from an import: epoch_share.h) and stored in the `epoch_keys` database; destroying it
 * (epoch_keys.h: the writer's retention schedule, `komposter keys destroy`)
 * makes the epoch's pseudonyms unlinkable for good.
 */
#ifndef ST_PSEUDONYM_H
#define ST_PSEUDONYM_H

#include "storage/db.h"

#define ST_EPOCH_KEY_SIZE 32
#define ST_PSEUDONYM_SIZE 16

void st_pseudonym(const uint8_t key[ST_EPOCH_KEY_SIZE], const uint8_t token[16],
                  uint8_t out[ST_PSEUDONYM_SIZE]);

#endif
