/*
 * signed_file.c — a file and its FILE.minisig (signed_file.h).
 */
#include "opendata/signed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes text into path, created exclusively. */
static int create_with(const char *path, const char *text, char err[OD_ERR_SIZE])
{
	FILE *f = fopen(path, "wx");
	int ok;

	if (f == NULL) {
		snprintf(err, OD_ERR_SIZE, "%.200s: cannot create (it may exist already)", path);
		return -1;
	}
	ok = fputs(text, f) >= 0;
	if (fclose(f) != 0 || !ok) {
		snprintf(err, OD_ERR_SIZE, "%.200s: write failed", path);
		return -1;
	}
	return 0;
}

static int sig_path_of(const char *path, char *out, size_t cap, char err[OD_ERR_SIZE])
{
	if (snprintf(out, cap, "%s%s", path, OD_SIGNED_SUFFIX) >= (int)cap) {
		snprintf(err, OD_ERR_SIZE, "%.200s: path too long", path);
		return -1;
	}
	return 0;
}

int od_signed_write(const char *path, const char *text, const char *comment, const uint8_t sk[OD_MINISIGN_SK_SIZE],
                    char err[OD_ERR_SIZE])
{
	char sig[OD_MINISIGN_SIG_TEXT_SIZE], sig_path[4096];

	if (sig_path_of(path, sig_path, sizeof(sig_path), err) != 0)
		return -1;
	if (od_minisign_sign(sk, (const uint8_t *)text, strlen(text), comment, sig) != 0) {
		snprintf(err, OD_ERR_SIZE, "%.200s: signing failed", path);
		return -1;
	}
	if (create_with(path, text, err) != 0 || create_with(sig_path, sig, err) != 0)
		return -1;
	return 0;
}

/* The whole file, NUL-terminated; NULL when unreadable or over max bytes.
 * Sized by the file, so a large max (a partial's 256 MiB) costs nothing. */
static char *read_whole(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && (unsigned long)size <= max &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
		if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
			*len = (size_t)size;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int od_signed_read(const char *path, size_t max, const uint8_t (*pks)[OD_MINISIGN_PK_SIZE], size_t npk,
                   char **text, size_t *len, char err[OD_ERR_SIZE])
{
	char sig_path[4096], why[OD_MINISIGN_WHY_SIZE] = "no public key given";
	size_t sig_len;
	char *sig;

	*text = NULL;
	if (sig_path_of(path, sig_path, sizeof(sig_path), err) != 0)
		return -1;
	sig = read_whole(sig_path, OD_MINISIGN_SIG_TEXT_SIZE, &sig_len);
	if (sig == NULL) {
		snprintf(err, OD_ERR_SIZE, "%.120s: no readable signature %.100s", path, sig_path);
		return -1;
	}
	*text = read_whole(path, max, len);
	if (*text == NULL) {
		free(sig);
		snprintf(err, OD_ERR_SIZE, "%.160s: cannot read it (or it is too big)", path);
		return -1;
	}
	for (size_t i = 0; i < npk; i++) {
		uint8_t id[OD_MINISIGN_KEYID_SIZE];

		od_minisign_keyid(pks[i], id);
		if (od_minisign_verify(pks[i], id, (const uint8_t *)*text, *len, sig, why) == 0) {
			free(sig);
			return 0;
		}
	}
	free(sig);
	free(*text);
	*text = NULL;
	snprintf(err, OD_ERR_SIZE, "%.80s: signature does not hold: %.140s", path, why);
	return -1;
}
