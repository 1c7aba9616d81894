/*
 * Description: a real komposterd publishes a closed service date's
 * open-data package by itself, and after a restart with late taps, a second
 * version that follows the first. The database is filled before the daemon
 * starts (tests/tools/fill.c: signed frames through st_commit_group), with
 * taps two days old, so that the date is closed with a grace of 0. The
 * packages verify on disk (opendata/verify.h), and as anyone gets them:
 * downloaded from /open/ with curl and no token, checked with the stock
 * tools the index page names (sha256sum, minisign), which fail once a
 * downloaded byte changes; the files are cached for good, and no path
 * leaves the folder; nothing downloaded names a device or a card. Then a
 * validator-sim fleet uploads a day three days old (--days-ago): the daemon
 * publishes it, and the downloaded package holds none of the fleet's
 * device ids nor card tokens (--tokens-out).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tools/fill.h"
#include "firmware-proto/keyfile.h"
#include "fleet.h"
#include "harness.h"
#include "opendata/verify.h"

static struct kp_broker broker;
static struct kp_daemon_proc d;
static char db_dir[320], pub_dir[320], date_dir[400], date_name[9], got_dir[400];

/* Devices and card tokens that must appear in no published file. */
#define DEVICE_A 0x4b5d0e2e0000a1e1ULL
#define DEVICE_B 0x4b5d0e2e0000a2e2ULL
#define CARD_SEED_A 0x41
#define CARD_SEED_B 0x42

/* 20 accepted taps two days ago at 12:00 UTC on route; its service date. */
static uint32_t add_taps(uint64_t device, uint32_t route, uint8_t seed)
{
	time_t t = time(NULL) - 2 * 86400;
	struct tm tm;
	struct kp_tap taps[20];

	gmtime_r(&t, &tm);
	memset(taps, 0, sizeof(taps));
	for (int i = 0; i < 20; i++) {
		taps[i].tapped_at = fill_utc_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 12, i);
		memset(taps[i].card_token, seed, KP_CARD_TOKEN_SIZE);
		taps[i].card_token[KP_CARD_TOKEN_SIZE - 1] = (uint8_t)i;
		taps[i].route_id = route;
		taps[i].stop_id = 100 + route;
		taps[i].fare_product = 1;
		taps[i].result = KP_TAP_ACCEPTED;
		taps[i].amount = 800;
	}
	cr_assert_eq(fill_taps(db_dir, device, taps, 20, 10), 0);
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static void start(void)
{
	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker,
	                             "storage.timezone = " FILL_TIMEZONE "\nstorage.service_day_start_hour = 3\n"
	                             "open_data.publish_grace_s = 0\nopen_data.publish_interval_s = 1\n"),
	             0);
	snprintf(db_dir, sizeof(db_dir), "%s/data", d.dir);
	snprintf(pub_dir, sizeof(pub_dir), "%s/data/open", d.dir);
}

static void stop(void)
{
	kp_broker_stop(&broker);
}

TestSuite(publish_e2e, .init = start, .fini = stop, .timeout = 60);

