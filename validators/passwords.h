/*
 * passwords.h — the simulator's broker passwords file (validator-sim run
 * --broker-passwords FILE): one line per device,
 *   <device id, 16 lowercase hex digits>:<password>
 * which is the plaintext file `mosquitto_passwd -U` turns into the broker's
 * password file, so one file made by the operator serves both: the same
 * rules hold (no blank or comment lines; the password is everything after
 * the first colon up to the end of the line). A device id appears at most
 * once; a password has 1..VD_BROKER_PASSWORD_MAX bytes.
 *
 * The file's memory is wiped when the set is freed. Functions that can fail
 * return 0 or -1 with one line in err (VD_PASSWORDS_ERR_SIZE bytes).
 */
#ifndef VD_PASSWORDS_H
#define VD_PASSWORDS_H

#include <stddef.h>
#include <stdint.h>

#define VD_PASSWORDS_ERR_SIZE 256

struct vd_passwords; /* opaque; owned by the caller of vd_passwords_read */

int vd_passwords_read(const char *path, struct vd_passwords **out, char *err);
/* The device's password (borrowed until vd_passwords_free), NULL if the file
 * has no line for it. */
const char *vd_passwords_find(const struct vd_passwords *p, uint64_t device_id);
/* NULL allowed. */
void vd_passwords_free(struct vd_passwords *p);

#endif
