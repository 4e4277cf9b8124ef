/* Running a loaded graph once: nodes in order, each output sized by its op's shape step, given a
 * buffer from the context's pool, and the buffers of values no later node reads handed back to
 * the pool. A context is used by one thread at a time; after the first runs of a given shape its
 * pool holds every buffer needed and a run allocates nothing except the outputs, which go into the
 * request's arena. On more than one intra-op thread, each node runs with the thread count the
 * context's plan for this input shape gives it (exec_threads.h). */
#include "exec.h"
#include "inferd/clock.h"

#include <malloc.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "exec_threads.h"
#include "ops/state_cache.h"

/* Allocations of every context's buffer pool and scratch, process-wide (onnx_exec_allocations). */
static _Atomic uint64_t allocations;

static void count_allocation(void)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

uint64_t onnx_exec_allocations(void)
{
    return atomic_load_explicit(&allocations, memory_order_relaxed);
}

struct onnx_exec {
    inferd_tensor_t *values; /* runtime tensor of each graph value */
    int *value_buffer;       /* pool slot holding each value's data, or -1 */
    struct {
        void *data;
        size_t capacity;
        bool is_in_use;
    } * buffers;
    int n_buffers;
    int buffers_capacity;
    onnx_scratch_t scratch;
    onnx_node_state_t *node_states;    /* one per node of the graph */
    onnx_thread_plans_t *thread_plans; /* made on the first run with more than one thread */
    int n_nodes;
    inferd_tensor_t out[ONNX_MAX_NODE_OUTPUTS];
    const inferd_tensor_t *in[ONNX_MAX_NODE_INPUTS];
};

void *onnx_scratch_get(onnx_scratch_t *scratch, size_t bytes)
{
    if (bytes > scratch->capacity) {
        size_t capacity = (bytes + 63) & ~(size_t)63;
        void *grown = aligned_alloc(64, capacity);
        if (grown == NULL)
            return NULL;
        count_allocation();
        free(scratch->data);
        scratch->data = grown;
        scratch->capacity = capacity;
    }
    return scratch->data;
}

onnx_exec_t *onnx_exec_new(const onnx_graph_t *g)
{
    onnx_exec_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->values = calloc((size_t)g->n_values + 1, sizeof(*ctx->values));
    ctx->value_buffer = calloc((size_t)g->n_values + 1, sizeof(int));
    ctx->node_states = calloc((size_t)g->n_nodes + 1, sizeof(*ctx->node_states));
    ctx->n_nodes = g->n_nodes;
    if (ctx->values == NULL || ctx->value_buffer == NULL || ctx->node_states == NULL) {
        onnx_exec_free(ctx);
        return NULL;
    }
    return ctx;
}

void onnx_exec_free(onnx_exec_t *ctx)
{
    if (ctx == NULL)
        return;
    for (int i = 0; i < ctx->n_buffers; i++)
        free(ctx->buffers[i].data);
    for (int n = 0; n < ctx->n_nodes; n++)
        if (ctx->node_states[n].free != NULL)
            ctx->node_states[n].free(ctx->node_states[n].data);
    free(ctx->node_states);
    onnx_thread_plans_free(ctx->thread_plans);
    free(ctx->buffers);
    free(ctx->scratch.data);
    free(ctx->values);
    free(ctx->value_buffer);
    free(ctx);
}

/* A free pool buffer of at least `bytes`: the smallest that fits, else the largest free one grown,
 * else a new one. Returns the slot or -1 when out of memory. */
