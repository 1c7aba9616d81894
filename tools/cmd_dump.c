/*
 * cmd_dump.c — `komposter dump [--counts] [--from-seq N] [--limit N]`: the
 * stored taps as JSON lines, one object per tap, in log order; with --counts
 * the count records of the stored COUNTS frames instead, one object each.
 *
 * The log already holds rider pseudonyms in place of card tokens (log.h),
 * so what is printed is what is on disk: a raw token cannot appear because
 * none was ever stored. The end of the dump is the last sequence stored
 * when it starts, so a running daemon cannot make it chase the log forever.
 *
 * The log is read in chunks, each in its own short read transaction: the
 * lines of a chunk are built into memory, the transaction ends, and only
 * then are they written, so a slow consumer (a pipe into jq, a terminal)
 * never keeps an LMDB snapshot pinned while the daemon writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"
#include "storage/log.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

#define CMD "dump"
/* A chunk ends at the first frame boundary after this many records. */
#define CHUNK_RECORDS 4096

static const char help[] =
	"Usage: komposter dump [--counts] [--from-seq N] [--limit N]\n\n"
	"Prints the stored taps as JSON lines, one object per tap, in log order:\n"
	"seq, device_id, batch_seq, received_at, tapped_at, rider, route_id,\n"
	"stop_id, vehicle_id, fare_product, direction, result, amount, flags.\n"
	"Times are Unix milliseconds; rider is the pseudonym (hex) that was\n"
	"stored in place of the card token, which is never stored.\n"
	"With --counts, the count records of the stored COUNTS frames instead:\n"
	"seq, device_id, batch_seq, received_at, observed_at, route_id, stop_id,\n"
	"vehicle_id, door, kind, boardings, alightings, occupancy, confidence.\n\n"
	"Options:\n"
	"      --counts       count records instead of taps\n"
	"      --from-seq N   start at log entry N (default 1)\n"
	"      --limit N      read at most N log entries (frames), not taps\n" KP_CLI_COMMON_HELP
	"\n" KP_CLI_EXIT_HELP;

enum { OPT_FROM_SEQ = 0x200, OPT_LIMIT, OPT_COUNTS };

/* Lines of one chunk, built inside a read transaction. */
struct chunk {
	char *buf;
	size_t len, cap;
	size_t records;
};

struct dump {
	uint64_t next_seq; /* first entry not yet dumped */
	uint64_t last_seq; /* the log's end when the dump began */
	uint64_t left;     /* entries still allowed by --limit */
	struct chunk c;
	uint8_t type;      /* of the frames dumped: KP_TYPE_TAPS, or KP_TYPE_COUNTS with --counts */
	uint64_t bad_seq;  /* an entry whose frame does not decode, or 0 */
	int oom;
};

static int chunk_append(struct chunk *c, const char *line)
{
	size_t n = strlen(line);

	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 1 << 16;
		char *p;

		while (cap < c->len + n + 1)
			cap *= 2;
		p = realloc(c->buf, cap);
		if (p == NULL)
			return -1;
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, line, n);
	c->buf[c->len + n] = '\n';
	c->len += n + 1;
	return 0;
}

/* The fields every line has: which entry and frame, and when it came. */
static int add_entry_fields(cJSON *o, const struct st_log_entry *e, const struct kp_header *h)
{
	char dev[17];

	kp_device_id_format(h->device_id, dev);
	return json_add_u64(o, "seq", e->seq) || json_add_str(o, "device_id", dev) ||
	       json_add_u64(o, "batch_seq", h->batch_seq) || json_add_i64(o, "received_at", e->received_at);
}

static int add_tap_fields(cJSON *o, const struct st_log_entry *e, const struct kp_header *h,
                          const struct kp_tap *t)
{
	return add_entry_fields(o, e, h) || json_add_i64(o, "tapped_at", t->tapped_at) ||
	       json_add_hex(o, "rider", t->card_token, KP_CARD_TOKEN_SIZE) ||
	       json_add_u64(o, "route_id", t->route_id) || json_add_u64(o, "stop_id", t->stop_id) ||
	       json_add_u64(o, "vehicle_id", t->vehicle_id) ||
	       json_add_u64(o, "fare_product", t->fare_product) ||
	       json_add_u64(o, "direction", t->direction) || json_add_u64(o, "result", t->result) ||
	       json_add_u64(o, "amount", t->amount) || json_add_u64(o, "flags", t->flags);
}

static int add_count_fields(cJSON *o, const struct st_log_entry *e, const struct kp_header *h,
                            const struct kp_count *k)
{
	return add_entry_fields(o, e, h) || json_add_i64(o, "observed_at", k->observed_at) ||
	       json_add_u64(o, "route_id", k->route_id) || json_add_u64(o, "stop_id", k->stop_id) ||
	       json_add_u64(o, "vehicle_id", k->vehicle_id) || json_add_u64(o, "door", k->door) ||
	       json_add_u64(o, "kind", k->kind) || json_add_u64(o, "boardings", k->boardings) ||
	       json_add_u64(o, "alightings", k->alightings) || json_add_u64(o, "occupancy", k->occupancy) ||
	       json_add_u64(o, "confidence", k->confidence);
}

/* Record i of the entry's frame as one line. A tap's card_token holds the
 * stored pseudonym (the log replaced the token). */
