/*
 * zone.h — the time zone of a database's service dates: which names are
 * accepted.
 *
 * Promises: st_zone_valid accepts only a zone of the tz database, by name:
 * parts of letters, digits, '_', '+' and '-', each beginning with a letter,
 * joined by '/' (so no absolute path, no "..", no POSIX TZ rule), naming a
 * regular file in the zone directory ($TZDIR, else /usr/share/zoneinfo)
 * that begins with the TZif magic. It also refuses "localtime" (the
 * machine's zone, whatever that is today), "posixrules" (a template, not a
 * zone) and the "right/" zones (they count leap seconds). glibc would take
 * any other name and silently use UTC, for every tap, for good.
 * Errors: ST_EZONE.
 */
#ifndef ST_ZONE_H
#define ST_ZONE_H

#include <stddef.h>

#include "storage/db.h"

#define ST_ZONE_NAME_MAX 255 /* bytes, without the NUL */

/* ST_OK when name is an accepted zone; otherwise ST_EZONE and, when err is
 * not NULL, one line (no newline) in err saying what is wrong with it, for
 * a configuration check. */
int st_zone_valid(const char *name, char *err, size_t errlen);

#endif
