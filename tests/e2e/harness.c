/*
 * harness.c — processes and sockets for the end-to-end tests.
 *
 * Children are started with fork+exec and reaped with waitpid; their stderr
 * goes to a log file in their directory so a failing test can point at it.
 * Readiness is polled (a port that accepts, a /readyz that says 200) with a
 * deadline, never a fixed sleep.
 */
#define _GNU_SOURCE
#include "tests/e2e/harness.h"
#include "tools/mosquitto_run.h"

#include <MQTTClient.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/probe.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

const char *kp_bin(const char *rel)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", KP_BUILD_DIR, rel);
	return path;
}

int kp_free_port(void)
{
	return kp_mosquitto_free_port();
}

int kp_connect_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int kp_wait_port(int port, int timeout_ms)
{
	return kp_mosquitto_wait_port("harness", port, timeout_ms);
}

/* Children still running when a test ends (it failed half-way) are killed,
 * so no broker, daemon or simulator outlives its test and holds ctest's pipes. */
#define MAX_CHILDREN 64
static pid_t children[MAX_CHILDREN];

static void kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
			waitpid(children[i], NULL, 0);
}

static void remember(pid_t pid)
{
	static int registered;
	if (!registered && atexit(kill_children) == 0)
		registered = 1;
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] <= 0) {
			children[i] = pid;
			return;
		}
	}
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static pid_t spawn(char *const argv[], const char *log_path, int stdout_fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid > 0)
		remember(pid);
	if (pid != 0)
		return pid;
	/* Dies with the test process even if that one is killed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
			dup2(fd, 2);
	}
	if (stdout_fd >= 0)
		dup2(stdout_fd, 1);
	execvp(argv[0], argv);
	fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	forget(pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "harness: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int kp_file_read(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc((size_t)n + 1);
	if (!*data || fread(*data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*data);
		return -1;
	}
	(*data)[n] = 0;
	*len = (size_t)n;
	fclose(f);
	return 0;
}

/* A template's placeholder ("@PORT@") and what replaces it. */
struct placeholder {
	const char *name;
	const char *value;
};

/* Copies the template with every placeholder of ph[0..n) filled in. */
static int render_template(const char *tmpl_path, const char *out_path, const struct placeholder *ph,
                           size_t n)
{
	uint8_t *t;
	size_t len;
	char *out = NULL;
	size_t out_len = 0;

	if (kp_file_read(tmpl_path, &t, &len) != 0) {
		fprintf(stderr, "harness: cannot read %s\n", tmpl_path);
		return -1;
	}
	FILE *f = open_memstream(&out, &out_len);
	if (!f) {
		free(t);
		return -1;
	}
	for (const char *p = (const char *)t; *p;) {
		size_t i = 0;
		while (i < n && strncmp(p, ph[i].name, strlen(ph[i].name)) != 0)
			i++;
		if (i < n) {
			fputs(ph[i].value, f);
			p += strlen(ph[i].name);
		} else {
			fputc(*p++, f);
		}
	}
	free(t);
	if (fclose(f) != 0) {
		free(out);
		return -1;
	}
	int rc = write_text(out_path, out);
	free(out);
	return rc;
}

/* Both broker configs include_dir DIR/mosquitto.d: the settings they share
 * (etc/mosquitto.d/komposter.conf) go there. */
static int copy_shared_settings(const char *dir)
{
	char sub[320], conf[352];

	snprintf(sub, sizeof(sub), "%s/mosquitto.d", dir);
	snprintf(conf, sizeof(conf), "%s/komposter.conf", sub);
	if (mkdir(sub, 0700) != 0) {
		fprintf(stderr, "harness: mkdir %s: %s\n", sub, strerror(errno));
		return -1;
	}
	return render_template(KP_SOURCE_DIR "/etc/mosquitto.d/komposter.conf", conf, NULL, 0);
}

