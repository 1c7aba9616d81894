/*
 * service_day.c — service dates, local hours and pseudonym epochs.
 *
 * Why it is built this way: the service date is decided on the local wall
 * clock of the database's zone: the tap's UTC offset comes from the zone's
 * table (zone.h, never the process's TZ), the local time is the instant
 * plus that offset, and the hour is the tap's local hour; a tap whose local
 * hour is before the start hour belongs to the previous calendar date.
 * Stepping back one calendar day is done with pure date arithmetic (days
 * since 1970-01-01, civil.h), not by subtracting hours from the timestamp,
 * so the rule "01:30 belongs to yesterday" holds on daylight-saving days
 * too (an instant shifted by N hours can land on the other side of a
 * transition). Epoch starts (Monday of the week, first of the month) use
 * the same arithmetic and need no time zone at all.
 */
#include "storage/service_day.h"

#include <stdio.h>
#include <string.h>

#include "storage/civil.h"
#include "storage/db.h"

#define YEAR_MIN 1
#define YEAR_MAX 9999
#define MS_PER_S 1000
#define S_PER_HOUR 3600

static struct civil civil_of(uint32_t date)
{
	return (struct civil){date / 10000, date / 100 % 100, date % 100};
}

static uint32_t date_of(struct civil c)
{
	return (uint32_t)(c.y * 10000 + c.m * 100 + c.d);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int st_service_day(const struct st_zone *zone, int64_t ms, int start_hour, struct st_when *out)
{
	int64_t t = floor_div(ms, MS_PER_S);
	int64_t local, days, hour;
	struct civil c;

	if (!zone || !out || start_hour < 0 || start_hour > 23)
		return -1;
	local = t + st_zone_offset(zone, t); /* no overflow: |t| < 2^54, |offset| < 2^17 */
	days = floor_div(local, ST_SECONDS_PER_DAY);
	hour = (local - days * ST_SECONDS_PER_DAY) / S_PER_HOUR;
	c = civil_from_days(hour < start_hour ? days - 1 : days);
	if (c.y < YEAR_MIN || c.y > YEAR_MAX)
		return -1;
	out->service_date = date_of(c);
	out->hour = (uint8_t)hour;
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

	switch (epoch_period) {
	case ST_EPOCH_WEEK:
		days = days_from_civil(c);
		return date_of(civil_from_days(days - weekday_of_days(days)));
	case ST_EPOCH_MONTH:
		c.d = 1;
		return date_of(c);
	default:
		return date;
	}
}

int64_t st_date_days(uint32_t date)
{
	return days_from_civil((struct civil){ .y = date / 10000, .m = date / 100 % 100, .d = date % 100 });
}

uint32_t st_date_of_days(int64_t days)
{
	return date_of(civil_from_days(days));
}

uint32_t st_date_add(uint32_t date, int64_t days)
{
	return st_date_of_days(st_date_days(date) + days);
}
