/*
 * gtfs_csv.c — GTFS routes.txt and stops.txt to records (gtfs_csv.h).
 *
 * How lines are known: libcsv reports fields and row ends, not where they
 * are. The input is fed to it one physical line at a time (each piece ends
 * at a '\n'), so whatever libcsv reports during a piece happened on that
 * line; and a row begins as many lines before as there are line breaks in
 * its fields (only quoted fields hold them, verbatim). So the line a row
 * begins on is exact, whatever its quoted fields span.
 *
 * libcsv runs strict (a quote inside an unquoted field or after a closing
 * quote is an error) and strict at the end (an unterminated quote is an
 * error, not a field); its entry buffer grows with a field, so the buffer
 * is checked after every piece and a field over KP_GTFS_FIELD_MAX ends the
 * parse before it can take all memory.
 */
#include "tools/gtfs_csv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

/* The columns read; the same roles in both files where they mean the same. */
enum role {
	ROLE_ID = 0,      /* route_id, stop_id */
	ROLE_KP_ID = 1,   /* komposter_id */
	ROLE_NAME_A = 2,  /* route_short_name, stop_name */
	ROLE_NAME_B = 3,  /* route_long_name, stop_lat */
	ROLE_KIND = 4,    /* route_type, location_type */
	ROLE_EXTRA = 5,   /* -, stop_lon */
};

static const char *const column_names[2][KP_GTFS_ROLES] = {
	[KP_GTFS_ROUTES] = {"route_id", "komposter_id", "route_short_name", "route_long_name", "route_type", NULL},
	[KP_GTFS_STOPS] = {"stop_id", "komposter_id", "stop_name", "stop_lat", "location_type", "stop_lon"},
};

const char *kp_gtfs_file_name(enum kp_gtfs_file file)
{
	return file == KP_GTFS_ROUTES ? "routes.txt" : "stops.txt";
}

static const char *col(const struct kp_gtfs_csv *p, int role)
{
	return column_names[p->file][role];
}

/* ---- errors ---- */

static unsigned long count_nl(const void *s, size_t len)
{
	const char *c = s;
	unsigned long n = 0;

	for (size_t i = 0; i < len; i++)
		n += c[i] == '\n';
	return n;
}

/* The line the current row begins on. */
static unsigned long row_line(const struct kp_gtfs_csv *p)
{
	return p->line - p->record_nl;
}

static void fail_at(struct kp_gtfs_csv *p, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct kp_gtfs_csv *p, unsigned long line, const char *fmt, ...)
{
	char what[KP_GTFS_ERR_SIZE - 48]; /* room for "stops.txt:LINE: " */
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (line)
		snprintf(p->err, sizeof p->err, "%s:%lu: %s", kp_gtfs_file_name(p->file), line, what);
	else
		snprintf(p->err, sizeof p->err, "%s: %s", kp_gtfs_file_name(p->file), what);
}

/* A value fit to quote in a one-line message: short UTF-8 text, else "". */
static const char *shown(const char *v)
{
	size_t n = strlen(v);

	return n <= 40 && st_gtfs_text_ok(v, n) ? v : "";
}

/* ---- numbers ---- */

/* A canonical decimal in 1..UINT32_MAX: digits only, no leading zero. */
static bool parse_number(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 10 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A decimal in 0..max: digits only (leading zeros allowed, as GTFS enums). */
static bool parse_small(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Decimal degrees "-49.5535161" within ±max_deg to units of 10^-7 degree,
 * rounded half away from zero at the eighth decimal. */
static bool parse_degrees(const char *s, int64_t max_deg, int32_t *out)
{
	int64_t whole = 0, frac = 0;
	bool neg = false, digits = false;
	int decimals = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, digits = true) {
		whole = whole * 10 + (*s - '0');
		if (whole > max_deg)
			return false;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
			if (decimals < 7)
				frac = frac * 10 + (*s - '0');
			else if (decimals == 7 && *s >= '5')
				frac++;
			decimals++;
		}
	}
	if (*s || !digits)
		return false;
	for (; decimals < 7; decimals++)
		frac *= 10;
	whole = whole * 10000000 + frac;
	if (whole > max_deg * 10000000)
		return false;
	*out = (int32_t)(neg ? -whole : whole);
	return true;
}

/* ---- rows ---- */

/* The row's number (storage/gtfs.h's rule); false when it failed. */
static bool row_number(struct kp_gtfs_csv *p, uint32_t *id)
{
	const char *gid = p->val[ROLE_ID], *kid = p->val[ROLE_KP_ID];

	if (gid[0] == '\0') {
		fail_at(p, row_line(p), "%s is empty", col(p, ROLE_ID));
		return false;
	}
	if (kid[0] != '\0') {
		if (parse_number(kid, id))
			return true;
		fail_at(p, row_line(p), "komposter_id '%s' is not a number in 1..4294967295", shown(kid));
		return false;
	}
	if (parse_number(gid, id))
		return true;
	fail_at(p, row_line(p), "%s '%s' is not a number in 1..4294967295 and the row has no komposter_id",
	        col(p, ROLE_ID), shown(gid));
	return false;
}

