/*
 * fingerprint.h — what a package publishes, as one SHA-256: over each data
 * file (every table's CSV, then its JSON, in the tables' order; a
 * standard's file has no JSON; ride_feed_info.txt, which says the version,
 * is left out) its name and the SHA-256 of its bytes. Two packages of a date with the same
 * fingerprint publish the same numbers, whatever their "created", chain
 * head or previous manifest; so the daemon's publisher (ingest/
 * publish_stage.h) writes a new version of a date only when late taps
 * change what it publishes.
 *
 * The fingerprint of tables about to be written, and that of a written
 * package read back from its datapackage.json (each resource's "path" and
 * "hash", in the manifest's order, which package.h writes in the same
 * order), are equal exactly when the data files would be byte-identical.
 */
#ifndef OD_FINGERPRINT_H
#define OD_FINGERPRINT_H

#include <stddef.h>

#include "opendata/tables.h"

#define OD_FINGERPRINT_HEX_SIZE 65 /* 64 hex digits and a NUL */

/* The fingerprint of t's data files as od_package_write would write them.
 * 0, or -1 with one line in err (out of memory). */
int od_tables_fingerprint(const struct od_tables *t, char out[OD_FINGERPRINT_HEX_SIZE], char err[OD_ERR_SIZE]);
/* The fingerprint of the package whose datapackage.json is manifest[0..len).
 * 0, or -1 with one line in err (not a package manifest). */
int od_manifest_fingerprint(const char *manifest, size_t len, char out[OD_FINGERPRINT_HEX_SIZE],
                            char err[OD_ERR_SIZE]);

#endif
