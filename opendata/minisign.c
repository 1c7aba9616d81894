/*
 * minisign.c — minisign's public key and signature files (minisign.h),
 * written and read with libsodium: Ed25519, BLAKE2b and base64.
 */
#include "opendata/minisign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define ALG_SIZE 2
#define SIG_SIZE crypto_sign_BYTES
#define PREHASH_SIZE 64 /* BLAKE2b-512 */
#define PUB_BIN_SIZE (ALG_SIZE + OD_MINISIGN_KEYID_SIZE + OD_MINISIGN_PK_SIZE)
#define SIG_BIN_SIZE (ALG_SIZE + OD_MINISIGN_KEYID_SIZE + SIG_SIZE)
#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

void od_minisign_keyid(const uint8_t pk[OD_MINISIGN_PK_SIZE], uint8_t id[OD_MINISIGN_KEYID_SIZE])
{
	uint8_t h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), pk, OD_MINISIGN_PK_SIZE, NULL, 0);
	memcpy(id, h, OD_MINISIGN_KEYID_SIZE);
}

/* The id as minisign prints it: little-endian, upper-case hex. */
static uint64_t keyid_number(const uint8_t id[OD_MINISIGN_KEYID_SIZE])
{
	uint64_t v = 0;

	for (int i = OD_MINISIGN_KEYID_SIZE - 1; i >= 0; i--)
		v = v << 8 | id[i];
	return v;
}

void od_minisign_pub_b64(const uint8_t pk[OD_MINISIGN_PK_SIZE], char out[OD_MINISIGN_PUB_B64_SIZE])
{
	uint8_t bin[PUB_BIN_SIZE] = { 'E', 'd' };

	od_minisign_keyid(pk, bin + ALG_SIZE);
	memcpy(bin + ALG_SIZE + OD_MINISIGN_KEYID_SIZE, pk, OD_MINISIGN_PK_SIZE);
	sodium_bin2base64(out, OD_MINISIGN_PUB_B64_SIZE, bin, sizeof(bin), B64_VARIANT);
}

void od_minisign_pub_text(const uint8_t pk[OD_MINISIGN_PK_SIZE], char out[OD_MINISIGN_PUB_TEXT_SIZE])
{
	char b64[OD_MINISIGN_PUB_B64_SIZE];
	uint8_t id[OD_MINISIGN_KEYID_SIZE];

	od_minisign_keyid(pk, id);
	od_minisign_pub_b64(pk, b64);
	snprintf(out, OD_MINISIGN_PUB_TEXT_SIZE, UNTRUSTED_PREFIX "minisign public key %016" PRIX64 "\n%s\n",
	         keyid_number(id), b64);
}

/* Decodes one base64 line (up to its newline or the end) into exactly len bytes. */
static int b64_line(const char *line, uint8_t *bin, size_t len)
{
	size_t n = strcspn(line, "\r\n"), got;

	if (sodium_base642bin(bin, len, line, n, NULL, &got, NULL, B64_VARIANT) != 0 || got != len)
		return -1;
	return 0;
}

int od_minisign_pub_parse(const char *text, uint8_t pk[OD_MINISIGN_PK_SIZE], uint8_t id[OD_MINISIGN_KEYID_SIZE])
{
	uint8_t bin[PUB_BIN_SIZE];
	const char *line = text;

	if (strncmp(line, UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) == 0) {
		line = strchr(line, '\n');
		if (line == NULL)
			return -1;
		line++;
	}
	if (b64_line(line, bin, sizeof(bin)) != 0 || bin[0] != 'E' || bin[1] != 'd')
		return -1;
	memcpy(id, bin + ALG_SIZE, OD_MINISIGN_KEYID_SIZE);
	memcpy(pk, bin + ALG_SIZE + OD_MINISIGN_KEYID_SIZE, OD_MINISIGN_PK_SIZE);
	return 0;
}

