/*
 * Description: the HyperLogLog sketch (hll.h): small sets are counted
 * (nearly) exactly, 100k distinct hashes within three standard errors,
 * repeats add nothing, a merge of two halves is the sketch of the whole
 * byte for byte, serialization round-trips in both forms, and every
 * truncation or corruption of the bytes is refused.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware-proto/bytes.h"
#include "storage/hll.h"

/* A uniformly distributed hash of i: keyed BLAKE2b, as a pseudonym is. */
static uint64_t hash_of(uint64_t i)
{
	static const uint8_t key[crypto_generichash_KEYBYTES] = {7};
	uint8_t in[8], out[16];

	kp_store_u64le(in, i);
	crypto_generichash(out, sizeof out, in, sizeof in, key, sizeof key);
	return kp_load_u64le(out);
}

static struct st_hll *sketch_of(uint64_t from, uint64_t to)
{
	struct st_hll *h = malloc(sizeof *h);

	cr_assert_not_null(h);
	st_hll_clear(h);
	for (uint64_t i = from; i < to; i++)
		st_hll_add(h, hash_of(i));
	return h;
}

static size_t bytes_of(const struct st_hll *h, uint8_t out[ST_HLL_SERIALIZED_MAX])
{
	size_t len = 0;

	cr_assert_eq(st_hll_serialize(h, out, ST_HLL_SERIALIZED_MAX, &len), 0);
	return len;
}

TestSuite(hll);

Test(hll, empty_sketch_estimates_zero_and_is_six_bytes)
{
	struct st_hll *h = sketch_of(0, 0);
	uint8_t b[ST_HLL_SERIALIZED_MAX];

	cr_assert_eq(st_hll_estimate(h), 0.0);
	cr_assert_eq(bytes_of(h, b), ST_HLL_SPARSE_HEADER_SIZE);
	free(h);
}

Test(hll, every_small_set_up_to_1000_is_within_one_percent_or_exact)
{
	struct st_hll *h = sketch_of(0, 0);
	double worst = 0;
	unsigned exact = 0;

	for (uint64_t n = 1; n <= 1000; n++) {
		double e;

		st_hll_add(h, hash_of(n));
		e = st_hll_estimate(h);
		if (llround(e) == (long long)n)
			exact++;
		else
			cr_assert_leq(fabs(e - (double)n) / (double)n, 0.01, "n %lu: estimate %.2f", (unsigned long)n, e);
		if (fabs(e - (double)n) / (double)n > worst)
			worst = fabs(e - (double)n) / (double)n;
	}
	fprintf(stderr, "hll: 1..1000 distinct: %u exact when rounded, worst error %.3f %%\n", exact, worst * 100);
	free(h);
}

Test(hll, hundred_thousand_distinct_within_three_standard_errors)
{
	struct st_hll *h = sketch_of(0, 100000);
	double e = st_hll_estimate(h);
	double rel = fabs(e - 100000.0) / 100000.0;

	fprintf(stderr, "hll: 100000 distinct, estimate %.0f, error %.3f %%\n", e, rel * 100);
	cr_assert_lt(rel, 3 * ST_HLL_STD_ERROR, "estimate %.0f", e);
	free(h);
}

Test(hll, repeats_do_not_increase_the_estimate)
{
	struct st_hll *a = sketch_of(0, 5000);
	struct st_hll *b = sketch_of(0, 5000);

	for (int r = 0; r < 3; r++)
		for (uint64_t i = 0; i < 5000; i++)
			st_hll_add(b, hash_of(i));
	cr_assert_eq(memcmp(a->reg, b->reg, sizeof a->reg), 0);
	cr_assert_eq(st_hll_estimate(a), st_hll_estimate(b));
	free(a);
	free(b);
}

/* Two overlapping halves of [0, n) (to n/2, from n/3), merged in memory
 * and as bytes, sparse or dense, against the sketch of [0, n). */
