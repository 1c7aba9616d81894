/*
 * package.h — writes one service date's open-data package into a folder
 * that a portal (CKAN) can take as it is, and that anyone can check with
 * stock tools:
 *
 *   NAME.csv, NAME.json     each table of tables.h (the same values)
 *   ridership.txt, ride_feed_info.txt, station_activities.csv
 *                           the tables of the standards (GTFS-ride, TIDES),
 *                           CSV only, under the specs' file names
 *   minisign.pub            the server's public key, minisign's format
 *   datapackage.json        Frictionless Tabular Data Package: name, title,
 *                           CC-BY-4.0, temporal coverage, a resource per
 *                           data file (path, format, mediatype, bytes,
 *                           hash "sha256:HEX", Table Schema with types,
 *                           primary key, missingValues [""], and each
 *                           count's "minimum": k), and a "komposter" object:
 *                           the disclosure settings, the hash-chain head
 *                           when exported, the previous manifest's SHA-256
 *   SHA256SUMS              "HEX  NAME" for every file above (`sha256sum -c`)
 *   datapackage.json.minisig  minisign signature of datapackage.json with
 *                           the server's Ed25519 key (minisign.h)
 *
 * A package is never rewritten: a folder that already holds a
 * datapackage.json is refused, and each file is created exclusively and
 * synced. The previous package is named by the caller (the manifest of the
 * package it follows, or none).
 *
 * The publisher (ingest/publish_stage.h) puts version N of a date's
 * package in the folder DATE/vN (DATE yyyymmdd) and writes N into the
 * manifest as komposter.version (null for a package not published so, as
 * `komposter export` writes it): the signed manifest then says which date
 * and version it is, so verify can tell an older package served in a
 * newer one's place.
 */
#ifndef OD_PACKAGE_H
#define OD_PACKAGE_H

#include <stdint.h>

#include "opendata/disclosure.h"
#include "opendata/tables.h"

#define OD_MANIFEST "datapackage.json"
#define OD_SUMS "SHA256SUMS"
#define OD_SIGNATURE "datapackage.json.minisig"
#define OD_PUBKEY "minisign.pub"
/* The marker of a suppressed cell: an empty CSV cell, JSON null. */
#define OD_SUPPRESSED_MARKER ""

struct od_package_options {
	const char *dir;        /* created when missing */
	const uint8_t *sk;      /* the server's 64-byte Ed25519 secret key */
	const char *previous;   /* the previous package's datapackage.json, or NULL */
	const struct od_disclosure *disclosure;
	int64_t now_ms;         /* "created" and the signature's timestamp */
	uint32_t version;       /* N of the publisher's DATE/vN, or 0: none */
};

/* Writes the package of t. Returns 0, or -1 with one line in err (files
 * already written stay: the folder is not a package without its
 * signature, which is written last). */
int od_package_write(const struct od_tables *t, const struct od_package_options *o, char err[OD_ERR_SIZE]);

/* The names of the publishing layout's folders, DATE/vN: 1 when name is
 * one (DATE 8 digits of a valid date; vN "v" and digits without a leading
 * zero), with its number (yyyymmdd, or N) in *out; else 0. */
int od_package_date_name(const char *name, uint32_t *out);
int od_package_version_name(const char *name, uint32_t *out);

#endif
