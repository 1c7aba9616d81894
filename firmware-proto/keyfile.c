/*
 * keyfile.c — Ed25519 key files.
 *
 * A key file is one line of hex, nothing else, so an operator can read it,
 * copy it and compare it by eye. Every file is written atomically: the bytes
 * go to a temporary file in the same directory (mkstemp, so it is 0600 from
 * the first byte), are fsynced, and the temporary file then takes the final
 * name. Without `force` that last step is link()+unlink(), which fails with
 * EEXIST instead of replacing a key someone made in the meantime; with
 * `force` it is rename(). The directory is fsynced afterwards so the new
 * name survives a crash. A reader therefore sees either no file, the old
 * file or the whole new one, never half a key.
 *
 * Reading a secret key also checks that its second half is the public key of
 * its first half (libsodium's layout: seed ‖ public key), which catches a
 * file that was edited or damaged by hand.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hex.h"

#define PUBLIC_SUFFIX ".pub"
#define SECRET_MODE 0600
#define PUBLIC_MODE 0644
/* The longest key file we accept: 128 digits, "\r\n", and some slack. */
#define KEYFILE_READ_MAX 160

static void set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, KP_KEYFILE_ERR_SIZE, fmt, ap);
	va_end(ap);
}

/* fsync of the directory holding path, so a rename or link is durable. */
static int sync_parent_dir(const char *path, char *err)
{
	char *copy = strdup(path);
	int fd = -1, rc = -1;

	if (copy == NULL) {
		set_err(err, "%s: out of memory", path);
		return -1;
	}
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, "%s: open directory: %s", path, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		set_err(err, "%s: fsync directory: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes text into a fresh temporary file beside path; tmp receives its name. */
static int write_temp(const char *path, const char *text, mode_t mode, char *tmp,
                      size_t tmp_size, char *err)
{
	int fd;

	if ((size_t)snprintf(tmp, tmp_size, "%s.tmp.XXXXXX", path) >= tmp_size) {
		set_err(err, "%s: path too long", path);
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		set_err(err, "%s: create: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		set_err(err, "%s: write: %s", tmp, strerror(errno));
		goto err;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_err(err, "%s: close: %s", tmp, strerror(errno));
		goto err;
	}
	return 0;
err:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Puts the temporary file in place: replacing path only when force. */
static int install_temp(const char *tmp, const char *path, int force, char *err)
{
	if (force) {
		if (rename(tmp, path) != 0) {
			set_err(err, "%s: rename: %s", path, strerror(errno));
			goto err;
		}
		return 0;
	}
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			set_err(err, "%s: exists (use --force to replace it)", path);
		else
			set_err(err, "%s: %s", path, strerror(errno));
		goto err;
	}
	unlink(tmp);
	return 0;
err:
	unlink(tmp);
	return -1;
}

static int write_atomic(const char *path, const char *text, mode_t mode, int force, char *err)
{
	size_t tmp_size = strlen(path) + sizeof(".tmp.XXXXXX");
	char *tmp = malloc(tmp_size);
	int rc = -1;

	if (tmp == NULL) {
		set_err(err, "%s: out of memory", path);
		return -1;
	}
	if (write_temp(path, text, mode, tmp, tmp_size, err) != 0)
		goto out;
	if (install_temp(tmp, path, force, err) != 0)
		goto out;
	rc = sync_parent_dir(path, err);
out:
	free(tmp);
	return rc;
}

int kp_keyfile_write_secret(const char *path, const uint8_t sk[KP_SECRET_KEY_SIZE], int force,
                            char *err)
{
	char text[2 * KP_SECRET_KEY_SIZE + 2];
	int rc;

	kp_hex_encode(sk, KP_SECRET_KEY_SIZE, text);
	text[2 * KP_SECRET_KEY_SIZE] = '\n';
	text[2 * KP_SECRET_KEY_SIZE + 1] = '\0';
	rc = write_atomic(path, text, SECRET_MODE, force, err);
	sodium_memzero(text, sizeof(text));
	return rc;
}

static int write_public(const char *path, const uint8_t pk[KP_PUBLIC_KEY_SIZE], char *err)
{
	char text[2 * KP_PUBLIC_KEY_SIZE + 2];
	char *pub_path = malloc(strlen(path) + sizeof(PUBLIC_SUFFIX));
	int rc;

	if (pub_path == NULL) {
		set_err(err, "%s: out of memory", path);
		return -1;
	}
	strcpy(pub_path, path);
	strcat(pub_path, PUBLIC_SUFFIX);
	kp_hex_encode(pk, KP_PUBLIC_KEY_SIZE, text);
	text[2 * KP_PUBLIC_KEY_SIZE] = '\n';
	text[2 * KP_PUBLIC_KEY_SIZE + 1] = '\0';
	rc = write_atomic(pub_path, text, PUBLIC_MODE, 1, err);
	free(pub_path);
	return rc;
}

int kp_keyfile_generate(const char *path, int force, uint8_t pk[KP_PUBLIC_KEY_SIZE], char *err)
{
	uint8_t sk[KP_SECRET_KEY_SIZE];
	int rc = -1;

	if (sodium_init() < 0) {
		set_err(err, "libsodium failed to initialise");
		return -1;
	}
	if (crypto_sign_keypair(pk, sk) != 0) {
		set_err(err, "key generation failed");
		goto out;
	}
	if (kp_keyfile_write_secret(path, sk, force, err) != 0)
		goto out;
	rc = write_public(path, pk, err);
out:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* A secret key others can read is a leaked key: refuse it, as ssh does,
 * rather than sign with it and say nothing. */
static int check_private(FILE *f, const char *path, char *err)
{
	struct stat sb;

	if (fstat(fileno(f), &sb) != 0) {
		set_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		set_err(err, "%s: secret key is open to other users (mode %04o); run chmod 600 %s", path,
		        (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Reads the single hex line of a key file into text (NUL-terminated, the
 * line end and trailing blanks removed); a secret one must be private. */
static int read_hex_line(const char *path, int secret, char *text, size_t size, char *err)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		set_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (secret && check_private(f, path, err) != 0) {
		fclose(f);
		return -1;
	}
	n = fread(text, 1, size - 1, f);
	if (ferror(f)) {
		set_err(err, "%s: read: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	return 0;
}

static int secret_is_consistent(const uint8_t sk[KP_SECRET_KEY_SIZE])
{
	uint8_t pk[KP_PUBLIC_KEY_SIZE], sk2[KP_SECRET_KEY_SIZE];
	int ok;

	if (crypto_sign_seed_keypair(pk, sk2, sk) != 0)
		return 0;
	ok = sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, KP_PUBLIC_KEY_SIZE) == 0;
	sodium_memzero(sk2, sizeof(sk2));
	return ok;
}

int kp_keyfile_read_secret(const char *path, uint8_t sk[KP_SECRET_KEY_SIZE], char *err)
{
	char text[KEYFILE_READ_MAX];
	int rc = -1;

	if (sodium_init() < 0) {
		set_err(err, "libsodium failed to initialise");
		return -1;
	}
	if (read_hex_line(path, 1, text, sizeof(text), err) != 0)
		goto out;
	if (kp_hex_decode(text, sk, KP_SECRET_KEY_SIZE) != 0) {
		sodium_memzero(sk, KP_SECRET_KEY_SIZE);
		set_err(err, "%s: not a secret key (expected %d hex digits)", path,
		        2 * KP_SECRET_KEY_SIZE);
		goto out;
	}
	if (!secret_is_consistent(sk)) {
		sodium_memzero(sk, KP_SECRET_KEY_SIZE);
		set_err(err, "%s: damaged secret key (public half does not match)", path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, sizeof(text));
	return rc;
}

int kp_keyfile_read_public(const char *path, uint8_t pk[KP_PUBLIC_KEY_SIZE], char *err)
{
	char text[KEYFILE_READ_MAX];

	if (read_hex_line(path, 0, text, sizeof(text), err) != 0)
		return -1;
	if (kp_hex_decode(text, pk, KP_PUBLIC_KEY_SIZE) != 0) {
		set_err(err, "%s: not a public key (expected %d hex digits)", path,
		        2 * KP_PUBLIC_KEY_SIZE);
		return -1;
	}
	return 0;
}
