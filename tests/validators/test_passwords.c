/*
 * Description: validator-sim's --broker-passwords file, "<16 hex id>:<password>"
 * lines as mosquitto_passwd -U takes them, gives each device its password
 * exactly (colons and spaces included), and a line mosquitto_passwd would
 * not take, or a device twice, is refused with the line's number.
 */
#include "tests/validators/tmpdir.h"

#include <string.h>

#include "validators/device.h"
#include "validators/passwords.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	vd_tmpdir_make(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/passwords.txt", dir);
}

static void teardown(void)
{
	vd_tmpdir_remove(dir);
}

TestSuite(passwords, .init = setup, .fini = teardown);

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
}

/* Reads path and expects a refusal whose message holds `why`. */
static void expect_refused(const char *why)
{
	struct vd_passwords *p = NULL;
	char err[VD_PASSWORDS_ERR_SIZE];

	cr_expect_eq(vd_passwords_read(path, &p, err), -1, "accepted a bad file");
	cr_expect_null(p);
	cr_expect_not_null(strstr(err, why), "'%s' does not say '%s'", err, why);
}

Test(passwords, each_device_gets_its_password_to_the_end_of_its_line)
{
	struct vd_passwords *p = NULL;
	char err[VD_PASSWORDS_ERR_SIZE];

	write_file("00000000000000b2:second\n"
	           "00000000000000a1:with:colons and spaces \n"
	           "ffffffffffffffff:last line without a newline");
	cr_assert_eq(vd_passwords_read(path, &p, err), 0, "%s", err);
	cr_expect_str_eq(vd_passwords_find(p, 0xa1), "with:colons and spaces ");
	cr_expect_str_eq(vd_passwords_find(p, 0xb2), "second");
	cr_expect_str_eq(vd_passwords_find(p, UINT64_MAX), "last line without a newline");
	cr_expect_null(vd_passwords_find(p, 0xa2), "a device without a line has no password");
	vd_passwords_free(p);
}

Test(passwords, an_id_not_in_topic_form_is_refused_with_its_line)
{
	write_file("00000000000000a1:ok\na1:short\n");
	expect_refused(":2:");
	write_file("00000000000000A1:upper case\n");
	expect_refused(":1:");
	write_file("0000000000000000:zero is no device\n");
	expect_refused(":1:");
}

Test(passwords, blank_lines_and_empty_passwords_are_refused_like_mosquitto_passwd)
{
	write_file("00000000000000a1:ok\n\n00000000000000a2:ok\n");
	expect_refused(":2:");
	write_file("00000000000000a1:\n");
	expect_refused("empty password");
	write_file("");
	expect_refused("no passwords");
}

Test(passwords, a_device_twice_is_refused)
{
	write_file("00000000000000a1:one\n00000000000000a2:x\n00000000000000a1:two\n");
	expect_refused("00000000000000a1 appears twice");
}

Test(passwords, a_password_longer_than_the_client_takes_is_refused)
{
	char text[VD_BROKER_PASSWORD_MAX + 32];
	int n = snprintf(text, sizeof text, "00000000000000a1:");

	memset(text + n, 'x', VD_BROKER_PASSWORD_MAX + 1);
	text[n + VD_BROKER_PASSWORD_MAX + 1] = '\0';
	write_file(text);
	expect_refused("longer than");
}
