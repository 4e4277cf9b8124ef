/* Unit tests for the executor's steady state (exec.c, ops/state_cache.c, ops/gemm.c): under
 * dynamic batching the batch size changes from call to call, and once a context has run each
 * batch size it must build no oneDNN primitive and allocate no buffer again, and give the same
 * answers as on its first runs. A Gemm whose constant transB weight other nodes also read keeps
 * one transposed copy for every context, not one per context. Models are built here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"
#include "backends/onnx/ops/state_cache.h"

/* ==== building models ==== */

typedef struct {
    Onnx__TensorShapeProto__Dimension dims[4], *dim_ptrs[4];
    Onnx__TensorShapeProto shape;
    Onnx__TypeProto__Tensor tensor_type;
    Onnx__TypeProto type;
    Onnx__ValueInfoProto info;
} value_info_t;

/* A float value_info of shape [N, dims...] (the batch symbolic, `n_dims` in all). */
static Onnx__ValueInfoProto *info(value_info_t *v, const char *name, const int64_t *dims,
                                  int n_dims)
{
    for (int d = 0; d < n_dims; d++) {
        onnx__tensor_shape_proto__dimension__init(&v->dims[d]);
        if (d == 0) {
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
    v->tensor_type.elem_type = 1; /* FLOAT */
    v->tensor_type.shape = &v->shape;
    onnx__type_proto__init(&v->type);
    v->type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    v->type.tensor_type = &v->tensor_type;
    onnx__value_info_proto__init(&v->info);
    v->info.name = (char *)name;
    v->info.type = &v->type;
    return &v->info;
}

static void init_tensor(Onnx__TensorProto *t, const char *name, int64_t *dims, size_t n_dims,
                        float *values)
{
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->n_dims = n_dims;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = 1;
    size_t count = 1;
    for (size_t d = 0; d < n_dims; d++)
        count *= (size_t)dims[d];
    t->n_float_data = count;
    t->float_data = values;
}

static void init_node(Onnx__NodeProto *node, const char *op_type, char **inputs, size_t n_inputs,
                      char **outputs, Onnx__AttributeProto **attrs, size_t n_attrs)
{
    onnx__node_proto__init(node);
    node->op_type = (char *)op_type;
    node->input = inputs;
    node->n_input = n_inputs;
    node->output = outputs;
    node->n_output = 1;
    node->attribute = attrs;
    node->n_attribute = n_attrs;
}

static void init_ints(Onnx__AttributeProto *a, const char *name, int64_t *values, size_t n)
{
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = n;
    a->ints = values;
}

static void init_int(Onnx__AttributeProto *a, const char *name, int64_t value)
{
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = value;
}

/* Loads `graph`, in a model of opset 13, into `g`, failing the test with the loader's message. */
static void load_graph(Onnx__GraphProto *graph, onnx_graph_t *g)
{
    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.graph = graph;
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

/* A deterministic value in [-1, 1). */
static float pseudo_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1 << 23) - 1.0f;
}

static void fill(float *values, size_t n, float scale, uint32_t *seed)
{
    for (size_t i = 0; i < n; i++)
        values[i] = pseudo_random(seed) * scale;
}

/* ==== a LeNet-shaped CNN under changing batch sizes ==== */

enum { SIDE = 12, C1 = 6, C2 = 16, FLAT = C2 * 2 * 2, CLASSES = 10, MAX_BATCH = 64 };

static float w1[C1 * 1 * 3 * 3], b1[C1], w2[C2 * C1 * 3 * 3], b2[C2], wf[CLASSES * FLAT],
    bf[CLASSES];

/* x [N, 1, 12, 12] -> Relu(Conv 3x3 pad 1, 1 -> 6) -> MaxPool 2x2 -> Relu(Conv 3x3, 6 -> 16)
 * -> MaxPool 2x2 -> Flatten [N, 64] -> Gemm (transB) [N, 10] -> Softmax = y. Both Convs have
 * few channels (the first run of each shape races two primitives). */
static void load_lenet(onnx_graph_t *g)
{
    uint32_t seed = 11;
    fill(w1, sizeof(w1) / sizeof(w1[0]), 0.5f, &seed);
    fill(b1, C1, 0.1f, &seed);
    fill(w2, sizeof(w2) / sizeof(w2[0]), 0.3f, &seed);
    fill(b2, C2, 0.1f, &seed);
    fill(wf, sizeof(wf) / sizeof(wf[0]), 0.3f, &seed);
    fill(bf, CLASSES, 0.1f, &seed);
    static int64_t w1_dims[] = {C1, 1, 3, 3}, b1_dims[] = {C1}, w2_dims[] = {C2, C1, 3, 3},
                   b2_dims[] = {C2}, wf_dims[] = {CLASSES, FLAT}, bf_dims[] = {CLASSES};
    static Onnx__TensorProto inits[6], *init_ptrs[6];
    init_tensor(&inits[0], "W1", w1_dims, 4, w1);
    init_tensor(&inits[1], "B1", b1_dims, 1, b1);
    init_tensor(&inits[2], "W2", w2_dims, 4, w2);
    init_tensor(&inits[3], "B2", b2_dims, 1, b2);
    init_tensor(&inits[4], "WF", wf_dims, 2, wf);
    init_tensor(&inits[5], "BF", bf_dims, 1, bf);
    for (int i = 0; i < 6; i++)
        init_ptrs[i] = &inits[i];

    static int64_t pads[] = {1, 1, 1, 1}, two[] = {2, 2};
    static Onnx__AttributeProto pad_attr, kernel_attr, stride_attr, trans_attr;
    static Onnx__AttributeProto *pad_attrs[] = {&pad_attr},
                                *pool_attrs[] = {&kernel_attr, &stride_attr},
                                *gemm_attrs[] = {&trans_attr};
    init_ints(&pad_attr, "pads", pads, 4);
    init_ints(&kernel_attr, "kernel_shape", two, 2);
    init_ints(&stride_attr, "strides", two, 2);
    init_int(&trans_attr, "transB", 1);

    static char *c1_in[] = {"x", "W1", "B1"}, *c1_out[] = {"c1"}, *r1_out[] = {"r1"},
                *p1_out[] = {"p1"}, *c2_in[] = {"p1", "W2", "B2"}, *c2_out[] = {"c2"},
                *r2_out[] = {"r2"}, *p2_out[] = {"p2"}, *f_out[] = {"flat"},
                *g_in[] = {"flat", "WF", "BF"}, *g_out[] = {"logits"}, *s_out[] = {"y"};
    static Onnx__NodeProto nodes[9], *node_ptrs[9];
    init_node(&nodes[0], "Conv", c1_in, 3, c1_out, pad_attrs, 1);
    init_node(&nodes[1], "Relu", c1_out, 1, r1_out, NULL, 0);
    init_node(&nodes[2], "MaxPool", r1_out, 1, p1_out, pool_attrs, 2);
    init_node(&nodes[3], "Conv", c2_in, 3, c2_out, NULL, 0);
    init_node(&nodes[4], "Relu", c2_out, 1, r2_out, NULL, 0);
    init_node(&nodes[5], "MaxPool", r2_out, 1, p2_out, pool_attrs, 2);
    init_node(&nodes[6], "Flatten", p2_out, 1, f_out, NULL, 0);
    init_node(&nodes[7], "Gemm", g_in, 3, g_out, gemm_attrs, 1);
    init_node(&nodes[8], "Softmax", g_out, 1, s_out, NULL, 0);
    for (int i = 0; i < 9; i++)
        node_ptrs[i] = &nodes[i];

    static value_info_t infos[2];
    static Onnx__ValueInfoProto *inputs[1], *outputs[1];
    static const int64_t x_dims[] = {0, 1, SIDE, SIDE}, y_dims[] = {0, CLASSES};
    inputs[0] = info(&infos[0], "x", x_dims, 4);
    outputs[0] = info(&infos[1], "y", y_dims, 2);
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "lenet";
    graph.n_node = 9;
    graph.node = node_ptrs;
    graph.n_initializer = 6;
    graph.initializer = init_ptrs;
    graph.n_input = 1;
    graph.input = inputs;
    graph.n_output = 1;
    graph.output = outputs;
    load_graph(&graph, g);
}

/* Runs `g` on the first `batch` rows of `x` into `y` (batch * CLASSES values). */
static void run_lenet(onnx_exec_t *ctx, const onnx_graph_t *g, const float *x, int batch, float *y)
{
    inferd_tensor_t input = {.name = "x",
                             .dtype = INFERD_DT_FP32,
                             .ndim = 4,
                             .shape = {batch, 1, SIDE, SIDE},
                             .data = (void *)x};
    inferd_tensor_t output = {.name = "y"};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    inferd_err_t err;
    int rc = onnx_exec_run(ctx, g, &input, &output, &arena, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(output.ndim, 2);
    assert_int_equal(output.shape[0], batch);
    assert_int_equal(output.shape[1], CLASSES);
    memcpy(y, output.data, sizeof(float) * (size_t)(batch * CLASSES));
    inferd_arena_free(&arena);
}

/* Batch sizes 1, 7 and 64 once each, then alternating in every order: no primitive is built and
 * no buffer allocated after the first run of each size, and every answer equals that first one
 * bit for bit. With one state slot per node (rebuilt whenever the shape changed) the builds grow
 * on every change of batch size. */
static void runs_changing_batch_sizes_without_rebuilding(void **state)
{
    (void)state;
    onnx_graph_t g;
    load_lenet(&g);
    static float x[MAX_BATCH * SIDE * SIDE];
    uint32_t seed = 5;
    fill(x, sizeof(x) / sizeof(x[0]), 1.0f, &seed);
    static const int sizes[] = {1, 7, MAX_BATCH};
    static float first[3][MAX_BATCH * CLASSES], again[MAX_BATCH * CLASSES];
    onnx_exec_t *ctx = onnx_exec_new(&g);
    assert_non_null(ctx);
    uint64_t cold_builds = onnx_state_cache_builds();
    for (int i = 0; i < 3; i++)
        run_lenet(ctx, &g, x, sizes[i], first[i]);
    /* the two Convs and two MaxPools at least, for each size */
    assert_true(onnx_state_cache_builds() >= cold_builds + 4 * 3);
    uint64_t warm_builds = onnx_state_cache_builds(), warm_allocations = onnx_exec_allocations();
    for (int round = 0; round < 60; round++) {
        int which = (round * 7 + round / 3) % 3; /* every ordered pair of sizes occurs */
        run_lenet(ctx, &g, x, sizes[which], again);
        assert_memory_equal(again, first[which], sizeof(float) * (size_t)(sizes[which] * CLASSES));
    }
    assert_int_equal(onnx_state_cache_builds(), warm_builds);
    assert_int_equal(onnx_exec_allocations(), warm_allocations);
    /* the answers are probabilities (a sanity check that the model ran) */
    for (int r = 0; r < MAX_BATCH; r++) {
        float sum = 0.0f;
        for (int j = 0; j < CLASSES; j++)
            sum += first[2][r * CLASSES + j];
        assert_true(fabsf(sum - 1.0f) < 1e-5f);
    }
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== a Gemm weight read by two nodes ==== */

enum { K = 48, N = 24, ROWS = 9 };

/* v [N, K] -> y = Gemm(v, W, transB) and z = Gemm(v, W, B, transB, alpha 0.5): W [N, K] is read
 * by both, so neither may transpose it in place. */
static void load_shared_weight(onnx_graph_t *g, float *w, float *bias)
{
    static int64_t w_dims[] = {N, K}, b_dims[] = {N};
    static Onnx__TensorProto inits[2], *init_ptrs[2] = {&inits[0], &inits[1]};
    init_tensor(&inits[0], "W", w_dims, 2, w);
    init_tensor(&inits[1], "B", b_dims, 1, bias);
    static Onnx__AttributeProto trans_attr, alpha_attr;
    static Onnx__AttributeProto *y_attrs[] = {&trans_attr}, *z_attrs[] = {&trans_attr, &alpha_attr};
    init_int(&trans_attr, "transB", 1);
    onnx__attribute_proto__init(&alpha_attr);
    alpha_attr.name = "alpha";
    alpha_attr.has_type = 1;
    alpha_attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    alpha_attr.has_f = 1;
    alpha_attr.f = 0.5f;
    static char *y_in[] = {"v", "W"}, *y_out[] = {"y"}, *z_in[] = {"v", "W", "B"},
                *z_out[] = {"z"};
    static Onnx__NodeProto nodes[2], *node_ptrs[2] = {&nodes[0], &nodes[1]};
    init_node(&nodes[0], "Gemm", y_in, 2, y_out, y_attrs, 1);
    init_node(&nodes[1], "Gemm", z_in, 3, z_out, z_attrs, 2);
    static value_info_t infos[3];
    static Onnx__ValueInfoProto *inputs[1], *outputs[2];
    static const int64_t v_dims[] = {0, K}, y_dims[] = {0, N};
    inputs[0] = info(&infos[0], "v", v_dims, 2);
    outputs[0] = info(&infos[1], "y", y_dims, 2);
    outputs[1] = info(&infos[2], "z", y_dims, 2);
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "shared_weight";
    graph.n_node = 2;
    graph.node = node_ptrs;
    graph.n_initializer = 2;
    graph.initializer = init_ptrs;
    graph.n_input = 1;
    graph.input = inputs;
    graph.n_output = 2;
    graph.output = outputs;
    load_graph(&graph, g);
}

/* Runs `rows` rows of v; y and z get rows * N values each. */
static void run_shared(onnx_exec_t *ctx, const onnx_graph_t *g, const float *v, int rows, float *y,
                       float *z)
{
    inferd_tensor_t input = {
        .name = "v", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {rows, K}, .data = (void *)v};
    inferd_tensor_t outputs[2] = {{.name = "y"}, {.name = "z"}};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    inferd_err_t err;
    int rc = onnx_exec_run(ctx, g, &input, outputs, &arena, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    memcpy(y, outputs[0].data, sizeof(float) * (size_t)(rows * N));
    memcpy(z, outputs[1].data, sizeof(float) * (size_t)(rows * N));
    inferd_arena_free(&arena);
}

/* Both Gemms run on one transposed copy of W each made at load (none per context: running a
 * second context allocates no weights), the plain W stays for the other reader, results equal
 * the plain products, and a row's answer does not depend on the batch it ran in. */
static void shares_transposed_weights_across_contexts(void **state)
{
    (void)state;
    static float w[N * K], bias[N], v[ROWS * K], y[ROWS * N], z[ROWS * N], y1[N], z1[N];
    uint32_t seed = 3;
    fill(w, N * K, 0.5f, &seed);
    fill(bias, N, 0.2f, &seed);
    fill(v, ROWS * K, 1.0f, &seed);
    onnx_graph_t g;
    load_shared_weight(&g, w, bias);
    assert_int_equal(g.n_nodes, 2);
    for (int n = 0; n < 2; n++) {
        assert_non_null(g.nodes[n].shared); /* W' as [K, N], one copy for every context */
        assert_non_null(g.values[g.nodes[n].inputs[1]].constant.data);
    }
    onnx_exec_t *first = onnx_exec_new(&g), *second = onnx_exec_new(&g);
    run_shared(first, &g, v, ROWS, y, z);
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < N; j++) {
            double dot = 0.0;
            for (int k = 0; k < K; k++)
                dot += (double)v[r * K + k] * w[j * K + k];
            assert_true(fabs(y[r * N + j] - dot) <= 1e-4 + 1e-5 * fabs(dot));
            double want = 0.5 * dot + bias[j];
            assert_true(fabs(z[r * N + j] - want) <= 1e-4 + 1e-5 * fabs(want));
        }
    for (int r = 0; r < ROWS; r++) { /* row by row in the other context: the same bits */
        run_shared(second, &g, v + r * K, 1, y1, z1);
        assert_memory_equal(y1, y + r * N, sizeof(y1));
        assert_memory_equal(z1, z + r * N, sizeof(z1));
    }
    onnx_exec_free(first);
    onnx_exec_free(second);
    onnx_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_changing_batch_sizes_without_rebuilding),
        cmocka_unit_test(shares_transposed_weights_across_contexts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
