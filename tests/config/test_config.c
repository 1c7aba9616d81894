/* Description: the INI config has working defaults, reads every section,
 * and refuses unknown keys and out-of-range values with the line number. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static char path[64];

static void write_config(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/kp-config-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(config, defaults_serve_one_machine)
{
	struct kp_config c;
	kp_config_default(&c);
	cr_expect_str_eq(c.storage_path, "./data");
	cr_expect_str_eq(c.mqtt_uri, "tcp://127.0.0.1:1883");
	cr_expect_str_eq(c.http_listen, "127.0.0.1:8080");
	cr_expect_eq(c.service_day_start_hour, 3);
	cr_expect_gt(c.group_max_frames, 0);
}

Test(config, values_from_every_section_are_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	write_config("[storage]\npath = /var/lib/komposter\npseudonym_epoch = week\n"
	             "[mqtt]\nuri = tcp://broker:1883\n[ingest]\ngroup_max_frames = 64\n"
	             "[http]\nlisten = 0.0.0.0:9000\n");
	kp_config_default(&c);
	cr_assert_eq(kp_config_load(path, &c, err), 0, "%s", err);
	cr_expect_str_eq(c.storage_path, "/var/lib/komposter");
	cr_expect_eq(c.pseudonym_epoch, ST_EPOCH_WEEK);
	cr_expect_str_eq(c.mqtt_uri, "tcp://broker:1883");
	cr_expect_eq(c.group_max_frames, 64);
	cr_expect_str_eq(c.http_listen, "0.0.0.0:9000");
	unlink(path);
}

Test(config, an_unknown_key_is_an_error_naming_the_line)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	write_config("[mqtt]\nuri = tcp://x:1\nclientid = typo\n");
	kp_config_default(&c);
	cr_assert_eq(kp_config_load(path, &c, err), -1);
	cr_expect(strstr(err, ":3:") != NULL, "%s", err);
	cr_expect(strstr(err, "clientid") != NULL, "%s", err);
	unlink(path);
}

Test(config, a_value_out_of_range_is_an_error)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	write_config("[storage]\nservice_day_start_hour = 24\n");
	kp_config_default(&c);
	cr_assert_eq(kp_config_load(path, &c, err), -1);
	cr_expect(strstr(err, "service_day_start_hour") != NULL, "%s", err);
	unlink(path);
}

Test(config, a_missing_file_is_an_error)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	kp_config_default(&c);
	cr_assert_eq(kp_config_load("/nonexistent/komposterd.ini", &c, err), -1);
	cr_expect(strstr(err, "No such file") != NULL, "%s", err);
}
