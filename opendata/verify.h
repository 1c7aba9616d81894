/*
 * verify.h — checks an open-data package (package.h) the way anyone can
 * who holds the server's public key, and says what is wrong, one line per
 * problem:
 *  - SHA256SUMS: every line is "HEX  NAME" and NAME's SHA-256 is HEX; it
 *    lists exactly the files the signed manifest vouches for (its
 *    resources, itself, minisign.pub), each once; the folder holds no other
 *    file but SHA256SUMS and the signature (SHA256SUMS is not signed: a
 *    line there vouches for nothing);
 *  - the minisign signature of datapackage.json verifies with the key, and
 *    its key id is id (a minisign public key file's; NULL: ours, derived
 *    from pk); then the package's minisign.pub, when there, is that key
 *    and id (it is not signed either). The key is the caller's, never
 *    read from the package;
 *  - datapackage.json: every resource's file exists and has its "hash";
 *    every field of every schema is an open-data field of its table and
 *    type (no other column, so no pseudonym, token or device id), and
 *    every count field has "minimum" at least the manifest's k; every
 *    table of the format (tables.h od_tables_format: validation_rate only
 *    when present at all) is there in each of its forms with every field
 *    of the format, so no check below is skipped for want of one;
 *  - every CSV (read with libcsv) and JSON file: the header is the schema's
 *    fields, each cell has the field's type, key cells are present and
 *    primary keys unique (a row is a cell of an aggregate, never a record),
 *    no published count is below k; the JSON of a table holds the same
 *    values as its CSV;
 *  - the route-day totals are the sums of the published route × stop × hour
 *    cells, so no suppressed cell can be recovered from them;
 *  - the fare table: not exactly one fare suppressed; without noise the
 *    published cells minus the published fares are 0 when none is
 *    suppressed and at least k when some are.
 *  - what is derived from the published route × stop × hour cells:
 *    ridership.txt's total_boardings are those cells, station_activities'
 *    counts and validation_rate's stop-level accepted their sums by stop
 *    and hour, ridership_day's accepted their sum (a sum below k empty);
 *    the day's riders not above its accepted nor 1..k-1 above a route's
 *    riders; a route-level accepted never beside a suppressed cell of its
 *    route and hour (and, without noise, the other vehicles' taps none or
 *    at least k); the standard files' times are hours of the manifest's
 *    service date (GTFS times up to 46:00:00, the next morning past 24;
 *    date-times of the date or the next day), all within one service day.
 *  - the manifest's komposter.service_date is the date asked for (when
 *    one is); when the folder's path ends in DATE/vN (the publishing
 *    layout, package.h), its service date is DATE and its
 *    komposter.version N: an older package served in a newer one's place,
 *    or another date's, is otherwise valid (signed, whole).
 * Not checked: a rate against its row's counts; GTFS ids against a feed.
 * Messages name the file, and the row and field where there is one.
 */
#ifndef OD_VERIFY_H
#define OD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "opendata/minisign.h"

/* Calls problem(ctx, line) for each problem (line without newline).
 * date (yyyymmdd, 0: any) is the service date the caller expects. Returns
 * the number of problems: 0 means the package is valid. */
size_t od_verify(const char *dir, const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *id, uint32_t date,
                 void (*problem)(void *ctx, const char *line), void *ctx);

#endif
