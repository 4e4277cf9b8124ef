/* Histogram buckets shared by the recorder (stats.c) and the exposition (metrics.c). */
#ifndef INFERD_MONITOR_HISTOGRAM_H
#define INFERD_MONITOR_HISTOGRAM_H

#include <stdint.h>

#include "inferd/model.h"

/* Upper bounds of the duration buckets, in nanoseconds: 25 us to 10 s. */
static const uint64_t duration_bounds_ns[] = {
    25000,     50000,     100000,     250000,     500000,      1000000,
    2500000,   5000000,   10000000,   25000000,   50000000,    100000000,
    250000000, 500000000, 1000000000, 2500000000, 10000000000,
};
#define N_DURATION_BOUNDS ((int)(sizeof(duration_bounds_ns) / sizeof(duration_bounds_ns[0])))

/* Upper bounds of the batch-size buckets, in rows. */
static const uint64_t size_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define N_SIZE_BOUNDS ((int)(sizeof(size_bounds) / sizeof(size_bounds[0])))

/* Adds `value` to the bucket whose bound is the first at or above it. */
static inline void histogram_observe(inferd_histogram_t *h, const uint64_t *bounds, int n_bounds,
                                     uint64_t value)
{
    int bucket = 0;
    while (bucket < n_bounds && value > bounds[bucket])
        bucket++;
    atomic_fetch_add_explicit(&h->counts[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, value, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

#endif
