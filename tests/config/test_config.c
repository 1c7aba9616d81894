/* Description: the INI config has working defaults, reads every section,
 * and refuses unknown keys and out-of-range values with the line number. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ingest/loop.h" /* KP_LOOP_MAX_CONNECTIONS */

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

/* Loads text as a file; returns kp_config_load's result, err filled. */
static int load_text(const char *text, char err[KP_CONFIG_ERR_SIZE])
{
	struct kp_config c;

	write_config(text);
	kp_config_default(&c);
	int rc = kp_config_load(path, &c, err);
	unlink(path);
	return rc;
}

Test(config, a_listen_address_that_cannot_be_bound_is_an_error)
{
	char err[KP_CONFIG_ERR_SIZE];
	cr_assert_eq(load_text("[http]\nlisten = nonsense\n", err), -1);
	cr_expect(strstr(err, "[http] listen") != NULL, "%s", err);
	cr_assert_eq(load_text("[http]\nlisten = 127.0.0.1:99999\n", err), -1);
	cr_assert_eq(load_text("[http]\nlisten = 127.0.0.1:\n", err), -1);
	cr_assert_eq(load_text("[http]\nlisten = 127.0.0.1:8080\n", err), 0, "%s", err);
}

Test(config, a_broker_uri_paho_would_retry_forever_is_an_error)
{
	char err[KP_CONFIG_ERR_SIZE];
	const char *bad[] = { "nonsense", "tcp://", "tcp://:1883", "tcp://host:0", "tcp://host:x",
		              "http://host:1883", "ssl://host:8883" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[mqtt]\nuri = %s\n", bad[i]);
		cr_expect_eq(load_text(text, err), -1, "%s accepted", bad[i]);
		cr_expect(strstr(err, "[mqtt] uri") != NULL, "%s: %s", bad[i], err);
	}
	cr_expect_eq(load_text("[mqtt]\nuri = tcp://broker.example:1883\n", err), 0, "%s", err);
	cr_expect_eq(load_text("[mqtt]\nuri = mqtt://10.0.0.1\n", err), 0, "%s", err);
	cr_expect_eq(load_text("[mqtt]\nuri = ws://broker:9001/mqtt\n", err), 0, "%s", err);
}

Test(config, a_directory_is_not_a_config_file)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	kp_config_default(&c);
	cr_assert_eq(kp_config_load("/tmp", &c, err), -1);
	cr_expect(strstr(err, "a directory") != NULL, "%s", err);
}

Test(config, a_key_set_twice_is_an_error_naming_both_lines)
{
	char err[KP_CONFIG_ERR_SIZE];
	cr_assert_eq(load_text("[storage]\npath = /a\n\n[storage]\npath = /b\n", err), -1);
	cr_expect(strstr(err, ":5:") != NULL, "%s", err);
	cr_expect(strstr(err, "first on line 2") != NULL, "%s", err);
}

Test(config, an_unknown_section_is_an_error_even_when_empty)
{
	char err[KP_CONFIG_ERR_SIZE];
	cr_assert_eq(load_text("[storage]\npath = /a\n[stroage]\n", err), -1);
	cr_expect(strstr(err, ":3:") != NULL, "%s", err);
	cr_expect(strstr(err, "stroage") != NULL, "%s", err);
}

Test(config, quoted_values_are_refused_not_taken_with_their_quotes)
{
	char err[KP_CONFIG_ERR_SIZE];
	cr_assert_eq(load_text("[storage]\npath = \"/var/lib/komposter\"\n", err), -1);
	cr_expect(strstr(err, "without quotes") != NULL, "%s", err);
	cr_assert_eq(load_text("[storage]\npath = '/var/lib/komposter'\n", err), -1);
}

