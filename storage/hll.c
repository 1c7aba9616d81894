/*
 * hll.c — the HyperLogLog sketch of hll.h.
 *
 * Why it is built this way: the registers are kept current in memory in
 * both forms (one byte each, 16 KiB), so turning dense is only dropping
 * the list, and merging is plain array work with no allocation. The list
 * of a sparse sketch holds one entry per 25-bit index (the highest rank
 * seen), sorted; each entry determines the register and rank its hash
 * sets, so the registers follow from the list. Whether a sketch is sparse
 * depends only on how many 25-bit indexes its set has, so a merge of parts
 * has the form, and the bytes, of the whole.
 * Parsing validates everything before touching the caller's sketch, so a
 * refused merge leaves it as it was.
 */
#include "storage/hll.h"

#include <math.h>
#include <string.h>

#include "firmware-proto/bytes.h"

#define SP_SHIFT 6                                  /* rank bits of an entry */
#define SP_RANK_MAX (64 - ST_HLL_SPARSE_P + 1)      /* 40 */
#define SP_EXTRA (ST_HLL_SPARSE_P - ST_HLL_P)       /* 11 index bits beyond p */
#define SP_CELLS ((double)((uint32_t)1 << ST_HLL_SPARSE_P))

void st_hll_clear(struct st_hll *h)
{
	memset(h->reg, 0, sizeof h->reg);
	h->dense = 0;
	h->n = 0;
}

int st_hll_is_dense(const struct st_hll *h)
{
	return h->dense;
}

/* The first 1 bit of the `bits` top bits of x, counted from 1; bits + 1
 * when they are all 0. */
static uint8_t rank_of(uint64_t x, unsigned bits)
{
	return (uint8_t)(__builtin_clzll(x | ((uint64_t)1 << (63 - bits))) + 1);
}

static uint32_t entry_of(uint64_t hash)
{
	uint32_t index25 = (uint32_t)(hash >> (64 - ST_HLL_SPARSE_P));

	return index25 << SP_SHIFT | rank_of(hash << ST_HLL_SPARSE_P, 64 - ST_HLL_SPARSE_P);
}

/* The register and rank an entry sets: the same as its hash would. */
static void entry_register(uint32_t e, uint16_t *index, uint8_t *rank)
{
	uint32_t index25 = e >> SP_SHIFT;
	uint32_t extra = index25 & (((uint32_t)1 << SP_EXTRA) - 1);

	*index = (uint16_t)(index25 >> SP_EXTRA);
	if (extra != 0)
		*rank = rank_of((uint64_t)extra << (64 - SP_EXTRA), SP_EXTRA);
	else
		*rank = (uint8_t)(SP_EXTRA + (e & ((1u << SP_SHIFT) - 1)));
}

static void set_register(struct st_hll *h, uint16_t index, uint8_t rank)
{
	if (h->reg[index] < rank)
		h->reg[index] = rank;
}

static void set_entry_register(struct st_hll *h, uint32_t e)
{
	uint16_t index;
	uint8_t rank;

	entry_register(e, &index, &rank);
	set_register(h, index, rank);
}

/* Puts e in the sorted list (or raises the rank of its index); drops the
 * list when it would outgrow ST_HLL_SPARSE_MAX. */
static void sparse_insert(struct st_hll *h, uint32_t e)
{
	unsigned lo = 0, hi = h->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (h->sparse[mid] >> SP_SHIFT < e >> SP_SHIFT)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n && h->sparse[lo] >> SP_SHIFT == e >> SP_SHIFT) {
		if (h->sparse[lo] < e)
			h->sparse[lo] = e;
		return;
	}
	if (h->n == ST_HLL_SPARSE_MAX) {
		h->dense = 1;
		return;
	}
	memmove(h->sparse + lo + 1, h->sparse + lo, (h->n - lo) * sizeof *h->sparse);
	h->sparse[lo] = e;
	h->n++;
}

void st_hll_add(struct st_hll *h, uint64_t hash)
{
	uint32_t e = entry_of(hash);

	set_entry_register(h, e);
	if (!h->dense)
		sparse_insert(h, e);
}

/* How many distinct indexes the union of two sorted lists has. */
static unsigned union_size(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
	unsigned i = 0, j = 0, n = 0;

	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i] >> SP_SHIFT < b[j] >> SP_SHIFT))
			i++;
		else if (i == na || b[j] >> SP_SHIFT < a[i] >> SP_SHIFT)
			j++;
		else
			i++, j++;
		n++;
	}
	return n;
}

/* into's list ∪ b, merged from the back in place (the union fits). */
static void sparse_union(struct st_hll *into, const uint32_t *b, unsigned nb)
{
	unsigned total = union_size(into->sparse, into->n, b, nb);
	uint32_t *a = into->sparse;
	long i = (long)into->n - 1, j = (long)nb - 1, out = (long)total - 1;

	if (total > ST_HLL_SPARSE_MAX) {
		into->dense = 1;
		return;
	}
	while (j >= 0) {
		if (i >= 0 && a[i] >> SP_SHIFT > b[j] >> SP_SHIFT) {
			a[out--] = a[i--];
		} else if (i >= 0 && a[i] >> SP_SHIFT == b[j] >> SP_SHIFT) {
			a[out--] = a[i] > b[j] ? a[i] : b[j];
			i--, j--;
		} else {
			a[out--] = b[j--];
		}
	}
	into->n = total;
}

void st_hll_merge(struct st_hll *into, const struct st_hll *other)
{
	for (unsigned i = 0; i < ST_HLL_M; i++)
		set_register(into, (uint16_t)i, other->reg[i]);
	if (other->dense)
		into->dense = 1;
	else if (!into->dense)
		sparse_union(into, other->sparse, other->n);
}

