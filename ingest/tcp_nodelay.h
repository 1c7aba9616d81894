/*
 * tcp_nodelay.h — Nagle's algorithm off on this process's connections to
 * the MQTT broker.
 *
 * Paho C before 1.3.16 (Debian 12 ships 1.3.11) never sets TCP_NODELAY, and
 * no version gives access to its socket.
 * With Nagle on, a small publish (an ACK, a frame) waits until the segment
 * before it is acknowledged, and the broker's kernel delays that ACK by up
 * to 40 ms when it has nothing to send back: measured with `komposter
 * bench`, the ideal ingester's frame -> ACK p99 went from 12-15 ms to 4 ms
 * with Nagle off on both ends (the broker's end is mosquitto's
 * set_tcp_nodelay; etc/mosquitto.conf.in sets it).
 *
 * kp_tcp_nodelay_to(uri) sets TCP_NODELAY on every connected TCP socket of
 * the process whose peer port is the broker URI's (tcp://host:port; without
 * a port, the scheme's default: 1883, 8883 for ssl:// and mqtts://, 80 for
 * ws://, 443 for wss://). Call
 * it after each successful connect (Paho's connected callback): the socket
 * exists then, and a reconnect makes a new one. Returns the number of
 * sockets it set (0: none found), or -1 with errno when /proc/self/fd
 * cannot be read. Setting it on another connection to the same port is
 * harmless.
 */
#ifndef KP_TCP_NODELAY_H
#define KP_TCP_NODELAY_H

/* The port a broker URI names, or its scheme's default; -1 when malformed. */
int kp_broker_uri_port(const char *uri);
int kp_tcp_nodelay_to(const char *uri);

#endif
