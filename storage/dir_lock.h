/*
 * dir_lock.h — one komposterd per database.
 *
 * LMDB lets any number of processes open an environment for writing, so two
 * daemons on one database would both subscribe, both store and both answer
 * every device. A daemon therefore holds an exclusive flock(2) on
 * DIR/komposterd.lock for as long as it runs, taken before it touches the
 * broker or the network; the file holds the holder's pid for the message
 * the second one prints. The kernel drops the lock when the holder exits,
 * however it exits, so a kill -9 never leaves a stale lock behind.
 * Tools that only read (komposter stats, dump, check) do not take it.
 */
#ifndef ST_DIR_LOCK_H
#define ST_DIR_LOCK_H

#include <sys/types.h>

#define ST_DIR_LOCK_FILE "komposterd.lock"

/* Takes the lock on the existing directory dir. Returns ST_OK with *fd set
 * (keep it open while running), ST_EBUSY when another open file holds it,
 * or another ST_E* status (st_last_error has the errno). */
int st_dir_lock(const char *dir, int *fd);
/* Closes fd, which drops the lock; -1 is ignored. */
void st_dir_unlock(int fd);
/* The pid recorded by the lock's holder, 0 when unknown. */
pid_t st_dir_lock_holder(const char *dir);

#endif
