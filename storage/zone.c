/*
 * zone.c — time zones by name, and their UTC offsets read once into a
 * table (zone.h says how and why).
 *
 * Why it is built this way: a zone name is recorded in the database once and
 * decides every service date and hour after that, so a name glibc would not
 * find (it falls back to UTC without a word) must be refused before it is
 * recorded. The name is checked as text first (no path can sneak in: every
 * part starts with a letter, so there is no "/" at the start and no "..")
 * and then as a file: a regular file in the zone directory whose first four
 * bytes are the TZif magic. A directory ("Europe"), a missing zone
 * ("Europe/Kyiv2") and the tables that live beside the zones fail there.
 * Only the magic is read; the file is not parsed here: glibc reads it.
 *
 * The table: `at` holds the UTC second of each transition in order and
 * `offset` the offset from then on; before the first, `first` holds. An
 * instant from 2129 on is first moved to the year of 2101..2128 of the same
 * calendar (cycle_days, by the year's length and its first weekday), so the
 * table never needs more than those 329 years.
 */
#define _GNU_SOURCE
#include "storage/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/civil.h"

#define ZONE_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZIF_MAGIC "TZif"
#define TZIF_MAGIC_SIZE 4
#define EXAMPLE "such as Europe/Kyiv"

#define SCAN_FROM_YEAR 1800  /* before every zone's first transition */
#define CYCLE_FROM_YEAR 2101 /* from here the offsets follow the calendar alone */
#define CYCLE_YEARS 28       /* 2101..2128 hold every kind of year (no century in between) */
#define YEAR_KINDS (2 * ST_DAYS_PER_WEEK) /* length (365, 366) × first weekday */
#define SCAN_STEP ST_SECONDS_PER_DAY
#define TABLE_INITIAL 256

struct st_zone {
	int32_t first;  /* offset before at[0] */
	size_t n, cap;
	int64_t *at;    /* UTC second a transition happens, ascending */
	int32_t *offset; /* offset from at[i] on */
	int64_t cycle_end;                /* first second of CYCLE_FROM_YEAR + CYCLE_YEARS */
	int64_t cycle_days[YEAR_KINDS];   /* days of Jan 1 of the cycle year of each kind */
};

_Static_assert(sizeof(time_t) >= sizeof(int64_t), "the scan reaches past 2038");

/* Guards TZ while a zone is read: one zone at a time in the process. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 3, 4))) static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ST_EZONE;
}

static const char *zone_dir(void)
{
	const char *dir = getenv("TZDIR"); /* where glibc looks too */

	return dir && dir[0] ? dir : ZONE_DIR_DEFAULT;
}

static int is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_char(char c)
{
	return is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
}

/* Parts of name characters, each beginning with a letter, joined by '/'. */
static int well_formed(const char *name)
{
	const char *p = name;

	for (;;) {
		if (!is_letter(*p))
			return 0;
		while (is_name_char(p[1]))
			p++;
		if (p[1] == '\0')
			return 1;
		if (p[1] != '/')
			return 0;
		p += 2; /* past the last character of the part and the '/' */
	}
}

/* Names that are files of the zone directory but not zones to record. */
static const char *not_a_zone(const char *name)
{
	if (strcmp(name, "localtime") == 0)
		return "the machine's own zone, not a zone name";
	if (strcmp(name, "posixrules") == 0)
		return "a template for POSIX rules, not a zone";
	if (strncmp(name, "right/", 6) == 0)
		return "a zone that counts leap seconds; use the one without right/";
	return NULL;
}

/* The zone's file: regular, and TZif inside. */
static int zone_file_check(const char *name, const char *path, char *err, size_t errlen)
{
	char magic[TZIF_MAGIC_SIZE];
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return refuse(err, errlen, "time zone \"%s\": no such zone in %s", name, zone_dir());
		return refuse(err, errlen, "time zone \"%s\": %s: %s", name, path, strerror(e));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(err, errlen, "time zone \"%s\": a folder of %s, not a zone (%s)", name,
		              zone_dir(), EXAMPLE);
	}
	got = read(fd, magic, sizeof magic);
	close(fd);
	if (got != (ssize_t)sizeof magic || memcmp(magic, TZIF_MAGIC, sizeof magic) != 0)
		return refuse(err, errlen, "time zone \"%s\": %s is not a zone file (TZif)", name, path);
	return ST_OK;
}

int st_zone_valid(const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *why;
	int n;

	if (!name || !name[0])
		return refuse(err, errlen, "time zone is empty: give a tz database name, %s", EXAMPLE);
	if (strlen(name) > ST_ZONE_NAME_MAX)
		return refuse(err, errlen, "time zone \"%.32s...\": longer than %d bytes", name,
		              ST_ZONE_NAME_MAX);
	if (!well_formed(name))
		return refuse(err, errlen,
		              "time zone \"%s\": not a tz database name (%s: letters, digits, '_', '+', '-' in "
		              "parts joined by '/', each beginning with a letter)",
		              name, EXAMPLE);
	why = not_a_zone(name);
	if (why)
		return refuse(err, errlen, "time zone \"%s\": %s", name, why);
	n = snprintf(path, sizeof path, "%s/%s", zone_dir(), name);
	if (n < 0 || (size_t)n >= sizeof path)
		return refuse(err, errlen, "time zone \"%s\": path too long", name);
	return zone_file_check(name, path, err, errlen);
}

/* ---- the table ---- */

static int year_kind(int64_t year, int64_t jan1_days)
{
	return (int)(is_leap(year) * ST_DAYS_PER_WEEK + weekday_of_days(jan1_days));
}

