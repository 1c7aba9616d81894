/*
 * mosquitto_run.c — start, wait for and stop a private mosquitto.
 */
#define _GNU_SOURCE
#include "tools/mosquitto_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 5000
#define POLL_MS 20

int kp_mosquitto_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

int kp_mosquitto_wait_port(const char *who, int port, int timeout_ms)
{
	struct timespec ts = { 0, POLL_MS * 1000000L };

	for (int waited = 0; waited < timeout_ms; waited += POLL_MS) {
		if (port_accepts(port))
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "%s: nothing listens on port %d after %d ms\n", who, port, timeout_ms);
	return -1;
}

/* The child: dies with its parent, even if that one is killed; mosquitto
 * lives in /usr/sbin, which a user's PATH may lack. Never returns. */
static void exec_mosquitto(const char *conf, const char *log, pid_t parent)
{
	char *argv[] = { "mosquitto", "-c", (char *)conf, NULL };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0)
		dup2(fd, 2);
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
	const char *path = getenv("PATH");
	if (!strstr(path, "/usr/sbin")) {
		char more[4096];
		snprintf(more, sizeof(more), "%s:/usr/local/sbin:/usr/sbin", path);
		setenv("PATH", more, 1);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "exec mosquitto: %s\n", strerror(errno));
	_exit(127);
}

pid_t kp_mosquitto_start(const char *who, const char *conf, const char *log, const int *ports, int n)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0)
		exec_mosquitto(conf, log, parent);
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (kp_mosquitto_wait_port(who, ports[i], START_TIMEOUT_MS) != 0) {
			fprintf(stderr, "%s: mosquitto did not start; see %s\n", who, log);
			kill(pid, SIGKILL);
			kp_mosquitto_stop(pid);
			return -1;
		}
	}
	return pid;
}

int kp_mosquitto_stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
