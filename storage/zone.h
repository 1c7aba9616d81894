/*
 * zone.h — the time zone of a database's service dates: which names are
 * accepted, and the zone's UTC offsets, read once so that service dates
 * never depend on the process's TZ.
 *
 * Promises:
 *  - st_zone_valid accepts only a zone of the tz database, by name: parts of
 *    letters, digits, '_', '+' and '-', each beginning with a letter, joined
 *    by '/' (so no absolute path, no "..", no POSIX TZ rule), naming a
 *    regular file in the zone directory ($TZDIR, else /usr/share/zoneinfo)
 *    that begins with the TZif magic. It also refuses "localtime" (the
 *    machine's zone, whatever that is today), "posixrules" (a template, not
 *    a zone) and the "right/" zones (they count leap seconds). glibc would
 *    take any other name and silently use UTC, for every tap, for good.
 *  - st_zone_offset gives, for every instant whose local date lies in years
 *    1 to 9999, the UTC offset glibc's localtime_r gives with TZ set to the
 *    zone, without touching TZ: the zone is read once, by st_zone_open, into
 *    a table of its transitions.
 *  - after st_zone_open returns, TZ and the local time of the process are
 *    what they were: nothing else in the process sees the zone.
 *
 * How the zone is read, and why: glibc has no call that takes a zone (no
 * localtime_rz), and komposter writes no TZif parser of its own. So
 * st_zone_open sets TZ to the zone, calls tzset, asks localtime_r for the
 * offset (tm_gmtoff) at one instant a day from 1800 (before every zone's
 * first transition) to 2129, bisects each change down to its second, then
 * puts TZ back as it was and calls tzset again, all under a process-wide
 * mutex so that two opens never mix their zones. A day is small enough: no
 * zone of the tz database goes and comes back within three days (checked
 * against every installed zone with a step of one hour). Past 2128 the
 * offsets repeat by the calendar: the zones' explicit transitions end by
 * 2087 (Africa/Casablanca's forecasts) and glibc computes later years from
 * the zone's POSIX rule with the year's own calendar, and a year has the
 * offsets of the year of 2101 to 2128 that starts on the same weekday and
 * has the same length. Reading the table takes some 20 ms (Europe/Kyiv).
 * The caveat: other threads that read TZ or call localtime while
 * st_zone_open runs may see the zone for that moment; open databases before
 * starting threads, as komposterd and komposter do.
 * Errors: ST_EZONE (a name st_zone_valid refuses), ST_EIO (out of memory,
 * or TZ could not be set or set back).
 */
#ifndef ST_ZONE_H
#define ST_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"

#define ST_ZONE_NAME_MAX 255 /* bytes, without the NUL */

/* ST_OK when name is an accepted zone; otherwise ST_EZONE and, when err is
 * not NULL, one line (no newline) in err saying what is wrong with it, for
 * a configuration check. */
int st_zone_valid(const char *name, char *err, size_t errlen);

struct st_zone; /* opaque, immutable once open: any thread may use it */

/* Reads the zone `name` into *out; st_zone_close frees it (NULL is fine). */
int st_zone_open(struct st_zone **out, const char *name);
void st_zone_close(struct st_zone *zone);

/* Seconds east of UTC at Unix time t (seconds) in the zone. */
int32_t st_zone_offset(const struct st_zone *zone, int64_t t);

#endif
