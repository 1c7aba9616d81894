/*
 * frigate_mqtt.h — the street cameras' own MQTT client: publishes what
 * frigate_sim.h makes, as a Frigate would, on one Paho MQTTAsync client of
 * its own (none of the devices' sessions, no credentials).
 *
 * Opening connects (waiting up to timeout_ms), sets the Last Will
 * "{prefix}/available" = "offline" (retained) and publishes "online" there,
 * retained, as Frigate does on connect. Every message goes out at QoS 1,
 * not retained; at most VD_FRIGATE_MQTT_WINDOW wait for their PUBACK, and a
 * publish beyond that waits for room. Closing waits for every PUBACK,
 * publishes "offline" (retained, as Frigate does when it stops),
 * disconnects and frees.
 *
 * Errors: functions return 0 or -1 with one line in err
 * (VD_FRIGATE_MQTT_ERR_SIZE bytes): the broker refused or could not be
 * reached, a publish failed (clean session: a connection lost with
 * publishes in flight fails them; nothing is re-sent), or a PUBACK took
 * longer than timeout_ms. After an error every further publish fails too.
 * One owner thread calls all of them; Paho's threads only count
 * completions.
 */
#ifndef VD_FRIGATE_MQTT_H
#define VD_FRIGATE_MQTT_H

#include <stddef.h>
#include <stdint.h>

#define VD_FRIGATE_MQTT_ERR_SIZE 256
#define VD_FRIGATE_MQTT_WINDOW 256

struct vd_frigate_mqtt; /* opaque */

int vd_frigate_mqtt_open(const char *broker_uri, const char *available_topic, int64_t timeout_ms,
                         struct vd_frigate_mqtt **out, char *err);
int vd_frigate_mqtt_publish(struct vd_frigate_mqtt *c, const char *topic, const void *payload,
                            size_t len, char *err);
/* drain: wait for the PUBACKs and say "offline" first (0: just disconnect,
 * on a failed run). Frees c, whatever it returns; NULL is a no-op. */
int vd_frigate_mqtt_close(struct vd_frigate_mqtt *c, int drain, char *err);

#endif
