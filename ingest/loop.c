/*
 * loop.c — one io_uring, one thread.
 *
 * Each connection has at most one operation in flight (a recv, then sends),
 * so a completion always finds its connection in a known state and closing
 * is a plain close(2) when nothing is pending. A slow client is cut off by
 * the tick: shutdown(2) makes its pending recv complete, and the normal path
 * closes it. user_data packs the operation and the connection's slot.
 *
 * A connection is kept alive between requests (http.h says when). Bytes
 * received after a complete request stay in its buffer and are parsed once
 * the answer is sent, so pipelined requests are answered in order, one at a
 * time. Its deadline is, in turn: request_timeout_ms from the first byte of
 * a request (or the accept) to its end; while an answer is sent (from its
 * start: what took to make it is not the client's), request_timeout_ms for
 * each SEND_PROGRESS_MIN bytes, or all that is left: a client that stops reading, or reads so
 * slowly that it would hold its slot for ever, is cut off; idle_timeout_ms
 * between requests.
 * A connection sending an answer is never cut off to make room: when every
 * served connection is sending, a newcomer gets the 503 (refuse), never a
 * slot taken from itself.
 * A streamed body (http_body.h) is read into a buffer allocated only while
 * it streams, one piece per send.
 * Multishot accept keeps the listener armed; it is re-armed when the kernel
 * drops IORING_CQE_F_MORE.
 */
#include "ingest/loop.h"

#include "config/config.h" /* kp_listen_parse: the one reader of [http] listen */

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/auth_limit.h"
#include "ingest/clock.h"
#include "ingest/http.h"

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_SIGNAL, OP_TICK, OP_CANCEL };

#define RECV_BUF 4096
#define STREAM_BUF (64 * 1024) /* one piece of a streamed body */
/* What sending answers must move per request_timeout_ms (README): 6.5 KB/s
 * at the default 5 s, far below any real client's link, and far above
 * what a client that reads a few bytes now and then to keep its slot
 * takes. */
#define SEND_PROGRESS_MIN (32 * 1024)
/* KP_LOOP_CONN_RESERVE (loop.h), slots beyond [http] max_connections: a
 * new connection takes one at once while the oldest connection still
 * waiting for its request is cut off, so that /healthz and /metrics answer
 * however many idle clients hold the rest. */

struct conn {
	int fd; /* -1 when the slot is free */
	int sending;  /* the answer is on its way: never cut off for room */
	int evicted;  /* cut off to make room; closes when its recv completes */
	int idle;     /* kept alive, no byte of a next request yet: evicted first */
	int served;   /* answers begun on this connection */
	uint64_t since_ns; /* accepted, or its last answer sent: the oldest is evicted first */
	uint64_t deadline_ns;
	size_t window_sent;     /* bytes sent in the window */
	uint64_t window_end_ns; /* SEND_PROGRESS_MIN must be sent by then */
	uint8_t peer[KP_ADDR_SIZE]; /* the client's address, IPv4 mapped (auth_limit.h) */
	struct kp_http_request req;
	char buf[RECV_BUF];
	size_t in_off, in_len; /* received, not parsed yet: the next request's */
	struct kp_http_response resp;
	char *stream; /* STREAM_BUF and chunk framing, only while a body streams */
	const char *out;
	size_t out_len, out_off;
};

struct loop {
	const struct kp_loop_ctx *ctx;
	struct kp_http_ctx http;        /* ctx->http with this loop's auth_limit */
	struct kp_auth_limit auth_limit; /* wrong tokens per address: this thread's alone */
	struct io_uring ring;
	int listen_fd;
	int signal_fd;
	struct signalfd_siginfo siginfo;
	struct __kernel_timespec tick;
	struct conn *conns;
	int nconns;  /* slots: the limit plus KP_LOOP_CONN_RESERVE */
	int limit;   /* [http] max_connections */
	int open;    /* connections with a slot, evicted ones included */
	int evicted; /* of those, cut off and not closed yet */
	int running;
	int ring_ready;
	int accept_armed;
	int pending; /* operations the kernel still holds (buffers it may write) */
};

static uint64_t pack(enum op op, int slot)
{
	return (uint64_t)slot << 8 | (uint64_t)op;
}

/* The queue has room for every operation the loop can have pending (one per
 * connection plus its own, loop.h), so after a submit a slot is always free; if the
 * kernel refuses even that, the loop cannot go on. */
static struct io_uring_sqe *get_sqe(struct loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	if (!sqe) {
		fprintf(stderr, "komposterd: io_uring: no submission slot; exiting\n");
		abort();
	}
	l->pending++;
	return sqe;
}

