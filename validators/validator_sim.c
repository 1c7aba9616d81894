/*
 * validator_sim.c — the validator-sim command line: parses `init` and `run`
 * and hands the options to sim_init.c and sim_run.c.
 *
 * Design: every option is checked here, before anything touches the state
 * directory or the network, so a typo is a usage error (exit 2) with one line
 * on stderr, never a half-done run. Exit codes: 0 ok, 1 failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "firmware-proto/frame.h"
#include "firmware-proto/hex.h"
#include "validators/device.h"
#include "validators/frigate_sim.h"
#include "validators/sim.h"

#define EXIT_USAGE 2

static const char USAGE[] =
	"usage: validator-sim init --state DIR --devices N [--apcs A] [--first-id HEX] [--seed S]\n"
	"                          [--quiet]\n"
	"       validator-sim run --state DIR --broker URI --server-pub FILE\n"
	"                         --taps-per-device M [options]\n"
	"       validator-sim cameras --state DIR --street-cameras N [--seed S]\n"
	"                             [--frigate-prefix P]\n"
	"\n"
	"init  makes DIR/<device id>/device.key (and .pub) for N devices with consecutive\n"
	"      ids from --first-id (default 1), and DIR/fleet.txt, one line per device:\n"
	"      <device_id> <key_id> <public key hex> <vehicle_id>\n"
	"  --apcs A              also a passenger counter (APC) on each of the first A\n"
	"                        vehicles, a device of its own numbered after the\n"
	"                        validators; its fleet line ends in \" apc\" (default 0)\n"
	"run   drives every device of DIR/fleet.txt: M plausible taps each, batched into\n"
	"      signed frames, kept in DIR/<device id>/outbox until ACKed, published on\n"
	"      komposter/v1/dev/<id>/taps; waits until every outbox is empty.\n"
	"      A second run continues the numbering and first re-sends what is left.\n"
	"  --batch B             taps per frame, 1..512 (default 64)\n"
	"  --rate R              taps per second per device, 0 = as fast as possible (default 0)\n"
	"  --offline-fraction F  share of devices that go offline for a while, keep\n"
	"                        tapping, and come back in a burst (default 0)\n"
	"  --evasion-rate R      share of riders who board without tapping, 0 <= R < 1;\n"
	"                        a vehicle's APC sees them all and sends COUNTS frames\n"
	"                        on komposter/v1/dev/<id>/counts (default 0)\n"
	"  --days-ago D          date the taps and counts D days back, 0..29 (an offline\n"
	"                        validator uploading an old day); with --street-cameras 0\n"
	"                        (default 0)\n"
	"  --street-cameras N    a Frigate camera, named stop<stop id> with zones boarding\n"
	"                        and alighting, on N stops the fleet serves (picked from\n"
	"                        the seed): it sees every rider boarding or alighting\n"
	"                        there, tapping or not, and publishes Frigate 0.14 events\n"
	"                        on <prefix>/events and \"online\" on <prefix>/available\n"
	"                        (retained), on a client of its own (default 0)\n"
	"  --frigate-prefix P    the cameras' topic prefix (default frigate)\n"
	"  --seed S              seed for taps, riders, evasion, offline picks and\n"
	"                        camera stops (default 1)\n"
	"  --timeout SEC         give up after SEC seconds (default 300)\n"
	"  --resend-ms MS        re-send a frame unACKed this long after its PUBACK\n"
	"                        (default 10000)\n"
	"  --publish-timeout-ms MS\n"
	"                        a publish the MQTT client has not completed (PUBACK)\n"
	"                        MS after taking it counts as failed: the frame goes\n"
	"                        out again (default 30000)\n"
	"  --window W            frames in flight per device, 1..256, not counting\n"
	"                        frames in NACK backoff (default 32)\n"
	"  --summary FILE        write a JSON summary of the run\n"
	"  --tokens-out FILE     write every distinct card token sent, 32 hex a line\n"
	"  --broker-passwords FILE  log in to the broker as each device, user name its\n"
	"                        16-hex id, password from FILE: one line per device,\n"
	"                        <16 hex id>:<password> (the plaintext file that\n"
	"                        mosquitto_passwd -U hashes); default: no credentials\n"
	"  --duplicate           publish every frame twice (for dedupe tests)\n"
	"  --quiet               no progress lines\n"
	"\n"
	"cameras  prints the street cameras `run` with the same fleet, N and seed will\n"
	"      have, one line each: <camera> <stop id> <boarding zone> <alighting zone>\n"
	"      (map them with komposter camera add before the run)\n"
	"\n"
	"exit: 0 done (run: every outbox empty), 1 failed or timed out, 2 usage error\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("validator-sim: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see validator-sim --help)\n", stderr);
	return EXIT_USAGE;
}

static int parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text[0] || text[0] == '-')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || !text[0] || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum { OPT_STATE = 256, OPT_DEVICES, OPT_FIRST_ID, OPT_SEED, OPT_BROKER, OPT_SERVER_PUB,
       OPT_TAPS, OPT_BATCH, OPT_RATE, OPT_OFFLINE, OPT_TIMEOUT, OPT_RESEND, OPT_PUBLISH_TIMEOUT,
       OPT_WINDOW,
       OPT_SUMMARY, OPT_TOKENS, OPT_DUPLICATE, OPT_QUIET, OPT_HELP, OPT_PASSWORDS, OPT_APCS,
       OPT_EVASION, OPT_STREET_CAMERAS, OPT_FRIGATE_PREFIX, OPT_DAYS_AGO };

static const struct option INIT_OPTIONS[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"devices", required_argument, NULL, OPT_DEVICES},
	{"apcs", required_argument, NULL, OPT_APCS},
	{"first-id", required_argument, NULL, OPT_FIRST_ID},
	{"seed", required_argument, NULL, OPT_SEED},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static const struct option RUN_OPTIONS[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"broker", required_argument, NULL, OPT_BROKER},
	{"server-pub", required_argument, NULL, OPT_SERVER_PUB},
	{"taps-per-device", required_argument, NULL, OPT_TAPS},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"rate", required_argument, NULL, OPT_RATE},
	{"offline-fraction", required_argument, NULL, OPT_OFFLINE},
	{"evasion-rate", required_argument, NULL, OPT_EVASION},
	{"days-ago", required_argument, NULL, OPT_DAYS_AGO},
	{"street-cameras", required_argument, NULL, OPT_STREET_CAMERAS},
	{"frigate-prefix", required_argument, NULL, OPT_FRIGATE_PREFIX},
	{"seed", required_argument, NULL, OPT_SEED},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"resend-ms", required_argument, NULL, OPT_RESEND},
	{"publish-timeout-ms", required_argument, NULL, OPT_PUBLISH_TIMEOUT},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"summary", required_argument, NULL, OPT_SUMMARY},
	{"tokens-out", required_argument, NULL, OPT_TOKENS},
	{"broker-passwords", required_argument, NULL, OPT_PASSWORDS},
	{"duplicate", no_argument, NULL, OPT_DUPLICATE},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* getopt_long's own message for an unknown option is a line already. */
