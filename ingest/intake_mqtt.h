/*
 * intake_mqtt.h — the MQTT side of komposterd, on Paho MQTTAsync: a
 * persistent session (cleansession 0, stable client id) subscribed at QoS 1
 * to the daemon's topic set, with no Paho persistence on disk (frames carry
 * raw card tokens, which never touch our disk).
 *
 * messageArrived only parses the topic and pushes the message, uncopied, into
 * d->intake; when that ring is full it waits, which stalls Paho's socket
 * reads: TCP pushes back on the broker, the broker queues, devices keep
 * their outboxes. Paho has already sent the PUBACK by then (DESIGN.md), so
 * durability is the application ACK's job, never MQTT's.
 * kp_intake_tick is called once a second by the loop; it retries the first
 * connection (Paho's automatic reconnect covers later losses) and a
 * subscription the broker refused or granted below QoS 1. /readyz is 200 only
 * while subscribed at QoS 1.
 */
#ifndef KP_INTAKE_MQTT_H
#define KP_INTAKE_MQTT_H

#include "ingest/daemon.h"

int kp_intake_start(struct kp_daemon *d);
void kp_intake_tick(struct kp_daemon *d);
int kp_intake_connected(struct kp_daemon *d);
/* Disconnects (bounded wait) and destroys the client. */
void kp_intake_stop(struct kp_daemon *d);
/* The Paho client, for the publisher. */
MQTTAsync kp_intake_client(struct kp_daemon *d);

/* The topic of a message as intake takes it: a device topic (see
 * firmware-proto/topic.h) of a stream the daemon subscribes to (taps).
 * Fills *device_id and *stream (enum kp_stream); 0, or -1 for any other
 * topic (counted as bad_topic and dropped). */
int kp_intake_parse_topic(const char *topic, size_t len, uint64_t *device_id, uint8_t *stream);

#endif
