/*
 * service_day.c — service dates, local hours and pseudonym epochs.
 *
 * Why it is built this way: the service date is decided on the local wall
 * clock (localtime_r in the process's TZ): the hour is the tap's local
 * hour, and a tap whose local hour is before the start hour belongs to the
 * previous calendar date. Stepping back one calendar day is done with pure
 * date arithmetic (days since 1970-01-01, Howard Hinnant's civil-date
 * algorithms), not by subtracting hours from the timestamp, so the rule
 * "01:30 belongs to yesterday" holds on daylight-saving days too (an
 * instant shifted by N hours can land on the other side of a transition).
 * Epoch starts (Monday of the week, first of the month) use the same
 * arithmetic and need no time zone at all.
 */
#include "storage/service_day.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "storage/db.h"

#define YEAR_MIN 1
#define YEAR_MAX 9999
#define MS_PER_S 1000
#define DAYS_PER_WEEK 7
#define EPOCH_WEEKDAY 3 /* 1970-01-01 was a Thursday; Monday is 0 */

struct civil {
	int64_t y;
	unsigned m, d;
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(struct civil c)
{
	int64_t y = c.y - (c.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (c.m > 2 ? c.m - 3 : c.m + 9) + 2) / 5 + c.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static struct civil civil_from_days(int64_t z)
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

static struct civil civil_of(uint32_t date)
{
	return (struct civil){date / 10000, date / 100 % 100, date % 100};
}

static uint32_t date_of(struct civil c)
{
	return (uint32_t)(c.y * 10000 + c.m * 100 + c.d);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int st_service_day(int64_t ms, int start_hour, struct st_when *out)
{
	time_t t = (time_t)(ms / MS_PER_S - (ms % MS_PER_S < 0)); /* floor */
	struct tm lt;
	struct civil c;

	if (!out || start_hour < 0 || start_hour > 23)
		return -1;
	if (!localtime_r(&t, &lt))
		return -1;
	c = (struct civil){(int64_t)lt.tm_year + 1900, (unsigned)lt.tm_mon + 1, (unsigned)lt.tm_mday};
	if (lt.tm_hour < start_hour)
		c = civil_from_days(days_from_civil(c) - 1);
	if (c.y < YEAR_MIN || c.y > YEAR_MAX)
		return -1;
	out->service_date = date_of(c);
	out->hour = (uint8_t)lt.tm_hour;
	return 0;
}

static int digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int st_date_parse(const char *text, uint32_t *date)
{
	unsigned y, m, d;

	if (!text || !date || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return -1;
	if (digits(text, 4, &y) || digits(text + 5, 2, &m) || digits(text + 8, 2, &d))
		return -1;
	if (y < YEAR_MIN || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*date = y * 10000 + m * 100 + d;
	return 0;
}

void st_date_format(uint32_t date, char out[11])
{
	snprintf(out, 11, "%04u-%02u-%02u", date / 10000 % 10000, date / 100 % 100, date % 100);
}

uint32_t st_epoch_start(uint32_t date, int epoch_period)
{
	struct civil c = civil_of(date);
	int64_t days;
	int64_t weekday;

	switch (epoch_period) {
	case ST_EPOCH_WEEK:
		days = days_from_civil(c);
		weekday = ((days + EPOCH_WEEKDAY) % DAYS_PER_WEEK + DAYS_PER_WEEK) % DAYS_PER_WEEK;
		return date_of(civil_from_days(days - weekday));
	case ST_EPOCH_MONTH:
		c.d = 1;
		return date_of(c);
	default:
		return date;
	}
}