static int wait_for(const char *path, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static void problem(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("verify: %s", line);
}

static void expect_verifies(const char *version)
{
	uint8_t pk[KP_PUBLIC_KEY_SIZE];
	char err[256], dir[512];

	cr_assert_eq(kp_keyfile_read_public(d.server_pub, pk, err), 0, "%s", err);
	snprintf(dir, sizeof(dir), "%s/%s", date_dir, version);
	cr_expect_eq(od_verify(dir, pk, NULL, 0, problem, NULL), 0, "%s does not verify", dir);
}

/* ------------------------------------------------------ over HTTP */

/* curl with args (NULL-terminated) after "-sS --max-time 10"; stdout in
 * *out (may be NULL). curl's exit status. */
static int curl(char **out, ...)
{
	char *argv[24] = { "curl", "-sS", "--max-time", "10" };
	size_t n = 4;
	va_list ap;

	va_start(ap, out);
	for (char *a; n < 23 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return kp_run(argv, out);
}

static void url(char *out, size_t size, const char *path)
{
	snprintf(out, size, "http://127.0.0.1:%d%s", d.http_port, path);
}

/* GET path with curl (no token), the body in *body when not NULL, the
 * file into file when not NULL; extra curl args before the URL. The HTTP
 * status. */
static int get(const char *path, char **body, const char *file, const char *arg1, const char *arg2)
{
	char u[512], *code = NULL, fmt[] = "%{http_code}";
	char *out_file = (char *)(file ? file : "/dev/null");

	url(u, sizeof(u), path);
	if (body != NULL) {
		cr_assert_eq(curl(body, (char *)(arg1 ? arg1 : "-q"), (char *)(arg2 ? arg2 : "-q"), u, NULL), 0);
		cr_assert_eq(curl(&code, "-o", "/dev/null", "-w", fmt, u, NULL), 0);
	} else {
		cr_assert_eq(curl(&code, "-o", out_file, "-w", fmt, (char *)(arg1 ? arg1 : "-q"),
		                  (char *)(arg2 ? arg2 : "-q"), u, NULL),
		             0, "curl %s", u);
	}
	int status = atoi(code);
	free(code);
	return status;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void sha256_file(const char *path, char hex[65])
{
	uint8_t *data = NULL, digest[32];
	size_t len = 0;

	cr_assert_eq(kp_file_read(path, &data, &len), 0, "%s", path);
	crypto_hash_sha256(digest, data, len);
	free(data);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
}

/* Downloads every file of DATE/version into got_dir/version: the ones the
 * manifest lists, then the manifest's own companions. */
static void download_package(const char *version)
{
	static const char *const companions[] = { "datapackage.json.minisig", "SHA256SUMS", "minisign.pub" };
	char path[512], file[600], *text;
	uint8_t *raw = NULL;
	size_t len = 0;

	cr_assert_eq(sh("mkdir -p '%s/%s'", got_dir, version), 0);
	snprintf(path, sizeof(path), "/open/%s/%s/datapackage.json", date_name, version);
	snprintf(file, sizeof(file), "%s/%s/datapackage.json", got_dir, version);
	cr_assert_eq(get(path, NULL, file, NULL, NULL), 200, "%s", path);
	cr_assert_eq(kp_file_read(file, &raw, &len), 0);
	text = strndup((const char *)raw, len);
	free(raw);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(doc, "%s is not JSON", file);
	const cJSON *r;
	int files = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, "resources"))
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(r, "path"));

		cr_assert_not_null(name);
		snprintf(path, sizeof(path), "/open/%s/%s/%s", date_name, version, name);
		snprintf(file, sizeof(file), "%s/%s/%s", got_dir, version, name);
		cr_expect_eq(get(path, NULL, file, NULL, NULL), 200, "%s", path);
		files++;
	}
	cJSON_Delete(doc);
	cr_expect_gt(files, 5, "the manifest lists %d files", files);
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]); i++) {
		snprintf(path, sizeof(path), "/open/%s/%s/%s", date_name, version, companions[i]);
		snprintf(file, sizeof(file), "%s/%s/%s", got_dir, version, companions[i]);
		cr_expect_eq(get(path, NULL, file, NULL, NULL), 200, "%s", path);
	}
}

/* The stock tools' verdicts on the downloaded copy of version. */
static int sums_ok(const char *version)
{
	return sh("cd '%s/%s' && sha256sum --quiet -c SHA256SUMS >&2", got_dir, version) == 0;
}

static int signature_ok(const char *version)
{
	return sh("cd '%s/%s' && minisign -Vm datapackage.json -p minisign.pub >&2", got_dir, version) == 0;
}

static cJSON *wait_for_index_with(int versions)
{
	for (int waited = 0; waited < 10000; waited += 100) {
		char *body = NULL;

		if (get("/open/index.json", &body, NULL, NULL, NULL) == 200) {
			cJSON *doc = cJSON_Parse(body);
			const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "dates"), 0);

			free(body);
			if (cJSON_GetArraySize(cJSON_GetObjectItem(d0, "versions")) == versions)
				return doc;
			cJSON_Delete(doc);
		} else {
			free(body);
		}
		usleep(100 * 1000);
	}
	cr_assert_fail("index.json never listed %d versions", versions);
	return NULL;
}

static void expect_index(void)
{
	char iso[11], *html = NULL, sha[65], file[600];
	cJSON *doc = wait_for_index_with(2);
	const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "dates"), 0), *v;

	snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", date_name, date_name + 4, date_name + 6);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d0, "date")), iso);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d0, "latest")), "v2");
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(d0, "versions"))
	{
		const char *version = cJSON_GetStringValue(cJSON_GetObjectItem(v, "version"));

		cr_assert_not_null(version);
		snprintf(file, sizeof(file), "%s/%s/datapackage.json", got_dir, version);
		sha256_file(file, sha);
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(v, "manifest_sha256")), sha,
		                 "%s: index.json names another manifest", version);
	}
	cJSON_Delete(doc);

	cr_assert_eq(get("/open/", &html, NULL, NULL, NULL), 200);
	cr_expect_not_null(strstr(html, iso), "the page does not list %s", iso);
	cr_expect_not_null(strstr(html, "sha256sum -c SHA256SUMS"));
	cr_expect_not_null(strstr(html, "minisign -Vm datapackage.json -p minisign.pub"));
	free(html);
}