/* Every text read must be UTF-8 without control characters. */
static bool texts_ok(struct kp_gtfs_csv *p)
{
	for (int r = 0; r < KP_GTFS_ROLES; r++) {
		if (col(p, r) && !st_gtfs_text_ok(p->val[r], strlen(p->val[r]))) {
			fail_at(p, row_line(p), "%s is not UTF-8 text without control characters", col(p, r));
			return false;
		}
	}
	return true;
}

static bool route_row(struct kp_gtfs_csv *p, struct st_gtfs_route *r)
{
	unsigned type;

	memset(r, 0, sizeof *r);
	if (!texts_ok(p) || !row_number(p, &r->id))
		return false;
	if (!parse_small(p->val[ROLE_KIND], UINT16_MAX, &type)) {
		fail_at(p, row_line(p), "route_type '%s' is not a number in 0..65535", shown(p->val[ROLE_KIND]));
		return false;
	}
	if (p->val[ROLE_NAME_A][0] == '\0' && p->val[ROLE_NAME_B][0] == '\0') {
		fail_at(p, row_line(p), "route_short_name and route_long_name are both empty");
		return false;
	}
	r->type = (uint16_t)type;
	memcpy(r->gtfs_id, p->val[ROLE_ID], sizeof r->gtfs_id);
	memcpy(r->short_name, p->val[ROLE_NAME_A], sizeof r->short_name);
	memcpy(r->long_name, p->val[ROLE_NAME_B], sizeof r->long_name);
	return true;
}

static bool stop_position(struct kp_gtfs_csv *p, struct st_gtfs_stop *s)
{
	const char *lat = p->val[ROLE_NAME_B], *lon = p->val[ROLE_EXTRA];

	if (lat[0] == '\0' && lon[0] == '\0')
		return true;
	if (lat[0] == '\0' || lon[0] == '\0') {
		fail_at(p, row_line(p), "stop_lat and stop_lon go together: give both or neither");
		return false;
	}
	if (!parse_degrees(lat, 90, &s->lat_e7)) {
		fail_at(p, row_line(p), "stop_lat '%s' is not decimal degrees in -90..90", shown(lat));
		return false;
	}
	if (!parse_degrees(lon, 180, &s->lon_e7)) {
		fail_at(p, row_line(p), "stop_lon '%s' is not decimal degrees in -180..180", shown(lon));
		return false;
	}
	s->has_position = true;
	return true;
}

static bool stop_row(struct kp_gtfs_csv *p, struct st_gtfs_stop *s)
{
	unsigned type = 0;

	memset(s, 0, sizeof *s);
	if (!texts_ok(p) || !row_number(p, &s->id))
		return false;
	if (p->val[ROLE_KIND][0] != '\0' && !parse_small(p->val[ROLE_KIND], 4, &type)) {
		fail_at(p, row_line(p), "location_type '%s' is not a number in 0..4", shown(p->val[ROLE_KIND]));
		return false;
	}
	s->location_type = (uint8_t)type;
	if (type < 3 && p->val[ROLE_NAME_A][0] == '\0') {
		fail_at(p, row_line(p), "stop_name is empty (GTFS requires it for location_type %u)", type);
		return false;
	}
	if (!stop_position(p, s))
		return false;
	memcpy(s->gtfs_id, p->val[ROLE_ID], sizeof s->gtfs_id);
	memcpy(s->name, p->val[ROLE_NAME_A], sizeof s->name);
	return true;
}

/* ---- libcsv callbacks ---- */

static void header_field(struct kp_gtfs_csv *p, const char *s, size_t len)
{
	unsigned i = p->field;

	if (i >= KP_GTFS_COLUMNS_MAX) {
		fail_at(p, row_line(p), "the header has more than %d columns", KP_GTFS_COLUMNS_MAX);
		return;
	}
	p->role[i] = -1;
	for (int r = 0; r < KP_GTFS_ROLES; r++) {
		const char *name = col(p, r);

		if (!name || strlen(name) != len || memcmp(name, s, len) != 0)
			continue;
		if (p->has[r]) {
			fail_at(p, row_line(p), "column %s appears twice in the header", name);
			return;
		}
		p->has[r] = true;
		p->role[i] = (signed char)r;
	}
}

static void data_field(struct kp_gtfs_csv *p, const char *s, size_t len)
{
	int r;

	if (p->field >= p->ncols) {
		fail_at(p, row_line(p), "the row has more fields than the header's %u", p->ncols);
		return;
	}
	r = p->role[p->field];
	if (r < 0)
		return;
	if (len > ST_GTFS_TEXT_MAX) {
		fail_at(p, row_line(p), "%s is longer than %d bytes", col(p, r), ST_GTFS_TEXT_MAX);
		return;
	}
	memcpy(p->val[r], s, len);
	p->val[r][len] = '\0';
}

static void on_field(void *s, size_t len, void *data)
{
	struct kp_gtfs_csv *p = data;

	if (p->failed)
		return;
	if (!s) /* libcsv passes NULL for an empty field only with CSV_EMPTY_IS_NULL */
		s = "", len = 0;
	p->record_nl += count_nl(s, len);
	if (p->header_done)
		data_field(p, s, len);
	else
		header_field(p, s, len);
	p->field++;
}

