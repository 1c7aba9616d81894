/*
 * fingerprint.c — see fingerprint.h. Each data file contributes the line
 * "NAME sha256:HEX\n" to one SHA-256, the manifest's own notation of a
 * file's hash, so both sides feed the same bytes.
 */
#include "opendata/fingerprint.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_file(crypto_hash_sha256_state *st, const char *name, const char *hash)
{
	crypto_hash_sha256_update(st, (const unsigned char *)name, strlen(name));
	crypto_hash_sha256_update(st, (const unsigned char *)" ", 1);
	crypto_hash_sha256_update(st, (const unsigned char *)hash, strlen(hash));
	crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

static void finish(crypto_hash_sha256_state *st, char out[OD_FINGERPRINT_HEX_SIZE])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(st, digest);
	sodium_bin2hex(out, OD_FINGERPRINT_HEX_SIZE, digest, sizeof(digest));
}

/* ride_feed_info.txt says which version a package is (its ride_feed_version
 * is the log position it was read at, moved by every tap of any date), not
 * what it publishes: it is left out, or every round would be a new version. */
static int is_feed_metadata(const char *file)
{
	return strcmp(file, "ride_feed_info.txt") == 0;
}

/* "sha256:HEX" of one form of t, as the package writes it. */
static int form_hash(const struct od_table *t, int json, char hash[8 + OD_FINGERPRINT_HEX_SIZE])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct outbuf b = { 0 };

	if ((json ? od_table_print_json(t, &b) : od_table_print_csv(t, &b)) != 0) {
		ob_free(&b);
		return -1;
	}
	crypto_hash_sha256(digest, (const unsigned char *)b.p, b.n);
	ob_free(&b);
	memcpy(hash, "sha256:", 7);
	sodium_bin2hex(hash + 7, OD_FINGERPRINT_HEX_SIZE, digest, sizeof(digest));
	return 0;
}

int od_tables_fingerprint(const struct od_tables *t, char out[OD_FINGERPRINT_HEX_SIZE], char err[OD_ERR_SIZE])
{
	crypto_hash_sha256_state st;
	char name[128], hash[8 + OD_FINGERPRINT_HEX_SIZE];

	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < t->n; i++) {
		const struct od_table *ti = &t->t[i];

		for (int json = 0; json < (ti->file != NULL ? 1 : 2); json++) {
			if (ti->file != NULL)
				snprintf(name, sizeof(name), "%s", ti->file);
			else
				snprintf(name, sizeof(name), "%s.%s", ti->name, json ? "json" : "csv");
			if (is_feed_metadata(name))
				continue;
			if (form_hash(ti, json, hash) != 0) {
				snprintf(err, OD_ERR_SIZE, "out of memory rendering %s", ti->name);
				return -1;
			}
			add_file(&st, name, hash);
		}
	}
	finish(&st, out);
	return 0;
}

int od_manifest_fingerprint(const char *manifest, size_t len, char out[OD_FINGERPRINT_HEX_SIZE],
                            char err[OD_ERR_SIZE])
{
	crypto_hash_sha256_state st;
	cJSON *doc = cJSON_ParseWithLength(manifest, len), *r;
	const cJSON *resources = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	int rc = -1;

	if (!cJSON_IsArray(resources)) {
		snprintf(err, OD_ERR_SIZE, "the manifest has no resources array");
		goto out;
	}
	crypto_hash_sha256_init(&st);
	cJSON_ArrayForEach(r, resources) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "path"));
		const char *hash = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "hash"));

		if (path == NULL || hash == NULL) {
			snprintf(err, OD_ERR_SIZE, "a resource of the manifest has no path or hash");
			goto out;
		}
		if (!is_feed_metadata(path))
			add_file(&st, path, hash);
	}
	finish(&st, out);
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}
