/* Random draws and bit mixing: traffic splits, mirroring, bandits, fault injection, request ids
 * and hashed routing keys. Fast, and the draws are seeded from the clock: not for secrets. */
#ifndef INFERD_RANDOM_H
#define INFERD_RANDOM_H

#include <stdint.h>

/* splitmix64's finaliser (Steele, Lea and Flood): a bijection that spreads every input bit over
 * the whole output. */
uint64_t inferd_mix64(uint64_t x);

/* splitmix64: advances *state by a fixed odd increment and returns the mix of the new state. */
uint64_t inferd_splitmix64(uint64_t *state);

/* A uniform double in (0, 1) from the calling thread's generator. */
double inferd_uniform(void);

#endif
