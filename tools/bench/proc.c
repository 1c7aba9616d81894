/*
 * proc.c — children, their CPU and memory, and the private broker.
 */
#define _GNU_SOURCE
#include "tools/bench/proc.h"
#include "tools/mosquitto_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The child's side of bench_spawn: never returns. A failed exec writes its
 * errno down the pipe, whose write end a successful exec closes. */
static void spawn_child(char *const argv[], const char *log, int out_fd, pid_t parent, int done_fd)
{
	int err;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	if (log) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
	}
	if (out_fd >= 0)
		dup2(out_fd, 1);
	execvp(argv[0], argv);
	err = errno;
	if (write(done_fd, &err, sizeof(err)) != (ssize_t)sizeof(err))
		_exit(127);
	_exit(127);
}

/* Returns once the child has exec'd: until then its RssAnon is the bench's
 * own (the pre-signed stream, shared copy-on-write), which a sampler
 * started at once would take for the ingester's. */
pid_t bench_spawn(char *const argv[], const char *log, int out_fd)
{
	pid_t parent = getpid();
	int done[2], err = 0;
	ssize_t n;

	if (pipe2(done, O_CLOEXEC) != 0) {
		fprintf(stderr, "komposter: bench: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0)
		spawn_child(argv, log, out_fd, parent, done[1]);
	close(done[1]);
	if (pid < 0) {
		fprintf(stderr, "komposter: bench: fork: %s\n", strerror(errno));
		close(done[0]);
		return -1;
	}
	while ((n = read(done[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(done[0]);
	if (n != 0) {
		fprintf(stderr, "komposter: bench: exec %s: %s\n", argv[0], n > 0 ? strerror(err) : "no answer");
		bench_reap(pid, 0);
		return -1;
	}
	return pid;
}

int bench_reap(pid_t pid, int sig)
{
	int st;

	if (pid <= 0)
		return -1;
	if (sig)
		kill(pid, sig);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int64_t bench_cpu_ns(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces: fields are counted after its ')'. */
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (int64_t)(ut + st) * (1000000000 / sysconf(_SC_CLK_TCK));
}

static int64_t rss_anon_kib(pid_t pid)
{
	char path[64], line[256];
	long long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void *sampler_thread(void *arg)
{
	struct bench_sampler *s = arg;
	while (!s->stop) {
		int64_t k = rss_anon_kib(s->pid);
		if (k > s->peak_kib)
			s->peak_kib = k;
		sleep_ms(5);
	}
	return NULL;
}

int bench_sampler_start(struct bench_sampler *s, pid_t pid)
{
	s->pid = pid;
	s->stop = 0;
	s->peak_kib = rss_anon_kib(pid);
	if (pthread_create(&s->th, NULL, sampler_thread, s) != 0) {
		fprintf(stderr, "komposter: bench: cannot start the memory sampler\n");
		return -1;
	}
	return 0;
}

void bench_sampler_stop(struct bench_sampler *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
}

/* The development broker's settings (etc/mosquitto.conf.in and
 * mosquitto.d/komposter.conf, Nagle off too) without persistence: a run's sessions need
 * not outlive it. The queue limit is komposter.conf's: mosquitto's default
 * (1000) would drop frames for a subscriber that falls behind. */
static int write_config(const struct bench_broker *b, const char *conf)
{
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
	           "log_dest file %s/mosquitto.log\nlog_type error\nlog_type warning\n"
	           "max_inflight_messages 1000\nmax_queued_messages 1000000\nmax_queued_bytes 0\n"
	           "max_packet_size 1048576\nset_tcp_nodelay true\n", b->port, b->dir);
	return fclose(f) == 0 ? 0 : -1;
}

int bench_broker_start(struct bench_broker *b, const char *dir)
{
	char conf[320], log[320];

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	b->port = kp_mosquitto_free_port();
	snprintf(b->uri, sizeof(b->uri), "tcp://127.0.0.1:%d", b->port);
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
	snprintf(log, sizeof(log), "%s/mosquitto.stderr", dir);
	if (b->port <= 0 || write_config(b, conf) != 0) {
		fprintf(stderr, "komposter: bench: cannot write %s\n", conf);
		return -1;
	}
	b->pid = kp_mosquitto_start("komposter: bench", conf, log, &b->port, 1);
	return b->pid > 0 ? 0 : -1;
}

void bench_broker_stop(struct bench_broker *b)
{
	if (b->pid > 0)
		kp_mosquitto_stop(b->pid);
	b->pid = 0;
}
