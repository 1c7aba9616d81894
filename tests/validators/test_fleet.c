/*
 * Description: DIR/fleet.txt, the list the lead's scripts enrol from, reads
 * back exactly what was written, one "<id> <key_id> <pk hex> <vehicle>" line
 * per device (a passenger counter's line ends in " apc"), and a damaged line,
 * or one with an unknown kind, is refused with its line number.
 */
#include "tests/validators/tmpdir.h"

#include <string.h>

#include "validators/fleet.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	vd_tmpdir_make(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%s", dir, VD_FLEET_FILE);
}

static void teardown(void)
{
	vd_tmpdir_remove(dir);
}

TestSuite(fleet, .init = setup, .fini = teardown);

Test(fleet, written_fleet_reads_back_the_same_devices)
{
	struct vd_fleet_entry in[3], *out = NULL;
	size_t n = 0;
	char err[VD_FLEET_ERR_SIZE];

	for (int i = 0; i < 3; i++) {
		in[i] = (struct vd_fleet_entry){.device_id = 0xa000 + i, .key_id = 1, .vehicle_id = 100 + i,
		                                .kind = i == 2 ? VD_KIND_APC : VD_KIND_VALIDATOR};
		memset(in[i].public_key, 0x10 + i, sizeof in[i].public_key);
	}
	cr_assert_eq(vd_fleet_write(path, in, 3, err), 0, "%s", err);
	cr_assert_eq(vd_fleet_read(path, &out, &n, err), 0, "%s", err);
	cr_assert_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(out[i].device_id, in[i].device_id);
		cr_expect_eq(out[i].key_id, in[i].key_id);
		cr_expect_eq(out[i].vehicle_id, in[i].vehicle_id);
		cr_expect_eq(out[i].kind, in[i].kind);
		cr_expect_eq(memcmp(out[i].public_key, in[i].public_key, sizeof in[i].public_key), 0);
	}
	free(out);
}

/* Writes e alone and reads back the file's one line. */
static void write_one(const struct vd_fleet_entry *e, char *line, size_t size)
{
	char err[VD_FLEET_ERR_SIZE];
	FILE *f;

	cr_assert_eq(vd_fleet_write(path, e, 1, err), 0, "%s", err);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, (int)size, f));
	fclose(f);
}

/* A fleet file of a good line and then `second` is refused at line 2. */
static void refused_at_line_2(const char *second)
{
	struct vd_fleet_entry *out = NULL;
	size_t n = 0;
	char err[VD_FLEET_ERR_SIZE];
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f, "0000000000000001 1 %064d 5\n", 0);
	fputs(second, f);
	fclose(f);
	cr_expect_eq(vd_fleet_read(path, &out, &n, err), -1);
	cr_expect_not_null(strstr(err, ":2:"), "%s", err);
}

Test(fleet, lines_have_the_documented_format)
{
	struct vd_fleet_entry e = {.device_id = 0xab, .key_id = 2, .vehicle_id = 7};
	char line[256] = {0};

	memset(e.public_key, 0xcd, sizeof e.public_key);
	write_one(&e, line, sizeof line);
	cr_expect_str_eq(line, "00000000000000ab 2 "
	                       "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd 7\n");
}

Test(fleet, apc_line_ends_in_its_kind)
{
	struct vd_fleet_entry e = {.device_id = 0xac, .key_id = 1, .vehicle_id = 7, .kind = VD_KIND_APC};
	char line[256] = {0};

	memset(e.public_key, 0xcd, sizeof e.public_key);
	write_one(&e, line, sizeof line);
	cr_expect_str_eq(line, "00000000000000ac 1 "
	                       "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd 7 apc\n");
}

Test(fleet, damaged_line_is_refused_with_its_number)
{
	refused_at_line_2("0000000000000002 1 abc 5\n");
}

Test(fleet, unknown_kind_is_refused_with_its_number)
{
	refused_at_line_2("0000000000000002 1 "
	                  "0000000000000000000000000000000000000000000000000000000000000000 5 nvr\n");
}