Test(config, with_several_errors_the_first_is_named_by_its_own_line)
{
	char err[KP_CONFIG_ERR_SIZE];
	cr_assert_eq(load_text("[mqtt]\nuri = tcp://x:1\nclientid = a\n[http]\nmax_connections = 0\n"
	                       "nonsense line\n", err), -1);
	cr_expect(strstr(err, ":3: unknown key 'clientid'") != NULL, "%s", err);
	cr_expect(strstr(err, "more error") != NULL, "%s", err);
	/* A syntax error before a key error is the one reported. */
	cr_assert_eq(load_text("[mqtt]\nnot a pair\nclientid = a\n", err), -1);
	cr_expect(strstr(err, ":2:") != NULL, "%s", err);
}

Test(config, a_line_too_long_to_read_whole_is_an_error_not_two_lines)
{
	char text[1024], err[KP_CONFIG_ERR_SIZE];
	int n = snprintf(text, sizeof(text), "[storage]\npath = /");
	memset(text + n, 'x', 600);
	snprintf(text + n + 600, sizeof(text) - (size_t)n - 600, "\n");
	cr_assert_eq(load_text(text, err), -1);
	cr_expect(strstr(err, ":2: line longer than") != NULL, "%s", err);
}

Test(config, a_time_zone_the_tz_database_does_not_know_is_an_error)
{
	char err[KP_CONFIG_ERR_SIZE];
	const char *bad[] = { "Europe", "Europe/Kyiv2", "/etc/localtime", "../zoneinfo/UTC", "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[storage]\ntimezone = %s\n", bad[i]);
		cr_expect_eq(load_text(text, err), -1, "'%s' accepted", bad[i]);
		cr_expect(strstr(err, "[storage] timezone") != NULL, "%s: %s", bad[i], err);
	}
	cr_expect_eq(load_text("[storage]\ntimezone = Europe/Kyiv\n", err), 0, "%s", err);
	cr_expect_eq(load_text("[storage]\ntimezone = UTC\n", err), 0, "%s", err);
}

Test(config, frigate_defaults_take_frigates_own_prefix)
{
	struct kp_config c;
	kp_config_default(&c);
	cr_expect_eq(c.frigate_enabled, 1);
	cr_expect_str_eq(c.frigate_topic_prefix, "frigate");
	cr_expect_eq(c.frigate_offline_alarm_s, 300);
	cr_expect_eq(c.frigate_counted_max, 200000);
	cr_expect_gt(c.frigate_group_max_events, 0);
	cr_expect_gt(c.frigate_ring_size, 0);
	cr_expect_eq(c.frigate_position_max_age_s, 600);
}

Test(config, frigate_keys_are_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[frigate]\nenabled = false\ntopic_prefix = site/nvr1\n"
	                                    "ring_size = 64\noffline_alarm_s = 1\ncounted_max = 10\n"
	                                    "group_max_events = 8\ngroup_max_wait_ms = 0\nposition_max_age_s = 90\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.frigate_enabled, 0);
	cr_expect_str_eq(c.frigate_topic_prefix, "site/nvr1");
	cr_expect_eq(c.frigate_ring_size, 64);
	cr_expect_eq(c.frigate_offline_alarm_s, 1);
	cr_expect_eq(c.frigate_counted_max, 10);
	cr_expect_eq(c.frigate_group_max_events, 8);
	cr_expect_eq(c.frigate_group_max_wait_ms, 0);
	cr_expect_eq(c.frigate_position_max_age_s, 90);
}

static void expect_refused_on_line(const char *text, const char *line, const char *word)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string(text, &c, err), -1, "accepted: %s", text);
	cr_expect(strstr(err, line) != NULL, "%s: %s", text, err);
	cr_expect(strstr(err, word) != NULL, "%s: %s", text, err);
}

Test(config, a_frigate_value_out_of_range_is_an_error_naming_the_line)
{
	expect_refused_on_line("[frigate]\nenabled = yes\n", ":2:", "enabled");
	expect_refused_on_line("[frigate]\n\noffline_alarm_s = 0\n", ":3:", "offline_alarm_s");
	expect_refused_on_line("[frigate]\ncounted_max = 0\n", ":2:", "counted_max");
	expect_refused_on_line("[frigate]\ngroup_max_events = 0\n", ":2:", "group_max_events");
	expect_refused_on_line("[frigate]\ngroup_max_wait_ms = -1\n", ":2:", "group_max_wait_ms");
	expect_refused_on_line("[frigate]\nring_size = 1\n", ":2:", "ring_size");
	expect_refused_on_line("[frigate]\nposition_max_age_s = 0\n", ":2:", "position_max_age_s");
	expect_refused_on_line("[frigate]\nposition_max_age_s = 86401\n", ":2:", "position_max_age_s");
}

