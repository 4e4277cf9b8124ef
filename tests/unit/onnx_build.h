/* Small ONNX models built in memory for the unit tests: value infos, float initializers and
 * attributes filled in protobuf-c structs the caller owns (pointing into the caller's arrays,
 * which must stay alive until the graph is loaded), nodes written as rows of a table, the whole
 * packed as a model of opset 13 and loaded as a model file is; a run of the loaded graph; and the
 * deterministic numbers the tests fill tensors with. Include it after <cmocka.h>. */
#ifndef INFERD_ONNX_BUILD_H
#define INFERD_ONNX_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"

/* A dimension of onnx_build_info() that is the symbolic batch "N" rather than a number. */
#define ONNX_BUILD_BATCH (-1)

/* At most this many nodes, initializers, inputs or outputs in a graph onnx_build_load() takes. */
#define ONNX_BUILD_MAX_ITEMS 32

/* At most this many inputs to one node. */
#define ONNX_BUILD_MAX_INPUTS 6

/* A value info and everything it points to, up to four dimensions. */
typedef struct {
    Onnx__TensorShapeProto__Dimension dims[4], *dim_ptrs[4];
    Onnx__TensorShapeProto shape;
    Onnx__TypeProto__Tensor tensor_type;
    Onnx__TypeProto type;
    Onnx__ValueInfoProto info;
} onnx_build_info_t;

/* A float value info named `name` of shape `dims` (`n_dims`, at most 4); a dimension equal to
 * ONNX_BUILD_BATCH is the symbolic batch "N". */
static inline void onnx_build_info(onnx_build_info_t *v, const char *name, const int64_t *dims,
                                   int n_dims)
{
    for (int d = 0; d < n_dims; d++) {
        onnx__tensor_shape_proto__dimension__init(&v->dims[d]);
        if (dims[d] == ONNX_BUILD_BATCH) {
            v->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            v->dims[d].dim_param = "N";
        } else {
            v->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            v->dims[d].dim_value = dims[d];
        }
        v->dim_ptrs[d] = &v->dims[d];
    }
    onnx__tensor_shape_proto__init(&v->shape);
    v->shape.n_dim = (size_t)n_dims;
    v->shape.dim = v->dim_ptrs;
    onnx__type_proto__tensor__init(&v->tensor_type);
    v->tensor_type.has_elem_type = 1;
    v->tensor_type.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    v->tensor_type.shape = &v->shape;
    onnx__type_proto__init(&v->type);
    v->type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    v->type.tensor_type = &v->tensor_type;
    onnx__value_info_proto__init(&v->info);
    v->info.name = (char *)name;
    v->info.type = &v->type;
}

/* A float tensor named `name` (NULL: unnamed, as a Constant's value) of shape `dims` holding
 * `values`, as many as the dims multiply to (one for a scalar, n_dims 0). */
static inline void onnx_build_tensor(Onnx__TensorProto *t, const char *name, int64_t *dims,
                                     size_t n_dims, float *values)
{
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->n_dims = n_dims;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t count = 1;
    for (size_t d = 0; d < n_dims; d++)
        count *= (size_t)dims[d];
    t->n_float_data = count;
    t->float_data = values;
}

/* A float initializer of a graph to build, one row of a table: its name, shape (`n_dims` of
 * `dims`; 0 for a scalar) and values, as many as the dims multiply to. */
typedef struct {
    const char *name;
    int64_t dims[4];
    size_t n_dims;
    float *values;
} onnx_build_initializer_t;

/* A node of a graph to build, one row of a table: its op, its inputs (the first NULL ends them),
 * its one output and its attributes (`attrs` NULL when n_attrs is 0). */
typedef struct {
    const char *op_type;
    const char *inputs[ONNX_BUILD_MAX_INPUTS];
    const char *output;
    Onnx__AttributeProto **attrs;
    size_t n_attrs;
} onnx_build_node_t;

/* An attribute named `name` of `type`; the caller sets its value. */
static inline void onnx_build_attr(Onnx__AttributeProto *a, const char *name,
                                   Onnx__AttributeProto__AttributeType type)
{
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
}

/* An INTS attribute reading `n` values from `values`. */
static inline void onnx_build_ints(Onnx__AttributeProto *a, const char *name, int64_t *values,
                                   size_t n)
{
    onnx_build_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = n;
    a->ints = values;
}

static inline void onnx_build_int(Onnx__AttributeProto *a, const char *name, int64_t value)
{
    onnx_build_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = value;
}

static inline void onnx_build_float(Onnx__AttributeProto *a, const char *name, float value)
{
    onnx_build_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = value;
}

/* Packs the graph `name` (its nodes, initializers, inputs and outputs, each an array in graph
 * order; initializers may be NULL when n_initializers is 0) as a model of IR version 8 and
 * opset 13, and parses it into `g` as a model file is loaded, failing the test with the loader's
 * message if it is refused. The caller frees `g` with onnx_graph_free(); nothing given here is
 * referenced afterwards. */
