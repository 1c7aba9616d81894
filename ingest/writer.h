/*
 * writer.h — the one writer thread: takes verified frames from d->to_writer,
 * groups them (up to group_max_frames, waiting at most group_max_wait_ms after
 * the first), stores each group with st_commit_group (one synced LMDB
 * transaction), and only then queues the ACKs. A full map or disk answers the
 * whole group with NACK 7 and raises komposter_storage_full_total; the frames
 * stay on the devices. The writer never touches the network.
 */
#ifndef KP_WRITER_H
#define KP_WRITER_H

#include <pthread.h>

#include "ingest/daemon.h"

int kp_writer_start(struct kp_daemon *d, pthread_t *thread);

#endif
