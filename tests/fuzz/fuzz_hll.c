/* libFuzzer target: the serialized HyperLogLog sketch (storage/hll.h).
 * Parses the input; when it parses, the sketch must serialize back to the
 * very same bytes (the form is canonical), its estimate must be finite and
 * not negative, and merging the input into a sketch must leave at least
 * what was there. When it does not parse, a merge must refuse it too and
 * leave the sketch unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/hll.h"

static struct st_hll h, m, before;
static uint8_t out[ST_HLL_SERIALIZED_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	double e;

	st_hll_clear(&m);
	st_hll_add(&m, 0x0123456789abcdefull);
	st_hll_add(&m, 0xfedcba9876543210ull);
	before = m;
	if (st_hll_parse(data, size, &h) != 0) {
		if (st_hll_merge_bytes(&m, data, size) != -1 || memcmp(&m, &before, sizeof m) != 0)
			abort();
		return 0;
	}
	if (st_hll_serialize(&h, out, sizeof out, &len) != 0 || len != size || memcmp(out, data, size) != 0)
		abort();
	e = st_hll_estimate(&h);
	if (!isfinite(e) || e < 0)
		abort();
	if (st_hll_merge_bytes(&m, data, size) != 0)
		abort();
	for (unsigned i = 0; i < ST_HLL_M; i++)
		if (m.reg[i] < before.reg[i] || m.reg[i] < h.reg[i])
			abort();
	return 0;
}
