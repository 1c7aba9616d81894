/*
 * Description: SIGHUP re-reads the registry at once. A partitioned
 * komposterd (0/2) with [mqtt] resync_s = 3600 re-reads its owned devices at
 * connect and then hourly; a device enrolled while it runs is not
 * subscribed (its frame gets no reply, komposter_mqtt_devices_subscribed
 * stays 0) until the daemon gets SIGHUP, after which it is subscribed and
 * its frame is ACKed.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <time.h>

#include "firmware-proto/partition.h"
#include "tests/e2e/probe.h"

/* The first id from 0xd00d0000 that instance 0 of 2 owns. */
static uint64_t owned_by_0_of_2(void)
{
	uint64_t id = 0xd00d0000ULL;

	while (kp_partition_owner(id, 2) != 0)
		id++;
	return id;
}

Test(reread, sighup_subscribes_a_device_enrolled_while_running, .timeout = 60)
{
	struct kp_broker broker;
	struct kp_daemon_proc d;
	struct kp_probe probe;
	struct kp_reply_seen r;
	static uint8_t frame[KP_FRAME_MAX];
	const uint64_t dev = owned_by_0_of_2();

	cr_assert_eq(kp_broker_start(&broker), 0);
	cr_assert_eq(kp_daemon_setup(&d, &broker, "mqtt.partition=0/2\nmqtt.resync_s=3600\n"), 0);
	cr_assert_eq(kp_daemon_start(&d), 0);
	cr_assert_eq(kp_daemon_metric(&d, "komposter_mqtt_devices_subscribed"), 0);
	cr_assert_eq(kp_probe_open(&probe, &broker, &d, dev, 1, 0), 0);

	/* Not served: 3 s, longer than the default period of 2 s. */
	size_t len = kp_probe_frame(&probe, 1, 3, frame, 27, 0x40);
	cr_assert_eq(kp_probe_publish(&probe, dev, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&probe, 3000, &r), -1, "a frame was answered before SIGHUP");
	cr_assert_eq(kp_daemon_metric(&d, "komposter_mqtt_devices_subscribed"), 0);

	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	double subscribed = 0;
	for (int i = 0; i < 200 && subscribed != 1; i++) {
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		subscribed = kp_daemon_metric(&d, "komposter_mqtt_devices_subscribed");
	}
	cr_assert_eq(subscribed, 1, "not subscribed within 10 s of SIGHUP");
	/* The device's outbox sends its frame again. */
	cr_assert_eq(kp_probe_publish(&probe, dev, frame, len), 0);
	cr_assert_eq(kp_probe_reply(&probe, 10000, &r), 0, "no reply after SIGHUP");
	cr_expect(r.signature_ok);
	cr_expect_eq(r.h.type, KP_TYPE_ACK, "NACK reason %llu", (unsigned long long)r.h.aux);
	cr_expect_eq(r.h.batch_seq, 1);

	kp_probe_close(&probe);
	cr_expect_eq(kp_daemon_stop(&d, SIGTERM), 0);
	kp_broker_stop(&broker);
}