static void arm_accept(struct loop *l)
{
	l->accept_armed = 1;
	struct io_uring_sqe *sqe = get_sqe(l);
	io_uring_prep_multishot_accept(sqe, l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, pack(OP_ACCEPT, 0));
}

static void arm_signal(struct loop *l)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	io_uring_prep_read(sqe, l->signal_fd, &l->siginfo, sizeof(l->siginfo), 0);
	io_uring_sqe_set_data64(sqe, pack(OP_SIGNAL, 0));
}

static void arm_tick(struct loop *l)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	l->tick.tv_sec = 1;
	l->tick.tv_nsec = 0;
	io_uring_prep_timeout(sqe, &l->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, pack(OP_TICK, 0));
}

static void arm_recv(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];
	struct io_uring_sqe *sqe = get_sqe(l);
	c->in_off = c->in_len = 0;
	io_uring_prep_recv(sqe, c->fd, c->buf, sizeof(c->buf), 0);
	io_uring_sqe_set_data64(sqe, pack(OP_RECV, slot));
}

static void arm_send(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];
	struct io_uring_sqe *sqe = get_sqe(l);
	io_uring_prep_send(sqe, c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, pack(OP_SEND, slot));
}

static void conn_close(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];
	close(c->fd);
	c->fd = -1;
	l->open--;
	if (c->evicted)
		l->evicted--;
	kp_http_response_free(&c->resp); /* a streamed body's close, once */
	free(c->stream);
	c->stream = NULL;
	c->out = NULL;
}

/* Whether a should be cut off before b: idle kept-alive connections first,
 * then the one that has waited longest. */
static int evict_before(const struct conn *a, const struct conn *b)
{
	if (a->idle != b->idle)
		return a->idle;
	return a->since_ns < b->since_ns;
}

/* Cuts off the connection that has waited longest for its request. Its
 * pending recv then completes and the normal path closes it. Returns -1
 * when every connection is sending an answer (or already cut off). */
static int evict_oldest_waiting(struct loop *l)
{
	int oldest = -1;

	for (int i = 0; i < l->nconns; i++) {
		struct conn *c = &l->conns[i];
		if (c->fd < 0 || c->sending || c->evicted)
			continue;
		if (oldest < 0 || evict_before(c, &l->conns[oldest]))
			oldest = i;
	}
	if (oldest < 0)
		return -1;
	l->conns[oldest].evicted = 1;
	l->evicted++;
	atomic_fetch_add_explicit(&l->ctx->http.m->http_evicted, 1, memory_order_relaxed);
	shutdown(l->conns[oldest].fd, SHUT_RDWR);
	return 0;
}

/* Every slot taken, the reserve too (a burst faster than evictions
 * complete), or every served connection sending an answer (none may be
 * cut off for room): answer 503 at once. A fresh socket's send buffer is
 * empty, so the short answer goes out without waiting. */
static void refuse(struct loop *l, int fd)
{
	size_t len;
	char *out = kp_http_error(503, "too many connections; try again\n", &len);

	char discard[RECV_BUF];

	atomic_fetch_add_explicit(&l->ctx->http.m->http_refused, 1, memory_order_relaxed);
	if (!out || send(fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		atomic_fetch_add_explicit(&l->ctx->http.m->http_refused_unanswered, 1, memory_order_relaxed);
	free(out);
	/* A close with the request still unread sends a reset, which can
	 * overtake the 503 in the client's kernel: read what came, then close. */
	shutdown(fd, SHUT_WR);
	while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0)
		;
	close(fd);
}

static uint64_t ms_from_now(int ms)
{
	return kp_now_mono_ns() + (uint64_t)ms * 1000000u;
}

static void send_out(struct loop *l, int slot, const char *out, size_t len)
{
	struct conn *c = &l->conns[slot];

	c->out = out;
	c->out_len = len;
	c->out_off = 0;
	arm_send(l, slot);
}

static void respond(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];

	if (c->served++ > 0)
		atomic_fetch_add_explicit(&l->ctx->http.m->http_keepalive_reuses, 1, memory_order_relaxed);
	c->req.close_after = c->served >= l->ctx->cfg.max_requests;
	if (kp_http_respond(&l->http, &c->req, &c->resp) != 0) {
		conn_close(l, slot);
		return;
	}
	c->sending = 1;
	/* Each answer starts a window: the time this one took to make (a
	 * ridership request may derive first) is the server's, not the
	 * client's; the one before it is all sent by now. */
	c->window_sent = 0;
	c->window_end_ns = ms_from_now(l->ctx->cfg.request_timeout_ms);
	c->deadline_ns = c->window_end_ns;
	send_out(l, slot, c->resp.head, c->resp.len);
}