/* A package's file: cached for good, and 304 to its ETag. */
static void expect_cached(void)
{
	char path[256], u[512], header[160], *head = NULL, *etag = NULL;

	snprintf(path, sizeof(path), "/open/%s/v1/ridership_day.csv", date_name);
	cr_assert_eq(get(path, &head, NULL, "-I", "-q"), 200);
	cr_expect_not_null(strstr(head, "Cache-Control: public, max-age=31536000, immutable"),
	                   "no immutable Cache-Control in:\n%s", head);
	free(head);
	url(u, sizeof(u), path);
	cr_assert_eq(curl(&etag, "-o", "/dev/null", "-w", "%header{etag}", u, NULL), 0);
	cr_assert_eq(etag[0], '"', "no ETag: [%s]", etag);
	snprintf(header, sizeof(header), "If-None-Match: %s", etag);
	free(etag);
	cr_expect_eq(get(path, NULL, NULL, "-H", header), 304, "%s", header);
	cr_expect_eq(get(path, NULL, NULL, "-H", "If-None-Match: \"other\""), 200);
}

static void expect_no_escape(void)
{
	char inside[128];

	cr_expect_eq(get("/open/../komposterd.ini", NULL, NULL, "--path-as-is", NULL), 404);
	cr_expect_eq(get("/open/%2e%2e/", NULL, NULL, "--path-as-is", NULL), 404);
	cr_expect_eq(get("/open/%2e%2e/komposterd.ini", NULL, NULL, "--path-as-is", NULL), 404);
	snprintf(inside, sizeof(inside), "/open/%s/v1/../../x", date_name);
	cr_expect_eq(get(inside, NULL, NULL, "--path-as-is", NULL), 404);
	snprintf(inside, sizeof(inside), "/open/%s/v1/../../../komposterd.ini", date_name);
	cr_expect_eq(get(inside, NULL, NULL, "--path-as-is", NULL), 404);
}

/* No device id (hex as komposter prints it, or decimal) nor card token
 * (hex) in any downloaded file. */
static void expect_no_identifiers(void)
{
	const uint64_t devices[] = { DEVICE_A, DEVICE_B };
	const uint8_t seeds[] = { CARD_SEED_A, CARD_SEED_B };
	char pats[1024] = "";
	size_t at = 0;

	for (size_t i = 0; i < 2; i++)
		at += (size_t)snprintf(pats + at, sizeof(pats) - at, "-e %016llx -e %llu ", (unsigned long long)devices[i],
		                       (unsigned long long)devices[i]);
	for (size_t i = 0; i < 2; i++) {
		uint8_t token[KP_CARD_TOKEN_SIZE];
		char hex[2 * KP_CARD_TOKEN_SIZE + 1];

		memset(token, seeds[i], sizeof(token));
		token[KP_CARD_TOKEN_SIZE - 1] = 7;
		sodium_bin2hex(hex, sizeof(hex), token, sizeof(token));
		/* Any 8 bytes of a token, wherever the rest went. */
		at += (size_t)snprintf(pats + at, sizeof(pats) - at, "-e %.16s ", hex);
	}
	cr_expect_eq(sh("grep -rqi %s '%s'", pats, got_dir), 1, "a downloaded file names a device or card (%s)", pats);
}

static void expect_downloads_verify(void)
{
	char csv[600], manifest[600];

	snprintf(got_dir, sizeof(got_dir), "%s/got", d.dir);
	download_package("v1");
	download_package("v2");
	expect_index();
	cr_expect(sums_ok("v1"), "sha256sum -c fails on the downloaded v1");
	cr_expect(signature_ok("v1"), "minisign -V fails on the downloaded v1");
	cr_expect(sums_ok("v2"), "sha256sum -c fails on the downloaded v2");
	cr_expect(signature_ok("v2"), "minisign -V fails on the downloaded v2");
	expect_no_identifiers();

	/* One byte changed in a CSV: sha256sum sees it; in the manifest:
	 * minisign does. */
	snprintf(csv, sizeof(csv), "%s/v1/ridership_day.csv", got_dir);
	cr_assert_eq(sh("printf 'X' | dd of='%s' bs=1 seek=0 conv=notrunc status=none", csv), 0);
	cr_expect_not(sums_ok("v1"), "sha256sum -c passes a changed CSV");
	snprintf(manifest, sizeof(manifest), "%s/v2/datapackage.json", got_dir);
	cr_assert_eq(sh("printf ' ' | dd of='%s' bs=1 seek=1 conv=notrunc status=none", manifest), 0);
	cr_expect_not(signature_ok("v2"), "minisign -V passes a changed manifest");
}

