/*
 * service_day.h — which service date and local hour a device timestamp
 * belongs to, in a given time zone with a service day that starts at a
 * given hour (a tap at 01:30 belongs to the previous date when the service
 * day starts at 03:00).
 *
 * The rule is the local wall clock's: hour is the tap's local hour, and a
 * tap whose local hour is before start_hour belongs to the previous calendar
 * date, on daylight-saving days too. The zone is an argument (a database's
 * is st_db_zone); the process's TZ plays no part.
 */
#ifndef ST_SERVICE_DAY_H
#define ST_SERVICE_DAY_H

#include <stdint.h>

#include "storage/zone.h"

struct st_when {
	uint32_t service_date; /* yyyymmdd */
	uint8_t hour;          /* local clock hour 0..23 */
};

/* Returns 0, or -1 if the service date is outside years 1..9999 or an
 * argument is bad (no zone, start_hour outside 0..23). */
int st_service_day(const struct st_zone *zone, int64_t ms, int start_hour, struct st_when *out);

/* yyyymmdd ⇄ "YYYY-MM-DD". parse returns 0 or -1 for a malformed/invalid date;
 * format writes 11 bytes including the NUL. */
int st_date_parse(const char *text, uint32_t *date);
void st_date_format(uint32_t date, char out[11]);

/* Days since 1970-01-01 of a valid yyyymmdd date (negative before), so
 * that the length of a range of dates is a subtraction. */
int64_t st_date_days(uint32_t date);
/* The yyyymmdd date `days` days after 1970-01-01 (st_date_days inverted). */
uint32_t st_date_of_days(int64_t days);
/* The yyyymmdd date days after (before, when negative) a valid date. */
uint32_t st_date_add(uint32_t date, int64_t days);

/* The first service date of the epoch containing `date`. */
uint32_t st_epoch_start(uint32_t date, int epoch_period);

#endif