/* Feeds what is buffered to the request: answers it when complete, else
 * receives more. */
static void parse_input(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];
	int done = kp_http_feed(&c->req, c->buf + c->in_off, c->in_len);
	size_t used = done ? c->req.used : c->in_len;

	c->in_off += used;
	c->in_len -= used;
	if (done)
		respond(l, slot);
	else
		arm_recv(l, slot);
}

/* A new request on the connection: from the bytes already received
 * (pipelined), or from the socket after idle_timeout_ms at most. */
static void start_request(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];

	kp_http_request_init(&c->req);
	memcpy(c->req.peer, c->peer, sizeof c->peer);
	c->since_ns = kp_now_mono_ns();
	if (c->in_len > 0) {
		c->deadline_ns = ms_from_now(l->ctx->cfg.request_timeout_ms);
		parse_input(l, slot);
		return;
	}
	c->idle = c->served > 0;
	c->deadline_ns = ms_from_now(c->idle ? l->ctx->cfg.idle_timeout_ms : l->ctx->cfg.request_timeout_ms);
	arm_recv(l, slot);
}

/* The client's address, IPv4 mapped into IPv6. A socket whose peer is
 * already gone has none: it gets ::, and closes at its first recv. */
static void peer_of(int fd, uint8_t out[KP_ADDR_SIZE])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(out, 0, KP_ADDR_SIZE);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, KP_ADDR_SIZE);
	}
}

/* A free connection slot, or -1. */
static int free_slot(const struct loop *l)
{
	for (int i = 0; i < l->nconns; i++)
		if (l->conns[i].fd < 0)
			return i;
	return -1;
}

static void on_accept(struct loop *l, struct io_uring_cqe *cqe)
{
	struct conn *c;
	int slot;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		l->accept_armed = 0;
		/* After an error (EMFILE, ENOBUFS) re-arm from the tick, not in a spin. */
		if (cqe->res >= 0 && l->running)
			arm_accept(l);
	}
	if (cqe->res < 0)
		return;
	slot = free_slot(l);
	/* At the limit, room is made before the newcomer is counted, so that it
	 * is never the one cut off: with nobody to cut off it gets the 503. */
	if (slot < 0 || (l->open - l->evicted >= l->limit && evict_oldest_waiting(l) != 0)) {
		refuse(l, cqe->res);
		return;
	}
	c = &l->conns[slot];
	c->fd = cqe->res;
	peer_of(c->fd, c->peer);
	c->sending = c->evicted = c->served = 0;
	c->in_len = 0;
	atomic_fetch_add_explicit(&l->ctx->http.m->http_connections, 1, memory_order_relaxed);
	l->open++;
	start_request(l, slot);
}

static void on_recv(struct loop *l, int slot, int res)
{
	struct conn *c = &l->conns[slot];

	if (res <= 0) {
		conn_close(l, slot);
		return;
	}
	if (c->idle) { /* the request's own clock starts at its first byte */
		c->idle = 0;
		c->deadline_ns = ms_from_now(l->ctx->cfg.request_timeout_ms);
	}
	c->in_off = 0;
	c->in_len = (size_t)res;
	parse_input(l, slot);
}

/* The answer is sent: the next request, or the end of the connection. */
static void answer_done(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];

	kp_http_response_free(&c->resp);
	free(c->stream);
	c->stream = NULL;
	c->sending = 0;
	if (!c->req.keep_alive) {
		conn_close(l, slot);
		return;
	}
	start_request(l, slot);
}

/* Sends the next piece of a streamed body, framed as a chunk when the head
 * said so; at its end, the last chunk. */
static void send_piece(struct loop *l, int slot)
{
	struct conn *c = &l->conns[slot];
	ssize_t n;
	size_t framed;

	if (!c->stream)
		c->stream = malloc(KP_HTTP_CHUNK_BEFORE + STREAM_BUF + KP_HTTP_CHUNK_AFTER);
	if (!c->stream) {
		conn_close(l, slot);
		return;
	}
	n = c->resp.body->read(c->resp.body, c->stream + KP_HTTP_CHUNK_BEFORE, STREAM_BUF);
	if (n < 0) {
		conn_close(l, slot);
		return;
	}
	if (n == 0) {
		c->resp.body->close(c->resp.body);
		c->resp.body = NULL;
		if (c->resp.chunked)
			send_out(l, slot, KP_HTTP_CHUNK_LAST, sizeof(KP_HTTP_CHUNK_LAST) - 1);
		else
			answer_done(l, slot);
		return;
	}
	if (!c->resp.chunked) {
		send_out(l, slot, c->stream + KP_HTTP_CHUNK_BEFORE, (size_t)n);
		return;
	}
	char *start = kp_http_chunk_frame(c->stream + KP_HTTP_CHUNK_BEFORE, (size_t)n, &framed);
	send_out(l, slot, start, framed);
}

