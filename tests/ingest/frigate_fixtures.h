/*
 * frigate_fixtures.h — the payloads of tests/data/frigate-events.jsonl by
 * name, for the Frigate tests. See that file's header for its format.
 */
#ifndef KP_TEST_FRIGATE_FIXTURES_H
#define KP_TEST_FRIGATE_FIXTURES_H

#include <stddef.h>

/* The payload named name, in a malloc'd block of exactly *len bytes with no
 * NUL after it (as MQTT delivers it, so ASan sees any read past the end).
 * The caller frees it. Fails the test when the file or the name is missing. */
char *frigate_fixture(const char *name, size_t *len);

/* Calls fn(name, payload, len, arg) for every payload, in file order; the
 * payload is borrowed for the call. Fails the test when the file is unreadable. */
void frigate_fixture_each(void (*fn)(const char *name, const char *payload, size_t len, void *arg), void *arg);

#endif
