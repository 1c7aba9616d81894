/*
 * Description: `komposter partition plan --to N [--from M]` on a registry
 * of 200 validators and an NVR camera: it lists exactly the devices whose
 * owner (firmware-proto/partition.h) differs between M and N instances,
 * with both owners, in text and JSON; going from 3 to 4 moves devices only
 * to instance 3; the NVR camera is never listed; --from defaults to the
 * config's [mqtt] partition N; a missing, zero or junk --to exits 2.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "firmware-proto/hex.h"
#include "firmware-proto/partition.h"
#include "harness.h"
#include "storage/db.h"
#include "storage/devices.h"

#define NDEV 200
#define NVR_ID 0x7777

static char dir[64], db[128];

static void setup(void)
{
	struct st_options opts;
	struct st_db *h = NULL;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	st_options_default(&opts);
	opts.path = db;
	opts.timezone = "UTC";
	cr_assert_eq(st_db_open(&h, &opts), ST_OK);
	for (uint64_t id = 1; id <= NDEV; id++) {
		struct st_device d = { .id = id, .kind = ST_KIND_VALIDATOR, .created_at = 1 };
		cr_assert_eq(st_device_add(h, &d), ST_OK);
	}
	struct st_device nvr = { .id = NVR_ID, .kind = ST_KIND_NVR, .created_at = 1 };
	cr_assert_eq(st_device_add(h, &nvr), ST_OK);
	st_db_close(h);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(partition_plan, .init = setup, .fini = teardown);

static cJSON *plan_json(const char *from, const char *to)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "--db", db, "partition", "plan", "--from", from, "--to", to, "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	doc = cJSON_Parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	tools_run_free(&r);
	return doc;
}

static void check_plan(uint32_t from, uint32_t to)
{
	char f[16], t[16];
	unsigned want = 0, seen = 0;

	snprintf(f, sizeof(f), "%u", from);
	snprintf(t, sizeof(t), "%u", to);
	cJSON *doc = plan_json(f, t);
	cJSON *moves = cJSON_GetObjectItem(doc, "moves");

	for (uint64_t id = 1; id <= NDEV; id++)
		want += kp_partition_owner(id, from) != kp_partition_owner(id, to);
	cr_assert_eq(cJSON_GetObjectItem(doc, "devices")->valuedouble, NDEV);
	cr_assert_eq(cJSON_GetObjectItem(doc, "moving")->valuedouble, want);
	cr_assert_eq(cJSON_GetArraySize(moves), (int)want);
	cJSON *m;
	cJSON_ArrayForEach(m, moves)
	{
		uint64_t id;
		const char *hex = cJSON_GetObjectItem(m, "device")->valuestring;

		cr_assert_eq(kp_device_id_parse(hex, &id), KP_OK, "%s", hex);
		cr_assert_neq(id, NVR_ID);
		cr_assert_eq(cJSON_GetObjectItem(m, "from")->valuedouble, kp_partition_owner(id, from));
		cr_assert_eq(cJSON_GetObjectItem(m, "to")->valuedouble, kp_partition_owner(id, to));
		if (to == from + 1)
			cr_assert_eq(cJSON_GetObjectItem(m, "to")->valuedouble, from, "%s moved elsewhere", hex);
		seen++;
	}
	cr_assert_eq(seen, want);
	cr_assert_gt(want, 0);
	cJSON_Delete(doc);
}

Test(partition_plan, lists_exactly_the_devices_whose_owner_changes)
{
	check_plan(3, 4);
	check_plan(1, 2);
	check_plan(4, 2);
}

Test(partition_plan, text_has_a_line_per_move_and_a_summary)
{
	struct tools_run r;
	unsigned want = 0;
	char line[128], hex[KP_DEVICE_ID_TEXT_SIZE];

	for (uint64_t id = 1; id <= NDEV; id++)
		if (kp_partition_owner(id, 2) != kp_partition_owner(id, 3)) {
			kp_device_id_format(id, hex);
			snprintf(line, sizeof(line), "%s  %4u  %4u\n", hex, kp_partition_owner(id, 2),
			         kp_partition_owner(id, 3));
			want++;
		}
	cr_assert_eq(tools_run(&r, "--db", db, "partition", "plan", "--from", "2", "--to", "3", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, line), "%s missing from:\n%s", line, r.out);
	snprintf(line, sizeof(line), "%u of %u devices move from 2 to 3 instances\n", want, NDEV);
	cr_assert_not_null(strstr(r.out, line), "%s", r.out);
	cr_assert_eq(tools_count_lines(r.out), want + 2); /* header, moves, summary */
	tools_run_free(&r);
}

Test(partition_plan, from_defaults_to_the_configs_partition)
{
	char conf[160];
	FILE *f;
	struct tools_run r;

	snprintf(conf, sizeof(conf), "%s/k.ini", dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "[storage]\npath = %s\ntimezone = UTC\n[mqtt]\npartition = 1/3\n", db);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tools_run(&r, "-c", conf, "partition", "plan", "--to", "3", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "0 of 200 devices move from 3 to 3 instances"), "%s", r.out);
	tools_run_free(&r);
}

Test(partition_plan, a_bad_count_is_a_usage_error)
{
	static const char *const bad[] = { "0", "x", "4097", "-1" };
	struct tools_run r;

	cr_assert_eq(tools_run(&r, "--db", db, "partition", "plan", NULL), 0);
	cr_assert_eq(r.status, 2, "%s", r.err);
	tools_run_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(tools_run(&r, "--db", db, "partition", "plan", "--to", bad[i], NULL), 0);
		cr_assert_eq(r.status, 2, "--to %s: %s", bad[i], r.err);
		cr_assert_eq(tools_count_lines(r.err), 2, "%s", r.err); /* the error and the hint */
		tools_run_free(&r);
	}
}
