/* The monotonic clock every timing in inferd reads, and the wall clock of the times it records. */
#ifndef INFERD_CLOCK_H
#define INFERD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t inferd_monotonic_ns(void);

/* CLOCK_REALTIME in milliseconds since the epoch: the times inferd records and reports. */
int64_t inferd_wall_ms(void);

#endif