static int unknown_option(char **argv)
{
	return usage_error("unknown option or missing value in '%s'", argv[optind - 1]);
}

static int init_option(int c, const char *arg, struct vd_sim_init_opts *o)
{
	switch (c) {
	case OPT_STATE: o->state = arg; return 0;
	case OPT_QUIET: o->quiet = 1; return 0;
	case OPT_DEVICES:
		return parse_u64(arg, UINT32_MAX, &o->devices) ? usage_error("--devices: '%s' is not a count", arg) : 0;
	case OPT_APCS:
		return parse_u64(arg, UINT32_MAX, &o->apcs) ? usage_error("--apcs: '%s' is not a count", arg) : 0;
	case OPT_FIRST_ID:
		return kp_device_id_parse(arg, &o->first_id) ? usage_error("--first-id: '%s' is not a device id", arg) : 0;
	case OPT_SEED:
		return parse_u64(arg, UINT64_MAX, &o->seed) ? usage_error("--seed: '%s' is not a number", arg) : 0;
	default: return EXIT_USAGE;
	}
}

static int parse_init(int argc, char **argv, struct vd_sim_init_opts *o)
{
	int c, rc;

	*o = (struct vd_sim_init_opts){.first_id = 1, .seed = 1};
	while ((c = getopt_long(argc, argv, "", INIT_OPTIONS, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(USAGE, stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return unknown_option(argv);
		if ((rc = init_option(c, optarg, o)) != 0)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->state)
		return usage_error("%s", "init needs --state DIR");
	if (!o->devices)
		return usage_error("%s", "init needs --devices N (at least 1)");
	return 0;
}

static const struct option CAMERAS_OPTIONS[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"street-cameras", required_argument, NULL, OPT_STREET_CAMERAS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"frigate-prefix", required_argument, NULL, OPT_FRIGATE_PREFIX},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int parse_street_cameras(const char *arg, uint64_t *out)
{
	return parse_u64(arg, VD_SIM_STOPS_MAX, out)
	       ? usage_error("--street-cameras: '%s' is not a count of stops (at most 150)", arg) : 0;
}

static int parse_frigate_prefix(const char *arg, const char **out)
{
	if (!arg[0] || strlen(arg) > VD_FRIGATE_PREFIX_MAX || strpbrk(arg, "+#"))
		return usage_error("--frigate-prefix: '%s' is not 1..64 bytes of a topic without + or #", arg);
	*out = arg;
	return 0;
}

static int parse_cameras(int argc, char **argv, struct vd_sim_cameras_opts *o)
{
	int c, rc = 0;

	*o = (struct vd_sim_cameras_opts){.seed = 1};
	while (rc == 0 && (c = getopt_long(argc, argv, "", CAMERAS_OPTIONS, NULL)) != -1) {
		switch (c) {
		case OPT_HELP: fputs(USAGE, stdout); return -1;
		case OPT_STATE: o->state = optarg; break;
		case OPT_STREET_CAMERAS: rc = parse_street_cameras(optarg, &o->street_cameras); break;
		case OPT_FRIGATE_PREFIX: rc = parse_frigate_prefix(optarg, &o->frigate_prefix); break;
		case OPT_SEED:
			rc = parse_u64(optarg, UINT64_MAX, &o->seed) ? usage_error("--seed: '%s' is not a number", optarg) : 0;
			break;
		default: return unknown_option(argv);
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->state)
		return usage_error("%s", "cameras needs --state DIR");
	if (!o->street_cameras)
		return usage_error("%s", "cameras needs --street-cameras N (at least 1)");
	return 0;
}

static int run_number_option(int c, const char *arg, struct vd_sim_run_opts *o)
{
	uint64_t v;

	switch (c) {
	case OPT_TAPS:
		return parse_u64(arg, UINT32_MAX, &o->taps_per_device) ? usage_error("--taps-per-device: '%s' is not a count", arg) : 0;
	case OPT_BATCH:
		if (parse_u64(arg, KP_RECORDS_MAX, &v) || v == 0)
			return usage_error("--batch: '%s' is not 1..512", arg);
		o->batch = (unsigned)v;
		return 0;
	case OPT_WINDOW:
		if (parse_u64(arg, VD_WINDOW_MAX, &v) || v == 0)
			return usage_error("--window: '%s' is not 1..256", arg);
		o->window = (unsigned)v;
		return 0;
	case OPT_RESEND:
		if (parse_u64(arg, INT32_MAX, &v) || v == 0)
			return usage_error("--resend-ms: '%s' is not a positive number", arg);
		o->resend_ms = (int64_t)v;
		return 0;
	case OPT_PUBLISH_TIMEOUT:
		if (parse_u64(arg, INT32_MAX, &v) || v == 0)
			return usage_error("--publish-timeout-ms: '%s' is not a positive number", arg);
		o->publish_timeout_ms = (int64_t)v;
		return 0;
	case OPT_TIMEOUT:
		return parse_u64(arg, 1u << 30, &o->timeout_s) ? usage_error("--timeout: '%s' is not seconds", arg) : 0;
	case OPT_SEED:
		return parse_u64(arg, UINT64_MAX, &o->seed) ? usage_error("--seed: '%s' is not a number", arg) : 0;
	case OPT_RATE:
		return parse_double(arg, 0, 1e6, &o->rate) ? usage_error("--rate: '%s' is not taps per second", arg) : 0;
	case OPT_OFFLINE:
		return parse_double(arg, 0, 1, &o->offline_fraction) ? usage_error("--offline-fraction: '%s' is not 0..1", arg) : 0;
	case OPT_STREET_CAMERAS:
		return parse_street_cameras(arg, &o->street_cameras);
	case OPT_DAYS_AGO: /* the daemon takes taps up to [ingest] accept_past_days (30) old */
		return parse_u64(arg, VD_SIM_DAYS_AGO_MAX, &o->days_ago) ? usage_error("--days-ago: '%s' is not 0..29", arg) : 0;
	case OPT_EVASION: /* 1 would leave no rider who taps */
		return parse_double(arg, 0, 1, &o->evasion_rate) || o->evasion_rate >= 1 ? usage_error("--evasion-rate: '%s' is not 0 <= R < 1", arg) : 0;
	default: return EXIT_USAGE;
	}
}

static int run_option(int c, const char *arg, struct vd_sim_run_opts *o)
{
	switch (c) {
	case OPT_STATE: o->state = arg; return 0;
	case OPT_BROKER: o->broker = arg; return 0;
	case OPT_SERVER_PUB: o->server_pub = arg; return 0;
	case OPT_SUMMARY: o->summary = arg; return 0;
	case OPT_TOKENS: o->tokens_out = arg; return 0;
	case OPT_PASSWORDS: o->broker_passwords = arg; return 0;
	case OPT_FRIGATE_PREFIX:
		return parse_frigate_prefix(arg, &o->frigate_prefix);
	case OPT_DUPLICATE: o->duplicate = 1; return 0;
	case OPT_QUIET: o->quiet = 1; return 0;
	default: return run_number_option(c, arg, o);
	}
}

static int run_required(const struct vd_sim_run_opts *o, int have_taps)
{
	if (!o->state)
		return usage_error("%s", "run needs --state DIR");
	if (!o->broker)
		return usage_error("%s", "run needs --broker URI");
	if (!o->server_pub)
		return usage_error("%s", "run needs --server-pub FILE");
	if (!have_taps)
		return usage_error("%s", "run needs --taps-per-device M");
	if (o->days_ago > 0 && o->street_cameras > 0)
		return usage_error("%s", "--days-ago needs --street-cameras 0 (a street camera reports live)");
	return 0;
}

static int parse_run(int argc, char **argv, struct vd_sim_run_opts *o)
{
	int c, rc, have_taps = 0;

	*o = (struct vd_sim_run_opts){.batch = VD_BATCH_DEFAULT, .seed = 1, .timeout_s = 300,
	                              .resend_ms = VD_RESEND_MS_DEFAULT,
	                              .publish_timeout_ms = VD_PUBLISH_TIMEOUT_MS_DEFAULT,
	                              .window = VD_WINDOW_DEFAULT};
	while ((c = getopt_long(argc, argv, "", RUN_OPTIONS, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(USAGE, stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return unknown_option(argv);
		have_taps |= c == OPT_TAPS;
		if ((rc = run_option(c, optarg, o)) != 0)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return run_required(o, have_taps);
}

int main(int argc, char **argv)
{
	int rc;

	opterr = 0; /* one line of our own instead of getopt's */
	if (argc < 2)
		return usage_error("%s", "a command is needed: init, run or cameras");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(USAGE, stdout);
		return 0;
	}
	if (sodium_init() < 0)
		return vd_sim_fail("libsodium failed to initialise");
	if (!strcmp(argv[1], "init")) {
		struct vd_sim_init_opts o;
		rc = parse_init(argc - 1, argv + 1, &o);
		return rc < 0 ? 0 : rc ? rc : vd_sim_init(&o);
	}
	if (!strcmp(argv[1], "run")) {
		struct vd_sim_run_opts o;
		rc = parse_run(argc - 1, argv + 1, &o);
		return rc < 0 ? 0 : rc ? rc : vd_sim_run(&o);
	}
	if (!strcmp(argv[1], "cameras")) {
		struct vd_sim_cameras_opts o;
		rc = parse_cameras(argc - 1, argv + 1, &o);
		return rc < 0 ? 0 : rc ? rc : vd_sim_cameras(&o);
	}
	return usage_error("unknown command '%s': init, run or cameras", argv[1]);
}
