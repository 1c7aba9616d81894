/*
 * Description: `komposter keygen FILE` writes the secret key (0600) and
 * FILE.pub, prints the public key, and the public key is the secret key's;
 * an existing key is replaced only with --force, and no temporary file is
 * left behind.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "harness.h"
#include "firmware-proto/hex.h"
#include "firmware-proto/keyfile.h"

static char dir[64];

static void setup(void)
{
	cr_assert_eq(sodium_init() >= 0, 1);
	cr_assert_eq(tools_scratch_make(dir), 0);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(keygen, .init = setup, .fini = teardown);

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_not_null(fgets(buf, (int)size, f));
	fclose(f);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s missing", path);
	return st.st_mode & 0777;
}

static size_t files_in(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(keygen, writes_secret_0600_and_matching_public_key)
{
	char key[128], pub[128], line[256];
	uint8_t sk[KP_SECRET_KEY_SIZE], pk[KP_PUBLIC_KEY_SIZE], derived[KP_PUBLIC_KEY_SIZE];
	struct tools_run r;

	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(pub, sizeof(pub), "%s/server.key.pub", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(file_mode(key), 0600);
	cr_assert_eq(file_mode(pub), 0644);
	cr_assert_eq(files_in(dir), 2, "temporary files left behind");

	read_line(key, line, sizeof(line));
	cr_assert_eq(strlen(line), 129);
	line[128] = '\0';
	cr_assert_eq(kp_hex_decode(line, sk, sizeof(sk)), 0);
	crypto_sign_ed25519_sk_to_pk(derived, sk);

	read_line(pub, line, sizeof(line));
	cr_assert_eq(strlen(line), 65);
	cr_assert_str_eq(r.out, line, "stdout is not the public key line");
	line[64] = '\0';
	cr_assert_eq(kp_hex_decode(line, pk, sizeof(pk)), 0);
	cr_assert_eq(memcmp(pk, derived, sizeof(pk)), 0, "public key does not match the secret key");
	tools_run_free(&r);
}

Test(keygen, refuses_to_replace_a_key_without_force)
{
	char key[128], before[256], after[256];
	struct tools_run r;

	snprintf(key, sizeof(key), "%s/dev.key", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0);
	tools_run_free(&r);
	read_line(key, before, sizeof(before));

	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(strncmp(r.err, "komposter: keygen: ", 19), 0, "stderr: %s", r.err);
	cr_assert_eq(tools_count_lines(r.err), 1);
	cr_assert_eq(r.out_len, 0);
	tools_run_free(&r);
	read_line(key, after, sizeof(after));
	cr_assert_str_eq(before, after);
	cr_assert_eq(files_in(dir), 2, "temporary files left behind");

	cr_assert_eq(tools_run(&r, "keygen", "--force", key, NULL), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	tools_run_free(&r);
	read_line(key, after, sizeof(after));
	cr_assert_str_neq(before, after, "--force did not make a new key");
	cr_assert_eq(file_mode(key), 0600);
}

Test(keygen, the_secret_key_reads_back_with_the_library)
{
	char key[128], pubpath[128];
	uint8_t sk[KP_SECRET_KEY_SIZE], pk[KP_PUBLIC_KEY_SIZE];
	char err[KP_KEYFILE_ERR_SIZE];
	struct tools_run r;

	snprintf(key, sizeof(key), "%s/k", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/k.pub", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0);
	tools_run_free(&r);
	cr_assert_eq(kp_keyfile_read_secret(key, sk, err), 0, "%s", err);
	cr_assert_eq(kp_keyfile_read_public(pubpath, pk, err), 0, "%s", err);
	cr_assert_eq(memcmp(sk + crypto_sign_SEEDBYTES, pk, sizeof(pk)), 0);
	cr_assert_neq(kp_keyfile_read_public(key, pk, err), 0, "a secret key read as public");
}

Test(keygen, a_secret_key_open_to_others_is_refused_with_the_fix)
{
	char key[128];
	uint8_t sk[KP_SECRET_KEY_SIZE];
	char err[KP_KEYFILE_ERR_SIZE];
	struct tools_run r;

	snprintf(key, sizeof(key), "%s/k", dir);
	cr_assert_eq(tools_run(&r, "keygen", key, NULL), 0);
	cr_assert_eq(r.status, 0);
	tools_run_free(&r);
	cr_assert_eq(chmod(key, 0644), 0);
	cr_expect_neq(kp_keyfile_read_secret(key, sk, err), 0, "a world-readable secret key was accepted");
	cr_expect(strstr(err, "mode 0644") != NULL && strstr(err, "chmod 600") != NULL, "%s", err);
	cr_assert_eq(chmod(key, 0640), 0);
	cr_expect_neq(kp_keyfile_read_secret(key, sk, err), 0, "a group-readable secret key was accepted");
	cr_assert_eq(chmod(key, 0600), 0);
	cr_expect_eq(kp_keyfile_read_secret(key, sk, err), 0, "%s", err);
}
