/*
 * passwords.c — see passwords.h.
 *
 * Design: the whole file is read into one buffer and each line's newline
 * becomes the end of its password, so the entries only point into it and
 * one sodium_memzero on free wipes every password. Entries are sorted by
 * device id: a fleet can have many thousand devices, each looked up once.
 */
#include "validators/passwords.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validators/device.h"

#define ID_DIGITS 16
#define FILE_MAX ((size_t)64 << 20) /* far above any fleet's file */

struct entry {
	uint64_t device_id;
	const char *password; /* into buf */
};

struct vd_passwords {
	char *buf;
	size_t buf_len;
	struct entry *entries;
	size_t n;
};

static int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, VD_PASSWORDS_ERR_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

/* Reads the whole file, NUL-terminated, into p->buf. */
static int slurp(const char *path, struct vd_passwords *p, char *err)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return fail(err, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return fail(err, "%s: cannot tell its size", path);
	}
	if ((size_t)size > FILE_MAX) {
		fclose(f);
		return fail(err, "%s: larger than %zu bytes", path, FILE_MAX);
	}
	p->buf_len = (size_t)size + 1;
	p->buf = malloc(p->buf_len);
	if (!p->buf) {
		fclose(f);
		return fail(err, "out of memory");
	}
	if (fread(p->buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return fail(err, "%s: read failed", path);
	}
	p->buf[size] = '\0';
	if (fclose(f) != 0)
		return fail(err, "%s: %s", path, strerror(errno));
	return 0;
}

static int parse_id(const char *text, uint64_t *id)
{
	uint64_t v = 0;

	for (int i = 0; i < ID_DIGITS; i++) {
		char c = text[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*id = v;
	return v ? 0 : -1;
}

/* One line, [line, end): "<16 hex>:<password>"; *end becomes the password's NUL. */
static int parse_line(char *line, char *end, struct entry *e, const char *path, size_t lineno, char *err)
{
	size_t len = (size_t)(end - line);

	if (len <= ID_DIGITS || line[ID_DIGITS] != ':' || parse_id(line, &e->device_id) != 0)
		return fail(err, "%s:%zu: not \"<device id, 16 lowercase hex digits>:<password>\"", path, lineno);
	if (len == ID_DIGITS + 1)
		return fail(err, "%s:%zu: empty password", path, lineno);
	if (len - ID_DIGITS - 1 > VD_BROKER_PASSWORD_MAX)
		return fail(err, "%s:%zu: password longer than %d bytes", path, lineno, VD_BROKER_PASSWORD_MAX);
	if (memchr(line, '\0', len))
		return fail(err, "%s:%zu: a NUL byte", path, lineno);
	*end = '\0';
	e->password = line + ID_DIGITS + 1;
	return 0;
}

static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n + (len > 0 && buf[len - 1] != '\n');
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct entry *)a)->device_id, y = ((const struct entry *)b)->device_id;
	return (x > y) - (x < y);
}

static int parse(struct vd_passwords *p, const char *path, char *err)
{
	size_t len = p->buf_len - 1;
	char *line = p->buf;

	p->entries = calloc(count_lines(p->buf, len) + 1, sizeof *p->entries);
	if (!p->entries)
		return fail(err, "out of memory");
	while (line < p->buf + len) {
		char *end = memchr(line, '\n', (size_t)(p->buf + len - line));
		if (!end)
			end = p->buf + len; /* the last line without a newline */
		if (parse_line(line, end, &p->entries[p->n], path, p->n + 1, err) != 0)
			return -1;
		p->n++;
		line = end + 1;
	}
	if (p->n == 0)
		return fail(err, "%s: no passwords", path);
	qsort(p->entries, p->n, sizeof *p->entries, by_id);
	for (size_t i = 1; i < p->n; i++) {
		if (p->entries[i].device_id == p->entries[i - 1].device_id)
			return fail(err, "%s: device %016llx appears twice", path,
			            (unsigned long long)p->entries[i].device_id);
	}
	return 0;
}

int vd_passwords_read(const char *path, struct vd_passwords **out, char *err)
{
	struct vd_passwords *p = calloc(1, sizeof *p);

	*out = NULL;
	if (!p)
		return fail(err, "out of memory");
	if (slurp(path, p, err) != 0 || parse(p, path, err) != 0) {
		vd_passwords_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

const char *vd_passwords_find(const struct vd_passwords *p, uint64_t device_id)
{
	struct entry key = {.device_id = device_id};
	const struct entry *e = bsearch(&key, p->entries, p->n, sizeof *p->entries, by_id);

	return e ? e->password : NULL;
}

void vd_passwords_free(struct vd_passwords *p)
{
	if (!p)
		return;
	if (p->buf)
		sodium_memzero(p->buf, p->buf_len);
	free(p->buf);
	free(p->entries);
	free(p);
}