Test(config, a_frigate_topic_prefix_with_a_wildcard_or_empty_level_is_an_error)
{
	static const char *const bad[] = { "frigate/#", "fri+gate", "/frigate", "frigate/", "a//b",
		                           "$SYS", "two words" };
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[frigate]\ntopic_prefix = %s\n", bad[i]);
		expect_refused_on_line(text, ":2:", "topic_prefix");
	}
}

Test(config, open_data_defaults_suppress_below_ten_without_noise)
{
	struct kp_config c;

	kp_config_default(&c);
	cr_expect_eq(c.open_data_k, 10);
	cr_expect_eq(c.open_data_epsilon, 0);
}

Test(config, open_data_keys_are_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[open_data]\nk = 5\nepsilon = 0.5\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.open_data_k, 5);
	cr_expect_eq(c.open_data_epsilon, 0.5);
	cr_assert_eq(kp_config_parse_string("[open_data]\nepsilon = off\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.open_data_epsilon, 0);
}

Test(config, an_open_data_value_out_of_range_is_an_error_naming_the_line)
{
	expect_refused_on_line("[open_data]\nk = 1\n", ":2:", "k");
	expect_refused_on_line("[open_data]\n\nk = ten\n", ":3:", "k");
	expect_refused_on_line("[open_data]\nepsilon = 0\n", ":2:", "epsilon");
	expect_refused_on_line("[open_data]\nepsilon = -1\n", ":2:", "epsilon");
	expect_refused_on_line("[open_data]\nepsilon = 11\n", ":2:", "epsilon");
	expect_refused_on_line("[open_data]\nepsilon = 1e\n", ":2:", "epsilon");
	expect_refused_on_line("[open_data]\nepsilon = nan\n", ":2:", "epsilon");
}

Test(config, the_partition_defaults_to_one_instance_owning_every_device_and_is_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect(c.mqtt_partition.k == 0 && c.mqtt_partition.n == 1);
	cr_assert_eq(kp_config_parse_string("[mqtt]\npartition = 2/3\n", &c, err), 0, "%s", err);
	cr_expect(c.mqtt_partition.k == 2 && c.mqtt_partition.n == 3);
}

Test(config, the_registry_resync_period_defaults_to_2_s_and_is_read_within_1_to_86400)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.mqtt_resync_s, 2);
	cr_assert_eq(kp_config_parse_string("[mqtt]\nresync_s = 3600\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.mqtt_resync_s, 3600);
	expect_refused_on_line("[mqtt]\nresync_s = 0\n", ":2:", "resync_s");
	expect_refused_on_line("[mqtt]\n\nresync_s = 86401\n", ":3:", "resync_s");
}

Test(config, a_partition_that_is_not_k_of_n_is_an_error_naming_the_line)
{
	expect_refused_on_line("[mqtt]\npartition = 3/3\n", ":2:", "partition");
	expect_refused_on_line("[mqtt]\npartition = 4/3\n", ":2:", "partition");
	expect_refused_on_line("[mqtt]\n\npartition = 0/0\n", ":3:", "partition");
	expect_refused_on_line("[mqtt]\npartition = half\n", ":2:", "partition");
	expect_refused_on_line("[mqtt]\npartition = 1/3x\n", ":2:", "partition");
	expect_refused_on_line("[mqtt]\npartition = 1\n", ":2:", "partition");
}

Test(config, the_pseudonym_retention_is_ninety_days_unless_set_and_zero_is_refused)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.pseudonym_retention_days, 90);
	write_config("[storage]\npseudonym_retention_days = 35\n");
	cr_assert_eq(kp_config_load(path, &c, err), 0, "%s", err);
	cr_expect_eq(c.pseudonym_retention_days, 35);
	unlink(path);
	const char *bad[] = {"0", "3651", "-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[80];

		snprintf(text, sizeof text, "[storage]\npseudonym_retention_days = %s\n", bad[i]);
		write_config(text);
		kp_config_default(&c);
		cr_expect_eq(kp_config_load(path, &c, err), -1, "%s was taken", bad[i]);
		cr_expect(strstr(err, ":2:") != NULL && strstr(err, "pseudonym_retention_days") != NULL, "%s", err);
		unlink(path);
	}
}