static int broker_spawn(struct kp_broker *b)
{
	char conf[320], log[320];
	const int ports[] = { b->port, b->tls_port };

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	snprintf(log, sizeof(log), "%s/stderr.log", b->dir);
	b->pid = kp_mosquitto_start("harness", conf, log, ports, b->tls_port ? 2 : 1);
	if (b->pid < 0)
		return -1;
	remember(b->pid);
	return 0;
}

/* A fresh directory and a free port for a broker about to be configured. */
static int broker_prepare(struct kp_broker *b)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/kp-broker-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	b->port = kp_free_port();
	snprintf(b->uri, sizeof(b->uri), "tcp://127.0.0.1:%d", b->port);
	return b->port > 0 ? copy_shared_settings(b->dir) : -1;
}

/* etc/mosquitto-bridge.conf.in in b's mosquitto.d, bridging b to remote. */
static int render_bridge(const struct kp_broker *b, const struct kp_broker *remote)
{
	char conf[352], name[48], address[32];

	snprintf(conf, sizeof(conf), "%s/mosquitto.d/bridge.conf", b->dir);
	snprintf(name, sizeof(name), "kp-bridge-%d-%d", b->port, remote->port);
	snprintf(address, sizeof(address), "127.0.0.1:%d", remote->port);
	const struct placeholder ph[] = { { "@NAME@", name }, { "@REMOTE@", address } };
	return render_template(KP_SOURCE_DIR "/etc/mosquitto-bridge.conf.in", conf, ph, 2);
}

/* The development broker, bridged to remote unless it is NULL. */
static int broker_start_dev(struct kp_broker *b, const struct kp_broker *remote)
{
	char conf[320], port[16];

	if (broker_prepare(b) != 0 || (remote && render_bridge(b, remote) != 0))
		return -1;
	snprintf(port, sizeof(port), "%d", b->port);
	const struct placeholder ph[] = { { "@PORT@", port }, { "@DIR@", b->dir } };
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	if (render_template(KP_SOURCE_DIR "/etc/mosquitto.conf.in", conf, ph, 2) != 0)
		return -1;
	return broker_spawn(b);
}

int kp_broker_start(struct kp_broker *b)
{
	return broker_start_dev(b, NULL);
}

int kp_broker_start_bridged(struct kp_broker *b, const struct kp_broker *remote)
{
	return broker_start_dev(b, remote);
}

/* 1 when a message published on `from` arrives on `to` within ~1 s, 0 if
 * not, -1 when a client could not be made. */
static int bridge_carries(const struct kp_broker *from, const struct kp_broker *to)
{
	char topic[96], id_pub[48], id_sub[48];
	MQTTClient pub = NULL, sub = NULL;
	int seen = -1;

	snprintf(topic, sizeof(topic), "komposter/v1/bridge-probe/%d-%d", from->port, to->port);
	snprintf(id_pub, sizeof(id_pub), "kp-bridge-probe-pub-%d", from->port);
	snprintf(id_sub, sizeof(id_sub), "kp-bridge-probe-sub-%d", to->port);
	if (kp_mqtt_connect(from, &(struct kp_mqtt_login){ .client_id = id_pub }, &pub) != MQTTCLIENT_SUCCESS ||
	    kp_mqtt_connect(to, &(struct kp_mqtt_login){ .client_id = id_sub }, &sub) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_subscribe(sub, topic, 1) != MQTTCLIENT_SUCCESS)
		goto out;
	seen = 0;
	for (int i = 0; i < 5 && !seen; i++) {
		char *got = NULL;
		int got_len = 0;
		MQTTClient_message *m = NULL;
		if (MQTTClient_publish(pub, topic, 5, "probe", 1, 0, NULL) != MQTTCLIENT_SUCCESS) {
			seen = -1;
			break;
		}
		if (MQTTClient_receive(sub, &got, &got_len, &m, 200) == MQTTCLIENT_SUCCESS && m) {
			seen = 1;
			MQTTClient_freeMessage(&m);
			MQTTClient_free(got);
		}
	}
out:
	if (pub) {
		MQTTClient_disconnect(pub, 100);
		MQTTClient_destroy(&pub);
	}
	if (sub) {
		MQTTClient_disconnect(sub, 100);
		MQTTClient_destroy(&sub);
	}
	return seen;
}

