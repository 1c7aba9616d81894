/*
 * Description: the codec reproduces every frame of the independent vector
 * file (tests/data/vectors-v1.txt) — the status it expects, every decoded
 * field, and the exact bytes when the decoded fields are encoded again.
 *
 * The file is blocks of 'key value' lines separated by blank lines, '#'
 * comments. A frame is classified the way the daemon would: decode, look its
 * (device_id, key_id) up in a one-entry key table made from the block's
 * signer, verify.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"

#define EXPECT_CLASSES 4
static const char *const expect_classes[EXPECT_CLASSES] = {
	"ok", "malformed", "unknown-key", "bad-signature",
};

#define HEADER_FIELDS 7
#define TAP_FIELDS 10
#define COUNT_FIELDS 10

struct enrolled_key {
	uint64_t device_id;
	uint8_t key_id;
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
};

struct vector {
	char *name;
	char *expect;
	char *header; /* the 'header' line's value, NULL unless expect ok */
	struct enrolled_key key;
	bool has_device, has_key_id, has_pk;
	uint8_t *frame;
	size_t len;
	char **records; /* values of 'tap' and 'count' lines, in order */
	size_t nrecords;
	char record_kind[8]; /* "tap" or "count" once one was seen */
};

struct vector_file {
	struct vector *v;
	size_t n;
	size_t blocks; /* non-comment line groups, counted apart from parsing */
};

static uint64_t parse_u64(const char *s, size_t slen, int base, const char *what)
{
	char tmp[32];
	char *end;

	cr_assert(slen > 0 && slen < sizeof(tmp), "%s: bad number length %zu", what, slen);
	memcpy(tmp, s, slen);
	tmp[slen] = '\0';
	cr_assert(tmp[0] != '-' && tmp[0] != '+', "%s: unexpected sign in '%s'", what, tmp);
	uint64_t v = strtoull(tmp, &end, base);
	cr_assert(*end == '\0', "%s: not a number: '%s'", what, tmp);
	return v;
}

static int64_t parse_i64(const char *s, size_t slen, const char *what)
{
	char tmp[32];
	char *end;

	cr_assert(slen > 0 && slen < sizeof(tmp), "%s: bad number length %zu", what, slen);
	memcpy(tmp, s, slen);
	tmp[slen] = '\0';
	int64_t v = strtoll(tmp, &end, 10);
	cr_assert(*end == '\0', "%s: not a number: '%s'", what, tmp);
	return v;
}

static void add_record_line(struct vector *v, const char *kind, const char *value)
{
	if (v->record_kind[0] == '\0')
		snprintf(v->record_kind, sizeof(v->record_kind), "%s", kind);
	cr_assert_str_eq(v->record_kind, kind, "%s: mixes tap and count lines", v->name);
	v->records = realloc(v->records, (v->nrecords + 1) * sizeof(*v->records));
	cr_assert_not_null(v->records);
	v->records[v->nrecords++] = strdup(value);
}

static void set_frame(struct vector *v, const char *hex)
{
	size_t slen = strlen(hex);

	cr_assert_null(v->frame, "%s: two frame lines", v->name);
	cr_assert(slen % 2 == 0, "%s: odd frame hex length", v->name);
	v->len = slen / 2;
	v->frame = malloc(v->len ? v->len : 1);
	cr_assert_not_null(v->frame);
	cr_assert(kp_hex_decode(hex, v->frame, v->len) == 0, "%s: bad frame hex", v->name);
}

/* Keeps the first value of a one-per-block key; a second one fails the test. */
static char *set_once(char *old, const char *value, const char *key)
{
	cr_assert_null(old, "two '%s' lines in one block", key);
	return strdup(value);
}