static int append_record(struct chunk *c, const struct st_log_entry *e, const struct kp_header *h,
                         uint16_t i)
{
	cJSON *o = cJSON_CreateObject();
	char *line = NULL;
	struct kp_tap t;
	struct kp_count k;
	int rc = -1, bad;

	if (o == NULL)
		goto out;
	if (h->type == KP_TYPE_COUNTS) {
		kp_frame_get_count(e->frame, i, &k);
		bad = add_count_fields(o, e, h, &k);
	} else {
		kp_frame_get_tap(e->frame, i, &t);
		bad = add_tap_fields(o, e, h, &t);
	}
	if (bad)
		goto out;
	line = cJSON_PrintUnformatted(o);
	if (line == NULL)
		goto out;
	rc = chunk_append(c, line);
out:
	cJSON_free(line);
	cJSON_Delete(o);
	return rc;
}

static int dump_entry(void *ctx, const struct st_log_entry *e)
{
	struct dump *d = ctx;
	struct kp_header h;

	if (e->seq > d->last_seq || d->left == 0)
		return 1;
	if (kp_frame_decode(e->frame, e->frame_len, &h) != KP_OK) {
		d->bad_seq = e->seq;
		return 1;
	}
	for (uint16_t i = 0; h.type == d->type && i < h.count; i++) {
		if (append_record(&d->c, e, &h, i) != 0) {
			d->oom = 1;
			return 1;
		}
	}
	d->c.records += h.type == d->type ? h.count : 0;
	d->next_seq = e->seq + 1;
	d->left--;
	return d->c.records >= CHUNK_RECORDS;
}

/* Reads one chunk into d->c; *done when the dump has reached its end. */
static int read_chunk(struct st_db *db, struct dump *d, int *done)
{
	struct st_read r;
	uint64_t before = d->next_seq;
	int rc = ST_OK;

	if (cli_read_begin(db, CMD, &r) != KP_EXIT_OK)
		return KP_EXIT_FAIL;
	if (d->last_seq == UINT64_MAX)
		rc = st_log_last_seq(&r, &d->last_seq);
	if (rc == ST_OK)
		rc = st_log_foreach(&r, d->next_seq, dump_entry, d);
	st_read_end(&r);
	if (d->oom)
		return cli_fail(CMD, "out of memory");
	if (d->bad_seq != 0)
		return cli_fail(CMD, "log entry %" PRIu64 ": stored frame does not decode", d->bad_seq);
	if (rc != ST_OK && rc != ST_ESTOP)
		return cli_fail(CMD, "reading the log: %s", st_strerror(rc));
	*done = rc == ST_OK || d->next_seq == before || d->next_seq > d->last_seq || d->left == 0;
	return KP_EXIT_OK;
}

static int write_chunk(struct chunk *c)
{
	if (c->len > 0 && fwrite(c->buf, 1, c->len, stdout) != c->len)
		return cli_fail(CMD, "writing output: %s", strerror(errno));
	c->len = 0;
	c->records = 0;
	return KP_EXIT_OK;
}

static int run_dump(struct st_db *db, struct dump *d)
{
	int done = 0, status = KP_EXIT_OK;

	while (!done && status == KP_EXIT_OK) {
		status = read_chunk(db, d, &done);
		if (status == KP_EXIT_OK)
			status = write_chunk(&d->c);
	}
	if (status == KP_EXIT_OK)
		status = cli_finish_output(CMD);
	return status;
}

/* cli_option_fn: --from-seq N, --limit N, --counts. */
static int dump_option(void *ctx, int opt, const char *arg)
{
	struct dump *d = ctx;
	uint64_t *value;

	if (opt == OPT_COUNTS) {
		d->type = KP_TYPE_COUNTS;
		return CLI_CONTINUE;
	}
	if (opt == OPT_FROM_SEQ)
		value = &d->next_seq;
	else if (opt == OPT_LIMIT)
		value = &d->left;
	else
		return CLI_OPT_UNKNOWN;
	if (cli_parse_u64(arg, UINT64_MAX, value) != 0)
		return cli_usage(CMD, "'%s' is not a number", arg);
	return CLI_CONTINUE;
}

/* Parses the command line into d; returns CLI_CONTINUE, or an exit status. */
static int parse_options(struct kp_cli *cli, int argc, char **argv, struct dump *d)
{
	static const struct option longopts[] = {
		KP_CLI_COMMON_OPTIONS,
		{ "from-seq", required_argument, NULL, OPT_FROM_SEQ },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "counts", no_argument, NULL, OPT_COUNTS },
		{ NULL, 0, NULL, 0 },
	};
	int status = cli_parse_options(cli, CMD, help, argc, argv, KP_CLI_COMMON_SHORT, longopts,
	                               dump_option, d);

	if (status == CLI_CONTINUE)
		status = cli_no_operands(CMD, argc, argv);
	if (d->next_seq == 0)
		d->next_seq = 1;
	return status;
}

int cmd_dump(struct kp_cli *cli, int argc, char **argv)
{
	struct dump d = { .next_seq = 1, .last_seq = UINT64_MAX, .left = UINT64_MAX, .type = KP_TYPE_TAPS };
	struct st_db *db = NULL;
	int status;

	status = parse_options(cli, argc, argv, &d);
	if (status != CLI_CONTINUE)
		return status;
	if (cli_open_db(cli, CMD, CLI_DB_READ, &db) != 0)
		return KP_EXIT_FAIL;
	status = run_dump(db, &d);
	st_db_close(db);
	free(d.c.buf);
	return status;
}