int kp_broker_wait_bridged(const struct kp_broker *a, const struct kp_broker *b, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 1000) {
		int ab = bridge_carries(a, b);
		if (ab < 0)
			break;
		if (ab == 1 && bridge_carries(b, a) == 1)
			return 0;
	}
	fprintf(stderr, "harness: the bridge between ports %d and %d carries nothing; see %s/mosquitto.log\n",
	        a->port, b->port, b->dir);
	return -1;
}

/* Runs a setup command (openssl, mosquitto_passwd) with its stderr in the
 * broker's setup.log; 0 if it exits 0. */
static int broker_setup_run(const struct kp_broker *b, char *const argv[])
{
	char log[320];

	snprintf(log, sizeof(log), "%s/setup.log", b->dir);
	pid_t pid = kp_start(argv, log);
	int st = pid > 0 ? kp_wait(pid) : -1;
	if (st != 0)
		fprintf(stderr, "harness: %s exited %d; see %s\n", argv[0], st, log);
	return st == 0 ? 0 : -1;
}

/* A throw-away CA and a server certificate for 127.0.0.1 signed by it, as
 * README "Broker in production" makes them, in DIR/certs. */
static int make_certs(struct kp_broker *b)
{
	char certs[272], ca_key[352], srv_key[352], srv_csr[352], srv_crt[352], ext[352];

	snprintf(certs, sizeof(certs), "%s/certs", b->dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", certs);
	snprintf(b->cafile, sizeof(b->cafile), "%s/ca.crt", certs);
	snprintf(srv_key, sizeof(srv_key), "%s/server.key", certs);
	snprintf(srv_csr, sizeof(srv_csr), "%s/server.csr", certs);
	snprintf(srv_crt, sizeof(srv_crt), "%s/server.crt", certs);
	snprintf(ext, sizeof(ext), "%s/server.ext", certs);
	if (mkdir(certs, 0700) != 0 || write_text(ext, "subjectAltName=IP:127.0.0.1\n") != 0)
		return -1;
	char *ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		       "-nodes", "-days", "2", "-subj", "/CN=komposter test CA", "-keyout", ca_key,
		       "-out", b->cafile, NULL };
	char *csr[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		        "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", srv_key, "-out", srv_csr, NULL };
	char *sign[] = { "openssl", "x509", "-req", "-in", srv_csr, "-CA", b->cafile, "-CAkey", ca_key,
		         "-set_serial", "1", "-days", "2", "-extfile", ext, "-out", srv_crt, NULL };
	if (broker_setup_run(b, ca) != 0 || broker_setup_run(b, csr) != 0 || broker_setup_run(b, sign) != 0)
		return -1;
	return 0;
}

/* DIR/passwd made by mosquitto_passwd -b, one user after the other. */
static int make_password_file(const struct kp_broker *b, const struct kp_broker_user *users, size_t n)
{
	char passwd[320];

	snprintf(passwd, sizeof(passwd), "%s/passwd", b->dir);
	for (size_t i = 0; i < n; i++) {
		/* -c creates the file for the first user. */
		char *add[] = { "mosquitto_passwd", "-b", passwd, (char *)users[i].name,
			        (char *)users[i].password, NULL };
		char *create[] = { "mosquitto_passwd", "-c", "-b", passwd, (char *)users[i].name,
			           (char *)users[i].password, NULL };
		if (broker_setup_run(b, i == 0 ? create : add) != 0)
			return -1;
	}
	return 0;
}

