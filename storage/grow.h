/*
 * grow.h — the storage layer's growable arrays: one way to double them.
 *
 * Promises: st_grow makes room for at least one more element in *buf
 * (elem bytes each): *cap doubles, or becomes initial when it is 0. On
 * failure (out of memory, or a size that would overflow) *buf and *cap are
 * as they were and ST_EIO is returned; the caller's elements are kept.
 */
#ifndef ST_GROW_H
#define ST_GROW_H

#include <stddef.h>

int st_grow(void **buf, size_t *cap, size_t initial, size_t elem);

#endif
