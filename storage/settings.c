/*
 * settings.c — the service-day settings (time zone, service-day start hour,
 * pseudonym epoch period) recorded in `meta`.
 *
 * Why it is built this way:
 *  - These settings decide the service date and hour every tap is counted
 *    under and which epoch key its pseudonym is made with, so they belong to
 *    the data, not to whoever opens it. They are written in the same
 *    transaction that creates the database (or, for a database made before
 *    they were recorded, by its first read-write open that does not adopt:
 *    the daemon's, not a tool's guess) and never changed.
 *  - One meta record, key "service_day", value start_hour u8 ‖ epoch_period
 *    u8 ‖ the time zone's bytes (no NUL), so a reader never sees a part of
 *    them.
 *  - A writer whose options disagree is refused (ST_EMISMATCH) rather than
 *    corrected: a daemon restarted with another zone must not silently split
 *    aggregates. Readers, and writers that ask to (adopt_settings), take the
 *    recorded settings instead of their own.
 *  - The time zone is compared as written: "UTC" and "Etc/UTC" differ.
 */
#define _GNU_SOURCE
#include "storage/db_internal.h"
#include "storage/zone.h"

#include <stdlib.h>

#define SETTINGS_KEY "service_day"
#define SETTINGS_FIXED 2 /* start_hour, epoch_period */

/* The stored record, decoded; tz points into LMDB's memory (txn-long). */
struct stored {
	int start_hour;
	int epoch_period;
	const char *tz;
	size_t tz_len;
};

static int settings_get(MDB_txn *txn, MDB_dbi meta, struct stored *s)
{
	MDB_val k = {sizeof SETTINGS_KEY - 1, (void *)SETTINGS_KEY};
	MDB_val v;
	const uint8_t *p;
	int rc = st_status(mdb_get(txn, meta, &k, &v));

	if (rc != ST_OK)
		return rc;
	p = v.mv_data;
	if (v.mv_size <= SETTINGS_FIXED || v.mv_size > SETTINGS_FIXED + ST_ZONE_NAME_MAX)
		return ST_ECORRUPT;
	s->start_hour = p[0];
	s->epoch_period = p[1];
	s->tz = (const char *)p + SETTINGS_FIXED;
	s->tz_len = v.mv_size - SETTINGS_FIXED;
	if (s->start_hour > 23 || s->epoch_period > ST_EPOCH_MONTH || memchr(s->tz, '\0', s->tz_len))
		return ST_ECORRUPT;
	return ST_OK;
}

static int settings_put(MDB_txn *txn, MDB_dbi meta, const struct st_options *o)
{
	uint8_t buf[SETTINGS_FIXED + ST_ZONE_NAME_MAX];
	size_t tz_len = strlen(o->timezone);
	MDB_val k = {sizeof SETTINGS_KEY - 1, (void *)SETTINGS_KEY};
	MDB_val v = {SETTINGS_FIXED + tz_len, buf};
	int rc = st_zone_valid(o->timezone, NULL, 0); /* never record a zone glibc would not know */

	if (rc != ST_OK)
		return rc;
	buf[0] = (uint8_t)o->service_day_start_hour;
	buf[1] = (uint8_t)o->epoch_period;
	memcpy(buf + SETTINGS_FIXED, o->timezone, tz_len);
	return st_status(mdb_put(txn, meta, &k, &v, 0));
}

static int settings_equal(const struct stored *s, const struct st_options *o)
{
	return s->start_hour == o->service_day_start_hour && s->epoch_period == o->epoch_period &&
	       strlen(o->timezone) == s->tz_len && memcmp(o->timezone, s->tz, s->tz_len) == 0;
}

/* Makes the stored settings db's own (the time zone copied out of LMDB). */
static int settings_adopt(struct st_db *db, const struct stored *s)
{
	char *tz = strndup(s->tz, s->tz_len);

	if (!tz)
		return ST_EIO;
	free(db->timezone);
	db->timezone = tz;
	db->opts.timezone = tz;
	db->opts.service_day_start_hour = s->start_hour;
	db->opts.epoch_period = s->epoch_period;
	return ST_OK;
}

/* A database without settings: who may record them? */
static int may_record(const struct st_db *db, int created)
{
	if (db->opts.read_only)
		return 0;
	return created || !db->opts.adopt_settings;
}

int st_settings_settle(struct st_db *db, MDB_txn *txn, int created)
{
	struct stored s;
	int rc = settings_get(txn, db->dbi.meta, &s);

	if (rc == ST_ENOTFOUND)
		return may_record(db, created) ? settings_put(txn, db->dbi.meta, &db->opts) : ST_OK;
	if (rc != ST_OK)
		return rc;
	if (db->opts.read_only || db->opts.adopt_settings)
		return settings_adopt(db, &s);
	return settings_equal(&s, &db->opts) ? ST_OK : ST_EMISMATCH;
}
