/* Random draws and bit mixing (see inferd/random.h). */
#include "inferd/random.h"
#include "inferd/clock.h"

uint64_t inferd_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

uint64_t inferd_splitmix64(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15u;
    return inferd_mix64(*state);
}

double inferd_uniform(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) /* each thread's sequence starts from the clock and its own address */
        state = inferd_mix64(inferd_monotonic_ns() ^ (uint64_t)(uintptr_t)&state) | 1;
    return ((double)(inferd_splitmix64(&state) >> 11) + 0.5) / 9007199254740992.0;
}