static int64_t year_start_days(int64_t year)
{
	return days_from_civil((struct civil){year, 1, 1});
}

static int add_transition(struct st_zone *z, int64_t at, int32_t offset)
{
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : TABLE_INITIAL;
		int64_t *a = realloc(z->at, cap * sizeof *a);
		int32_t *o;

		if (!a)
			return ST_EIO;
		z->at = a;
		o = realloc(z->offset, cap * sizeof *o);
		if (!o)
			return ST_EIO;
		z->offset = o;
		z->cap = cap;
	}
	z->at[z->n] = at;
	z->offset[z->n] = offset;
	z->n++;
	return ST_OK;
}

/* The offset glibc gives at t in the zone TZ names now. */
static int glibc_offset(int64_t t, int32_t *offset)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return ST_EIO;
	*offset = (int32_t)tm.tm_gmtoff;
	return ST_OK;
}

/* The first second in (lo, hi] whose offset is not `was`; hi's is not. */
static int bisect(int64_t lo, int64_t hi, int32_t was, int64_t *at)
{
	int32_t o;
	int rc;

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		rc = glibc_offset(mid, &o);
		if (rc != ST_OK)
			return rc;
		if (o == was)
			lo = mid;
		else
			hi = mid;
	}
	*at = hi;
	return ST_OK;
}

/* Every transition of the zone in TZ from SCAN_FROM_YEAR to cycle_end. */
static int scan(struct st_zone *z)
{
	int64_t lo = year_start_days(SCAN_FROM_YEAR) * ST_SECONDS_PER_DAY;
	int32_t was, now;
	int rc = glibc_offset(lo, &was);

	if (rc != ST_OK)
		return rc;
	z->first = was;
	while (rc == ST_OK && lo < z->cycle_end) {
		int64_t hi = lo + SCAN_STEP < z->cycle_end ? lo + SCAN_STEP : z->cycle_end;

		rc = glibc_offset(hi, &now);
		while (rc == ST_OK && now != was) { /* one change or more in (lo, hi] */
			int64_t at;

			rc = bisect(lo, hi, was, &at);
			if (rc == ST_OK)
				rc = glibc_offset(at, &was);
			if (rc == ST_OK)
				rc = add_transition(z, at, was);
			lo = at;
		}
		lo = hi;
	}
	return rc;
}

static int cycle_prepare(struct st_zone *z)
{
	int seen = 0;

	for (int k = 0; k < YEAR_KINDS; k++)
		z->cycle_days[k] = INT64_MIN;
	for (int64_t y = CYCLE_FROM_YEAR; y < CYCLE_FROM_YEAR + CYCLE_YEARS; y++) {
		int64_t days = year_start_days(y);
		int k = year_kind(y, days);

		if (z->cycle_days[k] == INT64_MIN) {
			z->cycle_days[k] = days;
			seen++;
		}
	}
	z->cycle_end = year_start_days(CYCLE_FROM_YEAR + CYCLE_YEARS) * ST_SECONDS_PER_DAY;
	return seen == YEAR_KINDS ? ST_OK : ST_EIO;
}

/* Sets TZ to the zone (glibc reads the file) and scans it; then puts TZ and
 * glibc's zone back as they were. Called with tz_lock held. */
static int read_zone(struct st_zone *z, const char *name)
{
	const char *env = getenv("TZ");
	char *saved = NULL;
	char spec[ST_ZONE_NAME_MAX + 2];
	int rc;

	if (env && !(saved = strdup(env)))
		return ST_EIO;
	snprintf(spec, sizeof spec, ":%s", name); /* ':': a file of the zone directory, never a rule */
	rc = setenv("TZ", spec, 1) == 0 ? ST_OK : ST_EIO;
	if (rc == ST_OK) {
		tzset();
		rc = scan(z);
	}
	if ((saved ? setenv("TZ", saved, 1) : unsetenv("TZ")) != 0)
		rc = ST_EIO;
	tzset();
	free(saved);
	return rc;
}

int st_zone_open(struct st_zone **out, const char *name)
{
	struct st_zone *z;
	int rc;

	if (!out)
		return ST_EINVAL;
	*out = NULL;
	rc = st_zone_valid(name, NULL, 0);
	if (rc != ST_OK)
		return rc;
	z = calloc(1, sizeof *z);
	if (!z)
		return ST_EIO;
	rc = cycle_prepare(z);
	if (rc == ST_OK) {
		if (pthread_mutex_lock(&tz_lock) != 0) {
			st_zone_close(z);
			return ST_EIO;
		}
		rc = read_zone(z, name);
		pthread_mutex_unlock(&tz_lock);
	}
	if (rc != ST_OK) {
		st_zone_close(z);
		return rc;
	}
	*out = z;
	return ST_OK;
}

void st_zone_close(struct st_zone *zone)
{
	if (!zone)
		return;
	free(zone->at);
	free(zone->offset);
	free(zone);
}

/* An instant from cycle_end on, moved to the cycle year of the same kind. */
static int64_t into_cycle(const struct st_zone *z, int64_t t)
{
	int64_t days = floor_div(t, ST_SECONDS_PER_DAY);
	int64_t year = civil_from_days(days).y;
	int64_t jan1 = year_start_days(year);

	return t - (jan1 - z->cycle_days[year_kind(year, jan1)]) * ST_SECONDS_PER_DAY;
}

int32_t st_zone_offset(const struct st_zone *zone, int64_t t)
{
	size_t lo = 0, hi = zone->n; /* the answer is the last at[i] <= t */

	if (t >= zone->cycle_end)
		t = into_cycle(zone, t);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (zone->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? zone->first : zone->offset[lo - 1];
}