Test(config, http_keepalive_defaults_and_keys_are_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.http_idle_timeout_ms, 5000);
	cr_expect_eq(c.http_max_requests_per_connection, 1000);
	write_config("[http]\nidle_timeout_ms = 250\nmax_requests_per_connection = 7\n");
	cr_assert_eq(kp_config_load(path, &c, err), 0, "%s", err);
	cr_expect_eq(c.http_idle_timeout_ms, 250);
	cr_expect_eq(c.http_max_requests_per_connection, 7);
	unlink(path);
}

Test(config, an_http_keepalive_value_out_of_range_is_an_error_naming_the_line)
{
	expect_refused_on_line("[http]\nidle_timeout_ms = 99\n", ":2:", "idle_timeout_ms");
	expect_refused_on_line("[http]\nidle_timeout_ms = 600001\n", ":2:", "idle_timeout_ms");
	expect_refused_on_line("[http]\n\nmax_requests_per_connection = 0\n", ":3:", "max_requests_per_connection");
	expect_refused_on_line("[http]\nmax_requests_per_connection = 1000001\n", ":2:",
	                       "max_requests_per_connection");
}

/* The loop's io_uring has an entry per connection slot and io_uring takes
 * at most 32768 (loop.h): a max_connections it cannot hold is refused here,
 * naming the key and the range, instead of "io_uring: Invalid argument"
 * when the daemon starts. */
Test(config, max_connections_beyond_what_the_loop_can_hold_is_an_error_naming_the_range)
{
	struct kp_config c;
	char text[96], err[KP_CONFIG_ERR_SIZE], range[32];

	snprintf(range, sizeof range, "from 1 to %d", KP_LOOP_MAX_CONNECTIONS);
	expect_refused_on_line("[http]\nmax_connections = 40000\n", ":2:", "max_connections");
	expect_refused_on_line("[http]\nmax_connections = 65536\n", ":2:", range);
	snprintf(text, sizeof text, "[http]\nmax_connections = %d\n", KP_LOOP_MAX_CONNECTIONS + 1);
	expect_refused_on_line(text, ":2:", range);
	snprintf(text, sizeof text, "[http]\nmax_connections = %d\n", KP_LOOP_MAX_CONNECTIONS);
	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string(text, &c, err), 0, "%s", err);
	cr_expect_eq(c.http_max_connections, KP_LOOP_MAX_CONNECTIONS);
	cr_expect_eq(KP_LOOP_MAX_CONNECTIONS + KP_LOOP_CONN_RESERVE + KP_LOOP_OWN_OPS, 32768,
	             "the ring's entries at the largest value are io_uring's limit");
}

Test(config, publishing_defaults_to_on_after_a_day_of_grace_under_the_database)
{
	struct kp_config c;
	char dir[KP_CONFIG_STR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.open_data_publish, 1);
	cr_expect_eq(c.open_data_publish_grace_s, 86400);
	cr_expect_eq(c.open_data_publish_interval_s, 60);
	cr_assert_eq(kp_config_publish_dir(&c, dir, sizeof(dir)), 0);
	cr_expect_str_eq(dir, "./data/open");
}

/* An instance's own package beside the merged one would give away, by
 * difference, the cells it suppressed: in a partition of N > 1 publishing
 * is off unless asked for, and asking for it is refused. */