static inline void onnx_build_load(onnx_graph_t *g, const char *name,
                                   const onnx_build_node_t *nodes, size_t n_nodes,
                                   onnx_build_initializer_t *initializers, size_t n_initializers,
                                   onnx_build_info_t *inputs, size_t n_inputs,
                                   onnx_build_info_t *outputs, size_t n_outputs)
{
    assert_true(n_nodes <= ONNX_BUILD_MAX_ITEMS && n_initializers <= ONNX_BUILD_MAX_ITEMS);
    assert_true(n_inputs <= ONNX_BUILD_MAX_ITEMS && n_outputs <= ONNX_BUILD_MAX_ITEMS);
    Onnx__NodeProto node_protos[ONNX_BUILD_MAX_ITEMS], *node_ptrs[ONNX_BUILD_MAX_ITEMS];
    Onnx__TensorProto initializer_protos[ONNX_BUILD_MAX_ITEMS],
        *initializer_ptrs[ONNX_BUILD_MAX_ITEMS];
    Onnx__ValueInfoProto *input_ptrs[ONNX_BUILD_MAX_ITEMS], *output_ptrs[ONNX_BUILD_MAX_ITEMS];
    for (size_t i = 0; i < n_nodes; i++) {
        Onnx__NodeProto *node = &node_protos[i];
        onnx__node_proto__init(node);
        node->op_type = (char *)nodes[i].op_type;
        node->input = (char **)nodes[i].inputs;
        while (node->n_input < ONNX_BUILD_MAX_INPUTS && nodes[i].inputs[node->n_input] != NULL)
            node->n_input++;
        node->output = (char **)&nodes[i].output;
        node->n_output = 1;
        node->attribute = nodes[i].attrs;
        node->n_attribute = nodes[i].n_attrs;
        node_ptrs[i] = node;
    }
    for (size_t i = 0; i < n_initializers; i++) {
        onnx_build_tensor(&initializer_protos[i], initializers[i].name, initializers[i].dims,
                          initializers[i].n_dims, initializers[i].values);
        initializer_ptrs[i] = &initializer_protos[i];
    }
    for (size_t i = 0; i < n_inputs; i++)
        input_ptrs[i] = &inputs[i].info;
    for (size_t i = 0; i < n_outputs; i++)
        output_ptrs[i] = &outputs[i].info;
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = (char *)name;
    graph.n_node = n_nodes;
    graph.node = node_ptrs;
    graph.n_initializer = n_initializers;
    graph.initializer = initializer_ptrs;
    graph.n_input = n_inputs;
    graph.input = input_ptrs;
    graph.n_output = n_outputs;
    graph.output = output_ptrs;

    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.graph = &graph;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    size_t len = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(len);
    assert_non_null(bytes);
    onnx__model_proto__pack(&model, bytes);
    inferd_err_t err;
    int rc = onnx_graph_parse(bytes, len, "built", g, &err);
    free(bytes);
    if (rc != 0)
        fail_msg("%s", err.msg);
}

/* onnx_build_load() of a graph with one FP32 input "x" and one output "y", of 4 dimensions each. */
static inline void onnx_build_load_xy(onnx_graph_t *g, const char *name,
                                      const onnx_build_node_t *nodes, size_t n_nodes,
                                      onnx_build_initializer_t *initializers, size_t n_initializers,
                                      const int64_t *x_dims, const int64_t *y_dims)
{
    onnx_build_info_t inputs[1], outputs[1];
    onnx_build_info(&inputs[0], "x", x_dims, 4);
    onnx_build_info(&outputs[0], "y", y_dims, 4);
    onnx_build_load(g, name, nodes, n_nodes, initializers, n_initializers, inputs, 1, outputs, 1);
}

/* Runs `g` on `inputs` (graph input order) into `outputs` (graph output order), whose data is
 * allocated in `arena`, initialised here: the caller frees it with inferd_arena_free(). With
 * `ctx` NULL the run has a context of its own, made and freed here. Fails the test with the
 * executor's message if the run fails. */
static inline void onnx_build_run(onnx_exec_t *ctx, const onnx_graph_t *g,
                                  const inferd_tensor_t *inputs, inferd_tensor_t *outputs,
                                  inferd_arena_t *arena)
{
    onnx_exec_t *run_ctx = ctx != NULL ? ctx : onnx_exec_new(g);
    assert_non_null(run_ctx);
    inferd_arena_init(arena, 4096, 0);
    inferd_err_t err;
    int rc = onnx_exec_run(run_ctx, g, inputs, outputs, arena, &err);
    if (run_ctx != ctx)
        onnx_exec_free(run_ctx);
    if (rc != 0)
        fail_msg("%s", err.msg);
}

/* A deterministic value in [-1, 1); advances *state. */
static inline float onnx_build_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1 << 23) - 1.0f;
}

/* values[0..n) = onnx_build_random(seed) * scale, in order. */
static inline void onnx_build_fill(float *values, size_t n, float scale, uint32_t *seed)
{
    for (size_t i = 0; i < n; i++)
        values[i] = onnx_build_random(seed) * scale;
}

/* The plain reference of a square Conv (stride 1, `pad` on every side, `size` x `size` out as
 * in): y[n, f, h, w] = bias[f] + sum over c, kh, kw of x[n, c, h + kh - pad, w + kw - pad] * w[...]
 */
static inline void onnx_build_ref_conv(const float *x, int batch, int channels, int size,
                                       const float *w, const float *bias, int filters, int k,
                                       int pad, float *y)
{
    for (int n = 0; n < batch; n++)
        for (int f = 0; f < filters; f++)
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++) {
                    double acc = bias != NULL ? bias[f] : 0.0;
                    for (int c = 0; c < channels; c++)
                        for (int a = 0; a < k; a++)
                            for (int b = 0; b < k; b++) {
                                int ii = i + a - pad, jj = j + b - pad;
                                if (ii < 0 || jj < 0 || ii >= size || jj >= size)
                                    continue;
                                acc += (double)x[((n * channels + c) * size + ii) * size + jj] *
                                       w[((f * channels + c) * k + a) * k + b];
                            }
                    y[((n * filters + f) * size + i) * size + j] = (float)acc;
                }
}

#endif