static void set_field(struct vector *v, const char *key, const char *value)
{
	size_t vlen = strlen(value);

	if (strcmp(key, "name") == 0) {
		v->name = set_once(v->name, value, key);
	} else if (strcmp(key, "note") == 0) {
		/* prose only */
	} else if (strcmp(key, "signer_device_id") == 0) {
		cr_assert(!v->has_device, "%s: two signer_device_id lines", v->name);
		v->key.device_id = parse_u64(value, vlen, 16, "signer_device_id");
		v->has_device = true;
	} else if (strcmp(key, "signer_key_id") == 0) {
		uint64_t id = parse_u64(value, vlen, 10, "signer_key_id");

		cr_assert(!v->has_key_id, "%s: two signer_key_id lines", v->name);
		cr_assert(id <= UINT8_MAX, "signer_key_id out of range");
		v->key.key_id = (uint8_t)id;
		v->has_key_id = true;
	} else if (strcmp(key, "signer_public_key") == 0) {
		cr_assert(!v->has_pk, "%s: two signer_public_key lines", v->name);
		cr_assert(kp_hex_decode(value, v->key.pk, KP_PUBLIC_KEY_SIZE) == 0,
		          "bad signer_public_key");
		v->has_pk = true;
	} else if (strcmp(key, "frame") == 0) {
		set_frame(v, value);
	} else if (strcmp(key, "expect") == 0) {
		v->expect = set_once(v->expect, value, key);
	} else if (strcmp(key, "header") == 0) {
		v->header = set_once(v->header, value, key);
	} else if (strcmp(key, "tap") == 0 || strcmp(key, "count") == 0) {
		add_record_line(v, key, value);
	} else {
		cr_assert_fail("unknown key '%s' in vector file", key);
	}
}

static void check_complete(const struct vector *v)
{
	cr_assert_not_null(v->name, "a block has no name");
	cr_assert(v->has_device && v->has_key_id && v->has_pk, "%s: signer incomplete", v->name);
	cr_assert_not_null(v->frame, "%s: no frame", v->name);
	cr_assert_not_null(v->expect, "%s: no expect", v->name);
}

static void chomp(char *line, ssize_t *n)
{
	while (*n > 0 && (line[*n - 1] == '\n' || line[*n - 1] == '\r'))
		line[--*n] = '\0';
}

static void new_vector(struct vector_file *vf)
{
	vf->v = realloc(vf->v, (vf->n + 1) * sizeof(*vf->v));
	cr_assert_not_null(vf->v);
	memset(&vf->v[vf->n], 0, sizeof(*vf->v));
	vf->n++;
}

/* Vectors start at each 'name' line; blocks are counted separately from the
 * blank lines, so a block without a name or with two shows as a mismatch. */
static void load_vectors(struct vector_file *vf)
{
	FILE *f = fopen(KP_VECTORS_FILE, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool in_block = false;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_not_null(f, "cannot open %s", KP_VECTORS_FILE);
	memset(vf, 0, sizeof(*vf));
	while ((n = getline(&line, &cap, f)) >= 0) {
		chomp(line, &n);
		if (n == 0) {
			in_block = false;
			continue;
		}
		if (line[0] == '#')
			continue;
		if (!in_block) {
			in_block = true;
			vf->blocks++;
		}
		char *sp = strchr(line, ' ');
		cr_assert_not_null(sp, "line without a value: '%.60s'", line);
		*sp = '\0';
		if (strcmp(line, "name") == 0)
			new_vector(vf);
		cr_assert_gt(vf->n, 0, "'%s' line before the first name", line);
		set_field(&vf->v[vf->n - 1], line, sp + 1);
	}
	free(line);
	fclose(f);
	for (size_t i = 0; i < vf->n; i++)
		check_complete(&vf->v[i]);
}

static void free_vectors(struct vector_file *vf)
{
	for (size_t i = 0; i < vf->n; i++) {
		struct vector *v = &vf->v[i];

		for (size_t r = 0; r < v->nrecords; r++)
			free(v->records[r]);
		free(v->records);
		free(v->name);
		free(v->expect);
		free(v->header);
		free(v->frame);
	}
	free(vf->v);
}

/* The one-entry key table: the block's signer, enrolled under its key_id. */
static const uint8_t *lookup_key(const struct enrolled_key *table, uint64_t device_id,
                                 uint8_t key_id)
{
	if (table->device_id != device_id || table->key_id != key_id)
		return NULL;
	return table->pk;
}

static const char *classify(const struct vector *v)
{
	struct kp_header h;
	const uint8_t *pk;

	if (kp_frame_decode(v->frame, v->len, &h) != KP_OK)
		return "malformed";
	pk = lookup_key(&v->key, h.device_id, h.key_id);
	if (pk == NULL)
		return "unknown-key";
	if (kp_frame_verify(v->frame, v->len, pk) != KP_OK)
		return "bad-signature";
	return "ok";
}

/* Finds 'key=' at a token start in a space-separated line; returns the value
 * and its length. Fails the test when absent. */
static const char *token(const char *line, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);

	for (const char *p = line; *p != '\0';) {
		const char *end = strchr(p, ' ');
		size_t tlen = end ? (size_t)(end - p) : strlen(p);

		if (tlen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			*vlen = tlen - klen - 1;
			return p + klen + 1;
		}
		p += tlen;
		while (*p == ' ')
			p++;
	}
	cr_assert_fail("no '%s=' in '%s'", key, line);
	return NULL;
}

