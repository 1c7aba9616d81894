/*
 * Description: `komposter keys list|destroy` on a scratch database:
 * list shows every epoch with a key, when made, none destroyed; destroy
 * --before DATE destroys the keys of the epochs before it (exit 0, the
 * count on stdout), list then shows them destroyed with the horizon and
 * the newer key alive, and `komposter check` still passes; destroying
 * again destroys nothing; a date after today fails with exit 1 and one
 * line; a missing or malformed date exits 2; both subcommands have --help.
 * export writes a 0600 file of the range's keys (made when missing) and
 * never over an existing file; import into a new database adds them,
 * again adds nothing, and refuses (exit 1, one line naming the epoch,
 * nothing stored) a key that differs from the one held or whose epoch was
 * destroyed there.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "fill.h"
#include "harness.h"

static char dir[64], db[128];

static void setup(void)
{
	cr_assert_eq(tools_scratch_make(dir), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
}

static void teardown(void)
{
	tools_scratch_remove(dir);
}

TestSuite(keys, .init = setup, .fini = teardown);

/* One tap at 08:00 UTC on each of 2024-06-10, 11 and 15. */
static void fill_three_dates(void)
{
	static const int days[] = { 10, 11, 15 };
	struct kp_tap taps[3];

	memset(taps, 0, sizeof(taps));
	for (size_t i = 0; i < 3; i++) {
		taps[i].tapped_at = fill_utc_ms(2024, 6, days[i], 8, 0);
		taps[i].card_token[0] = 7;
		taps[i].route_id = 10;
		taps[i].stop_id = 100;
		taps[i].fare_product = 1;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db, 0xb1, taps, 3, 1), 0);
}

static cJSON *list_json(void)
{
	struct tools_run r;
	cJSON *doc;

	cr_assert_eq(tools_run(&r, "--db", db, "keys", "list", "--json", NULL), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	doc = cJSON_Parse(r.out);
	cr_assert(cJSON_IsObject(doc), "not an object: %s", r.out);
	tools_run_free(&r);
	return doc;
}

static const char *epoch_of(const cJSON *doc, int i)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "epochs"), i), "epoch")->valuestring;
}

static int destroyed(const cJSON *doc, int i)
{
	return !cJSON_IsNull(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "epochs"), i), "destroyed_at"));
}

static void run(struct tools_run *r, int status, const char *a1, const char *a2, const char *a3)
{
	cr_assert_eq(tools_run(r, "--db", db, "keys", a1, a2, a3, NULL), 0);
	cr_assert_eq(r->status, status, "keys %s %s %s: exit %d, stdout %s stderr %s", a1, a2 ? a2 : "",
	             a3 ? a3 : "", r->status, r->out, r->err);
}

Test(keys, destroy_before_a_date_leaves_tombstones_and_the_newer_key)
{
	struct tools_run r;
	cJSON *doc;

	fill_three_dates();
	doc = list_json();
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "epochs")), 3);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(doc, "horizon")));
	cr_expect(!destroyed(doc, 0) && !destroyed(doc, 1) && !destroyed(doc, 2));
	cJSON_Delete(doc);

	run(&r, 0, "destroy", "--before", "2024-06-12");
	cr_expect_not_null(strstr(r.out, "destroyed 2 epoch keys"), "stdout: %s", r.out);
	tools_run_free(&r);
	doc = list_json();
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "epochs")), 3);
	cr_expect_str_eq(cJSON_GetObjectItem(doc, "horizon")->valuestring, "2024-06-12");
	cr_expect_str_eq(epoch_of(doc, 0), "2024-06-10");
	cr_expect(destroyed(doc, 0) && destroyed(doc, 1), "the keys of 06-10 and 06-11 are not destroyed");
	cr_expect_str_eq(epoch_of(doc, 2), "2024-06-15");
	cr_expect(!destroyed(doc, 2), "the key of 06-15 was destroyed");
	cJSON_Delete(doc);

	run(&r, 0, "list", NULL, NULL);
	cr_expect_not_null(strstr(r.out, "every epoch before 2024-06-12 is destroyed"), "stdout: %s", r.out);
	cr_expect_eq(tools_count_lines(r.out), 5, "stdout: %s", r.out);
	tools_run_free(&r);

	run(&r, 0, "destroy", "--before", "2024-06-12");
	cr_expect_not_null(strstr(r.out, "destroyed 0 epoch keys"), "stdout: %s", r.out);
	tools_run_free(&r);

	cr_assert_eq(tools_run(&r, "--db", db, "check", NULL), 0);
	cr_expect_eq(r.status, 0, "check after destruction: %s %s", r.out, r.err);
	cr_expect_not_null(strstr(r.out, "problems 0"), "stdout: %s", r.out);
	tools_run_free(&r);
}

