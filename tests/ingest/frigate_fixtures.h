/*
 * frigate_fixtures.h — for the Frigate tests: the payloads of
 * tests/data/frigate-events.jsonl by name (see that file's header for its
 * format), and a check of metric label names.
 */
#ifndef KP_TEST_FRIGATE_FIXTURES_H
#define KP_TEST_FRIGATE_FIXTURES_H

#include <stddef.h>

#include "ingest/frigate_event.h"

/* The payload named name, in a malloc'd block of exactly *len bytes with no
 * NUL after it (as MQTT delivers it, so ASan sees any read past the end).
 * The caller frees it. Fails the test when the file or the name is missing. */
char *frigate_fixture(const char *name, size_t *len);

/* kp_frigate_event_parse of the payload named name. */
enum kp_frigate_err frigate_fixture_parse(const char *name, struct kp_frigate_event *ev);

/* Calls fn(name, payload, len, arg) for every payload, in file order; the
 * payload is borrowed for the call. Fails the test when the file is unreadable. */
void frigate_fixture_each(void (*fn)(const char *name, const char *payload, size_t len, void *arg), void *arg);

/* Expects names[0..n) to be distinct, not "unknown", and usable as Prometheus
 * label values ([a-z_]+); what says whose names they are. */
void frigate_expect_label_names(const char *what, const char *const *names, size_t n);

#endif
