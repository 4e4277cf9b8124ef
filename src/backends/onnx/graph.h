/* The ONNX backend's private view of a model: values (every named tensor), nodes in execution
 * order, and the operator table entry each node runs. Built once by the loader, read-only after,
 * shared by every thread that runs the model. */
#ifndef INFERD_ONNX_GRAPH_H
#define INFERD_ONNX_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "inferd/error.h"
#include "inferd/model.h"
#include "inferd/tensor.h"
#include "onnx/onnx.pb-c.h"

typedef struct onnx_op onnx_op_t;

/* The most inputs and outputs one node may have (variadic ops such as Concat, Sum, Split). */
#define ONNX_MAX_NODE_INPUTS  64
#define ONNX_MAX_NODE_OUTPUTS 64

/* What one node keeps in one execution context between runs, e.g. oneDNN primitives built for
 * the shapes it last saw. `free` (when set) releases `data` when the context goes away. */
typedef struct onnx_node_state {
    void *data;
    void (*free)(void *data);
    uint64_t plan; /* the thread plan of the run under way (exec_threads.h), 0 for none */
} onnx_node_state_t;

#define ONNX_MATMUL_MAX_PERM 4

/* What the optimizer fused into a node: for Conv, applied after its own result in this order,
 * y += input `sum_input` (a residual Add), then the activation, then a MaxPool; for MatMul, a permuted B, then
 * y += input `bias_input` (a constant vector along the last axis) and the activation; for Gemm,
 * the activation after its C. Zeroed means nothing. */
typedef enum {
    ONNX_FUSED_NONE,
    ONNX_FUSED_RELU,
    ONNX_FUSED_CLIP, /* min(max(y, alpha), beta) */
    ONNX_FUSED_SIGMOID,
} onnx_fused_activation_t;

typedef struct onnx_fused {
    int sum_input;  /* the node input added to the result, or 0 for none (input 0 never is) */
    int bias_input; /* MatMul: the input holding a bias of 1 or N values, or 0 for none */
    onnx_fused_activation_t activation;
    float alpha, beta;
    /* MatMul: the product's B is input 1 with its axes permuted by b_perm (a Transpose the
     * optimizer folded in: the product reads B through strides, no copy); b_perm_rank is 0
     * when there is none. */
    int8_t b_perm[ONNX_MATMUL_MAX_PERM];
    int b_perm_rank;
    /* Conv: the parameters of a MaxPool (no Indices) that read the Conv's result alone, taken
     * from that node (ops/pool.c's, owned: freed with the node); the Conv's output is then the
     * pooled one. NULL for none. */
    void *pool;
} onnx_fused_t;

/* Scratch memory an op may use while it runs (owned by the execution context, reused by every
 * node, so a steady workload stops allocating), and the running node's state slot. */
typedef struct onnx_scratch {
    void *data;
    size_t capacity;
    onnx_node_state_t *node_state; /* this node's slot in this context (NULL at load time) */
} onnx_scratch_t;

/* At least `bytes` of scratch, 64-byte aligned, valid until the op returns; NULL when out of
 * memory. One region per call: an op that needs several carves them from one request. */
void *onnx_scratch_get(onnx_scratch_t *scratch, size_t bytes);

typedef struct onnx_value {
    char *name;
    bool is_constant;         /* an initializer or a folded Constant node: `constant` holds it */
    inferd_tensor_t constant; /* data owned by the graph */
    int graph_input;          /* index among the graph's inputs, or -1 */
    int graph_output;         /* index among the graph's outputs, or -1 */
    int last_reader;          /* the last node (execution order) that reads it, or -1 */
    bool has_producer;        /* a node writes it (each value has at most one source) */
} onnx_value_t;

typedef struct onnx_node {
    char *name;
    const onnx_op_t *op;
    int opset;   /* the default domain's opset the model imports */
    int *inputs; /* value indices; -1 for an omitted optional input */
    int n_inputs;
    int *outputs; /* value indices; -1 for an omitted optional output */
    int n_outputs;
    void *params; /* what the op's prepare() parsed from the attributes; freed with free() */
    const Onnx__NodeProto *proto; /* the node in the file: valid only while loading */
    uint64_t constant_inputs;     /* bit k: input k is a constant of the model (first 64) */
    onnx_fused_t fused;           /* what the optimizer folded into this node */
    /* Values kept channels-last (NHWC, NDHWC...: the logical shape unchanged, the channel axis
     * stored innermost) instead of row-major, as oneDNN's convolutions want them; bit k of each
     * mask is input / output k. Set by the optimizer only between ops that accept it. */
    uint64_t channels_last_inputs, channels_last_outputs;
    /* State every execution context shares, made by the op's finalize() (e.g. weights reordered
     * once for oneDNN); mutable behind the op's own lock. Freed with shared_free. */
    void *shared;
    void (*shared_free)(void *shared);
} onnx_node_t;