static size_t token_count(const char *line)
{
	size_t n = 0;

	for (const char *p = line; *p != '\0'; p++) {
		if (*p != ' ' && (p == line || p[-1] == ' '))
			n++;
	}
	return n;
}

static uint64_t tok_u(const char *line, const char *key, uint64_t max)
{
	size_t vlen;
	const char *val = token(line, key, &vlen);
	uint64_t v = parse_u64(val, vlen, 10, key);

	cr_assert(v <= max, "%s=%" PRIu64 " out of range", key, v);
	return v;
}

static int64_t tok_i(const char *line, const char *key)
{
	size_t vlen;
	const char *val = token(line, key, &vlen);

	return parse_i64(val, vlen, key);
}

static uint64_t tok_hex_u64(const char *line, const char *key)
{
	size_t vlen;
	const char *val = token(line, key, &vlen);

	return parse_u64(val, vlen, 16, key);
}

static void assert_header(const struct vector *v, const struct kp_header *h)
{
	const char *l = v->header;

	cr_assert_not_null(l, "%s: expect ok without a header line", v->name);
	cr_assert_eq(token_count(l), HEADER_FIELDS, "%s: header has unchecked fields", v->name);
	cr_assert_eq(h->type, tok_u(l, "type", UINT8_MAX), "%s: type", v->name);
	cr_assert_eq(h->key_id, tok_u(l, "key_id", UINT8_MAX), "%s: key_id", v->name);
	cr_assert_eq(h->count, tok_u(l, "count", UINT16_MAX), "%s: count", v->name);
	cr_assert_eq(h->device_id, tok_hex_u64(l, "device_id"), "%s: device_id", v->name);
	cr_assert_eq(h->batch_seq, tok_u(l, "batch_seq", UINT64_MAX), "%s: batch_seq", v->name);
	cr_assert_eq(h->sent_at, tok_i(l, "sent_at"), "%s: sent_at", v->name);
	cr_assert_eq(h->aux, tok_u(l, "aux", UINT64_MAX), "%s: aux", v->name);
}

