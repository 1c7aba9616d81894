/*
 * harness.h — what the end-to-end tests run for real: a mosquitto on a free
 * loopback port with the project's broker config, komposterd as a child
 * process with its own temporary directory and config, the `komposter` and
 * `validator-sim` binaries, and plain HTTP GETs. Nothing is mocked.
 *
 * Every function returns 0 / a status, or -1 after printing why on stderr.
 * Binaries are found under KP_BUILD_DIR; templates under KP_SOURCE_DIR.
 */
#ifndef KP_TEST_HARNESS_H
#define KP_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kp_broker {
	pid_t pid;
	int port;           /* the loopback listener; uri points at it */
	int tls_port;       /* production only: the devices' TLS listener, else 0 */
	char dir[256];      /* the rendered config, its mosquitto.d/, the state */
	char uri[64];
	char cafile[320];   /* production only: the CA that signed the broker's certificate */
};

/* A user of the production broker's password file. */
struct kp_broker_user {
	const char *name;
	const char *password;
};

struct kp_daemon_proc {
	pid_t pid;
	int http_port;
	char dir[256];      /* holds komposterd.ini, data/, keys/, komposterd.log */
	char config[320];
	char server_pub[320];
};

int kp_free_port(void);
int kp_wait_port(int port, int timeout_ms);
/* A TCP connection to 127.0.0.1:port (close-on-exec): its fd, or -1. */
int kp_connect_port(int port);

/* The development config (etc/mosquitto.conf.in): anonymous, no ACL. */
int kp_broker_start(struct kp_broker *b);
/* The production config (etc/mosquitto-production.conf.in) as README "Broker in
 * production" sets it up: a password file made by mosquitto_passwd -b for
 * users[0..n), the shipped etc/mosquitto.acl, and a CA and a server
 * certificate made by openssl for the TLS listener on 127.0.0.1:tls_port. */
int kp_broker_start_production(struct kp_broker *b, const struct kp_broker_user *users, size_t n);
/* The development config bridged to `remote` (a running broker) by
 * etc/mosquitto-bridge.conf.in, as README "Broker clusters" sets it up. */
int kp_broker_start_bridged(struct kp_broker *b, const struct kp_broker *remote);
/* Waits until a message published on either broker arrives on the other
 * (the bridge is connected and subscribed). 0, or -1 after timeout_ms. */
int kp_broker_wait_bridged(const struct kp_broker *a, const struct kp_broker *b, int timeout_ms);
void kp_broker_stop(struct kp_broker *b);
/* Starts a stopped broker again on the same ports, with the same config and
 * persistence directory. */
int kp_broker_restart(struct kp_broker *b);

/* Makes dir, the config (extra_ini lines appended to the sections are given
 * as "section.key=value\n" pairs for storage, mqtt, ingest, http,
 * frigate and open_data; may be NULL) and a server key. */
int kp_daemon_setup(struct kp_daemon_proc *p, const struct kp_broker *b, const char *extra);
/* Starts komposterd and waits until /readyz says ready. */
int kp_daemon_start(struct kp_daemon_proc *p);
/* Sends sig, waits; returns the exit status (128+signal if killed). */
int kp_daemon_stop(struct kp_daemon_proc *p, int sig);

/* Runs argv (argv[0] a path), stdout captured into *out (malloc'd, NUL
 * terminated; may be NULL to discard). Returns the exit status. */
int kp_run(char *const argv[], char **out);
/* Starts argv in the background, stderr appended to log (may be NULL). */
pid_t kp_start(char *const argv[], const char *log);
/* Waits for a child; its exit status (128+signal if killed). */
int kp_wait(pid_t pid);
/* Enrols every device of a validator-sim fleet.txt. 0 or -1. */
int kp_enrol_fleet(const struct kp_daemon_proc *p, const char *fleet_txt);

/* kp_run of "komposter -c <daemon config> args..." (NULL-terminated). */
int kp_komposter(const struct kp_daemon_proc *p, char **out, ...);

/* GET http://127.0.0.1:port/path → HTTP status, body in *body (malloc'd);
 * -1 when nothing listens or no answer came within KP_HTTP_GET_TIMEOUT_S. */
#define KP_HTTP_GET_TIMEOUT_S 30
int kp_http_get(int port, const char *path, char **body);
/* One sample of the daemon's /metrics, -1 if unreachable or absent. */
double kp_daemon_metric(const struct kp_daemon_proc *p, const char *name);
/* komposter_taps_stored_total from the daemon's /metrics, -1 if unreachable. */
double kp_stored_taps(const struct kp_daemon_proc *p);
/* The value of a Prometheus sample line "name value" (name may carry labels). */
double kp_metric(const char *metrics, const char *name);

/* Path of a built binary, e.g. kp_bin("tools/komposter"). Static buffer. */
const char *kp_bin(const char *rel);

int kp_file_read(const char *path, uint8_t **data, size_t *len);

#endif
