/*
 * civil.h — private to storage/: proleptic Gregorian calendar arithmetic on
 * days since 1970-01-01 (Howard Hinnant's civil-date algorithms), exact for
 * any int64 day count a time in milliseconds can reach. Service dates
 * (service_day.c) and the time zone tables (zone.c) are computed with it, so
 * nothing depends on the C library's idea of the local time.
 */
#ifndef ST_CIVIL_H
#define ST_CIVIL_H

#include <stdint.h>

#define ST_SECONDS_PER_DAY 86400
#define ST_DAYS_PER_WEEK 7

struct civil {
	int64_t y;
	unsigned m, d;
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static inline int64_t days_from_civil(struct civil c)
{
	int64_t y = c.y - (c.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (c.m > 2 ? c.m - 3 : c.m + 9) + 2) / 5 + c.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static inline struct civil civil_from_days(int64_t z)
{
	struct civil c;
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c.d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	c.m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	c.y = yoe + era * 400 + (c.m <= 2);
	return c;
}

static inline int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* a / b rounded towards minus infinity (b > 0). */
static inline int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* 0 (Monday) to 6 (Sunday) of a day count: 1970-01-01 was a Thursday. */
static inline int64_t weekday_of_days(int64_t days)
{
	return ((days + 3) % ST_DAYS_PER_WEEK + ST_DAYS_PER_WEEK) % ST_DAYS_PER_WEEK;
}

#endif
