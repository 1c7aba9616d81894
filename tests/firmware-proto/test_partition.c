/*
 * Description: the owner of a device among N instances is the documented
 * jump consistent hash of BLAKE2b-256 of the id (README "Partitions": the
 * same vectors, computed independently with Python's hashlib); N -> N+1
 * moves devices only to the new instance, about 1/(N+1) of them; "K/N" is
 * parsed in one spelling and anything else is refused.
 */
#include <criterion/criterion.h>

#include <sodium.h>

#include "firmware-proto/partition.h"

static void init(void)
{
	cr_assert_geq(sodium_init(), 0);
}

struct vector {
	uint64_t id;
	uint64_t key;
	uint32_t owner[5]; /* N = 1, 2, 3, 4, 10 */
};

/* README "Partitions" lists these. */
static const struct vector vectors[] = {
	{ 0x1, 0xd2411a560b7dbd1dULL, { 0, 1, 1, 1, 8 } },
	{ 0x2, 0xef2363edfd438be8ULL, { 0, 0, 0, 0, 0 } },
	{ 0xa1b2c, 0xdb9c6c269cb713f1ULL, { 0, 0, 0, 3, 3 } },
	{ 0x0123456789abcdefULL, 0x5b6d9ba0543b1c1fULL, { 0, 1, 1, 1, 7 } },
	{ 0xffffffffffffffffULL, 0xe819e9a2f63dd9e2ULL, { 0, 1, 2, 2, 6 } },
};
static const uint32_t vector_n[5] = { 1, 2, 3, 4, 10 };

Test(partition, fixed_vectors, .init = init)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		cr_assert_eq(kp_partition_key(vectors[i].id), vectors[i].key, "key of %#llx",
		             (unsigned long long)vectors[i].id);
		for (size_t j = 0; j < 5; j++)
			cr_assert_eq(kp_partition_owner(vectors[i].id, vector_n[j]), vectors[i].owner[j],
			             "owner of %#llx among %u", (unsigned long long)vectors[i].id, vector_n[j]);
	}
}

Test(partition, growing_moves_devices_only_to_the_new_instance, .init = init)
{
	for (uint32_t n = 1; n < 8; n++) {
		unsigned moved = 0;
		for (uint64_t id = 1; id <= 6000; id++) {
			uint32_t a = kp_partition_owner(id, n), b = kp_partition_owner(id, n + 1);
			cr_assert_lt(b, n + 1);
			if (a != b) {
				cr_assert_eq(b, n, "device %llu moved from %u to %u going to %u", (unsigned long long)id,
				             a, b, n + 1);
				moved++;
			}
		}
		/* About 6000 / (n + 1); a modulo would move most of them. */
		cr_assert_gt(moved, 6000 / (n + 1) * 8 / 10, "%u -> %u moved %u", n, n + 1, moved);
		cr_assert_lt(moved, 6000 / (n + 1) * 12 / 10, "%u -> %u moved %u", n, n + 1, moved);
	}
}

Test(partition, every_device_has_exactly_one_owner, .init = init)
{
	struct kp_partition p[3] = { { 0, 3 }, { 1, 3 }, { 2, 3 } };
	unsigned per[3] = { 0 };

	for (uint64_t id = 1; id <= 3000; id++) {
		int owners = 0;
		for (int k = 0; k < 3; k++)
			if (kp_partition_owns(&p[k], id)) {
				owners++;
				per[k]++;
			}
		cr_assert_eq(owners, 1);
	}
	for (int k = 0; k < 3; k++)
		cr_assert(per[k] > 800 && per[k] < 1200, "instance %d owns %u of 3000", k, per[k]);
}

Test(partition, parse_and_format)
{
	struct kp_partition p = { 7, 7 };
	char text[KP_PARTITION_TEXT_SIZE];

	cr_assert_eq(kp_partition_parse("0/1", &p), 0);
	cr_assert(p.k == 0 && p.n == 1);
	cr_assert_eq(kp_partition_parse("2/3", &p), 0);
	cr_assert(p.k == 2 && p.n == 3);
	kp_partition_format(&p, text);
	cr_assert_str_eq(text, "2/3");
	cr_assert_eq(kp_partition_parse("4095/4096", &p), 0);
	static const char *const bad[] = { "", "3/3", "4/3", "0/0", "1", "1/", "/3", "-1/3", "1/-3", "+1/3",
		                           " 1/3", "1/3 ", "1 /3", "01/3", "1/03", "1/3/4", "a/3", "1/3x",
		                           "0/4097", "99999/100000", "1.0/3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = (struct kp_partition){ 9, 9 };
		cr_assert_eq(kp_partition_parse(bad[i], &p), -1, "'%s' accepted", bad[i]);
		cr_assert(p.k == 9 && p.n == 9, "'%s' changed p", bad[i]);
	}
}
