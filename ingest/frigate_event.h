/*
 * frigate_event.h — one message of Frigate's `frigate/events` topic, parsed
 * into a fixed-size struct: what the passenger count needs (type, label,
 * false_positive, entered_zones) and what an operator's listing of NVR
 * events shows (id, camera, label, zones, start, end, has_clip).
 *
 * Frigate (0.8 to 0.17) publishes {"type": "new"|"update"|"end",
 * "before": {...}, "after": {...}}, one object's state in each. Only `type`
 * and `after` are read; `before` and every other key are ignored, because
 * each Frigate release adds keys (attributes, snapshot, active, ...).
 *
 * Strict about what it reads: a field it needs that is absent is
 * KP_FRIGATE_EMISSING, one of another JSON type KP_FRIGATE_EWRONG_TYPE, so a
 * changed payload shape shows in /metrics instead of as silent zeros.
 * Bounded: a payload over KP_FRIGATE_PAYLOAD_MAX bytes is refused before it
 * is parsed; names and zone lists have fixed bounds (below).
 *
 * Names are C strings: one with an escaped NUL ("door\u0000x") is read up
 * to the NUL, as cJSON hands it over.
 *
 * Memory: cJSON builds its tree on the heap and it is freed before
 * kp_frigate_event_parse returns; the result lives in the caller's struct,
 * which holds no pointers. Threads: call it from one thread at a time (the
 * daemon will have one Frigate consumer): every cJSON 1.7 parse writes its
 * last error position into one process-wide variable, so two parses at once
 * are a data race even though nothing here reads it.
 */
#ifndef KP_FRIGATE_EVENT_H
#define KP_FRIGATE_EVENT_H

#include <stdbool.h>
#include <stddef.h>

/* Frigate's own messages are a few kilobytes; 64 KiB leaves room for every
 * key a future release may add and keeps a flood of big payloads cheap. */
#define KP_FRIGATE_PAYLOAD_MAX 65536
/* An id is "<start_time>-<6 random>" (about 24 bytes); camera, label and zone
 * names are keys of Frigate's config. Lengths in bytes, without the NUL. */
#define KP_FRIGATE_ID_MAX 63
#define KP_FRIGATE_NAME_MAX 63
/* Zones one object may have entered on one camera: far more than a door or a
 * stop has. */
#define KP_FRIGATE_ZONES_MAX 32

enum kp_frigate_type {
	KP_FRIGATE_NEW = 0, /* the object stopped being a false positive */
	KP_FRIGATE_UPDATE,  /* better snapshot, zone change, at least once a minute */
	KP_FRIGATE_END,     /* the object is gone; end_time is set */
};

/* Why a payload was refused. Each name (kp_frigate_err_name) is a Prometheus
 * label value. */
enum kp_frigate_err {
	KP_FRIGATE_OK = 0,
	KP_FRIGATE_ETOO_LARGE,      /* "too_large": over KP_FRIGATE_PAYLOAD_MAX bytes */
	KP_FRIGATE_EMALFORMED,      /* "malformed_json": not one JSON value (cJSON also says so when it runs out of memory) */
	KP_FRIGATE_EMISSING,        /* "missing_field": type, after or a field of after listed below is absent */
	KP_FRIGATE_EWRONG_TYPE,     /* "wrong_type": the payload, after, or a field has another JSON type */
	KP_FRIGATE_EUNKNOWN_TYPE,   /* "unknown_type": type is none of new, update, end */
	KP_FRIGATE_EBAD_VALUE,      /* "bad_value": an empty id, camera, label or zone name; a time that is negative or not finite */
	KP_FRIGATE_ETOO_LONG,       /* "too_long": id over KP_FRIGATE_ID_MAX, another name over KP_FRIGATE_NAME_MAX bytes */
	KP_FRIGATE_ETOO_MANY_ZONES, /* "too_many_zones": a zone list over KP_FRIGATE_ZONES_MAX */
};
#define KP_FRIGATE_ERR_COUNT (KP_FRIGATE_ETOO_MANY_ZONES + 1)

struct kp_frigate_zones {
	size_t n;
	char name[KP_FRIGATE_ZONES_MAX][KP_FRIGATE_NAME_MAX + 1];
};

/* Fields of `after`, each required, with the JSON type it must have. */
struct kp_frigate_event {
	enum kp_frigate_type type;
	char id[KP_FRIGATE_ID_MAX + 1];         /* string, the key of the tracked object */
	char camera[KP_FRIGATE_NAME_MAX + 1];   /* string */
	char label[KP_FRIGATE_NAME_MAX + 1];    /* string: "person", "car", ... */
	bool false_positive;                    /* bool */
	bool has_clip;                          /* bool */
	double start_time;                      /* number, Unix seconds */
	bool has_end_time;                      /* end_time: number, or null until the end */
	double end_time;                        /* 0 when !has_end_time */
	struct kp_frigate_zones entered_zones;  /* array of strings, every zone entered so far, in order */
	struct kp_frigate_zones current_zones;  /* array of strings, the zones it is in now */
};

/* Parses one payload of len bytes (not NUL-terminated; MQTT gives none) into
 * *ev. Returns KP_FRIGATE_OK, or an error with *ev unspecified. Whitespace
 * may follow the JSON value, nothing else. */
enum kp_frigate_err kp_frigate_event_parse(const void *payload, size_t len, struct kp_frigate_event *ev);

/* "too_large", "malformed_json", ...: static strings; "ok" for KP_FRIGATE_OK,
 * "unknown" for a value outside the enum. */
const char *kp_frigate_err_name(enum kp_frigate_err err);
/* "new", "update", "end" (as Frigate spells them), "unknown" otherwise. */
const char *kp_frigate_type_name(enum kp_frigate_type type);

/* Whether zone (a NUL-terminated name) is in the list. */
bool kp_frigate_zones_contain(const struct kp_frigate_zones *zones, const char *zone);

#endif
