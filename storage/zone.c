/*
 * zone.c — time zones by name.
 *
 * Why it is built this way: a zone name is recorded in the database once and
 * decides every service date and hour after that, so a name glibc would not
 * find (it falls back to UTC without a word) must be refused before it is
 * recorded. The name is checked as text first (no path can sneak in: every
 * part starts with a letter, so there is no "/" at the start and no "..")
 * and then as a file: a regular file in the zone directory whose first four
 * bytes are the TZif magic. A directory ("Europe"), a missing zone
 * ("Europe/Kyiv2") and the tables that live beside the zones fail there.
 * Only the magic is read; the file is not parsed here.
 */
#define _GNU_SOURCE
#include "storage/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZONE_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZIF_MAGIC "TZif"
#define TZIF_MAGIC_SIZE 4
#define EXAMPLE "such as Europe/Kyiv"

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
	for (const char *p = name;; p++) {
		if (!is_letter(*p))
			return 0;
		while (is_name_char(p[1]))
			p++;
		if (p[1] == '\0')
			return 1;
		if (p[1] != '/')
			return 0;
		p++;
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