static void on_send(struct loop *l, int slot, int res)
{
	struct conn *c = &l->conns[slot];

	if (res <= 0) {
		conn_close(l, slot);
		return;
	}
	c->window_sent += (size_t)res;
	if (c->window_sent >= SEND_PROGRESS_MIN) { /* it reads fast enough: the next window */
		c->window_sent = 0;
		c->window_end_ns = ms_from_now(l->ctx->cfg.request_timeout_ms);
	}
	c->deadline_ns = c->window_end_ns;
	c->out_off += (size_t)res;
	if (c->out_off < c->out_len)
		arm_send(l, slot);
	else if (c->resp.body)
		send_piece(l, slot);
	else
		answer_done(l, slot);
}

static void on_signal(struct loop *l, int res)
{
	if (res == (int)sizeof(l->siginfo)) {
		if (l->siginfo.ssi_signo == SIGHUP) {
			fprintf(stderr, "komposterd: SIGHUP: re-reading the device registry's subscriptions now; "
			                "enrolments and revocations already apply to verification\n");
			if (l->ctx->on_hup)
				l->ctx->on_hup(l->ctx->on_hup_arg);
		} else {
			fprintf(stderr, "komposterd: signal %u: draining\n", l->siginfo.ssi_signo);
			l->running = 0;
			return;
		}
	}
	arm_signal(l);
}

/* A connection cut off while sending: its close resets it, so that the
 * kernel does not go on sending the rest of the answer (megabytes, to a
 * reader this slow) after the slot is free. Best effort: without it the
 * close is an orderly one. */
static void drop_unsent(int fd)
{
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

static void on_tick(struct loop *l)
{
	uint64_t now = kp_now_mono_ns();

	if (!l->accept_armed)
		arm_accept(l);
	for (int i = 0; i < l->nconns; i++) {
		struct conn *c = &l->conns[i];
		if (c->fd < 0 || now <= c->deadline_ns)
			continue;
		atomic_fetch_add_explicit(c->idle ? &l->ctx->http.m->http_idle_closed : &l->ctx->http.m->http_timed_out, 1,
		                          memory_order_relaxed);
		c->deadline_ns = UINT64_MAX; /* counted once; its pending operation closes it */
		if (c->sending)
			drop_unsent(c->fd);
		shutdown(c->fd, SHUT_RDWR);
	}
	arm_tick(l);
}

static void dispatch(struct loop *l, struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	int slot = (int)(data >> 8);

	if (!(cqe->flags & IORING_CQE_F_MORE))
		l->pending--;
	if (!l->running) { /* winding down: close, never re-arm */
		enum op op = (enum op)(data & 0xff);
		if ((op == OP_RECV || op == OP_SEND) && l->conns[slot].fd >= 0)
			conn_close(l, slot);
		return;
	}
	switch ((enum op)(data & 0xff)) {
	case OP_ACCEPT: on_accept(l, cqe); break;
	case OP_RECV: on_recv(l, slot, cqe->res); break;
	case OP_SEND: on_send(l, slot, cqe->res); break;
	case OP_SIGNAL: on_signal(l, cqe->res); break;
	case OP_TICK: on_tick(l); break;
	case OP_CANCEL: break;
	}
}

static sigset_t handled_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	return set;
}

/* Waits up to ms for SIGTERM or SIGINT (blocked, so they stay pending for
 * the signalfd otherwise). Returns 1 when one came. */
static int stop_requested_within(int ms)
{
	sigset_t stop;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	siginfo_t info;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	return sigtimedwait(&stop, &info, &ts) > 0;
}

/* After a crash the old process's listener can outlive it briefly: io_uring
 * tears a dead ring down asynchronously, and a pending multishot accept keeps
 * the socket open until then. So EADDRINUSE is retried for a few seconds,
 * while SIGTERM still stops the daemon at once. Returns 0, -1 on an error,
 * 1 when a stop was asked for. */
static int bind_with_retry(int fd, const struct sockaddr_in *sa)
{
	for (int waited = 0;; waited += 100) {
		if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno != EADDRINUSE || waited >= 10000)
			return -1;
		if (stop_requested_within(100))
			return 1;
	}
}

/* Returns the listening socket, -1 on an error (said on stderr), or -2 when
 * a stop signal came while the port was busy. */
