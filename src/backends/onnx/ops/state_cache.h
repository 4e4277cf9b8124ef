/* Per-shape state of one node in one execution context: the oneDNN primitives (and whatever else
 * a node builds for the shapes it sees) kept under a key that describes those shapes, so that a
 * model served with dynamic batching, whose batch size changes from call to call, builds a
 * node's primitive once per batch size and reuses it afterwards. */
#ifndef INFERD_ONNX_OPS_STATE_CACHE_H
#define INFERD_ONNX_OPS_STATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../graph.h"

/* States one node keeps per context: one per batch size up to a max_batch_size of 64, the
 * largest the examples and benchmarks serve. Past it the least recently used state goes. */
#define ONNX_STATE_CACHE_SLOTS 64

/* The state kept in `node_state` under the `key_len` bytes at `key` and the calling thread's
 * OpenMP thread count (a oneDNN primitive divides its work for the threads it was built with, and
 * a context may run a node on one thread or on all: exec_threads.h), or NULL when there is none
 * (the caller builds one and hands it to onnx_state_cache_put). Marks it most recently used. */
void *onnx_state_cache_find(onnx_node_state_t *node_state, const void *key, size_t key_len);

/* Keeps `state` under `key` (which must not be there yet), freeing the least recently used state
 * when all slots are taken. `free_state` releases a state. Returns 0, or INFERD_ENOMEM (then
 * `state` is freed). */
int onnx_state_cache_put(onnx_node_state_t *node_state, const void *key, size_t key_len,
                         void *state, void (*free_state)(void *state));

/* Frees the states that the runs of thread plan `plan` (exec_threads.h) used last with another
 * thread count than `keep_threads`: what the plan tried on the way to its choice and did not keep
 * (a second copy of a Conv's weights in another layout, say). A state another plan used since
 * stays. Does nothing to a node state that is not a state cache. Returns how many it freed. */
int onnx_state_cache_release_trials(onnx_node_state_t *node_state, uint64_t plan, int keep_threads);

/* How many states onnx_state_cache_put has kept since the process started, every node and
 * context together: what a test reads to see that running known shapes builds nothing. */
uint64_t onnx_state_cache_builds(void);

#endif
