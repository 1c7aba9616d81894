/*
 * file_body.c — see file_body.h. A file shorter than the head said (cut
 * while it was sent) ends the answer with an error: never padded.
 */
#include "ingest/file_body.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct file_body {
	struct kp_http_body b;
	int fd;
	int64_t off, len;
};

static ssize_t file_read(struct kp_http_body *b, char *buf, size_t cap)
{
	struct file_body *f = (struct file_body *)b;
	ssize_t n;

	if (f->off >= f->len)
		return 0;
	if ((int64_t)cap > f->len - f->off)
		cap = (size_t)(f->len - f->off);
	do
		n = pread(f->fd, buf, cap, (off_t)f->off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	f->off += n;
	return n;
}

static void file_close(struct kp_http_body *b)
{
	struct file_body *f = (struct file_body *)b;

	close(f->fd);
	free(f);
}

struct kp_http_body *kp_file_body_new(int fd, int64_t len)
{
	struct file_body *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	*f = (struct file_body){ .b = { .read = file_read, .close = file_close }, .fd = fd, .len = len };
	return &f->b;
}
