/*
 * tcp_nodelay.c — see tcp_nodelay.h: /proc/self/fd walked for TCP sockets
 * whose peer port is the broker's.
 */
#define _GNU_SOURCE
#include "ingest/tcp_nodelay.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int kp_broker_uri_port(const char *uri)
{
	const char *rest = strstr(uri, "://");
	int port = 1883; /* tcp:// and mqtt:// */

	if (strncmp(uri, "ssl://", 6) == 0 || strncmp(uri, "mqtts://", 8) == 0)
		port = 8883;
	else if (strncmp(uri, "ws://", 5) == 0)
		port = 80;
	else if (strncmp(uri, "wss://", 6) == 0)
		port = 443;

	rest = rest ? rest + 3 : uri;
	const char *host_end = rest + strcspn(rest, "/");
	const char *host = rest;
	if (*rest == '[') { /* an IPv6 literal: the port follows its ']' */
		host = memchr(rest, ']', (size_t)(host_end - rest));
		if (!host)
			return -1;
	}
	const char *colon = memchr(host, ':', (size_t)(host_end - host));
	if (!colon)
		return port;
	char *end;
	long given = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || end != host_end || given < 1 || given > 65535)
		return -1;
	return (int)given;
}

static int peer_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int proto = 0;
	socklen_t plen = sizeof(proto);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) != 0 || proto != IPPROTO_TCP ||
	    getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	if (sa.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&sa)->sin_port);
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return -1;
}

int kp_tcp_nodelay_to(const char *uri)
{
	int port = kp_broker_uri_port(uri), set = 0, one = 1;
	DIR *d;
	struct dirent *e;

	if (port < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!(d = opendir("/proc/self/fd")))
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end != '\0' || fd == dirfd(d) || peer_port((int)fd) != port)
			continue;
		if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
			set++;
	}
	closedir(d);
	return set;
}