Test(keys, a_date_after_today_is_refused_and_nothing_is_destroyed)
{
	struct tools_run r;
	cJSON *doc;

	fill_three_dates();
	run(&r, 1, "destroy", "--before", "9999-12-31");
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "komposter: keys destroy: "), "stderr: %s", r.err);
	tools_run_free(&r);
	doc = list_json();
	cr_expect(!destroyed(doc, 0), "a refused destroy destroyed a key");
	cJSON_Delete(doc);
}

Test(keys, bad_command_lines_exit_2_and_help_exits_0)
{
	struct tools_run r;

	run(&r, 2, "destroy", NULL, NULL);
	tools_run_free(&r);
	run(&r, 2, "destroy", "--before", "2024-02-30");
	tools_run_free(&r);
	run(&r, 2, "destroy", "--before", "yesterday");
	tools_run_free(&r);
	run(&r, 2, "list", "extra", NULL);
	tools_run_free(&r);
	run(&r, 0, "list", "--help", NULL);
	cr_expect_not_null(strstr(r.out, "Usage: komposter keys list"));
	tools_run_free(&r);
	run(&r, 0, "destroy", "--help", NULL);
	cr_expect_not_null(strstr(r.out, "Usage: komposter keys destroy"));
	tools_run_free(&r);
}

/* keys ARGS... on database `at`, with the config of fill (UTC, 03:00). */
#define RUN_AT(r, want, at, ...)                                                                       \
	do {                                                                                             \
		cr_assert_eq(tools_run(r, "-c", conf, "--db", at, "keys", __VA_ARGS__, NULL), 0);       \
		cr_assert_eq((r)->status, want, "exit %d: %s %s", (r)->status, (r)->out, (r)->err);  \
	} while (0)

Test(keys, export_and_import_share_the_keys_and_refuse_conflicts)
{
	char conf[128], file[128], db2[128], db3[128];
	struct tools_run r;
	struct stat st;
	struct kp_tap tap;

	fill_three_dates();
	snprintf(conf, sizeof conf, "%s/k.ini", dir);
	snprintf(file, sizeof file, "%s/epoch.keys", dir);
	snprintf(db2, sizeof db2, "%s/db2", dir);
	snprintf(db3, sizeof db3, "%s/db3", dir);
	cr_assert_eq(fill_write_config(conf, db), 0);
	RUN_AT(&r, 0, db, "export", "--from", "2024-06-10", "--through", "2024-06-16", "--out", file);
	cr_expect_not_null(strstr(r.out, "wrote 7 epoch keys (4 made now)"), "stdout: %s", r.out);
	tools_run_free(&r);
	cr_assert_eq(stat(file, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", (unsigned)(st.st_mode & 0777));
	RUN_AT(&r, 1, db, "export", "--from", "2024-06-10", "--through", "2024-06-16", "--out", file);
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	tools_run_free(&r);

	RUN_AT(&r, 0, db2, "import", file);
	cr_expect_not_null(strstr(r.out, "7 added, 0 already held"), "stdout: %s", r.out);
	tools_run_free(&r);
	RUN_AT(&r, 0, db2, "import", file);
	cr_expect_not_null(strstr(r.out, "0 added, 7 already held"), "stdout: %s", r.out);
	tools_run_free(&r);
	RUN_AT(&r, 0, db2, "destroy", "--before", "2024-06-12");
	tools_run_free(&r);
	RUN_AT(&r, 1, db2, "import", file);
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "2024-06-10 was destroyed here"), "stderr: %s", r.err);
	tools_run_free(&r);

	memset(&tap, 0, sizeof tap);
	tap.tapped_at = fill_utc_ms(2024, 6, 13, 8, 0);
	tap.route_id = 10;
	tap.stop_id = 100;
	cr_assert_eq(fill_taps(db3, 0xb2, &tap, 1, 1), 0); /* db3 makes its own key of 06-13 */
	RUN_AT(&r, 1, db3, "import", file);
	cr_expect_eq(tools_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "2024-06-13 differs from the one held"), "stderr: %s", r.err);
	tools_run_free(&r);
	RUN_AT(&r, 0, db3, "list", "--json");
	cr_expect_null(strstr(r.out, "2024-06-10"), "a refused import stored keys: %s", r.out);
	tools_run_free(&r);

	RUN_AT(&r, 2, db, "export", "--through", "2024-06-16");
	tools_run_free(&r);
	RUN_AT(&r, 2, db, "import");
	tools_run_free(&r);
	RUN_AT(&r, 0, db, "export", "--help");
	cr_expect_not_null(strstr(r.out, "Usage: komposter keys export"));
	tools_run_free(&r);
}
