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

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int connect_port(int port)
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
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		int fd = connect_port(port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "harness: nothing listens on port %d after %d ms\n", port, timeout_ms);
	return -1;
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

/* Copies the template with @PORT@ and @DIR@ filled in. */
static int render_template(const char *tmpl_path, const char *out_path, int port, const char *dir)
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
	for (const char *p = (const char *)t; *p;) {
		if (strncmp(p, "@PORT@", 6) == 0) {
			fprintf(f, "%d", port);
			p += 6;
		} else if (strncmp(p, "@DIR@", 5) == 0) {
			fputs(dir, f);
			p += 5;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	free(t);
	int rc = write_text(out_path, out);
	free(out);
	return rc;
}

static int broker_spawn(struct kp_broker *b)
{
	char conf[320], log[320];

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	snprintf(log, sizeof(log), "%s/stderr.log", b->dir);
	char *argv[] = { "mosquitto", "-c", conf, NULL };
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
	b->pid = spawn(argv, log, -1);
	if (b->pid < 0 || kp_wait_port(b->port, 5000) != 0) {
		fprintf(stderr, "harness: mosquitto did not start; see %s\n", log);
		return -1;
	}
	return 0;
}

int kp_broker_start(struct kp_broker *b)
{
	char conf[320];

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/kp-broker-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	b->port = kp_free_port();
	snprintf(b->uri, sizeof(b->uri), "tcp://127.0.0.1:%d", b->port);
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	if (render_template(KP_SOURCE_DIR "/etc/mosquitto.conf.in", conf, b->port, b->dir) != 0)
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
	fprintf(f, "[mqtt]\nuri = %s\nclient_id = komposterd-test-%d\n", b->uri, b->port);
	apply_extra(f, "mqtt", extra);
	fprintf(f, "[ingest]\nserver_key = %s\n", key);
	apply_extra(f, "ingest", extra);
	fprintf(f, "[http]\nlisten = 127.0.0.1:%d\n", p->http_port);
	apply_extra(f, "http", extra);
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
	int fd = connect_port(port);
	/* A daemon that accepts but never answers fails the GET, not the test run. */
	struct timeval patience = { .tv_sec = KP_HTTP_GET_TIMEOUT_S };

	*body = NULL;
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)) != 0) {
		close(fd);
		return -1;
	}
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
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
	char id[32], key_id[8], pub[80], vehicle[16];
	FILE *f = fopen(fleet_txt, "r");
	int n = 0;

	if (!f) {
		fprintf(stderr, "harness: cannot read %s\n", fleet_txt);
		return -1;
	}
	while (fscanf(f, "%31s %7s %79s %15s", id, key_id, pub, vehicle) == 4) {
		if (kp_komposter(p, NULL, "device", "add", "--id", id, "--key-id", key_id, "--public-key", pub,
		                 "--kind", "validator", "--operator", "test", "--vehicle", vehicle, NULL) != 0) {
			fprintf(stderr, "harness: enrolling %s failed\n", id);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n > 0 ? 0 : -1;
}

double kp_stored_taps(const struct kp_daemon_proc *p)
{
	char *metrics = NULL;
	double v = -1;
	if (kp_http_get(p->http_port, "/metrics", &metrics) == 200)
		v = kp_metric(metrics, "komposter_taps_stored_total");
	free(metrics);
	return v;
}
