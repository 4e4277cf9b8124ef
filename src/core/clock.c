/* The clocks and the per-thread uniform draw (see inferd/clock.h). */
#include "inferd/clock.h"

#include <time.h>

uint64_t inferd_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t inferd_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64's finaliser */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

double inferd_uniform(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) /* each thread's sequence starts from the clock and its own address */
        state = mix64(inferd_monotonic_ns() ^ (uint64_t)(uintptr_t)&state) | 1;
    state += 0x9e3779b97f4a7c15u;
    return ((double)(mix64(state) >> 11) + 0.5) / 9007199254740992.0;
}
