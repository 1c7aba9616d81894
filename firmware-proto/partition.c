/*
 * partition.c — the owner of a device among N instances (partition.h).
 */
#include "partition.h"

#include <sodium.h>
#include <stdio.h>

#include "bytes.h"

uint64_t kp_partition_key(uint64_t device_id)
{
	uint8_t id[8], digest[crypto_generichash_BYTES];

	kp_store_u64le(id, device_id);
	/* Cannot fail with these lengths (digest 32, no key). */
	(void)crypto_generichash(digest, sizeof(digest), id, sizeof(id), NULL, 0);
	return kp_load_u64le(digest);
}

/* Lamping and Veach, 2014: a linear congruential walk whose jumps land in
 * bucket n with probability 1/n, so adding a bucket only takes keys into
 * it. The double arithmetic is exact IEEE 754 on every platform we build
 * for (the published reference is written the same way). */
uint32_t kp_partition_jump(uint64_t key, uint32_t n)
{
	int64_t b = -1, j = 0;

	while (j < (int64_t)n) {
		b = j;
		key = key * 2862933555777941757ULL + 1;
		j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
	}
	return (uint32_t)b;
}

uint32_t kp_partition_owner(uint64_t device_id, uint32_t n)
{
	return n <= 1 ? 0 : kp_partition_jump(kp_partition_key(device_id), n);
}

int kp_partition_owns(const struct kp_partition *p, uint64_t device_id)
{
	return kp_partition_owner(device_id, p->n) == p->k;
}

/* One decimal number of 1..4 digits ending at stop; *end after it. */
static int parse_number(const char *s, char stop, uint32_t *out, const char **end)
{
	uint32_t v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9') {
		if (++digits > 4)
			return -1;
		v = v * 10 + (uint32_t)(*s - '0');
		s++;
	}
	/* One spelling per number: no leading zero. */
	if (digits == 0 || *s != stop || (digits > 1 && s[-digits] == '0'))
		return -1;
	*out = v;
	*end = s;
	return 0;
}

int kp_partition_parse(const char *text, struct kp_partition *p)
{
	uint32_t k, n;
	const char *end;

	if (parse_number(text, '/', &k, &end) != 0 || parse_number(end + 1, '\0', &n, &end) != 0)
		return -1;
	if (n == 0 || n > KP_PARTITION_N_MAX || k >= n)
		return -1;
	p->k = k;
	p->n = n;
	return 0;
}

void kp_partition_format(const struct kp_partition *p, char out[KP_PARTITION_TEXT_SIZE])
{
	snprintf(out, KP_PARTITION_TEXT_SIZE, "%u/%u", (unsigned)p->k, (unsigned)p->n);
}
