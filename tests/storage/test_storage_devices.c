/*
 * Description: the device registry: devices and their keys are added once
 * (ST_EEXIST after), keys only for known devices (ST_ENOTFOUND), revoking
 * a key or a whole device takes effect for every read begun after, and the
 * foreach walks go in id and key_id order.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "storage/devices.h"

TestSuite(devices, .init = tdb_setup, .fini = tdb_teardown);

static struct st_device device(uint64_t id, const char *op)
{
	struct st_device d = {.id = id, .kind = ST_KIND_VALIDATOR, .state = ST_STATE_ACTIVE,
	                      .vehicle_id = 310, .created_at = 1700000000000};

	strncpy(d.operator_name, op, sizeof d.operator_name - 1);
	return d;
}

static struct st_device_key key(uint64_t id, uint8_t key_id)
{
	struct st_device_key k = {.device_id = id, .key_id = key_id, .state = ST_STATE_ACTIVE,
	                          .added_at = 1700000000001};

	memset(k.public_key, key_id + 1, sizeof k.public_key);
	return k;
}

Test(devices, an_added_device_reads_back_field_by_field)
{
	struct st_device in = device(0x10, "Ternopil Elektroavtotrans"), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_device_add(tdb.db, &in), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_get(&r, 0x10, &out), ST_OK);
	cr_expect_eq(st_device_get(&r, 0x11, &out), ST_ENOTFOUND);
	st_read_end(&r);
	cr_expect_eq(out.id, in.id);
	cr_expect_eq(out.kind, in.kind);
	cr_expect_eq(out.state, ST_STATE_ACTIVE);
	cr_expect_str_eq(out.operator_name, in.operator_name);
	cr_expect_eq(out.vehicle_id, 310);
	cr_expect_eq(out.created_at, in.created_at);
	cr_expect_eq(out.revoked_at, 0);
}

Test(devices, adding_a_device_twice_is_eexist_and_changes_nothing)
{
	struct st_device a = device(0x10, "first"), b = device(0x10, "second"), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_device_add(tdb.db, &a), ST_OK);
	cr_expect_eq(st_device_add(tdb.db, &b), ST_EEXIST);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_get(&r, 0x10, &out), ST_OK);
	st_read_end(&r);
	cr_expect_str_eq(out.operator_name, "first");
}

Test(devices, bad_devices_are_refused)
{
	struct st_device d = device(0, "x");

	tdb_open();
	cr_expect_eq(st_device_add(tdb.db, &d), ST_EINVAL, "id 0");
	d = device(1, "x");
	d.kind = 9;
	cr_expect_eq(st_device_add(tdb.db, &d), ST_EINVAL, "kind");
	d = device(1, "x");
	memset(d.operator_name, 'a', sizeof d.operator_name);
	cr_expect_eq(st_device_add(tdb.db, &d), ST_EINVAL, "operator without NUL");
}

Test(devices, keys_need_a_known_device_and_a_free_key_id)
{
	struct st_device d = device(0x20, "op");
	struct st_device_key k = key(0x20, 0), out;
	struct st_read r;

	tdb_open();
	cr_expect_eq(st_device_key_add(tdb.db, &k), ST_ENOTFOUND);
	cr_assert_eq(st_device_add(tdb.db, &d), ST_OK);
	cr_expect_eq(st_device_key_add(tdb.db, &k), ST_OK);
	cr_expect_eq(st_device_key_add(tdb.db, &k), ST_EEXIST);
	k = key(0x20, 255);
	cr_expect_eq(st_device_key_add(tdb.db, &k), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_key_get(&r, 0x20, 255, &out), ST_OK);
	cr_expect_eq(st_device_key_get(&r, 0x20, 1, &out), ST_ENOTFOUND);
	st_read_end(&r);
	cr_expect_eq(out.device_id, 0x20);
	cr_expect_eq(out.key_id, 255);
	cr_expect_eq(out.state, ST_STATE_ACTIVE);
	cr_expect_eq(out.added_at, 1700000000001);
	cr_expect_eq(memcmp(out.public_key, k.public_key, sizeof k.public_key), 0);
}

static int key_state(uint64_t id, uint8_t key_id)
{
	struct st_device_key k;
	struct st_read r;

	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_key_get(&r, id, key_id, &k), ST_OK);
	st_read_end(&r);
	return k.state;
}

Test(devices, revoking_one_key_leaves_the_others_active)
{
	struct st_device d = device(0x30, "op");
	struct st_device_key k0 = key(0x30, 0), k1 = key(0x30, 1), out;
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_device_add(tdb.db, &d), ST_OK);
	cr_assert_eq(st_device_key_add(tdb.db, &k0), ST_OK);
	cr_assert_eq(st_device_key_add(tdb.db, &k1), ST_OK);
	cr_assert_eq(st_device_revoke(tdb.db, 0x30, 0, 1800000000000), ST_OK);
	cr_expect_eq(key_state(0x30, 0), ST_STATE_REVOKED);
	cr_expect_eq(key_state(0x30, 1), ST_STATE_ACTIVE);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_key_get(&r, 0x30, 0, &out), ST_OK);
	st_read_end(&r);
	cr_expect_eq(out.revoked_at, 1800000000000);
	cr_expect_eq(st_device_key_add(tdb.db, &k0), ST_EEXIST, "a key id is never reused");
}

Test(devices, revoking_a_device_revokes_it_and_its_keys)
{
	struct st_device d = device(0x40, "op"), out;
	struct st_device_key k0 = key(0x40, 0), k1 = key(0x40, 1);
	struct st_read r;

	tdb_open();
	cr_assert_eq(st_device_add(tdb.db, &d), ST_OK);
	cr_assert_eq(st_device_key_add(tdb.db, &k0), ST_OK);
	cr_assert_eq(st_device_key_add(tdb.db, &k1), ST_OK);
	cr_assert_eq(st_device_revoke(tdb.db, 0x40, -1, 1800000000000), ST_OK);
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_get(&r, 0x40, &out), ST_OK);
	st_read_end(&r);
	cr_expect_eq(out.state, ST_STATE_REVOKED);
	cr_expect_eq(out.revoked_at, 1800000000000);
	cr_expect_eq(key_state(0x40, 0), ST_STATE_REVOKED);
	cr_expect_eq(key_state(0x40, 1), ST_STATE_REVOKED);
	cr_expect_eq(st_device_revoke(tdb.db, 0x40, -1, 1900000000000), ST_OK, "revoking again is harmless");
}

Test(devices, revoking_what_does_not_exist_is_enotfound)
{
	struct st_device d = device(0x50, "op");

	tdb_open();
	cr_expect_eq(st_device_revoke(tdb.db, 0x50, -1, 1), ST_ENOTFOUND);
	cr_assert_eq(st_device_add(tdb.db, &d), ST_OK);
	cr_expect_eq(st_device_revoke(tdb.db, 0x50, 3, 1), ST_ENOTFOUND);
	cr_expect_eq(st_device_revoke(tdb.db, 0x50, 256, 1), ST_EINVAL);
}

struct ids {
	uint64_t v[8];
	int n, stop_after;
};

static int collect_device(void *ctx, const struct st_device *d)
{
	struct ids *ids = ctx;

	cr_assert_lt(ids->n, 8);
	ids->v[ids->n++] = d->id;
	return ids->stop_after && ids->n == ids->stop_after;
}

static int collect_key(void *ctx, const struct st_device_key *k)
{
	struct ids *ids = ctx;

	cr_assert_lt(ids->n, 8);
	ids->v[ids->n++] = (uint64_t)k->device_id << 8 | k->key_id;
	return 0;
}

Test(devices, foreach_walks_devices_and_keys_in_order)
{
	static const uint64_t ids_in[3] = {0x300, 0x1, 0x20};
	struct ids ids = {0};
	struct st_read r;

	tdb_open();
	for (int i = 0; i < 3; i++) {
		struct st_device d = device(ids_in[i], "op");
		struct st_device_key k2 = key(ids_in[i], 2), k1 = key(ids_in[i], 1);

		cr_assert_eq(st_device_add(tdb.db, &d), ST_OK);
		cr_assert_eq(st_device_key_add(tdb.db, &k2), ST_OK);
		cr_assert_eq(st_device_key_add(tdb.db, &k1), ST_OK);
	}
	cr_assert_eq(st_read_begin(tdb.db, &r), ST_OK);
	cr_assert_eq(st_device_foreach(&r, collect_device, &ids), ST_OK);
	cr_assert_eq(ids.n, 3);
	cr_expect(ids.v[0] == 0x1 && ids.v[1] == 0x20 && ids.v[2] == 0x300);

	ids = (struct ids){.stop_after = 2};
	cr_expect_eq(st_device_foreach(&r, collect_device, &ids), ST_ESTOP);
	cr_expect_eq(ids.n, 2);

	ids = (struct ids){0};
	cr_assert_eq(st_device_key_foreach(&r, 0x20, collect_key, &ids), ST_OK);
	cr_assert_eq(ids.n, 2, "only the keys of that device");
	cr_expect_eq(ids.v[0], 0x2001);
	cr_expect_eq(ids.v[1], 0x2002);
	ids = (struct ids){0};
	cr_assert_eq(st_device_key_foreach(&r, 0x21, collect_key, &ids), ST_OK);
	cr_expect_eq(ids.n, 0);
	st_read_end(&r);
}

Test(devices, kinds_have_names)
{
	cr_expect_str_eq(st_device_kind_name(ST_KIND_VALIDATOR), "validator");
	cr_expect_str_eq(st_device_kind_name(ST_KIND_APC), "apc");
	cr_expect_str_eq(st_device_kind_name(ST_KIND_NVR), "nvr");
	cr_expect_eq(st_device_kind_parse("apc"), ST_KIND_APC);
	cr_expect_eq(st_device_kind_parse("bus"), -1);
	cr_expect_eq(st_device_kind_parse(NULL), -1);
}
