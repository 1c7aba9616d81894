/*
 * export_tides.h — `komposter export --tides --from D --to D --out DIR`:
 * the record-level TIDES files (report/tides.h) of a range of service
 * dates, fare_transactions.csv and passenger_events.csv, written into DIR
 * with the same producer as the daemon's /v1/export/ (byte for byte the
 * same rows). DIR is made when missing (mode 0700: the rows carry rider
 * pseudonyms); the files are made 0600 and never overwritten. A file that
 * could not be written whole is removed.
 */
#ifndef KP_TOOLS_EXPORT_TIDES_H
#define KP_TOOLS_EXPORT_TIDES_H

#include <stdint.h>

#include "tools/cli.h"

/* Opens the database read-only, writes both files and reports them on
 * stdout; a KP_EXIT_* status, the failure reported on stderr. */
int export_tides_run(struct kp_cli *cli, const char *cmd, uint32_t from, uint32_t to, const char *dir);

#endif
