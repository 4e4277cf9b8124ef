/* Execution contexts for a loaded ONNX graph (see exec.c). */
#ifndef INFERD_ONNX_EXEC_H
#define INFERD_ONNX_EXEC_H

#include <stdint.h>

#include "graph.h"
#include "inferd/arena.h"

typedef struct onnx_exec onnx_exec_t;

/* A context for running `g`; NULL when out of memory. */
onnx_exec_t *onnx_exec_new(const onnx_graph_t *g);
void onnx_exec_free(onnx_exec_t *ctx);

/* Runs `g` on `inputs` (graph input order, checked by the caller) and fills `outputs` (graph
 * output order) with data allocated in `arena`. Returns 0 or a negative code with the failing
 * node named in err. */
int onnx_exec_run(onnx_exec_t *ctx, const onnx_graph_t *g, const inferd_tensor_t *inputs,
                  inferd_tensor_t *outputs, inferd_arena_t *arena, inferd_err_t *err);

/* How many times any context's buffer pool or scratch memory has allocated since the process
 * started: what a test reads to see that a warmed-up context runs without allocating (the
 * per-shape states ops build are counted by onnx_state_cache_builds). */
uint64_t onnx_exec_allocations(void);

#endif
