/*
 * tapgen.h — plausible validator taps for the fleet simulator.
 *
 * A small fixed network (VD_TAPGEN_ROUTES routes of VD_TAPGEN_STOPS stops;
 * stop ids are route_id * 100 + 1..15), one route per vehicle, the vehicle
 * moving stop to stop and turning at the ends. Riders are a pool of random
 * 16-byte card tokens drawn with a skew, so regulars repeat. Fare products
 * 1..4 (single 800, reduced 400, pass 0, free 0 kopiykas); about 5% of taps
 * are denied (result 1..5, amount 0); about 10% of accepted taps are
 * transfers (flag bit 1, amount 0); taps made offline carry flag bit 0.
 * Deterministic for a given seed. One generator, used by one thread.
 */
#ifndef VD_TAPGEN_H
#define VD_TAPGEN_H

#include <stddef.h>
#include <stdint.h>

#include "firmware-proto/frame.h"

#define VD_TAPGEN_ROUTES 10
#define VD_TAPGEN_STOPS 15

struct vd_tapgen; /* opaque */

/* Where one vehicle is on its route. */
struct vd_vehicle {
	uint32_t vehicle_id;
	unsigned route;     /* index into the network */
	unsigned stop;      /* index along the route */
	uint8_t direction;  /* 0 outbound, 1 inbound */
	unsigned stop_taps; /* taps left at this stop */
};

/* pool_size riders (>= 1). Returns 0, or -1 when out of memory. */
int vd_tapgen_create(uint64_t seed, size_t pool_size, struct vd_tapgen **out);
void vd_tapgen_destroy(struct vd_tapgen *g);

/* Puts a vehicle on a route chosen from its index in the fleet. */
void vd_tapgen_vehicle(struct vd_tapgen *g, struct vd_vehicle *v, size_t index,
                       uint32_t vehicle_id);

/* The vehicle's next tap at now_ms (Unix ms): vd_tapgen_board, then
 * vd_tapgen_tap. */
void vd_tapgen_next(struct vd_tapgen *g, struct vd_vehicle *v, int64_t now_ms, int offline,
                    struct kp_tap *t);

/* One rider boards: the vehicle moves to its next stop when the riders of
 * this one are in. Draws no rider, so a rider who does not tap leaves no
 * token (--tokens-out lists riders who tapped). */
void vd_tapgen_board(struct vd_tapgen *g, struct vd_vehicle *v);
/* The tap of the rider who boarded last, at now_ms. */
void vd_tapgen_tap(struct vd_tapgen *g, const struct vd_vehicle *v, int64_t now_ms, int offline,
                   struct kp_tap *t);
/* The operator's route id and the stop id where the vehicle is. */
uint32_t vd_tapgen_route_id(const struct vd_vehicle *v);
uint32_t vd_tapgen_stop_id(const struct vd_vehicle *v);
/* The stop id of stop index `stop` (< VD_TAPGEN_STOPS) on route index
 * `route` (< VD_TAPGEN_ROUTES): the fleet's vehicle i rides route index
 * i % VD_TAPGEN_ROUTES. */
uint32_t vd_tapgen_stop_at(unsigned route, unsigned stop);

/* Writes every distinct token handed out so far, 32 lowercase hex digits a
 * line. Returns 0 or -1 (errno set). */
int vd_tapgen_write_tokens(const struct vd_tapgen *g, const char *path);

#endif