/* Ertl's sigma and tau series (hll.h cites the paper). */
static double ertl_sigma(double x)
{
	double y = 1.0, z = x, prev;

	if (x == 1.0)
		return INFINITY;
	do {
		x *= x;
		prev = z;
		z += x * y;
		y += y;
	} while (z != prev);
	return z;
}

static double ertl_tau(double x)
{
	double y = 1.0, z = 1.0 - x, prev;

	if (x == 0.0 || x == 1.0)
		return 0.0;
	do {
		x = sqrt(x);
		prev = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != prev);
	return z / 3.0;
}

double st_hll_estimate(const struct st_hll *h)
{
	const double m = ST_HLL_M;
	unsigned hist[ST_HLL_RANK_MAX + 1] = {0};
	double z, lc;

	if (!h->dense)
		return h->n == 0 ? 0.0 : SP_CELLS * log(SP_CELLS / (SP_CELLS - h->n));
	for (unsigned i = 0; i < ST_HLL_M; i++)
		hist[h->reg[i]]++;
	if (hist[0] > 0) {
		lc = m * log(m / hist[0]);
		if (lc <= ST_HLL_LINEAR_MAX)
			return lc;
	}
	z = m * ertl_tau((m - hist[ST_HLL_RANK_MAX]) / m);
	for (int k = ST_HLL_RANK_MAX - 1; k >= 1; k--) {
		z += hist[k];
		z *= 0.5;
	}
	z += m * ertl_sigma(hist[0] / m);
	return m * m / (2.0 * log(2.0)) / z;
}

static void put_header(uint8_t *out, uint8_t form)
{
	out[0] = ST_HLL_VERSION;
	out[1] = ST_HLL_P;
	out[2] = form;
	out[3] = 0;
}

int st_hll_serialize(const struct st_hll *h, uint8_t *out, size_t cap, size_t *len)
{
	size_t need = ST_HLL_SPARSE_HEADER_SIZE + (size_t)h->n * ST_HLL_SPARSE_ENTRY_SIZE;

	if (h->dense) {
		if (cap < ST_HLL_DENSE_SIZE)
			return -1;
		put_header(out, ST_HLL_FORM_DENSE);
		memcpy(out + ST_HLL_HEADER_SIZE, h->reg, ST_HLL_M);
		*len = ST_HLL_DENSE_SIZE;
		return 0;
	}
	if (cap < need)
		return -1;
	put_header(out, ST_HLL_FORM_SPARSE);
	kp_store_u16le(out + ST_HLL_HEADER_SIZE, (uint16_t)h->n);
	for (unsigned i = 0; i < h->n; i++)
		kp_store_u32le(out + ST_HLL_SPARSE_HEADER_SIZE + (size_t)i * ST_HLL_SPARSE_ENTRY_SIZE, h->sparse[i]);
	*len = need;
	return 0;
}

static uint32_t sparse_entry(const uint8_t *in, unsigned i)
{
	return kp_load_u32le(in + ST_HLL_SPARSE_HEADER_SIZE + (size_t)i * ST_HLL_SPARSE_ENTRY_SIZE);
}

/* 0 when in is a complete version-1 sketch; *form its form. */
static int validate(const uint8_t *in, size_t len, uint8_t *form)
{
	unsigned n;

	if (!in || len < ST_HLL_HEADER_SIZE || in[0] != ST_HLL_VERSION || in[1] != ST_HLL_P || in[3] != 0)
		return -1;
	*form = in[2];
	if (*form == ST_HLL_FORM_DENSE) {
		if (len != ST_HLL_DENSE_SIZE)
			return -1;
		for (unsigned i = 0; i < ST_HLL_M; i++)
			if (in[ST_HLL_HEADER_SIZE + i] > ST_HLL_RANK_MAX)
				return -1;
		return 0;
	}
	if (*form != ST_HLL_FORM_SPARSE || len < ST_HLL_SPARSE_HEADER_SIZE)
		return -1;
	n = kp_load_u16le(in + ST_HLL_HEADER_SIZE);
	if (n > ST_HLL_SPARSE_MAX || len != ST_HLL_SPARSE_HEADER_SIZE + (size_t)n * ST_HLL_SPARSE_ENTRY_SIZE)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t e = sparse_entry(in, i), rank = e & ((1u << SP_SHIFT) - 1);

		if (e >> (SP_SHIFT + ST_HLL_SPARSE_P) != 0 || rank == 0 || rank > SP_RANK_MAX)
			return -1;
		if (i > 0 && sparse_entry(in, i - 1) >> SP_SHIFT >= e >> SP_SHIFT)
			return -1;
	}
	return 0;
}

int st_hll_merge_bytes(struct st_hll *h, const uint8_t *in, size_t len)
{
	uint32_t list[ST_HLL_SPARSE_MAX];
	uint8_t form;
	unsigned n;

	if (!h || validate(in, len, &form) != 0)
		return -1;
	if (form == ST_HLL_FORM_DENSE) {
		for (unsigned i = 0; i < ST_HLL_M; i++)
			set_register(h, (uint16_t)i, in[ST_HLL_HEADER_SIZE + i]);
		h->dense = 1;
		return 0;
	}
	n = kp_load_u16le(in + ST_HLL_HEADER_SIZE);
	for (unsigned i = 0; i < n; i++) {
		list[i] = sparse_entry(in, i);
		set_entry_register(h, list[i]);
	}
	if (!h->dense)
		sparse_union(h, list, n);
	return 0;
}

int st_hll_parse(const uint8_t *in, size_t len, struct st_hll *h)
{
	if (!h)
		return -1;
	st_hll_clear(h);
	return st_hll_merge_bytes(h, in, len);
}
