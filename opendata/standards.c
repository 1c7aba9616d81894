/*
 * standards.c — the package's files of the standards (tables.h): GTFS-ride
 * ridership.txt and ride_feed_info.txt, TIDES station_activities.csv,
 * under the specs' file names and field names, CSV only.
 *
 * They publish nothing new: ridership.txt is a row per route × stop × hour
 * cell with that cell's published value (empty where suppressed; no
 * alightings: taps are boardings), station_activities.csv the sum of the
 * published cells at each stop and hour (empty below k). Ids are the GTFS
 * ids of the imported feed, else komposter's numbers. Times: GTFS-ride's
 * are GTFS times of the service date (01:00 after midnight is 25:00:00),
 * TIDES' are local date-times (the next calendar day).
 */
#include <stdlib.h>
#include <string.h>

#include "opendata/tables_internal.h"
#include "storage/service_day.h"

/* GTFS-ride ridership.txt: the fields it defines that this data fills. */
static const struct od_field ride_fields[] = {
	{ "total_boardings", OD_COUNT,
	  "GTFS-ride: accepted taps of the route, stop and hour, the published cell of "
	  "ridership_route_stop_hour; empty when suppressed",
	  0 },
	{ "total_alightings", OD_COUNT, "GTFS-ride: not known from taps; always empty", 0 },
	{ "ridership_start_date", OD_GTFS_DATE, "GTFS-ride: the service date (YYYYMMDD)", 1 },
	{ "ridership_end_date", OD_GTFS_DATE, "GTFS-ride: the service date (YYYYMMDD)", 0 },
	{ "ridership_start_time", OD_GTFS_TIME,
	  "GTFS-ride: start of the hour, GTFS time of the service date (past 24:00:00 after midnight)", 1 },
	{ "ridership_end_time", OD_GTFS_TIME, "GTFS-ride: end of the hour, GTFS time of the service date", 0 },
	{ "route_id", OD_TEXT, "GTFS route_id (komposter's route number where the feed does not have it)", 1 },
	{ "stop_id", OD_TEXT, "GTFS stop_id (komposter's stop number where the feed does not have it)", 1 },
};
static const struct od_field ride_feed_fields[] = {
	{ "ride_files", OD_INTEGER, "GTFS-ride: 2, the package's ridership data is in ridership.txt", 1 },
	{ "ride_start_date", OD_GTFS_DATE, "GTFS-ride: the service date (YYYYMMDD)", 0 },
	{ "ride_end_date", OD_GTFS_DATE, "GTFS-ride: the service date (YYYYMMDD)", 0 },
	{ "ride_feed_version", OD_INTEGER,
	  "GTFS-ride: the sequence number of the last log entry read, higher in a later version", 0 },
};
/* TIDES station_activities.csv. */
static const struct od_field station_fields[] = {
	{ "service_date", OD_DATE, "TIDES: service date", 1 },
	{ "stop_id", OD_TEXT, "TIDES: GTFS stop_id (komposter's stop number where the feed does not have it)", 1 },
	{ "time_period_start", OD_DATETIME, "TIDES: start of the hour, local time", 1 },
	{ "time_period_end", OD_DATETIME, "TIDES: end of the hour, local time", 1 },
	{ "total_entries", OD_COUNT,
	  "TIDES: accepted taps at the stop and hour, the sum of the published cells of "
	  "ridership_route_stop_hour there; empty below k",
	  0 },
	{ "number_of_transactions", OD_COUNT, "TIDES: the same accepted taps (every entry is a fare transaction)",
	  0 },
};
#define RIDERSHIP_TXT "ridership.txt"
#define RIDE_FEED_TXT "ride_feed_info.txt"
#define STATIONS_CSV "station_activities.csv"

static const struct od_table_format formats[] = {
	{ "ridership", ride_fields, NFIELDS(ride_fields), 0, 0 },
	{ "ride_feed_info", ride_feed_fields, NFIELDS(ride_feed_fields), 0, 0 },
	{ "station_activities", station_fields, NFIELDS(station_fields), 0, 0 },
};

const struct od_table_format *tb_standards_format(size_t i)
{
	return i < NFIELDS(formats) ? &formats[i] : NULL;
}

/* A local hour of the service date as GTFS time: hours before the service
 * day's start are the next calendar day's, past 24:00:00. */