static int buffer_take(onnx_exec_t *ctx, size_t bytes)
{
    int best = -1, largest = -1;
    for (int i = 0; i < ctx->n_buffers; i++) {
        if (ctx->buffers[i].is_in_use)
            continue;
        size_t capacity = ctx->buffers[i].capacity;
        if (capacity >= bytes && (best < 0 || capacity < ctx->buffers[best].capacity))
            best = i;
        if (largest < 0 || capacity > ctx->buffers[largest].capacity)
            largest = i;
    }
    if (best < 0 && largest >= 0) {
        void *grown = malloc(bytes);
        if (grown == NULL)
            return -1;
        count_allocation();
        free(ctx->buffers[largest].data);
        ctx->buffers[largest].data = grown;
        ctx->buffers[largest].capacity = bytes;
        best = largest;
    }
    if (best < 0) {
        if (ctx->n_buffers == ctx->buffers_capacity) {
            int capacity = ctx->buffers_capacity ? ctx->buffers_capacity * 2 : 8;
            void *grown = realloc(ctx->buffers, (size_t)capacity * sizeof(*ctx->buffers));
            if (grown == NULL)
                return -1;
            count_allocation();
            ctx->buffers = grown;
            ctx->buffers_capacity = capacity;
        }
        void *data = malloc(bytes);
        if (data == NULL)
            return -1;
        count_allocation();
        best = ctx->n_buffers++;
        ctx->buffers[best].data = data;
        ctx->buffers[best].capacity = bytes;
    }
    ctx->buffers[best].is_in_use = true;
    return best;
}

static void value_release(onnx_exec_t *ctx, int value)
{
    int slot = ctx->value_buffer[value];
    if (slot >= 0) {
        ctx->buffers[slot].is_in_use = false;
        ctx->value_buffer[value] = -1;
    }
}

/* The thread plan of this run when the model runs on more than one intra-op thread, else NULL. */
static onnx_thread_plan_t *thread_plan_begin(onnx_exec_t *ctx, const onnx_graph_t *g,
                                             const inferd_tensor_t *inputs, int threads)
{
    if (threads <= 1)
        return NULL;
    if (ctx->thread_plans == NULL &&
        (ctx->thread_plans = onnx_thread_plans_new(g->n_nodes)) != NULL)
        count_allocation();
    return onnx_thread_plan_begin(ctx->thread_plans, inputs, g->n_inputs, threads);
}

/* Once a plan has settled: frees the oneDNN states its runs built for the thread counts it did
 * not choose, and hands the memory back (a Conv on one thread may have kept its own copy of the
 * weights in another layout: 20 to 40 MiB for ResNet-18 if left in the heap). */
static void release_trials(onnx_exec_t *ctx, const onnx_graph_t *g, const onnx_thread_plan_t *plan)
{
    int released = 0;
    for (int n = 0; n < g->n_nodes; n++)
        released += onnx_state_cache_release_trials(&ctx->node_states[n], onnx_thread_plan_id(plan),
                                                    onnx_thread_plan_node_threads(plan, n));
    if (released > 0)
        malloc_trim(0);
}

