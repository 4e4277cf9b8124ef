/* The monotonic clock every timing in inferd reads, the wall clock of the times it records, and the
 * per-thread uniform draw that traffic splits, mirroring and fault injection make (seeded from that
 * clock; not for secrets). */
#ifndef INFERD_CLOCK_H
#define INFERD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t inferd_monotonic_ns(void);

/* CLOCK_REALTIME in milliseconds since the epoch: the times inferd records and reports. */
int64_t inferd_wall_ms(void);

/* A uniform double in (0, 1) from the calling thread's generator. */
double inferd_uniform(void);

#endif
