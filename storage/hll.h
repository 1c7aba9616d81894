/*
 * hll.h — a HyperLogLog sketch of distinct 64-bit hashes: how many distinct
 * riders, in 16 KiB or less, mergeable across days' parts and instances.
 *
 * Promises:
 *  - precision p = 14: m = 16384 registers of one byte each (rank 0..51);
 *    the standard error of an estimate is about 1.04 / sqrt(m) = 0.81 %.
 *  - sparse while small (as HyperLogLog++): up to ST_HLL_SPARSE_MAX
 *    distinct 25-bit indexes (the top 25 bits of a hash) are kept as a
 *    sorted list with the rank of the bits below them, and the estimate is
 *    linear counting over 2^25 cells: for up to 4095 distinct hashes it is
 *    exact or nearly so (a shared 25-bit index costs one rider, about
 *    n² / 2^26 of them: 0.015 at n = 1000, 0.25 at 4095). The 16384
 *    registers are kept beside the list and the list is dropped when it
 *    would outgrow ST_HLL_SPARSE_MAX (the dense form is smaller then).
 *  - dense: linear counting over the 16384 registers while it is at most
 *    ST_HLL_LINEAR_MAX (the HyperLogLog++ threshold for p = 14) and some
 *    register is still zero, else Ertl's improved estimator (O. Ertl, "New
 *    cardinality estimation algorithms for HyperLogLog sketches", 2017; the
 *    one Redis uses), which needs no empirical bias tables and no
 *    large-range correction with 64-bit hashes.
 *  - adding a hash already added changes nothing; merging is register-wise
 *    max, so merge(A, B) is the sketch of A ∪ B, whatever the order.
 *  - the form and the bytes are a function of the set of hashes added
 *    (sparse while its 25-bit indexes number at most ST_HLL_SPARSE_MAX),
 *    so a merge of parts serializes to the same bytes as the whole.
 *
 * Serialized layout, version 1 (all of it checked by st_hll_parse):
 *   [0] version 1   [1] precision 14   [2] form: 1 sparse, 2 dense   [3] 0
 *   sparse: [4..6) n, LE2, 0..ST_HLL_SPARSE_MAX; then n entries, LE4 each:
 *           25-bit index << 6 | rank (1..40) of the 39 bits below it, the
 *           indexes strictly increasing; the registers follow from them.
 *   dense:  [4..4+m) the m registers in index order, each 0..51.
 *
 * In memory (struct st_hll, 32 KiB, owned by the caller, no allocation
 * inside this module) the registers are always current, and the sparse
 * list too while the sketch is sparse.
 *
 * Hashes must be uniformly distributed 64-bit values; equal inputs must
 * give equal hashes. The top 14 bits choose the register, the rank is the
 * position of the first 1 bit in the 50 below them (at most 51).
 */
#ifndef ST_HLL_H
#define ST_HLL_H

#include <stddef.h>
#include <stdint.h>

#define ST_HLL_P 14
#define ST_HLL_M (1u << ST_HLL_P)
#define ST_HLL_RANK_MAX (64 - ST_HLL_P + 1)     /* 51 */
#define ST_HLL_VERSION 1
#define ST_HLL_FORM_SPARSE 1
#define ST_HLL_FORM_DENSE 2
#define ST_HLL_HEADER_SIZE 4
#define ST_HLL_SPARSE_HEADER_SIZE 6             /* header and n */
#define ST_HLL_SPARSE_ENTRY_SIZE 4
#define ST_HLL_SPARSE_P 25
#define ST_HLL_DENSE_SIZE (ST_HLL_HEADER_SIZE + ST_HLL_M) /* 16388 */
/* The most entries of a sparse sketch: one more and dense is smaller. */
#define ST_HLL_SPARSE_MAX ((ST_HLL_DENSE_SIZE - ST_HLL_SPARSE_HEADER_SIZE) / ST_HLL_SPARSE_ENTRY_SIZE)
#define ST_HLL_SERIALIZED_MAX ST_HLL_DENSE_SIZE
#define ST_HLL_LINEAR_MAX 11500.0
#define ST_HLL_STD_ERROR 0.0081                 /* 1.04 / sqrt(16384) */

struct st_hll {
	uint8_t reg[ST_HLL_M];
	int dense;      /* 0: sparse[] holds the set's 25-bit indexes */
	unsigned n;     /* entries of sparse[] */
	uint32_t sparse[ST_HLL_SPARSE_MAX]; /* index25 << 6 | rank25, ascending */
};

/* All registers zero: the sketch of the empty set. */
void st_hll_clear(struct st_hll *h);
/* Adds one 64-bit hash. */
void st_hll_add(struct st_hll *h, uint64_t hash);
/* into = into ∪ other (register-wise max). */
void st_hll_merge(struct st_hll *into, const struct st_hll *other);
/* The estimated number of distinct hashes added. */
double st_hll_estimate(const struct st_hll *h);
/* Whether the sketch is dense (else sparse). */
int st_hll_is_dense(const struct st_hll *h);

/* The canonical serialized form into out (cap bytes; ST_HLL_SERIALIZED_MAX
 * always suffices); *len its size. 0, or -1 when cap is too small. */
int st_hll_serialize(const struct st_hll *h, uint8_t *out, size_t cap, size_t *len);
/* Parses a serialized sketch into h. 0, or -1 for anything but a complete,
 * canonical version-1 sketch of precision 14 (wrong length, header, order,
 * rank out of range, trailing bytes); h is then the empty sketch. */
int st_hll_parse(const uint8_t *in, size_t len, struct st_hll *h);
/* Merges a serialized sketch into h (register-wise max); 0, or -1 as for
 * st_hll_parse, and then h is unchanged. */
int st_hll_merge_bytes(struct st_hll *h, const uint8_t *in, size_t len);

#endif
