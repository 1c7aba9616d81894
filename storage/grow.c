/*
 * grow.c — doubling growable arrays (grow.h).
 */
#include "storage/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "storage/db.h"

int st_grow(void **buf, size_t *cap, size_t initial, size_t elem)
{
	size_t next = *cap ? *cap * 2 : initial;
	void *p;

	if (next < *cap || elem == 0 || next > SIZE_MAX / elem)
		return ST_EIO;
	p = realloc(*buf, next * elem);
	if (!p)
		return ST_EIO;
	*buf = p;
	*cap = next;
	return ST_OK;
}