int kp_broker_start_production(struct kp_broker *b, const struct kp_broker_user *users, size_t n)
{
	char conf[320], acl[320], port[16], tls_port[16];
	const struct passwd *me = getpwuid(geteuid());

	if (n == 0 || !me || broker_prepare(b) != 0)
		return -1;
	do
		b->tls_port = kp_free_port();
	while (b->tls_port == b->port);
	snprintf(port, sizeof(port), "%d", b->port);
	snprintf(tls_port, sizeof(tls_port), "%d", b->tls_port);
	snprintf(acl, sizeof(acl), "%s/mosquitto.acl", b->dir);
	if (b->tls_port <= 0 || make_certs(b) != 0 || make_password_file(b, users, n) != 0 ||
	    render_template(KP_SOURCE_DIR "/etc/mosquitto.acl", acl, NULL, 0) != 0)
		return -1;
	/* The test's own account: mosquitto started as root would switch to
	 * it (a no-op) and keep access to the test's files. */
	const struct placeholder ph[] = {
		{ "@USER@", me->pw_name }, { "@ETC@", b->dir },     { "@DIR@", b->dir },
		{ "@PORT@", port },        { "@TLS_PORT@", tls_port }, { "@TLS_ADDRESS@", "127.0.0.1" },
	};
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	if (render_template(KP_SOURCE_DIR "/etc/mosquitto-production.conf.in", conf, ph,
	                    sizeof(ph) / sizeof(ph[0])) != 0)
		return -1;
	return broker_spawn(b);
}

int kp_broker_restart(struct kp_broker *b)
{
	return broker_spawn(b);
}

void kp_broker_stop(struct kp_broker *b)
{
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		wait_status(b->pid);
		b->pid = 0;
	}
}

static int apply_extra(FILE *f, const char *section, const char *extra)
{
	size_t slen = strlen(section);
	for (const char *line = extra; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > slen && strncmp(line, section, slen) == 0 && line[slen] == '.')
			fprintf(f, "%.*s\n", (int)(n - slen - 1), line + slen + 1);
		line = end ? end + 1 : NULL;
	}
	return 0;
}

/* 1 when extra has a line setting section.key (the daemon refuses a key
 * set twice, so such a line replaces the harness's default). */
static int extra_sets(const char *extra, const char *section, const char *key)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "%s.%s", section, key);

	for (const char *line = extra; line && *line;) {
		if (strncmp(line, name, (size_t)n) == 0 && (line[n] == ' ' || line[n] == '='))
			return 1;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return 0;
}

int kp_daemon_setup(struct kp_daemon_proc *p, const struct kp_broker *b, const char *extra)
{
	char key[320];

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/kp-daemon-XXXXXX");
	if (!mkdtemp(p->dir))
		return -1;
	p->http_port = kp_free_port();
	snprintf(p->config, sizeof(p->config), "%s/komposterd.ini", p->dir);
	snprintf(key, sizeof(key), "%s/server.key", p->dir);
	snprintf(p->server_pub, sizeof(p->server_pub), "%s/server.key.pub", p->dir);

	FILE *f = fopen(p->config, "w");
	if (!f)
		return -1;
	fprintf(f, "[storage]\npath = %s/data\n", p->dir);
	apply_extra(f, "storage", extra);
	fprintf(f, "[mqtt]\nuri = %s\n", b->uri);
	if (!extra_sets(extra, "mqtt", "client_id"))
		fprintf(f, "client_id = komposterd-test-%d\n", b->port);
	apply_extra(f, "mqtt", extra);
	fprintf(f, "[ingest]\nserver_key = %s\n", key);
	apply_extra(f, "ingest", extra);
	fprintf(f, "[http]\nlisten = 127.0.0.1:%d\n", p->http_port);
	apply_extra(f, "http", extra);
	fprintf(f, "[frigate]\n");
	apply_extra(f, "frigate", extra);
	fprintf(f, "[open_data]\n");
	apply_extra(f, "open_data", extra);
	if (fclose(f) != 0)
		return -1;

	char *argv[] = { (char *)kp_bin("tools/komposter"), "keygen", key, NULL };
	char *copy0 = strdup(argv[0]);
	argv[0] = copy0;
	int rc = kp_run(argv, NULL);
	free(copy0);
	return rc == 0 ? 0 : -1;
}