int onnx_exec_run(onnx_exec_t *ctx, const onnx_graph_t *g, const inferd_tensor_t *inputs,
                  inferd_tensor_t *outputs, inferd_arena_t *arena, inferd_err_t *err)
{
    const inferd_tensor_t **in = ctx->in;
    int rc = 0;
    for (int v = 0; v < g->n_values; v++) {
        ctx->value_buffer[v] = -1;
        if (g->values[v].is_constant)
            ctx->values[v] = g->values[v].constant;
        else
            memset(&ctx->values[v], 0, sizeof(ctx->values[v]));
    }
    for (int i = 0; i < g->n_inputs; i++)
        ctx->values[g->inputs[i]] = inputs[i];

    int threads = omp_get_max_threads(), node_threads = threads;
    onnx_thread_plan_t *plan = thread_plan_begin(ctx, g, inputs, threads);
    bool is_timing = plan != NULL && onnx_thread_plan_is_timing(plan);
    bool is_calibrating = plan != NULL && !onnx_thread_plan_is_settled(plan);
    uint64_t run_start = is_calibrating ? inferd_monotonic_ns() : 0;
    for (int n = 0; n < g->n_nodes && rc == 0; n++) {
        const onnx_node_t *node = &g->nodes[n];
        inferd_tensor_t *out = ctx->out;
        for (int k = 0; k < node->n_inputs; k++)
            in[k] = node->inputs[k] >= 0 ? &ctx->values[node->inputs[k]] : NULL;
        memset(out, 0, sizeof(*out) * (size_t)node->n_outputs);
        rc = node->op->shape(node, in, out, err);
        for (int k = 0; k < node->n_outputs && rc == 0; k++) {
            int v = node->outputs[k];
            int64_t bytes = inferd_tensor_bytes(&out[k]);
            if (bytes < 0) {
                rc = inferd_fail(err, INFERD_EINVAL, "output '%s' would have an invalid shape",
                                 v >= 0 ? g->values[v].name : "");
                break;
            }
            if (v >= 0 && g->values[v].graph_output >= 0) {
                out[k].data = inferd_arena_alloc(arena, (size_t)bytes);
            } else {
                int slot = buffer_take(ctx, (size_t)bytes);
                out[k].data = slot >= 0 ? ctx->buffers[slot].data : NULL;
                if (v >= 0)
                    ctx->value_buffer[v] = slot;
                else if (slot >= 0)
                    ctx->buffers[slot].is_in_use = false; /* scratch for an unused output */
            }
            if (out[k].data == NULL)
                rc = inferd_fail(err, INFERD_ENOMEM, "out of memory for %lld bytes",
                                 (long long)bytes);
        }
        ctx->scratch.node_state = &ctx->node_states[n];
        if (plan != NULL) {
            ctx->node_states[n].plan = onnx_thread_plan_id(plan);
            if (onnx_thread_plan_node_threads(plan, n) != node_threads)
                omp_set_num_threads(node_threads = onnx_thread_plan_node_threads(plan, n));
        }
        uint64_t node_start = is_timing ? inferd_monotonic_ns() : 0;
        if (rc == 0)
            rc = node->op->run(node, in, out, &ctx->scratch, err);
        if (is_timing)
            onnx_thread_plan_node_ns(plan, n, (int64_t)(inferd_monotonic_ns() - node_start));
        if (rc != 0) {
            inferd_err_prefix(err, "node '%s': ", node->name);
            break;
        }
        for (int k = 0; k < node->n_outputs; k++) {
            int v = node->outputs[k];
            if (v < 0)
                continue;
            out[k].name = g->values[v].name;
            ctx->values[v] = out[k];
            if (g->values[v].last_reader < 0)
                value_release(ctx, v); /* nobody reads it: recycle at once */
        }
        for (int k = 0; k < node->n_inputs; k++) {
            int v = node->inputs[k];
            if (v >= 0 && g->values[v].last_reader == n)
                value_release(ctx, v);
        }
    }
    if (node_threads != threads)
        omp_set_num_threads(threads);
    if (is_calibrating &&
        onnx_thread_plan_end(plan, (int64_t)(inferd_monotonic_ns() - run_start), rc == 0))
        release_trials(ctx, g, plan);
    for (int o = 0; o < g->n_outputs && rc == 0; o++) {
        const inferd_tensor_t *t = &ctx->values[g->outputs[o]];
        outputs[o].dtype = t->dtype;
        outputs[o].ndim = t->ndim;
        memcpy(outputs[o].shape, t->shape, sizeof(t->shape));
        outputs[o].data = t->data;
        bool is_produced_here =
            g->values[g->outputs[o]].is_constant || g->values[g->outputs[o]].graph_input >= 0;
        if (is_produced_here) { /* not written by a node: copy, never hand out shared memory */
            size_t bytes = (size_t)inferd_tensor_bytes(t);
            outputs[o].data = inferd_arena_alloc(arena, bytes);
            if (outputs[o].data == NULL)
                rc = inferd_fail(err, INFERD_ENOMEM, "out of memory for an output");
            else
                memcpy(outputs[o].data, t->data, bytes);
        }
    }
    for (int v = 0; v < g->n_values; v++)
        value_release(ctx, v);
    return rc;
}