static void assert_tap(const char *name, uint16_t i, const char *l, const struct kp_tap *t)
{
	uint8_t token_bytes[KP_CARD_TOKEN_SIZE];
	char token_hex[2 * KP_CARD_TOKEN_SIZE + 1];
	size_t vlen;
	const char *hex = token(l, "card_token", &vlen);

	cr_assert_eq(token_count(l), TAP_FIELDS, "%s tap %u: unchecked fields", name, i);
	cr_assert(vlen == 2 * KP_CARD_TOKEN_SIZE, "%s tap %u: card_token is not 32 hex digits",
	          name, i);
	memcpy(token_hex, hex, vlen);
	token_hex[vlen] = '\0';
	cr_assert(kp_hex_decode(token_hex, token_bytes, sizeof(token_bytes)) == 0,
	          "%s tap %u: card_token is not 32 hex digits", name, i);
	cr_assert_eq(t->tapped_at, tok_i(l, "tapped_at"), "%s tap %u: tapped_at", name, i);
	cr_assert(memcmp(t->card_token, token_bytes, KP_CARD_TOKEN_SIZE) == 0,
	          "%s tap %u: card_token", name, i);
	cr_assert_eq(t->route_id, tok_u(l, "route_id", UINT32_MAX), "%s tap %u: route_id", name, i);
	cr_assert_eq(t->stop_id, tok_u(l, "stop_id", UINT32_MAX), "%s tap %u: stop_id", name, i);
	cr_assert_eq(t->vehicle_id, tok_u(l, "vehicle_id", UINT32_MAX), "%s tap %u: vehicle_id",
	             name, i);
	cr_assert_eq(t->fare_product, tok_u(l, "fare_product", UINT16_MAX),
	             "%s tap %u: fare_product", name, i);
	cr_assert_eq(t->direction, tok_u(l, "direction", UINT8_MAX), "%s tap %u: direction",
	             name, i);
	cr_assert_eq(t->result, tok_u(l, "result", UINT8_MAX), "%s tap %u: result", name, i);
	cr_assert_eq(t->amount, tok_u(l, "amount", UINT32_MAX), "%s tap %u: amount", name, i);
	cr_assert_eq(t->flags, tok_u(l, "flags", UINT16_MAX), "%s tap %u: flags", name, i);
}

static void assert_count(const char *name, uint16_t i, const char *l, const struct kp_count *c)
{
	cr_assert_eq(token_count(l), COUNT_FIELDS, "%s count %u: unchecked fields", name, i);
	cr_assert_eq(c->observed_at, tok_i(l, "observed_at"), "%s count %u: observed_at", name, i);
	cr_assert_eq(c->route_id, tok_u(l, "route_id", UINT32_MAX), "%s count %u: route_id",
	             name, i);
	cr_assert_eq(c->stop_id, tok_u(l, "stop_id", UINT32_MAX), "%s count %u: stop_id", name, i);
	cr_assert_eq(c->vehicle_id, tok_u(l, "vehicle_id", UINT32_MAX),
	             "%s count %u: vehicle_id", name, i);
	cr_assert_eq(c->door, tok_u(l, "door", UINT8_MAX), "%s count %u: door", name, i);
	cr_assert_eq(c->kind, tok_u(l, "kind", UINT8_MAX), "%s count %u: kind", name, i);
	cr_assert_eq(c->boardings, tok_u(l, "boardings", UINT16_MAX), "%s count %u: boardings",
	             name, i);
	cr_assert_eq(c->alightings, tok_u(l, "alightings", UINT16_MAX),
	             "%s count %u: alightings", name, i);
	cr_assert_eq(c->occupancy, tok_u(l, "occupancy", UINT16_MAX), "%s count %u: occupancy",
	             name, i);
	cr_assert_eq(c->confidence, tok_u(l, "confidence", UINT8_MAX),
	             "%s count %u: confidence", name, i);
}

static void assert_records(const struct vector *v, const struct kp_header *h)
{
	const char *want_kind = h->type == KP_TYPE_TAPS     ? "tap"
	                        : h->type == KP_TYPE_COUNTS ? "count"
	                                                    : "";

	cr_assert_eq(v->nrecords, h->count, "%s: %zu record lines for count %u", v->name,
	             v->nrecords, h->count);
	if (v->nrecords > 0)
		cr_assert_str_eq(v->record_kind, want_kind, "%s: record lines of the wrong type",
		                 v->name);
	for (uint16_t i = 0; i < h->count; i++) {
		if (h->type == KP_TYPE_TAPS) {
			struct kp_tap t;

			kp_frame_get_tap(v->frame, i, &t);
			assert_tap(v->name, i, v->records[i], &t);
		} else {
			struct kp_count c;

			kp_frame_get_count(v->frame, i, &c);
			assert_count(v->name, i, v->records[i], &c);
		}
	}
}