static void end_header(struct kp_gtfs_csv *p)
{
	p->ncols = p->field;
	p->header_done = true;
	if (!p->has[ROLE_ID])
		fail_at(p, row_line(p), "the header has no %s column", col(p, ROLE_ID));
	else if (p->file == KP_GTFS_ROUTES && !p->has[ROLE_KIND])
		fail_at(p, row_line(p), "the header has no route_type column");
	else if (p->file == KP_GTFS_ROUTES && !p->has[ROLE_NAME_A] && !p->has[ROLE_NAME_B])
		fail_at(p, row_line(p), "the header has neither route_short_name nor route_long_name");
}

static void end_row(struct kp_gtfs_csv *p)
{
	struct kp_gtfs_row row;
	bool ok;
	int rc;

	if (p->field != p->ncols) {
		fail_at(p, row_line(p), "the row has %u fields, the header %u", p->field, p->ncols);
		return;
	}
	row.line = row_line(p);
	ok = p->file == KP_GTFS_ROUTES ? route_row(p, &row.u.route) : stop_row(p, &row.u.stop);
	if (!ok)
		return;
	rc = p->fn(p->ctx, &row);
	if (rc != 0) {
		p->failed = true;
		p->stopped = rc;
		p->err_line = row.line;
		p->err[0] = '\0';
		return;
	}
	p->rows++;
}

static void on_row(int c, void *data)
{
	struct kp_gtfs_csv *p = data;

	(void)c;
	if (!p->failed) {
		if (p->header_done)
			end_row(p);
		else
			end_header(p);
	}
	p->field = 0;
	p->record_nl = 0;
	memset(p->val, 0, sizeof p->val);
}

/* ---- feeding ---- */

int kp_gtfs_csv_init(struct kp_gtfs_csv *p, enum kp_gtfs_file file, kp_gtfs_row_fn fn, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->file = file;
	p->fn = fn;
	p->ctx = ctx;
	p->line = 1;
	if (csv_init(&p->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -1;
	return 0;
}

void kp_gtfs_csv_free(struct kp_gtfs_csv *p)
{
	csv_free(&p->csv);
}

/* Hands one piece (at most one line break, at its end) to libcsv. */
static int feed_piece(struct kp_gtfs_csv *p, const uint8_t *s, size_t len)
{
	size_t done = csv_parse(&p->csv, s, len, on_field, on_row, p);

	if (p->failed)
		return -1;
	if (done != len) {
		int e = csv_error(&p->csv);

		fail_at(p, p->line, "%s", e == CSV_EPARSE ? "malformed quoted field (a quote must open and close a whole field, "
		                                             "and be doubled inside it)"
		                                           : csv_strerror(e));
		return -1;
	}
	if (csv_get_buffer_size(&p->csv) > KP_GTFS_FIELD_MAX) {
		fail_at(p, row_line(p), "a field is longer than %d bytes", KP_GTFS_FIELD_MAX);
		return -1;
	}
	if (len && s[len - 1] == '\n')
		p->line++;
	return 0;
}

static int feed_lines(struct kp_gtfs_csv *p, const uint8_t *s, size_t len)
{
	while (len > 0) {
		const uint8_t *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) + 1 : len;

		if (feed_piece(p, s, n) != 0)
			return -1;
		s += n;
		len -= n;
	}
	return 0;
}

/* Holds the first three bytes until they can be told from a BOM. */
static int feed_head(struct kp_gtfs_csv *p, const uint8_t **s, size_t *len)
{
	while (p->head_len < sizeof bom && *len > 0) {
		p->head[p->head_len++] = **s;
		(*s)++;
		(*len)--;
	}
	if (p->head_len < sizeof bom)
		return 0; /* more to come, or finish decides */
	p->head_done = true;
	if (memcmp(p->head, bom, sizeof bom) == 0)
		return 0;
	return feed_lines(p, p->head, p->head_len);
}

int kp_gtfs_csv_feed(struct kp_gtfs_csv *p, const void *bytes, size_t len)
{
	const uint8_t *s = bytes;

	if (p->failed)
		return -1;
	if (!p->head_done && feed_head(p, &s, &len) != 0)
		return -1;
	return feed_lines(p, s, len);
}

int kp_gtfs_csv_finish(struct kp_gtfs_csv *p)
{
	if (p->failed)
		return -1;
	if (!p->head_done) {
		p->head_done = true;
		if (feed_lines(p, p->head, p->head_len) != 0)
			return -1;
	}
	if (csv_fini(&p->csv, on_field, on_row, p) != 0 && !p->failed) {
		/* The only strict-fini error: a quote still open. The row began
		 * before the line breaks of its fields and of the open one. */
		unsigned long open_nl = count_nl(p->csv.entry_buf, p->csv.entry_pos);

		fail_at(p, p->line - p->record_nl - open_nl, "a quoted field is not closed before the end of the file");
	}
	if (!p->failed && !p->header_done)
		fail_at(p, 0, "the file is empty (no header)");
	return p->failed ? -1 : 0;
}