typedef struct onnx_graph {
    onnx_value_t *values;
    int n_values;
    onnx_node_t *nodes;
    int n_nodes;
    int *inputs; /* value indices of the graph inputs that are not initializers */
    int n_inputs;
    int *outputs; /* value indices of the graph outputs */
    int n_outputs;
    int opset;
    inferd_signature_t sig; /* the graph's inputs and outputs as the model declares them */
} onnx_graph_t;

/* Each operator: arity, an optional load-time step and the two run-time steps.
 *   prepare: reads attributes from `proto` into node->params; refuses what it cannot run.
 *   shape:   sets dtype and shape of every output from the inputs (whose data is available,
 *            so data-dependent shapes such as Reshape's work); refuses unsupported dtypes.
 *   run:     computes the outputs into their buffers, already sized by shape; `scratch` gives
 *            temporary memory.
 * Optional inputs the model leaves out arrive as NULL; node->n_inputs counts them. */
struct onnx_op {
    const char *op_type;
    int min_inputs, max_inputs;
    int min_outputs, max_outputs;
    int (*prepare)(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err);
    int (*shape)(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                 inferd_err_t *err);
    int (*run)(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
               onnx_scratch_t *scratch, inferd_err_t *err);
};

/* An op's optional load-time step once the graph is optimized: it sees the node's constant
 * inputs (NULL for the others); bit k of `is_owned` says constant k is read by this node alone
 * and is no graph output, so the op may take its data into node->shared (setting data to NULL:
 * its run() then receives that input with data NULL). Returns 0 or a negative code. */
typedef int (*onnx_finalize_fn)(onnx_node_t *node, inferd_tensor_t *const *constants,
                                uint64_t is_owned, inferd_err_t *err);

/* The finalize step of `op` (ops/registry.c), or NULL when it has none. */
onnx_finalize_fn onnx_op_finalizer(const onnx_op_t *op);

/* The operator table (ops/registry.c). NULL for an op_type inferd cannot run. */
const onnx_op_t *onnx_op_find(const char *op_type);

/* Parses the ONNX file at `path` into `graph`. Returns 0 or INFERD_EMODEL/INFERD_EIO with a
 * reason naming the op, node or value at fault. */
int onnx_graph_load(const char *path, onnx_graph_t *graph, inferd_err_t *err);

/* As onnx_graph_load, from `len` bytes in memory; `origin` names them in messages. */
int onnx_graph_parse(const uint8_t *bytes, size_t len, const char *origin, onnx_graph_t *graph,
                     inferd_err_t *err);

/* Folds constant subgraphs and Conv + BatchNormalization pairs, drops nodes nothing reads, and
 * records each value's last reader (optimize.c). Called by the loader while node->proto is still
 * valid. Returns 0 or the reason a constant node cannot run. */
int onnx_graph_optimize(onnx_graph_t *g, inferd_err_t *err);

/* Releases everything the graph holds. */
void onnx_graph_free(onnx_graph_t *graph);

/* Converts a TensorProto (raw_data or typed fields) into a tensor whose data is malloc'ed.
 * Returns 0 or INFERD_EMODEL when the proto is inconsistent or of an unsupported type. */
int onnx_tensor_from_proto(const Onnx__TensorProto *proto, inferd_tensor_t *OUT, inferd_err_t *err);

/* ---- attribute helpers for prepare() ---- */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *proto, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *proto, const char *name, int64_t fallback);
float onnx_attr_float(const Onnx__NodeProto *proto, const char *name, float fallback);
/* Copies up to `max` integers of list attribute `name` into `values`; returns how many the
 * attribute holds (which may exceed `max`: check), or -1 when absent. */
int onnx_attr_ints(const Onnx__NodeProto *proto, const char *name, int64_t *values, int max);
/* The string attribute `name` (its bytes, NUL-terminated, borrowed from `proto`: copy what you
 * keep), or `fallback`. */
const char *onnx_attr_string(const Onnx__NodeProto *proto, const char *name, const char *fallback);

/* ---- helpers for shape() ---- */

/* Normalises `axis` against `rank`: accepted in [-rank, rank + rank_extra - 1], a negative one
 * counting from the end (rank_extra 1 lets Flatten's axis equal the rank). Returns the axis, or
 * -1 when out of range. */
int onnx_axis(int64_t axis, int rank, int rank_extra);

/* Sets out's dtype and shape. */
void onnx_set_shape(inferd_tensor_t *out, inferd_dtype_t dtype, const int64_t *shape, int ndim);

#endif
