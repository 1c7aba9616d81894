/* libFuzzer target: the GTFS CSV reader (tools/gtfs_csv.h). The first byte
 * picks the file (routes or stops) and the size of the pieces the rest is
 * fed in, so BOM, line and quote handling meet every piece boundary. Checks
 * what the header promises: every row handed over is one storage/gtfs.h
 * accepts, begins on a line of the input, in order (a lone CR ends a row
 * but not a line, so two rows may share one); a failure leaves one
 * line "FILE:LINE: what" (or "FILE: what") naming a line of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/gtfs_csv.h"

struct seen {
	enum kp_gtfs_file file;
	unsigned long lines; /* of the input */
	unsigned long last;  /* line of the last row */
};

static int check_row(void *ctx, const struct kp_gtfs_row *row)
{
	struct seen *s = ctx;

	if (row->line == 0 || row->line > s->lines || row->line < s->last)
		abort();
	s->last = row->line;
	if (s->file == KP_GTFS_ROUTES ? !st_gtfs_route_valid(&row->u.route) : !st_gtfs_stop_valid(&row->u.stop))
		abort();
	return 0;
}

static void check_error(const struct kp_gtfs_csv *p, const struct seen *s)
{
	const char *name = kp_gtfs_file_name(s->file);
	size_t n = strlen(name);

	if (p->stopped != 0 || strncmp(p->err, name, n) != 0 || p->err[n] != ':' || strchr(p->err, '\n'))
		abort();
	if (p->err_line > s->lines)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_gtfs_csv p;
	struct seen s = {0};
	size_t piece;
	int rc = 0;

	if (size < 1)
		return 0;
	s.file = (data[0] & 1) ? KP_GTFS_STOPS : KP_GTFS_ROUTES;
	piece = (size_t)(data[0] >> 1) + 1;
	data++, size--;
	s.lines = 1;
	for (size_t i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	if (kp_gtfs_csv_init(&p, s.file, check_row, &s) != 0)
		return 0;
	for (size_t off = 0; rc == 0 && off < size; off += piece)
		rc = kp_gtfs_csv_feed(&p, data + off, size - off < piece ? size - off : piece);
	if (rc == 0)
		rc = kp_gtfs_csv_finish(&p);
	if (rc != 0)
		check_error(&p, &s);
	else if (!p.header_done)
		abort();
	kp_gtfs_csv_free(&p);
	return 0;
}