Test(config, an_instance_of_a_partition_publishes_nothing_of_its_own)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[mqtt]\npartition = 2/3\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.open_data_publish, 0);
	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[mqtt]\npartition = 0/1\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.open_data_publish, 1);
	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[mqtt]\npartition = 1/2\n[open_data]\npublish = true\n", &c, err), -1);
	cr_expect(strstr(err, "[open_data] publish: instance 1/2 of a partition") != NULL, "%s", err);
	cr_expect(strstr(err, "komposter merge") != NULL, "%s", err);
}

Test(config, publishing_keys_are_read)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE], dir[KP_CONFIG_STR_SIZE];

	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[open_data]\npublish = false\npublish_grace_s = 0\n"
	                                    "publish_interval_s = 1\npublish_dir = /srv/open\n",
	                                    &c, err),
	             0, "%s", err);
	cr_expect_eq(c.open_data_publish, 0);
	cr_expect_eq(c.open_data_publish_grace_s, 0);
	cr_expect_eq(c.open_data_publish_interval_s, 1);
	cr_assert_eq(kp_config_publish_dir(&c, dir, sizeof(dir)), 0);
	cr_expect_str_eq(dir, "/srv/open");
}

Test(config, a_publishing_value_out_of_range_is_an_error_naming_the_line)
{
	expect_refused_on_line("[open_data]\npublish = maybe\n", ":2:", "publish");
	expect_refused_on_line("[open_data]\npublish_grace_s = -1\n", ":2:", "publish_grace_s");
	expect_refused_on_line("[open_data]\npublish_grace_s = 2592001\n", ":2:", "publish_grace_s");
	expect_refused_on_line("[open_data]\npublish_interval_s = 0\n", ":2:", "publish_interval_s");
	expect_refused_on_line("[open_data]\npublish_interval_s = 3601\n", ":2:", "publish_interval_s");
}

Test(config, the_dashboards_default_to_the_source_trees_web_folder_and_may_be_set_or_turned_off)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];
	size_t n;

	kp_config_default(&c);
	n = strlen(c.http_ui_dir);
	cr_expect(n > 4 && strcmp(c.http_ui_dir + n - 4, "/web") == 0, "default ui_dir %s", c.http_ui_dir);
	cr_assert_eq(kp_config_parse_string("[http]\nui_dir = /srv/komposter/web\n", &c, err), 0, "%s", err);
	cr_expect_str_eq(c.http_ui_dir, "/srv/komposter/web");
	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[http]\nui_dir =\n", &c, err), 0, "%s", err);
	cr_expect_str_eq(c.http_ui_dir, "", "an empty ui_dir turns /ui/ off");
}

Test(config, pseudonym_keys_is_local_or_imported)
{
	struct kp_config c;
	struct st_options o;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.pseudonym_keys_imported, 0, "the default is local");
	cr_assert_eq(kp_config_parse_string("[storage]\npseudonym_keys = imported\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.pseudonym_keys_imported, 1);
	kp_config_storage_options(&c, &o);
	cr_expect_eq(o.epoch_keys_imported, 1);
	kp_config_default(&c);
	cr_assert_eq(kp_config_parse_string("[storage]\npseudonym_keys = shared\n", &c, err), -1);
	cr_expect(strstr(err, "pseudonym_keys") != NULL, "%s", err);
}

Test(config, latency_nice_defaults_to_0_is_read_within_minus_20_to_0)
{
	struct kp_config c;
	char err[KP_CONFIG_ERR_SIZE];

	kp_config_default(&c);
	cr_expect_eq(c.latency_nice, 0, "as started unless the operator asks");
	cr_assert_eq(kp_config_parse_string("[ingest]\nlatency_nice = -20\n", &c, err), 0, "%s", err);
	cr_expect_eq(c.latency_nice, -20);
	expect_refused_on_line("[ingest]\nlatency_nice = 1\n", ":2:", "latency_nice");
	expect_refused_on_line("[ingest]\nlatency_nice = -21\n", ":2:", "latency_nice");
}
