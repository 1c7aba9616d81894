/*
 * test_tcp_nodelay.c — Nagle off on the connections to the broker's port,
 * and on no other.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/tcp_nodelay.h"

/* A listening socket on a free loopback port; *port set. */
static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int nodelay(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

Test(tcp_nodelay, sets_the_broker_connections_only)
{
	int broker_port, other_port;
	int broker = listen_any(&broker_port), other = listen_any(&other_port);
	int c1 = connect_to(broker_port), c2 = connect_to(broker_port), c3 = connect_to(other_port);
	char uri[64];

	cr_assert_eq(nodelay(c1), 0, "Nagle is on by default");
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", broker_port);
	cr_assert_eq(kp_tcp_nodelay_to(uri), 2);
	cr_assert_neq(nodelay(c1), 0);
	cr_assert_neq(nodelay(c2), 0);
	cr_assert_eq(nodelay(c3), 0, "another port's connection is left alone");
	cr_assert_eq(nodelay(broker), 0, "a listening socket has no peer");
	close(c1), close(c2), close(c3), close(broker), close(other);
}

Test(tcp_nodelay, uri_ports)
{
	cr_assert_eq(kp_broker_uri_port("tcp://127.0.0.1:41883"), 41883);
	cr_assert_eq(kp_broker_uri_port("tcp://broker.example"), 1883);
	cr_assert_eq(kp_broker_uri_port("mqtt://broker.example/"), 1883);
	cr_assert_eq(kp_broker_uri_port("ssl://broker.example"), 8883);
	cr_assert_eq(kp_broker_uri_port("mqtts://broker.example:9883"), 9883);
	cr_assert_eq(kp_broker_uri_port("ws://broker.example/mqtt"), 80);
	cr_assert_eq(kp_broker_uri_port("wss://broker.example/mqtt"), 443);
	cr_assert_eq(kp_broker_uri_port("ws://broker.example:9001/mqtt"), 9001);
	cr_assert_eq(kp_broker_uri_port("tcp://[::1]:1884"), 1884);
	cr_assert_eq(kp_broker_uri_port("tcp://[::1]"), 1883);
	cr_assert_eq(kp_broker_uri_port("tcp://host:"), -1);
	cr_assert_eq(kp_broker_uri_port("tcp://host:70000"), -1);
	cr_assert_eq(kp_broker_uri_port("tcp://host:12x"), -1);
	cr_assert_eq(kp_broker_uri_port("tcp://[::1"), -1);
}
