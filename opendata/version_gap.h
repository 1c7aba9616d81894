/*
 * version_gap.h — whether a new version of a date's package would tell a
 * count below k by difference with the version before it.
 *
 * A date's package gets a new version when late taps change what it
 * publishes, and every version stays published. Each version is safe on
 * its own (tables.h), but the difference of two is not: a cell published
 * as 12 in v1 and 13 in v2 tells one late tap at that route, stop and hour
 * (the noise, derived from the cell's label, is the same in both), and a
 * day's riders going from 40 to 41 beside a new route of 15 taps tells one
 * rider's 15 taps. So a new version is written only when every published
 * count of every table, compared with the same row's (by its primary key)
 * in each version before (the caller asks for each: a count suppressed in
 * the last may have been published in an earlier one), is unchanged,
 * changed by k or more, or suppressed on either side (a suppressed value
 * is below k and unknown). New rows and
 * gone rows are not compared. The standard files (ridership.txt,
 * station_activities.csv) publish the same cells and sums of them, so the
 * tables' JSON forms are what is compared.
 */
#ifndef OD_VERSION_GAP_H
#define OD_VERSION_GAP_H

#include <stdint.h>

#include "opendata/tables.h"

/* 0 when t may follow the package in prev_dir (one earlier version); 1 when a count would change
 * by 1..k-1, named in why ("ridership_route_stop_hour 2024-06-15,10,110,7:
 * accepted 12 -> 13"); -1 when prev_dir's tables cannot be read (why). */
int od_version_gap(const struct od_tables *t, const char *prev_dir, uint64_t k, char why[OD_ERR_SIZE]);

#endif