int od_minisign_sign(const uint8_t sk[OD_MINISIGN_SK_SIZE], const uint8_t *msg, size_t len,
                     const char *trusted_comment, char out[OD_MINISIGN_SIG_TEXT_SIZE])
{
	uint8_t bin[SIG_BIN_SIZE] = { 'E', 'D' }, hash[PREHASH_SIZE], pk[OD_MINISIGN_PK_SIZE];
	uint8_t global[SIG_SIZE], signed_tc[SIG_SIZE + OD_MINISIGN_COMMENT_MAX];
	char sig_b64[sodium_base64_ENCODED_LEN(SIG_BIN_SIZE, B64_VARIANT)];
	char global_b64[sodium_base64_ENCODED_LEN(SIG_SIZE, B64_VARIANT)];
	size_t tc_len = strlen(trusted_comment);
	int n;

	if (tc_len > OD_MINISIGN_COMMENT_MAX || strchr(trusted_comment, '\n') != NULL)
		return -1;
	if (crypto_sign_ed25519_sk_to_pk(pk, sk) != 0)
		return -1;
	od_minisign_keyid(pk, bin + ALG_SIZE);
	crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
	if (crypto_sign_detached(bin + ALG_SIZE + OD_MINISIGN_KEYID_SIZE, NULL, hash, sizeof(hash), sk) != 0)
		return -1;
	memcpy(signed_tc, bin + ALG_SIZE + OD_MINISIGN_KEYID_SIZE, SIG_SIZE);
	memcpy(signed_tc + SIG_SIZE, trusted_comment, tc_len);
	if (crypto_sign_detached(global, NULL, signed_tc, SIG_SIZE + tc_len, sk) != 0)
		return -1;
	sodium_bin2base64(sig_b64, sizeof(sig_b64), bin, sizeof(bin), B64_VARIANT);
	sodium_bin2base64(global_b64, sizeof(global_b64), global, sizeof(global), B64_VARIANT);
	n = snprintf(out, OD_MINISIGN_SIG_TEXT_SIZE,
	             UNTRUSTED_PREFIX "signature from komposter server key %016" PRIX64 "\n%s\n" TRUSTED_PREFIX
	                              "%s\n%s\n",
	             keyid_number(bin + ALG_SIZE), sig_b64, trusted_comment, global_b64);
	return n > 0 && n < OD_MINISIGN_SIG_TEXT_SIZE ? 0 : -1;
}

/* The next line of *p (without its "\n"), advancing *p; NULL at the end. */
static const char *next_line(const char **p, size_t *len)
{
	const char *line = *p, *nl;

	if (*line == '\0')
		return NULL;
	nl = strchr(line, '\n');
	*len = nl ? (size_t)(nl - line) : strlen(line);
	*p = nl ? nl + 1 : line + *len;
	return line;
}

#define WHY(...) (snprintf(why, OD_MINISIGN_WHY_SIZE, __VA_ARGS__), -1)

int od_minisign_verify(const uint8_t pk[OD_MINISIGN_PK_SIZE], const uint8_t *key_id, const uint8_t *msg,
                       size_t len, const char *sig_text, char why[OD_MINISIGN_WHY_SIZE])
{
	uint8_t bin[SIG_BIN_SIZE], id[OD_MINISIGN_KEYID_SIZE], hash[PREHASH_SIZE], global[SIG_SIZE];
	uint8_t signed_tc[SIG_SIZE + OD_MINISIGN_COMMENT_MAX];
	const char *p = sig_text, *line[4];
	size_t n[4], tc_len;
	const uint8_t *sig = bin + ALG_SIZE + OD_MINISIGN_KEYID_SIZE;
	int rc;

	for (int i = 0; i < 4; i++)
		if ((line[i] = next_line(&p, &n[i])) == NULL)
			return WHY("not a minisign signature: %d lines, not 4", i);
	if (strncmp(line[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0 ||
	    strncmp(line[2], TRUSTED_PREFIX, strlen(TRUSTED_PREFIX)) != 0)
		return WHY("not a minisign signature: no untrusted or trusted comment line");
	if (b64_line(line[1], bin, sizeof(bin)) != 0)
		return WHY("the signature line is not base64 of %d bytes", SIG_BIN_SIZE);
	if (key_id != NULL)
		memcpy(id, key_id, sizeof(id));
	else
		od_minisign_keyid(pk, id);
	if (memcmp(bin + ALG_SIZE, id, sizeof(id)) != 0)
		return WHY("signed by key %016" PRIX64 ", not by the given key %016" PRIX64,
		           keyid_number(bin + ALG_SIZE), keyid_number(id));
	if (bin[0] == 'E' && bin[1] == 'D') {
		crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
		rc = crypto_sign_verify_detached(sig, hash, sizeof(hash), pk);
	} else if (bin[0] == 'E' && bin[1] == 'd') {
		rc = crypto_sign_verify_detached(sig, msg, len, pk);
	} else {
		return WHY("unknown signature algorithm '%c%c'", bin[0], bin[1]);
	}
	if (rc != 0)
		return WHY("the signature does not verify: the file was changed or signed by another key");
	tc_len = n[2] - strlen(TRUSTED_PREFIX);
	if (tc_len > OD_MINISIGN_COMMENT_MAX)
		return WHY("the trusted comment is longer than %d bytes", OD_MINISIGN_COMMENT_MAX);
	if (b64_line(line[3], global, sizeof(global)) != 0)
		return WHY("the global signature line is not base64 of %d bytes", SIG_SIZE);
	memcpy(signed_tc, sig, SIG_SIZE);
	memcpy(signed_tc + SIG_SIZE, line[2] + strlen(TRUSTED_PREFIX), tc_len);
	if (crypto_sign_verify_detached(global, signed_tc, SIG_SIZE + tc_len, pk) != 0)
		return WHY("the trusted comment's signature does not verify: the comment was changed");
	return 0;
}