static int open_listener(const char *addr)
{
	struct sockaddr_in sa;
	int one = 1, rc = -1;

	if (kp_listen_parse(addr, &sa) != 0) {
		fprintf(stderr, "komposterd: [http] listen: '%s' is not IPv4:port\n", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0)
		rc = bind_with_retry(fd, &sa);
	if (rc == 0 && listen(fd, 128) == 0)
		return fd;
	if (rc == 1)
		fprintf(stderr, "komposterd: stop asked for while %s was busy\n", addr);
	else
		fprintf(stderr, "komposterd: http: cannot listen on %s: %s\n", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc == 1 ? -2 : -1;
}

int kp_loop_block_signals(void)
{
	sigset_t set = handled_signals();
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

static int loop_init(struct loop *l, const struct kp_loop_ctx *ctx)
{
	struct io_uring_params params = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	sigset_t set = handled_signals();
	int rc;

	memset(l, 0, sizeof(*l));
	l->ctx = ctx;
	l->listen_fd = l->signal_fd = -1;
	l->http = ctx->http;
	if (kp_auth_limit_init(&l->auth_limit, KP_AUTH_LIMIT_BURST, KP_AUTH_LIMIT_REFILL_MS) != 0) {
		fprintf(stderr, "komposterd: the token rate limit cannot start (libsodium)\n");
		return -1;
	}
	l->http.auth_limit = &l->auth_limit;
	l->limit = ctx->cfg.max_connections;
	l->nconns = l->limit + KP_LOOP_CONN_RESERVE;
	l->conns = calloc((size_t)l->nconns, sizeof(*l->conns));
	if (!l->conns)
		return -1;
	for (int i = 0; i < l->nconns; i++)
		l->conns[i].fd = -1;
	unsigned entries = (unsigned)(l->nconns + KP_LOOP_OWN_OPS); /* at most KP_LOOP_RING_MAX (loop.h) */
	rc = io_uring_queue_init_params(entries, &l->ring, &params);
	if (rc == -EINVAL) /* kernels before 6.1 */
		rc = io_uring_queue_init(entries, &l->ring, 0);
	if (rc < 0) {
		fprintf(stderr, "komposterd: io_uring: %s\n", strerror(-rc));
		return -1;
	}
	l->ring_ready = 1;
	l->listen_fd = open_listener(ctx->cfg.listen);
	if (l->listen_fd == -2)
		return 1;
	l->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (l->listen_fd < 0 || l->signal_fd < 0)
		return -1;
	return 0;
}

/* Cancels whatever the kernel still holds and reaps it, so that no recv or
 * signalfd read can write into memory after it is freed (the ring itself is
 * torn down asynchronously). Bounded: a second at most. */
static void cancel_pending(struct loop *l)
{
	struct __kernel_timespec wait = { .tv_sec = 0, .tv_nsec = 100000000 };
	struct io_uring_cqe *cqe;

	l->running = 0;
	struct io_uring_sqe *sqe = get_sqe(l);
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, pack(OP_CANCEL, 0));
	for (int i = 0; i < 10 && l->pending > 0; i++) {
		if (io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &wait, NULL) < 0 && i > 0)
			continue;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			dispatch(l, cqe);
			seen++;
		}
		io_uring_cq_advance(&l->ring, seen);
	}
}

static void loop_fini(struct loop *l)
{
	if (l->ring_ready)
		cancel_pending(l);
	for (int i = 0; l->conns && i < l->nconns; i++)
		if (l->conns[i].fd >= 0)
			conn_close(l, i);
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	if (l->signal_fd >= 0)
		close(l->signal_fd);
	if (l->ring_ready)
		io_uring_queue_exit(&l->ring);
	free(l->conns);
}

int kp_loop_run(const struct kp_loop_ctx *ctx)
{
	struct loop l;
	struct io_uring_cqe *cqe;
	int rc = -1;

	rc = loop_init(&l, ctx);
	if (rc != 0) {
		rc = rc > 0 ? 0 : -1; /* stopped before serving: a clean stop */
		goto out;
	}
	rc = -1;
	l.running = 1;
	arm_accept(&l);
	arm_signal(&l);
	arm_tick(&l);
	fprintf(stderr, "komposterd: http on %s\n", ctx->cfg.listen);
	while (l.running) {
		int r = io_uring_submit_and_wait(&l.ring, 1);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "komposterd: io_uring wait: %s\n", strerror(-r));
			goto out;
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&l.ring, head, cqe) {
			dispatch(&l, cqe);
			seen++;
		}
		io_uring_cq_advance(&l.ring, seen);
	}
	rc = 0;
out:
	loop_fini(&l);
	return rc;
}
