/*
 * nvr_session.h — whether the Frigate stage's last run ended cleanly, so
 * that what a crash lost reads as missing, not as zero riders.
 *
 * Paho acknowledges a Frigate message before it is stored, so a crash
 * (SIGKILL, power loss) loses the messages the stage held: its ring and its
 * open group. Nothing else can tell those hours were short. While the stage
 * runs it keeps a marker (in meta: the time it last said it was alive); a
 * clean stop removes it after the last group is stored. A run that finds a
 * marker at its beginning stores a closed outage (nvr.h) from the marker to
 * now: "NVR data may be missing". A daemon merely down loses nothing (the
 * broker keeps the persistent session's messages), so a clean stop records
 * no outage.
 *
 * The outage is taken in the outages' own order: it starts no earlier than
 * the last outage's end, and none is stored while an outage is open (the
 * NVR said offline before the crash: that outage already covers the gap and
 * its `online` will close it). Only the Frigate stage calls these (one
 * thread), each one synced write transaction. Errors: ST_EINVAL (NULL db,
 * now <= 0, read-only db), ST_EFULL, ST_ECORRUPT (a marker or outage record
 * that does not decode), ST_EIO.
 */
#ifndef ST_NVR_SESSION_H
#define ST_NVR_SESSION_H

#include <stdint.h>

#include "storage/db.h"

/* Records the gap a previous unclean run left, if any (*gap_start, may be
 * NULL, set to its start, else 0), and sets the marker to now (ms). */
int st_nvr_session_begin(struct st_db *db, int64_t now, int64_t *gap_start);
/* Moves the marker to now (the stage calls it about once a minute). */
int st_nvr_session_alive(struct st_db *db, int64_t now);
/* Removes the marker: the run ended with everything it took stored. */
int st_nvr_session_end(struct st_db *db);
/* The marker's time, ST_ENOTFOUND when there is none. */
int st_nvr_session_get(struct st_read *r, int64_t *at);

#endif