static uint64_t gtfs_seconds(const struct build *b, uint32_t hour)
{
	return (uint64_t)(hour < (uint32_t)b->start_hour ? hour + 24 : hour) * 3600;
}

/* The same hour as a local date and hour (OD_DATETIME), plus `plus` hours. */
static uint64_t local_hour(const struct build *b, uint32_t hour, uint32_t plus)
{
	uint64_t h = gtfs_seconds(b, hour) / 3600 + plus;

	return (uint64_t)st_date_add(b->out->service_date, (int64_t)(h / 24)) * 100 + h % 24;
}

/* GTFS-ride ridership.txt: the published route × stop × hour cells. */
int tb_build_ridership_txt(struct build *b, struct od_table *t)
{
	const struct kp_rs_result *g = &b->rs.rsh;

	od_table_init(t, "ridership", "GTFS-ride ridership: accepted taps by route, stop and hour", ride_fields,
	              NFIELDS(ride_fields));
	t->file = RIDERSHIP_TXT;
	for (size_t i = 0; i < g->n; i++) {
		const char *route = tb_join_route_id(b, g->g[i].k[0]), *stop = tb_join_stop_id(b, g->g[i].k[1]);
		struct od_cell row[NFIELDS(ride_fields)] = {
			b->cell[i].pub ? (struct od_cell){ .u = b->cell[i].v } : (struct od_cell){ .null = 1 },
			{ .null = 1 },
			int_cell(b->out->service_date),
			int_cell(b->out->service_date),
			int_cell(gtfs_seconds(b, g->g[i].k[2])),
			int_cell(gtfs_seconds(b, g->g[i].k[2]) + 3600),
			text_cell(route),
			text_cell(stop),
		};

		if (route == NULL || stop == NULL || od_table_add_row(t, row) != 0)
			return -1;
	}
	return 0;
}

int tb_build_ride_feed(struct build *b, struct od_table *t)
{
	od_table_init(t, "ride_feed_info", "GTFS-ride feed information", ride_feed_fields, NFIELDS(ride_feed_fields));
	t->file = RIDE_FEED_TXT;
	struct od_cell row[NFIELDS(ride_feed_fields)] = {
		int_cell(2), int_cell(b->out->service_date), int_cell(b->out->service_date),
		int_cell(b->out->chain_seq),
	};
	return od_table_add_row(t, row);
}

/* A published cell's place in the stop × hour sums. */
struct stop_hour {
	uint32_t stop, hour;
	uint64_t v;
};

static int stop_hour_cmp(const void *pa, const void *pb)
{
	const struct stop_hour *a = pa, *b = pb;

	if (a->stop != b->stop)
		return a->stop < b->stop ? -1 : 1;
	return a->hour < b->hour ? -1 : a->hour > b->hour;
}

/* TIDES station_activities.csv: per stop and hour, the sum of the
 * published cells there (every route), empty below k. */
int tb_build_stations(struct build *b, struct od_table *t)
{
	const struct kp_rs_result *g = &b->rs.rsh;
	struct stop_hour *c = calloc(g->n ? g->n : 1, sizeof(*c));

	od_table_init(t, "station_activities", "TIDES station activities: accepted taps by stop and hour",
	              station_fields, NFIELDS(station_fields));
	t->file = STATIONS_CSV;
	if (c == NULL)
		return -1;
	for (size_t i = 0; i < g->n; i++)
		c[i] = (struct stop_hour){ g->g[i].k[1], g->g[i].k[2], b->cell[i].pub ? b->cell[i].v : 0 };
	qsort(c, g->n, sizeof(*c), stop_hour_cmp);
	for (size_t i = 0; i < g->n;) {
		size_t j = i;
		uint64_t sum = 0;

		for (; j < g->n && c[j].stop == c[i].stop && c[j].hour == c[i].hour; j++)
			sum += c[j].v;
		const char *stop = tb_join_stop_id(b, c[i].stop);
		struct od_cell row[NFIELDS(station_fields)] = {
			date_cell(b->out->service_date),
			text_cell(stop),
			int_cell(local_hour(b, c[i].hour, 0)),
			int_cell(local_hour(b, c[i].hour, 1)),
			tb_sum_cell(b, sum),
		};

		row[5] = row[4];
		if (stop == NULL || od_table_add_row(t, row) != 0) {
			free(c);
			return -1;
		}
		i = j;
	}
	free(c);
	return 0;
}
