/* How many OpenMP threads each node of a graph runs with, chosen per input shape by timing.
 *
 * A model configured with N > 1 intra-op threads gains from them on large nodes (a batch-64 Conv)
 * and loses on small ones: waking a second thread and joining it costs more than a 5 us Conv
 * takes alone (LeNet at batch 1 runs 11 us on one thread, 31-42 us on two). So a context times
 * the first runs of each new input shape, with every node on N threads and with every node on
 * one, then a run with each node on whichever was faster for it, and keeps the fastest of these
 * three choices for that shape. Until the choice is made the runs are correct, only not yet the
 * fastest. With one intra-op thread nothing is timed. */
#ifndef INFERD_ONNX_EXEC_THREADS_H
#define INFERD_ONNX_EXEC_THREADS_H

#include <stdbool.h>
#include <stdint.h>

#include "inferd/tensor.h"

/* Runs to a settled choice: two warm-up runs (one per thread count, building their oneDNN
 * primitives), two timed runs of each thread count, and two of the per-node mix. */
#define ONNX_THREAD_PLAN_RUNS 8

typedef struct onnx_thread_plans onnx_thread_plans_t;
typedef struct onnx_thread_plan onnx_thread_plan_t;

/* Plans for a graph of `n_nodes` nodes, one per input shape seen; NULL when out of memory. */
onnx_thread_plans_t *onnx_thread_plans_new(int n_nodes);
void onnx_thread_plans_free(onnx_thread_plans_t *plans);

/* The plan for a run on `inputs` with `threads` (> 1) intra-op threads, made when this shape is
 * new; NULL when out of memory (then every node runs on `threads`). */
onnx_thread_plan_t *onnx_thread_plan_begin(onnx_thread_plans_t *plans,
                                           const inferd_tensor_t *inputs, int n_inputs,
                                           int threads);

/* The threads node `n` runs with in this run. */
int onnx_thread_plan_node_threads(const onnx_thread_plan_t *plan, int n);

/* Whether this run's nodes are being timed (then the caller reports each with node_ns). */
bool onnx_thread_plan_is_timing(const onnx_thread_plan_t *plan);
void onnx_thread_plan_node_ns(onnx_thread_plan_t *plan, int n, int64_t ns);

/* Ends the run begun with onnx_thread_plan_begin; a failed run (`is_ok` false) teaches nothing.
 * Returns true when this run settled the plan (the caller may then free what the plan tried and
 * did not choose: onnx_state_cache_release_trials). */
bool onnx_thread_plan_end(onnx_thread_plan_t *plan, int64_t run_ns, bool is_ok);

/* A number naming the plan among its context's plans, never 0 (a forgotten plan's number is not
 * reused). */
uint64_t onnx_thread_plan_id(const onnx_thread_plan_t *plan);

/* Whether the plan's choice is made (from then on node_threads gives it). */
bool onnx_thread_plan_is_settled(const onnx_thread_plan_t *plan);

#endif