int kp_daemon_start(struct kp_daemon_proc *p)
{
	char log[320];
	char *argv[] = { strdup(kp_bin("ingest/komposterd")), "-c", p->config, NULL };

	snprintf(log, sizeof(log), "%s/komposterd.log", p->dir);
	p->pid = spawn(argv, log, -1);
	free(argv[0]);
	for (int waited = 0; waited < 10000; waited += 50) {
		char *body = NULL;
		int status = kp_http_get(p->http_port, "/readyz", &body);
		free(body);
		if (status == 200)
			return 0;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			forget(p->pid);
			fprintf(stderr, "harness: komposterd exited at start; see %s\n", log);
			p->pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "harness: komposterd not ready after 10 s; see %s\n", log);
	return -1;
}

int kp_daemon_stop(struct kp_daemon_proc *p, int sig)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	int st = wait_status(p->pid);
	p->pid = 0;
	return st;
}

int kp_run(char *const argv[], char **out)
{
	int fds[2];
	char *buf = NULL;
	size_t len = 0;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = spawn(argv, NULL, fds[1]);
	close(fds[1]);
	FILE *o = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			fwrite(chunk, 1, (size_t)n, o);
	close(fds[0]);
	fclose(o);
	int st = pid > 0 ? wait_status(pid) : -1;
	if (out)
		*out = buf;
	else
		free(buf);
	return st;
}

int kp_komposter(const struct kp_daemon_proc *p, char **out, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = strdup(kp_bin("tools/komposter"));
	argv[n++] = "-c";
	argv[n++] = (char *)p->config;
	va_start(ap, out);
	for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	int rc = kp_run(argv, out);
	free(argv[0]);
	return rc;
}

int kp_http_get(int port, const char *path, char **body)
{
	char req[512];
	char *buf = NULL;
	size_t len = 0;
	int fd = kp_connect_port(port);
	/* A daemon that accepts but never answers fails the GET, not the test run. */
	struct timeval patience = { .tv_sec = KP_HTTP_GET_TIMEOUT_S };

	*body = NULL;
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)) != 0) {
		close(fd);
		return -1;
	}
	/* The answer is read to the end: the server must close, not keep alive. */
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	FILE *o = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)r, o);
	close(fd);
	fclose(o);
	int status = -1;
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	char *start = strstr(buf, "\r\n\r\n");
	*body = strdup(start ? start + 4 : "");
	free(buf);
	return status;
}

double kp_metric(const char *metrics, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = metrics; line && *line;) {
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

pid_t kp_start(char *const argv[], const char *log)
{
	return spawn(argv, log, -1);
}

int kp_wait(pid_t pid)
{
	return wait_status(pid);
}

int kp_enrol_fleet(const struct kp_daemon_proc *p, const char *fleet_txt)
{
	char line[256], id[32], key_id[8], pub[80], vehicle[16], kind[16];
	FILE *f = fopen(fleet_txt, "r");
	int n = 0;

	if (!f) {
		fprintf(stderr, "harness: cannot read %s\n", fleet_txt);
		return -1;
	}
	/* ID KEY_ID PUBLIC_KEY VEHICLE [apc]: a counter's line names its kind. */
	while (fgets(line, sizeof(line), f)) {
		int fields = sscanf(line, "%31s %7s %79s %15s %15s", id, key_id, pub, vehicle, kind);
		if (fields < 4)
			break;
		if (fields == 4)
			snprintf(kind, sizeof(kind), "validator");
		if (kp_komposter(p, NULL, "device", "add", "--id", id, "--key-id", key_id, "--public-key", pub,
		                 "--kind", kind, "--operator", "test", "--vehicle", vehicle, NULL) != 0) {
			fprintf(stderr, "harness: enrolling %s failed\n", id);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n > 0 ? 0 : -1;
}

double kp_daemon_metric(const struct kp_daemon_proc *p, const char *name)
{
	char *metrics = NULL;
	double v = -1;
	if (kp_http_get(p->http_port, "/metrics", &metrics) == 200)
		v = kp_metric(metrics, name);
	free(metrics);
	return v;
}

double kp_stored_taps(const struct kp_daemon_proc *p)
{
	return kp_daemon_metric(p, "komposter_taps_stored_total");
}
