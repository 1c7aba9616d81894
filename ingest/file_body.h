/*
 * file_body.h — a body (http_body.h) that streams an open regular file:
 * each read() is one pread of at most cap bytes, so that a file of any
 * size is sent without holding it in memory. Shared by /open/ and /ui/.
 */
#ifndef KP_FILE_BODY_H
#define KP_FILE_BODY_H

#include <stdint.h>

#include "ingest/http_body.h"

/* A body of the first len bytes of fd; it owns fd (closed by close()).
 * NULL when out of memory: fd is then still the caller's. */
struct kp_http_body *kp_file_body_new(int fd, int64_t len);

#endif
