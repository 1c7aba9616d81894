/* libFuzzer target: minisign's public key and signature files as
 * `komposter verify` reads them from a downloaded package (od_minisign_*
 * on arbitrary text). Must never crash, and never accept a signature: the
 * key is fixed and no input was signed with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "opendata/minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t msg[] = "datapackage.json";
	uint8_t seed[crypto_sign_SEEDBYTES] = { 0 }, pk[OD_MINISIGN_PK_SIZE], sk[OD_MINISIGN_SK_SIZE];
	uint8_t parsed[OD_MINISIGN_PK_SIZE], parsed_id[OD_MINISIGN_KEYID_SIZE];
	char why[OD_MINISIGN_WHY_SIZE];
	char *text = malloc(size + 1);

	if (!text || sodium_init() < 0) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	crypto_sign_seed_keypair(pk, sk, seed);
	(void)od_minisign_pub_parse(text, parsed, parsed_id);
	if (od_minisign_verify(pk, NULL, msg, sizeof(msg) - 1, text, why) == 0)
		abort();
	free(text);
	return 0;
}