static void halves_merge_to_whole(uint64_t n)
{
	struct st_hll *whole = sketch_of(0, n), *lo = sketch_of(0, n / 2), *hi = sketch_of(n / 3, n);
	static uint8_t bw[ST_HLL_SERIALIZED_MAX], bl[ST_HLL_SERIALIZED_MAX], bh[ST_HLL_SERIALIZED_MAX],
	    bm[ST_HLL_SERIALIZED_MAX];
	size_t lw = bytes_of(whole, bw), ll = bytes_of(lo, bl), lh = bytes_of(hi, bh), lm;
	struct st_hll *m = sketch_of(0, 0);

	cr_assert_eq(st_hll_merge_bytes(m, bl, ll), 0);
	cr_assert_eq(st_hll_merge_bytes(m, bh, lh), 0);
	lm = bytes_of(m, bm);
	cr_assert_eq(lm, lw, "n %lu", (unsigned long)n);
	cr_assert_eq(memcmp(bm, bw, lw), 0, "n %lu", (unsigned long)n);
	st_hll_merge(lo, hi);
	cr_assert_eq(memcmp(lo->reg, whole->reg, sizeof lo->reg), 0);
	free(whole);
	free(lo);
	free(hi);
	free(m);
}

Test(hll, merge_of_two_halves_is_the_whole_byte_for_byte)
{
	halves_merge_to_whole(100);    /* sparse ∪ sparse */
	halves_merge_to_whole(6000);   /* 3000 sparse ∪ 4000 sparse: dense */
	halves_merge_to_whole(7000);   /* 3500 sparse ∪ 4667 dense */
	halves_merge_to_whole(200000); /* dense ∪ dense */
}

static void round_trip(uint64_t n, uint8_t form)
{
	struct st_hll *h = sketch_of(0, n), *back = sketch_of(0, 0);
	static uint8_t b[ST_HLL_SERIALIZED_MAX];
	size_t len = bytes_of(h, b);

	cr_assert_eq(b[2], form, "n %lu", (unsigned long)n);
	cr_assert_eq(st_hll_parse(b, len, back), 0);
	cr_assert_eq(memcmp(h->reg, back->reg, sizeof h->reg), 0);
	cr_assert_eq(st_hll_estimate(h), st_hll_estimate(back));
	free(h);
	free(back);
}

Test(hll, serialization_round_trips_sparse_and_dense)
{
	round_trip(0, ST_HLL_FORM_SPARSE);
	round_trip(1000, ST_HLL_FORM_SPARSE);
	round_trip(100000, ST_HLL_FORM_DENSE);
}

Test(hll, sparse_turns_dense_exactly_when_dense_is_smaller)
{
	struct st_hll *h = sketch_of(0, 0);
	static uint8_t b[ST_HLL_SERIALIZED_MAX];

	/* Distinct 25-bit indexes: hash i << 39. */
	for (uint64_t i = 1; i <= ST_HLL_SPARSE_MAX; i++)
		st_hll_add(h, i << 39);
	cr_assert_eq(bytes_of(h, b), ST_HLL_SPARSE_HEADER_SIZE + ST_HLL_SPARSE_MAX * ST_HLL_SPARSE_ENTRY_SIZE);
	cr_assert_leq(bytes_of(h, b), ST_HLL_DENSE_SIZE);
	cr_assert_eq(llround(st_hll_estimate(h)), ST_HLL_SPARSE_MAX);
	st_hll_add(h, (uint64_t)1 << 39); /* a repeat keeps it sparse */
	cr_assert_eq(bytes_of(h, b), ST_HLL_SPARSE_HEADER_SIZE + ST_HLL_SPARSE_MAX * ST_HLL_SPARSE_ENTRY_SIZE);
	cr_assert_not(st_hll_is_dense(h));
	st_hll_add(h, (uint64_t)(ST_HLL_SPARSE_MAX + 1) << 39);
	cr_assert_eq(bytes_of(h, b), ST_HLL_DENSE_SIZE);
	cr_assert_eq(b[2], ST_HLL_FORM_DENSE);
	free(h);
}

