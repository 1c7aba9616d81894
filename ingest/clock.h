/* clock.h — the daemon's two clocks: wall time in Unix ms (for frames and
 * storage) and a monotonic clock in ns (for deadlines and latencies). */
#ifndef KP_CLOCK_H
#define KP_CLOCK_H

#include <stdint.h>

uint64_t kp_now_mono_ns(void);
int64_t kp_now_ms(void);
void kp_sleep_ms(int ms);

#endif