Test(publish_e2e, a_closed_date_is_published_and_late_taps_make_v2)
{
	char path[512];
	uint32_t date = add_taps(DEVICE_A, 10, CARD_SEED_A);

	snprintf(date_name, sizeof(date_name), "%08u", (unsigned)date);
	snprintf(date_dir, sizeof(date_dir), "%s/%s", pub_dir, date_name);
	cr_assert_eq(kp_daemon_start(&d), 0);
	snprintf(path, sizeof(path), "%s/v1/datapackage.json.minisig", date_dir);
	cr_assert_eq(wait_for(path, 15000), 0, "no v1 in %s", date_dir);
	/* The counter follows the rename by a moment. */
	double published = 0;
	for (int waited = 0; waited < 5000 && published < 1; waited += 100) {
		published = kp_daemon_metric(&d, "komposter_open_data_published_total");
		if (published < 1)
			usleep(100 * 1000);
	}
	cr_expect_eq(published, 1);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_open_data_publish_errors_total"), 0);
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
	expect_verifies("v1");

	/* An offline validator's taps of the same date, stored while the
	 * daemon was down; the restarted daemon publishes v2. */
	cr_assert_eq(add_taps(DEVICE_B, 20, CARD_SEED_B), date);
	cr_assert_eq(kp_daemon_start(&d), 0);
	snprintf(path, sizeof(path), "%s/v2/datapackage.json.minisig", date_dir);
	cr_assert_eq(wait_for(path, 15000), 0, "no v2 in %s", date_dir);
	expect_downloads_verify();
	expect_cached();
	expect_no_escape();
	/* Rounds go on every second; nothing new to build. */
	usleep(1500 * 1000);
	cr_expect_eq(kp_daemon_metric(&d, "komposter_open_data_builds_total"), 1,
	             "the date was built again with no new taps");
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
	expect_verifies("v1");
	expect_verifies("v2");
	snprintf(path, sizeof(path), "%s/v3", date_dir);
	cr_expect_neq(access(path, F_OK), 0, "v3 without a change");
}

/* The latest package's DATE and vN in index.json, once it lists one. */
static int wait_for_latest(char date[9], char version[12])
{
	for (int waited = 0; waited < 15000; waited += 100) {
		char *body = NULL;

		if (get("/open/index.json", &body, NULL, NULL, NULL) == 200) {
			cJSON *doc = cJSON_Parse(body);
			const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "latest"), "path"));
			int found = path != NULL && sscanf(path, "%8[0-9]/%11[v0-9]/", date, version) == 2;

			cJSON_Delete(doc);
			free(body);
			if (found)
				return 0;
		} else {
			free(body);
		}
		usleep(100 * 1000);
	}
	return -1;
}

Test(publish_e2e, a_fleets_day_uploaded_late_is_published_without_device_ids_nor_card_tokens)
{
	struct kp_fleet fleet;
	char version[12], ids[400];

	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_fleet_init(&fleet, &d, 6), 0);
	/* Validators back from the depot with the taps of three days ago. */
	pid_t sim = kp_fleet_start(&fleet, &broker, &d, 200, "--days-ago", "3", "--street-cameras", "0", NULL);
	cr_assert_eq(kp_wait(sim), 0, "validator-sim failed; see %s", fleet.log);
	cr_assert_eq(wait_for_latest(date_name, version), 0, "nothing published");
	snprintf(got_dir, sizeof(got_dir), "%s/got", d.dir);
	download_package(version);
	cr_expect(sums_ok(version), "sha256sum -c fails on the downloaded %s", version);
	cr_expect(signature_ok(version), "minisign -V fails on the downloaded %s", version);

	snprintf(ids, sizeof(ids), "%s/ids.txt", d.dir);
	cr_assert_eq(sh("cut -d' ' -f1 '%s/fleet.txt' >'%s' && test -s '%s' && test -s '%s'", fleet.state, ids, ids,
	                fleet.tokens),
	             0);
	cr_expect_eq(sh("grep -rqiF -f '%s' '%s'", ids, got_dir), 1, "a downloaded file names a device");
	cr_expect_eq(sh("grep -rqiF -f '%s' '%s'", fleet.tokens, got_dir), 1, "a downloaded file names a card token");
	cr_assert_eq(kp_daemon_stop(&d, SIGTERM), 0);
}