static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static void assert_reencodes(const struct vector *v, const struct kp_header *h)
{
	size_t size = kp_frame_size(h->type, h->count);
	size_t body = v->len - KP_SIGNATURE_SIZE;
	uint8_t *out = malloc(size);

	cr_assert_not_null(out);
	cr_assert_eq(size, v->len, "%s: kp_frame_size disagrees with the frame", v->name);
	memset(out, 0xa5, size); /* every byte must be written, none left over */
	cr_assert_eq(kp_frame_put_header(out, size, h), KP_OK, "%s: put_header", v->name);
	for (uint16_t i = 0; i < h->count; i++) {
		if (h->type == KP_TYPE_TAPS) {
			struct kp_tap t;

			kp_frame_get_tap(v->frame, i, &t);
			kp_frame_put_tap(out, i, &t);
		} else {
			struct kp_count c;

			kp_frame_get_count(v->frame, i, &c);
			kp_frame_put_count(out, i, &c);
		}
	}
	cr_assert_eq(first_difference(out, v->frame, body), body,
	             "%s: re-encoded bytes differ at offset %zu", v->name,
	             first_difference(out, v->frame, body));
	memcpy(out + body, v->frame + body, KP_SIGNATURE_SIZE);
	cr_assert(memcmp(out, v->frame, v->len) == 0, "%s: whole frame differs", v->name);
	free(out);
}

Test(frame_vectors, the_file_has_one_complete_vector_per_block_and_every_class)
{
	struct vector_file vf;

	load_vectors(&vf);
	cr_assert_eq(vf.n, vf.blocks, "parsed %zu vectors from %zu blocks", vf.n, vf.blocks);
	cr_assert_geq(vf.n, 20, "only %zu vectors in %s", vf.n, KP_VECTORS_FILE);
	for (size_t c = 0; c < EXPECT_CLASSES; c++) {
		size_t seen = 0;

		for (size_t i = 0; i < vf.n; i++)
			seen += strcmp(vf.v[i].expect, expect_classes[c]) == 0;
		cr_assert_gt(seen, 0, "no vector expects '%s'", expect_classes[c]);
	}
	for (size_t i = 0; i < vf.n; i++) {
		bool known = false;

		for (size_t c = 0; c < EXPECT_CLASSES; c++)
			known |= strcmp(vf.v[i].expect, expect_classes[c]) == 0;
		cr_assert(known, "%s: unknown expect '%s'", vf.v[i].name, vf.v[i].expect);
	}
	free_vectors(&vf);
}

Test(frame_vectors, every_vector_decodes_to_its_expected_status)
{
	struct vector_file vf;
	size_t checked = 0;

	load_vectors(&vf);
	for (size_t i = 0; i < vf.n; i++) {
		const struct vector *v = &vf.v[i];

		const char *got = classify(v);

		cr_expect_str_eq(got, v->expect, "vector %s is %s, expected %s", v->name, got,
		                 v->expect);
		checked++;
	}
	cr_assert_eq(checked, vf.blocks);
	cr_assert_geq(checked, 20);
	free_vectors(&vf);
}

Test(frame_vectors, ok_vectors_decode_to_every_listed_header_and_record_field)
{
	struct vector_file vf;
	size_t checked = 0;

	load_vectors(&vf);
	for (size_t i = 0; i < vf.n; i++) {
		const struct vector *v = &vf.v[i];
		struct kp_header h;

		if (strcmp(v->expect, "ok") != 0)
			continue;
		cr_assert_eq(kp_frame_decode(v->frame, v->len, &h), KP_OK, "%s", v->name);
		assert_header(v, &h);
		assert_records(v, &h);
		checked++;
	}
	cr_assert_gt(checked, 0, "no ok vectors");
	free_vectors(&vf);
}

Test(frame_vectors, ok_vectors_reencode_from_their_fields_byte_for_byte)
{
	struct vector_file vf;
	size_t checked = 0;

	load_vectors(&vf);
	for (size_t i = 0; i < vf.n; i++) {
		const struct vector *v = &vf.v[i];
		struct kp_header h;

		if (strcmp(v->expect, "ok") != 0)
			continue;
		cr_assert_eq(kp_frame_decode(v->frame, v->len, &h), KP_OK, "%s", v->name);
		assert_reencodes(v, &h);
		checked++;
	}
	cr_assert_gt(checked, 0, "no ok vectors");
	free_vectors(&vf);
}