Test(hll, too_small_a_buffer_is_refused)
{
	struct st_hll *h = sketch_of(0, 10);
	uint8_t b[ST_HLL_SERIALIZED_MAX];
	size_t len = bytes_of(h, b);

	cr_assert_eq(st_hll_serialize(h, b, len - 1, &len), -1);
	free(h);
}

/* Every prefix, and every single-field corruption, of bytes is refused,
 * and a refused merge leaves the sketch as it was. */
static void refuses_every_truncation(const uint8_t *b, size_t len)
{
	struct st_hll *h = sketch_of(0, 3), *before = sketch_of(0, 3);

	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(st_hll_merge_bytes(h, b, cut), -1, "prefix of %zu of %zu bytes", cut, len);
	cr_assert_eq(memcmp(h->reg, before->reg, sizeof h->reg), 0);
	free(h);
	free(before);
}

static void refused(uint8_t *b, size_t len, size_t at, uint8_t value, const char *what)
{
	static struct st_hll h;
	uint8_t old = b[at];

	b[at] = value;
	cr_assert_eq(st_hll_parse(b, len, &h), -1, "%s", what);
	b[at] = old;
	cr_assert_eq(st_hll_parse(b, len, &h), 0);
}

Test(hll, every_truncation_and_corruption_is_refused)
{
	struct st_hll *s = sketch_of(0, 200), *d = sketch_of(0, 100000), h;
	static uint8_t bs[ST_HLL_SERIALIZED_MAX + 1], bd[ST_HLL_SERIALIZED_MAX + 1];
	size_t ls = bytes_of(s, bs), ld = bytes_of(d, bd);
	size_t e0 = ST_HLL_SPARSE_HEADER_SIZE, e1 = e0 + ST_HLL_SPARSE_ENTRY_SIZE;
	uint8_t saved[4];

	refuses_every_truncation(bs, ls);
	refuses_every_truncation(bd, ld);
	cr_assert_eq(st_hll_parse(bs, ls + 1, &h), -1, "a trailing byte");
	cr_assert_eq(st_hll_parse(bd, ld + 1, &h), -1, "a trailing byte");
	cr_assert_eq(st_hll_parse(NULL, 0, &h), -1);
	refused(bs, ls, 0, 2, "version 2");
	refused(bs, ls, 1, 12, "precision 12");
	refused(bs, ls, 2, 3, "form 3");
	refused(bs, ls, 2, ST_HLL_FORM_DENSE, "sparse bytes called dense");
	refused(bd, ld, 2, ST_HLL_FORM_SPARSE, "dense bytes called sparse");
	refused(bs, ls, 3, 1, "reserved byte");
	refused(bs, ls, 4, bs[4] + 1, "count one too many");
	refused(bs, ls, 4, bs[4] - 1, "count one too few");
	refused(bs, ls, e0, bs[e0] & 0xc0, "rank 0 listed");
	refused(bs, ls, e0, (bs[e0] & 0xc0) | 41, "rank 41");
	refused(bs, ls, e0 + 3, bs[e0 + 3] | 0x80, "index beyond 25 bits");
	memcpy(saved, bs + e1, 4);
	memcpy(bs + e1, bs + e0, 4);
	cr_assert_eq(st_hll_parse(bs, ls, &h), -1, "index repeated");
	memcpy(bs + e1, saved, 4);
	memcpy(saved, bs + e0, 4); /* swap entries 0 and 1 */
	memcpy(bs + e0, bs + e1, 4);
	memcpy(bs + e1, saved, 4);
	cr_assert_eq(st_hll_parse(bs, ls, &h), -1, "index out of order");
	refused(bd, ld, ST_HLL_HEADER_SIZE + 5, ST_HLL_RANK_MAX + 1, "dense rank 52");
	free(s);
	free(d);
}
