/*
 * partial.h — one instance's signed partial of a service date (issue #16,
 * DESIGN.md "Beyond one machine"): what `komposter merge` adds up into one
 * city-wide package. Never published: its counts are unsuppressed.
 *
 * A partial is two files, FILE and FILE.minisig:
 *   FILE          one JSON object (README "Partials" has the format):
 *                 "format": "komposter-partial-2" (OD_PARTIAL_FORMAT), "service_date",
 *                 "partition" ("K/N", firmware-proto/partition.h),
 *                 "service_day_start_hour", "created" (Unix ms),
 *                 "chain": {"seq", "head"} (the log's last entry, 64 hex),
 *                 "cells": [[route, stop, hour, fare, accepted, denied,
 *                 amount]...] (the date's tap cells as the export reads
 *                 them, before any disclosure control), "riders":
 *                 [{"route": R or "all", "sketch": base64}] (the stored
 *                 HyperLogLog sketches, storage/hll.h), "routes":
 *                 [[id, gtfs_id, short_name, long_name]...], "stops":
 *                 [[id, gtfs_id, name]...] (the imported GTFS feed),
 *                 "vehicle_hours": [[hour, route, vehicle, accepted,
 *                 signed records, boardings, alightings, nvr records,
 *                 boardings, alightings]...] (storage/vehicle_hours.h),
 *                 "doors": [[hour, stop, door, source, boardings,
 *                 alightings, cycles]...] (street cameras' door cells,
 *                 route 0), "complete_hours": {"signed": bits, "nvr":
 *                 bits} (bit h: hour h complete when written,
 *                 st_reconcile_complete_hours).
 *   FILE.minisig  minisign signature of FILE with the server's key
 *                 (minisign.h, the same as a package's manifest), trusted
 *                 comment "komposter partial DATE K/N".
 * A "komposter-partial-1" (no camera data) is refused by name.
 *
 * od_merge_build promises: nothing is merged unless every partial's
 * signature holds under one of the given public keys, each names the date
 * asked for and a chain head, all name the same N and service-day start,
 * and their partitions are exactly 0/N..N-1/N, each once; then the counts
 * are added, the sketches merged (register-wise max, so the estimate is
 * the one of the union), the vehicle hours of one vehicle and the door
 * cells added and set against the taps by storage/reconcile.h (an hour
 * complete only when every partial held it complete), and the tables built by tables.c's one
 * disclosure-control path (tb_build_tables), as an export of one database
 * would build them. The merged package's chain head is BLAKE2b-256 of the
 * partials' heads in partition order, its seq the sum of theirs.
 */
#ifndef OD_PARTIAL_H
#define OD_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/partition.h"
#include "opendata/minisign.h"
#include "opendata/signed_file.h"
#include "opendata/tables.h"
#include "storage/db.h"

#define OD_PARTIAL_FORMAT "komposter-partial-2"
/* The format before camera data: refused by name (make it again). */
#define OD_PARTIAL_FORMAT_1 "komposter-partial-1"
#define OD_PARTIAL_SIG_SUFFIX OD_SIGNED_SUFFIX /* opendata/signed_file.h */

/* Writes the partial of date from db into path and path.minisig, both
 * created exclusively (an existing file is refused). 0, or -1 with err. */
int od_partial_write(struct st_db *db, uint32_t date, const struct kp_partition *p,
                     const uint8_t sk[OD_MINISIGN_SK_SIZE], const char *path, int64_t now_ms,
                     char err[OD_ERR_SIZE]);

/* Checks and merges the partials at paths[0..n) (above) into out's tables
 * under d. pks[0..npk) are the public keys a partial may be signed with.
 * 0, or -1 with one line in err naming the partial at fault; call
 * od_tables_free after, whatever the result. */
int od_merge_build(const char *const *paths, size_t n, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                   uint32_t date, const struct od_disclosure *d, struct od_tables *out, char err[OD_ERR_SIZE]);

#endif
