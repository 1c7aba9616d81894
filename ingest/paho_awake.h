/*
 * paho_awake.h — keeping Paho's receive thread out of its idle sleep.
 *
 * Paho C 1.3 (MQTTAsync_cycle in MQTTAsyncUtils.c, read for this: not an
 * API promise) polls every socket of the process for up to a second, and
 * when that poll ends with nothing to read it sleeps 100 ms before polling
 * again. A frame that arrives during the sleep waits for it: after a quiet
 * second a lone frame could wait up to 100 ms before verify even sees it,
 * and a measured phase that starts after a pause starts with such a stall.
 *
 * A client keeps the thread awake by publishing a small QoS 0 message to
 * itself whenever KP_PAHO_AWAKE_MS passed with nothing received: the poll
 * then always has something to read. The topic is
 * komposter/local/awake/{client_id}: no device topic (PROTOCOL.md), and
 * outside komposter/v1/#, which broker bridges carry (etc/mosquitto-bridge.
 * conf.in), so a link outage queues none of it. The client subscribes to it
 * at QoS 0 and drops what arrives there without counting it as a frame.
 * One is outstanding at a time: the next only once something came back,
 * or KP_PAHO_AWAKE_RETRY_MS later (a broker whose ACL drops them).
 */
#ifndef KP_PAHO_AWAKE_H
#define KP_PAHO_AWAKE_H

#include <stddef.h>

/* Under Paho's one-second poll with room for a late wake-up. */
#define KP_PAHO_AWAKE_MS 400
#define KP_PAHO_AWAKE_RETRY_MS 5000
#define KP_PAHO_AWAKE_PREFIX "komposter/local/awake/"
#define KP_PAHO_AWAKE_TOPIC_MAX 160

/* Writes the client's awake topic into out. 0, or -1 when client_id is empty,
 * too long, or holds a character a topic name may not ('+', '#') or a '/'. */
int kp_paho_awake_topic(char out[KP_PAHO_AWAKE_TOPIC_MAX], const char *client_id);

#endif
