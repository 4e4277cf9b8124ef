/* Unit tests for Conv fusion and channels-last activations (optimize.c, ops/conv*.c, ops/pool.c):
 * a small residual CNN built here is loaded, the optimizer must fuse Relu, the residual Add and
 * Clip into the Convs and keep the activations between Convs and pools channels-last, and the
 * results must still equal a plain reference computed here, whatever the batch size, from two
 * execution contexts sharing one copy of the weights. Transposes feeding a MatMul's B are folded
 * into it, for every way the MatMul then reads B, and LayerNorm as PyTorch exports it (nine
 * nodes) becomes one LayerNormalization. */
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

enum { IN_C = 3, C = 4, H = 6, POOLED = 3, MAX_BATCH = 8 };

/* ==== building the model ==== */

typedef struct {
    Onnx__TensorShapeProto__Dimension dims[4], *dim_ptrs[4];
    Onnx__TensorShapeProto shape;
    Onnx__TypeProto__Tensor tensor_type;
    Onnx__TypeProto type;
    Onnx__ValueInfoProto info;
} value_info_t;

/* A float value_info of shape [N, dims[1..3]] (the batch symbolic). */
static Onnx__ValueInfoProto *info4(value_info_t *v, const char *name, int64_t c, int64_t h)
{
    int64_t sizes[4] = {0, c, h, h};
    for (int d = 0; d < 4; d++) {
        onnx__tensor_shape_proto__dimension__init(&v->dims[d]);
        if (d == 0) {
            v->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            v->dims[d].dim_param = "N";
        } else {
            v->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            v->dims[d].dim_value = sizes[d];
        }
        v->dim_ptrs[d] = &v->dims[d];
    }
    onnx__tensor_shape_proto__init(&v->shape);
    v->shape.n_dim = 4;
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
                      char **outputs)
{
    onnx__node_proto__init(node);
    node->op_type = (char *)op_type;
    node->input = inputs;
    node->n_input = n_inputs;
    node->output = outputs;
    node->n_output = 1;
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

/* `graph` in a model of opset 13, packed into *OUT_bytes (malloc'ed); returns the length. */
static size_t pack_graph(Onnx__GraphProto *graph, uint8_t **OUT_bytes)
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
    *OUT_bytes = malloc(len);
    onnx__model_proto__pack(&model, *OUT_bytes);
    return len;
}

/* Loads `graph` (packed as a model) into `g`, failing the test with the loader's message. */
static void parse_graph(Onnx__GraphProto *graph, onnx_graph_t *g)
{
    uint8_t *bytes;
    size_t len = pack_graph(graph, &bytes);
    inferd_err_t err;
    int rc = onnx_graph_parse(bytes, len, "built", g, &err);
    free(bytes);
    if (rc != 0)
        fail_msg("%s", err.msg);
}

static float w1[C * IN_C * 9], b1[C], w2[C * C * 9], w3[C * C], b3[C];

/* A deterministic value in [-1, 1). */
static float pseudo_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1 << 23) - 1.0f;
}

/* x, s -> a = Relu(Conv(x, W1, B1)); b = Relu(Conv(a, W2) + a); c = MaxPool2x2(b);
 * d = Clip(Conv1x1(c, W3, B3) + s, 0, 0.5) with s [1, C, 1, 1] (a residual that broadcasts);
 * y = GlobalAveragePool(d). Packed into *OUT_bytes (malloc'ed). */
static size_t build_model(uint8_t **OUT_bytes)
{
    uint32_t seed = 7;
    for (size_t i = 0; i < sizeof(w1) / sizeof(w1[0]); i++)
        w1[i] = pseudo_random(&seed) * 0.5f;
    for (size_t i = 0; i < sizeof(w2) / sizeof(w2[0]); i++)
        w2[i] = pseudo_random(&seed) * 0.5f;
    for (size_t i = 0; i < sizeof(w3) / sizeof(w3[0]); i++)
        w3[i] = pseudo_random(&seed);
    for (int i = 0; i < C; i++) {
        b1[i] = pseudo_random(&seed) * 0.1f;
        b3[i] = pseudo_random(&seed) * 0.1f;
    }
    static int64_t w1_dims[] = {C, IN_C, 3, 3}, w2_dims[] = {C, C, 3, 3}, w3_dims[] = {C, C, 1, 1};
    static int64_t bias_dims[] = {C};
    static float lo = 0.0f, hi = 0.5f;
    static Onnx__TensorProto inits[7], *init_ptrs[7];
    init_tensor(&inits[0], "W1", w1_dims, 4, w1);
    init_tensor(&inits[1], "B1", bias_dims, 1, b1);
    init_tensor(&inits[2], "W2", w2_dims, 4, w2);
    init_tensor(&inits[3], "W3", w3_dims, 4, w3);
    init_tensor(&inits[4], "B3", bias_dims, 1, b3);
    init_tensor(&inits[5], "lo", NULL, 0, &lo);
    init_tensor(&inits[6], "hi", NULL, 0, &hi);
    for (int i = 0; i < 7; i++)
        init_ptrs[i] = &inits[i];

    static int64_t pads1[] = {1, 1, 1, 1}, kernel2[] = {2, 2}, strides2[] = {2, 2};
    static Onnx__AttributeProto pad_attr, kernel_attr, stride_attr;
    static Onnx__AttributeProto *conv_attrs[] = {&pad_attr},
                                *pool_attrs[] = {&kernel_attr, &stride_attr};
    init_ints(&pad_attr, "pads", pads1, 4);
    init_ints(&kernel_attr, "kernel_shape", kernel2, 2);
    init_ints(&stride_attr, "strides", strides2, 2);

    static char *c1_in[] = {"x", "W1", "B1"}, *c1_out[] = {"c1"}, *r1_in[] = {"c1"},
                *r1_out[] = {"a"}, *c2_in[] = {"a", "W2"}, *c2_out[] = {"c2"},
                *add_in[] = {"c2", "a"}, *add_out[] = {"sum"}, *r2_in[] = {"sum"},
                *r2_out[] = {"b"}, *p_in[] = {"b"}, *p_out[] = {"c"}, *c3_in[] = {"c", "W3", "B3"},
                *c3_out[] = {"c3"}, *add2_in[] = {"s", "c3"}, *add2_out[] = {"shifted"},
                *clip_in[] = {"shifted", "lo", "hi"}, *clip_out[] = {"d"}, *gap_in[] = {"d"},
                *gap_out[] = {"y"};
    static Onnx__NodeProto nodes[9], *node_ptrs[9];
    init_node(&nodes[0], "Conv", c1_in, 3, c1_out);
    nodes[0].n_attribute = 1;
    nodes[0].attribute = conv_attrs;
    init_node(&nodes[1], "Relu", r1_in, 1, r1_out);
    init_node(&nodes[2], "Conv", c2_in, 2, c2_out);
    nodes[2].n_attribute = 1;
    nodes[2].attribute = conv_attrs;
    init_node(&nodes[3], "Add", add_in, 2, add_out);
    init_node(&nodes[4], "Relu", r2_in, 1, r2_out);
    init_node(&nodes[5], "MaxPool", p_in, 1, p_out);
    nodes[5].n_attribute = 2;
    nodes[5].attribute = pool_attrs;
    init_node(&nodes[6], "Conv", c3_in, 3, c3_out);
    init_node(&nodes[7], "Add", add2_in, 2, add2_out);
    init_node(&nodes[8], "Clip", clip_in, 3, clip_out);
    static Onnx__NodeProto gap;
    init_node(&gap, "GlobalAveragePool", gap_in, 1, gap_out);
    for (int i = 0; i < 9; i++)
        node_ptrs[i] = &nodes[i];

    static value_info_t infos[3];
    static Onnx__ValueInfoProto *inputs[2], *outputs[1];
    inputs[0] = info4(&infos[0], "x", IN_C, H);
    inputs[1] = info4(&infos[1], "s", C, 1);
    infos[1].dims[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    infos[1].dims[0].dim_value = 1;
    outputs[0] = info4(&infos[2], "y", C, 1);

    static Onnx__NodeProto *all_nodes[10];
    memcpy(all_nodes, node_ptrs, sizeof(node_ptrs));
    all_nodes[9] = &gap;
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "residual";
    graph.n_node = 10;
    graph.node = all_nodes;
    graph.n_initializer = 7;
    graph.initializer = init_ptrs;
    graph.n_input = 2;
    graph.input = inputs;
    graph.n_output = 1;
    graph.output = outputs;
    return pack_graph(&graph, OUT_bytes);
}

/* ==== the plain reference ==== */

/* y[n, f, h, w] = bias[f] + sum over c, kh, kw of x[n, c, h + kh - pad, w + kw - pad] * w[...] */
static void ref_conv(const float *x, int batch, int channels, int size, const float *w,
                     const float *bias, int filters, int k, int pad, float *y)
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

static void reference(const float *x, const float *s, int batch, float *y)
{
    float a[MAX_BATCH * C * H * H], b[MAX_BATCH * C * H * H];
    float c[MAX_BATCH * C * POOLED * POOLED], d[MAX_BATCH * C * POOLED * POOLED];
    ref_conv(x, batch, IN_C, H, w1, b1, C, 3, 1, a);
    for (int i = 0; i < batch * C * H * H; i++)
        a[i] = a[i] > 0 ? a[i] : 0;
    ref_conv(a, batch, C, H, w2, NULL, C, 3, 1, b);
    for (int i = 0; i < batch * C * H * H; i++)
        b[i] = b[i] + a[i] > 0 ? b[i] + a[i] : 0;
    for (int n = 0; n < batch; n++)
        for (int ch = 0; ch < C; ch++)
            for (int i = 0; i < POOLED; i++)
                for (int j = 0; j < POOLED; j++) {
                    const float *p = b + ((n * C + ch) * H + 2 * i) * H + 2 * j;
                    float m = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[H], p[H + 1]));
                    c[((n * C + ch) * POOLED + i) * POOLED + j] = m;
                }
    ref_conv(c, batch, C, POOLED, w3, b3, C, 1, 0, d);
    for (int n = 0; n < batch; n++)
        for (int ch = 0; ch < C; ch++) {
            double sum = 0;
            for (int i = 0; i < POOLED * POOLED; i++) {
                float v = d[(n * C + ch) * POOLED * POOLED + i] + s[ch];
                sum += v < 0.0f ? 0.0f : (v > 0.5f ? 0.5f : v);
            }
            y[n * C + ch] = (float)(sum / (POOLED * POOLED));
        }
}

/* ==== tests ==== */

static int count_op(const onnx_graph_t *g, const char *op_type)
{
    int count = 0;
    for (int n = 0; n < g->n_nodes; n++)
        count += strcmp(g->nodes[n].op->op_type, op_type) == 0;
    return count;
}

static void run_and_compare(onnx_exec_t *ctx, const onnx_graph_t *g, int batch, uint32_t seed)
{
    float x[MAX_BATCH * IN_C * H * H], s[C], expected[MAX_BATCH * C];
    for (int i = 0; i < batch * IN_C * H * H; i++)
        x[i] = pseudo_random(&seed);
    for (int i = 0; i < C; i++)
        s[i] = pseudo_random(&seed) * 0.3f;
    reference(x, s, batch, expected);
    inferd_tensor_t inputs[2] = {
        {.name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {batch, IN_C, H, H}, .data = x},
        {.name = "s", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {1, C, 1, 1}, .data = s},
    };
    inferd_tensor_t y = {.name = "y"};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    inferd_err_t err;
    assert_int_equal(onnx_exec_run(ctx, g, inputs, &y, &arena, &err), 0);
    assert_int_equal(y.ndim, 4);
    assert_int_equal(y.shape[0], batch);
    assert_int_equal(y.shape[1], C);
    const float *got = y.data;
    for (int i = 0; i < batch * C; i++)
        assert_true(fabsf(got[i] - expected[i]) <= 1e-5f + 1e-5f * fabsf(expected[i]));
    inferd_arena_free(&arena);
}

static void fuses_and_keeps_channels_last(void **state)
{
    (void)state;
    uint8_t *bytes;
    size_t len = build_model(&bytes);
    onnx_graph_t g;
    inferd_err_t err;
    assert_int_equal(onnx_graph_parse(bytes, len, "built", &g, &err), 0);
    free(bytes);

    /* Relu, both Adds and Clip are gone into the three Convs */
    assert_int_equal(g.n_nodes, 5);
    assert_int_equal(count_op(&g, "Conv"), 3);
    assert_int_equal(count_op(&g, "Relu") + count_op(&g, "Add") + count_op(&g, "Clip"), 0);
    assert_int_equal(g.nodes[0].fused.activation, ONNX_FUSED_RELU);
    assert_int_equal(g.nodes[1].fused.activation, ONNX_FUSED_RELU);
    assert_true(g.nodes[1].fused.sum_input > 0);
    assert_int_equal(g.nodes[3].fused.activation, ONNX_FUSED_CLIP);
    assert_true(g.nodes[3].fused.sum_input > 0);
    /* channels-last from the first Conv to the GlobalAveragePool; the graph's ends stay plain */
    assert_int_equal(g.nodes[0].channels_last_inputs, 0);
    assert_int_equal(g.nodes[0].channels_last_outputs, 1);
    assert_int_equal(g.nodes[2].channels_last_inputs, 1); /* MaxPool */
    assert_int_equal(g.nodes[2].channels_last_outputs, 1);
    assert_int_equal(g.nodes[4].channels_last_inputs, 1); /* GlobalAveragePool */
    assert_int_equal(g.nodes[4].channels_last_outputs, 0);
    /* the Convs own their weights: no plain copy left among the graph's values */
    for (int n = 0; n < g.n_nodes; n++)
        if (strcmp(g.nodes[n].op->op_type, "Conv") == 0) {
            assert_non_null(g.nodes[n].shared);
            assert_null(g.values[g.nodes[n].inputs[1]].constant.data);
        }

    /* two contexts share the weights; batch sizes change between runs (new primitives) */
    onnx_exec_t *first = onnx_exec_new(&g), *second = onnx_exec_new(&g);
    run_and_compare(first, &g, 2, 1);
    run_and_compare(second, &g, 1, 2);
    run_and_compare(first, &g, 1, 3);
    run_and_compare(second, &g, 2, 4);
    run_and_compare(first, &g, 2, 5);
    onnx_exec_free(first);
    onnx_exec_free(second);
    onnx_graph_free(&g);
}

/* Under dynamic batching the batch size changes from call to call: each node builds its oneDNN
 * primitive once per batch size and context, then finds it again, whatever the order. */
static void keeps_primitives_per_batch_size(void **state)
{
    (void)state;
    uint8_t *bytes;
    size_t len = build_model(&bytes);
    onnx_graph_t g;
    inferd_err_t err;
    assert_int_equal(onnx_graph_parse(bytes, len, "built", &g, &err), 0);
    free(bytes);
    onnx_exec_t *ctx = onnx_exec_new(&g);
    static const int sizes[] = {1, 5, MAX_BATCH};
    uint64_t before = onnx_state_cache_builds();
    for (int i = 0; i < 3; i++)
        run_and_compare(ctx, &g, sizes[i], 10u + (uint32_t)i);
    uint64_t warm = onnx_state_cache_builds();
    assert_true(warm >= before + 3 * 3); /* three Convs, three shapes each */
    for (int round = 0; round < 30; round++)
        run_and_compare(ctx, &g, sizes[(round * 2) % 3], 100u + (uint32_t)round);
    assert_int_equal(onnx_state_cache_builds(), warm);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== MatMul + Transpose ==== */

/* A float value_info of the given dims. */
static Onnx__ValueInfoProto *info_dims(value_info_t *v, const char *name, const int64_t *dims,
                                       int n)
{
    info4(v, name, 1, 1);
    for (int d = 0; d < n; d++) {
        v->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        v->dims[d].dim_value = dims[d];
    }
    v->shape.n_dim = (size_t)n;
    return &v->info;
}

enum { N_CASES = 4 };

/* Each case: y = MatMul(a, Transpose(r, perm)), with a and r graph inputs. */
static const struct {
    int a_rank, r_rank;
    int64_t a_dims[4], r_dims[4], perm[4];
} cases[N_CASES] = {
    /* [2,3,4] x [2,4,5]: B's rows are runs of r (gathered row-major) */
    {3, 3, {2, 3, 4}, {4, 2, 5}, {1, 0, 2}},
    /* B's columns are runs of r (gathered transposed): attention's K^T */
    {3, 3, {2, 3, 4}, {5, 2, 4}, {1, 2, 0}},
    /* two batch axes, permuted: the general path gathers B whole */
    {4, 4, {2, 2, 3, 4}, {2, 5, 2, 4}, {0, 2, 3, 1}},
    /* one [4,5] B stored transposed: read as it is */
    {2, 2, {3, 4}, {5, 4}, {1, 0}},
};

static void folds_transposes_into_matmuls(void **state)
{
    (void)state;
    static char names[N_CASES][4][8];
    static char *t_in[N_CASES][1], *t_out[N_CASES][1], *m_in[N_CASES][2], *m_out[N_CASES][1];
    static Onnx__NodeProto nodes[2 * N_CASES], *node_ptrs[2 * N_CASES];
    static Onnx__AttributeProto perm_attrs[N_CASES], *perm_ptrs[N_CASES][1];
    static value_info_t infos[3 * N_CASES];
    static Onnx__ValueInfoProto *inputs[2 * N_CASES], *outputs[N_CASES];
    static int64_t perms[N_CASES][4];
    for (int c = 0; c < N_CASES; c++) {
        snprintf(names[c][0], 8, "a%d", c);
        snprintf(names[c][1], 8, "r%d", c);
        snprintf(names[c][2], 8, "t%d", c);
        snprintf(names[c][3], 8, "y%d", c);
        t_in[c][0] = names[c][1];
        t_out[c][0] = names[c][2];
        m_in[c][0] = names[c][0];
        m_in[c][1] = names[c][2];
        m_out[c][0] = names[c][3];
        memcpy(perms[c], cases[c].perm, sizeof(perms[c]));
        init_ints(&perm_attrs[c], "perm", perms[c], (size_t)cases[c].r_rank);
        perm_ptrs[c][0] = &perm_attrs[c];
        init_node(&nodes[2 * c], "Transpose", t_in[c], 1, t_out[c]);
        nodes[2 * c].n_attribute = 1;
        nodes[2 * c].attribute = perm_ptrs[c];
        init_node(&nodes[2 * c + 1], "MatMul", m_in[c], 2, m_out[c]);
        node_ptrs[2 * c] = &nodes[2 * c];
        node_ptrs[2 * c + 1] = &nodes[2 * c + 1];
        inputs[2 * c] = info_dims(&infos[3 * c], names[c][0], cases[c].a_dims, cases[c].a_rank);
        inputs[2 * c + 1] =
            info_dims(&infos[3 * c + 1], names[c][1], cases[c].r_dims, cases[c].r_rank);
        outputs[c] = info_dims(&infos[3 * c + 2], names[c][3], cases[c].a_dims, 1);
    }
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "matmuls";
    graph.n_node = 2 * N_CASES;
    graph.node = node_ptrs;
    graph.n_input = 2 * N_CASES;
    graph.input = inputs;
    graph.n_output = N_CASES;
    graph.output = outputs;
    onnx_graph_t g;
    inferd_err_t err;
    parse_graph(&graph, &g);
    assert_int_equal(g.n_nodes, N_CASES); /* the Transposes are gone */
    assert_int_equal(count_op(&g, "MatMul"), N_CASES);

    float a[N_CASES][128], r[N_CASES][128]; /* the largest case has 80 values */
    inferd_tensor_t ins[2 * N_CASES], outs[N_CASES];
    uint32_t seed = 11;
    for (int c = 0; c < N_CASES; c++) {
        inferd_tensor_t *ta = &ins[2 * c], *tr = &ins[2 * c + 1];
        *ta = (inferd_tensor_t){
            .name = names[c][0], .dtype = INFERD_DT_FP32, .ndim = cases[c].a_rank, .data = a[c]};
        *tr = (inferd_tensor_t){
            .name = names[c][1], .dtype = INFERD_DT_FP32, .ndim = cases[c].r_rank, .data = r[c]};
        memcpy(ta->shape, cases[c].a_dims, sizeof(int64_t) * (size_t)cases[c].a_rank);
        memcpy(tr->shape, cases[c].r_dims, sizeof(int64_t) * (size_t)cases[c].r_rank);
        for (int i = 0; i < 128; i++) {
            a[c][i] = pseudo_random(&seed);
            r[c][i] = pseudo_random(&seed);
        }
        outs[c] = (inferd_tensor_t){.name = names[c][3]};
    }
    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    assert_int_equal(onnx_exec_run(ctx, &g, ins, outs, &arena, &err), 0);
    for (int c = 0; c < N_CASES; c++) {
        int rank = cases[c].a_rank;
        const int64_t *ad = cases[c].a_dims, *rd = cases[c].r_dims, *perm = cases[c].perm;
        int64_t m = ad[rank - 2], k = ad[rank - 1], n = rd[perm[rank - 1]];
        int64_t batches = 1, r_strides[4], stride = 1;
        for (int d = 0; d < rank - 2; d++)
            batches *= ad[d];
        for (int d = rank - 1; d >= 0; d--) {
            r_strides[d] = stride;
            stride *= rd[d];
        }
        assert_int_equal(outs[c].ndim, rank);
        assert_int_equal(outs[c].shape[rank - 1], n);
        const float *y = outs[c].data;
        for (int64_t bt = 0; bt < batches; bt++)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    /* B's logical index (batch..., kk, j): its element in r through perm */
                    int64_t logical[4], at_batch = bt;
                    for (int d = rank - 3; d >= 0; d--) {
                        logical[d] = at_batch % ad[d];
                        at_batch /= ad[d];
                    }
                    logical[rank - 1] = j;
                    double sum = 0;
                    for (int64_t kk = 0; kk < k; kk++) {
                        logical[rank - 2] = kk;
                        int64_t at = 0;
                        for (int d = 0; d < rank; d++)
                            at += logical[d] * r_strides[perm[d]];
                        sum += (double)a[c][(bt * m + i) * k + kk] * r[c][at];
                    }
                    assert_true(fabs(y[(bt * m + i) * n + j] - sum) < 1e-5);
                }
    }
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== channels-last pooling, general windows ==== */

/* x [2, 3, 5, 5] -> c = Conv1x1(x, W3x4) -> m = MaxPool(c, 3x3, stride 2, pads 1) ->
 * a = AveragePool(Conv1x1(m), 2x2, stride 1) -> y = GlobalMaxPool(a): the pools between Convs
 * read and write channels-last through the general window loops. */
static void pools_channels_last_windows(void **state)
{
    (void)state;
    enum { PC = 4, PH = 5, MH = 3, AH = 2 };
    static float wa[PC * IN_C], wb[PC * PC];
    uint32_t seed = 9;
    for (int i = 0; i < PC * IN_C; i++)
        wa[i] = pseudo_random(&seed);
    for (int i = 0; i < PC * PC; i++)
        wb[i] = pseudo_random(&seed);
    static int64_t wa_dims[] = {PC, IN_C, 1, 1}, wb_dims[] = {PC, PC, 1, 1};
    static Onnx__TensorProto inits[2], *init_ptrs[2];
    init_tensor(&inits[0], "WA", wa_dims, 4, wa);
    init_tensor(&inits[1], "WB", wb_dims, 4, wb);
    init_ptrs[0] = &inits[0];
    init_ptrs[1] = &inits[1];
    static int64_t k3[] = {3, 3}, s2[] = {2, 2}, p1[] = {1, 1, 1, 1}, k2[] = {2, 2}, s1[] = {1, 1};
    static Onnx__AttributeProto mk, ms, mp, ak, as, *max_attrs[] = {&mk, &ms, &mp},
                                                    *avg_attrs[] = {&ak, &as};
    init_ints(&mk, "kernel_shape", k3, 2);
    init_ints(&ms, "strides", s2, 2);
    init_ints(&mp, "pads", p1, 4);
    init_ints(&ak, "kernel_shape", k2, 2);
    init_ints(&as, "strides", s1, 2);
    static char *c1_in[] = {"x", "WA"}, *c1_out[] = {"c"}, *mp_in[] = {"c"}, *mp_out[] = {"m"},
                *c2_in[] = {"m", "WB"}, *c2_out[] = {"b"}, *ap_in[] = {"b"}, *ap_out[] = {"a"},
                *g_in[] = {"a"}, *g_out[] = {"y"};
    static Onnx__NodeProto nodes[5], *node_ptrs[5];
    init_node(&nodes[0], "Conv", c1_in, 2, c1_out);
    init_node(&nodes[1], "MaxPool", mp_in, 1, mp_out);
    nodes[1].n_attribute = 3;
    nodes[1].attribute = max_attrs;
    init_node(&nodes[2], "Conv", c2_in, 2, c2_out);
    init_node(&nodes[3], "AveragePool", ap_in, 1, ap_out);
    nodes[3].n_attribute = 2;
    nodes[3].attribute = avg_attrs;
    init_node(&nodes[4], "GlobalMaxPool", g_in, 1, g_out);
    for (int i = 0; i < 5; i++)
        node_ptrs[i] = &nodes[i];
    static value_info_t infos[2];
    int64_t x_dims[] = {2, IN_C, PH, PH}, y_dims[] = {2, PC, 1, 1};
    Onnx__ValueInfoProto *inputs[1] = {info_dims(&infos[0], "x", x_dims, 4)};
    Onnx__ValueInfoProto *outputs[1] = {info_dims(&infos[1], "y", y_dims, 4)};
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "pools";
    graph.n_node = 5;
    graph.node = node_ptrs;
    graph.n_initializer = 2;
    graph.initializer = init_ptrs;
    graph.n_input = 1;
    graph.input = inputs;
    graph.n_output = 1;
    graph.output = outputs;
    onnx_graph_t g;
    inferd_err_t err;
    parse_graph(&graph, &g);
    assert_int_equal(g.nodes[1].channels_last_inputs, 1); /* MaxPool */
    assert_int_equal(g.nodes[1].channels_last_outputs, 1);
    assert_int_equal(g.nodes[3].channels_last_inputs, 1); /* AveragePool */
    assert_int_equal(g.nodes[3].channels_last_outputs, 1);

    float x[2 * IN_C * PH * PH], c[2 * PC * PH * PH], m[2 * PC * MH * MH], b[2 * PC * MH * MH];
    float a[2 * PC * AH * AH];
    for (int i = 0; i < 2 * IN_C * PH * PH; i++)
        x[i] = pseudo_random(&seed);
    ref_conv(x, 2, IN_C, PH, wa, NULL, PC, 1, 0, c);
    for (int n = 0; n < 2 * PC; n++) /* planes */
        for (int i = 0; i < MH; i++)
            for (int j = 0; j < MH; j++) {
                float best = -INFINITY;
                for (int di = 0; di < 3; di++)
                    for (int dj = 0; dj < 3; dj++) {
                        int ii = 2 * i - 1 + di, jj = 2 * j - 1 + dj;
                        if (ii >= 0 && jj >= 0 && ii < PH && jj < PH)
                            best = fmaxf(best, c[(n * PH + ii) * PH + jj]);
                    }
                m[(n * MH + i) * MH + j] = best;
            }
    ref_conv(m, 2, PC, MH, wb, NULL, PC, 1, 0, b);
    for (int n = 0; n < 2 * PC; n++)
        for (int i = 0; i < AH; i++)
            for (int j = 0; j < AH; j++) {
                const float *q = b + (n * MH + i) * MH + j;
                a[(n * AH + i) * AH + j] = (q[0] + q[1] + q[MH] + q[MH + 1]) / 4.0f;
            }
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {2, IN_C, PH, PH}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    assert_int_equal(onnx_exec_run(ctx, &g, &input, &y, &arena, &err), 0);
    const float *got = y.data;
    for (int n = 0; n < 2 * PC; n++) {
        float best = -INFINITY;
        for (int i = 0; i < AH * AH; i++)
            best = fmaxf(best, a[n * AH * AH + i]);
        assert_true(fabsf(got[n] - best) <= 1e-5f + 1e-5f * fabsf(best));
    }
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== LayerNorm as PyTorch exports it ==== */

static void fuses_exported_layer_norm(void **state)
{
    (void)state;
    enum { ROWS = 6, D = 20 };
    static float gamma[D], beta[D], two = 2.0f, eps = 1e-5f;
    uint32_t seed = 5;
    for (int i = 0; i < D; i++) {
        gamma[i] = pseudo_random(&seed);
        beta[i] = pseudo_random(&seed);
    }
    static int64_t d_dims[] = {D};
    static Onnx__TensorProto inits[4], *init_ptrs[4];
    init_tensor(&inits[0], "gamma", d_dims, 1, gamma);
    init_tensor(&inits[1], "beta", d_dims, 1, beta);
    init_tensor(&inits[2], "two", NULL, 0, &two);
    init_tensor(&inits[3], "eps", NULL, 0, &eps);
    for (int i = 0; i < 4; i++)
        init_ptrs[i] = &inits[i];
    static int64_t last_axis[] = {-1};
    static Onnx__AttributeProto axes_attr, *mean_attrs[] = {&axes_attr};
    init_ints(&axes_attr, "axes", last_axis, 1);
    static char *m_in[] = {"x"}, *m_out[] = {"m"}, *sub_in[] = {"x", "m"}, *sub_out[] = {"d"},
                *pow_in[] = {"d", "two"}, *pow_out[] = {"p"}, *v_in[] = {"p"}, *v_out[] = {"v"},
                *e_in[] = {"v", "eps"}, *e_out[] = {"e"}, *sq_in[] = {"e"}, *sq_out[] = {"s"},
                *div_in[] = {"d", "s"}, *div_out[] = {"n"}, *mul_in[] = {"n", "gamma"},
                *mul_out[] = {"g"}, *add_in[] = {"g", "beta"}, *add_out[] = {"y"};
    static Onnx__NodeProto nodes[9], *node_ptrs[9];
    init_node(&nodes[0], "ReduceMean", m_in, 1, m_out);
    nodes[0].n_attribute = 1;
    nodes[0].attribute = mean_attrs;
    init_node(&nodes[1], "Sub", sub_in, 2, sub_out);
    init_node(&nodes[2], "Pow", pow_in, 2, pow_out);
    init_node(&nodes[3], "ReduceMean", v_in, 1, v_out);
    nodes[3].n_attribute = 1;
    nodes[3].attribute = mean_attrs;
    init_node(&nodes[4], "Add", e_in, 2, e_out);
    init_node(&nodes[5], "Sqrt", sq_in, 1, sq_out);
    init_node(&nodes[6], "Div", div_in, 2, div_out);
    init_node(&nodes[7], "Mul", mul_in, 2, mul_out);
    init_node(&nodes[8], "Add", add_in, 2, add_out);
    for (int i = 0; i < 9; i++)
        node_ptrs[i] = &nodes[i];
    static value_info_t infos[2];
    int64_t dims[2] = {ROWS, D};
    Onnx__ValueInfoProto *inputs[1] = {info_dims(&infos[0], "x", dims, 2)};
    Onnx__ValueInfoProto *outputs[1] = {info_dims(&infos[1], "y", dims, 2)};
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "layer_norm";
    graph.n_node = 9;
    graph.node = node_ptrs;
    graph.n_initializer = 4;
    graph.initializer = init_ptrs;
    graph.n_input = 1;
    graph.input = inputs;
    graph.n_output = 1;
    graph.output = outputs;
    onnx_graph_t g;
    inferd_err_t err;
    parse_graph(&graph, &g);
    assert_int_equal(g.n_nodes, 1);
    assert_string_equal(g.nodes[0].op->op_type, "LayerNormalization");

    float x[ROWS * D];
    for (int i = 0; i < ROWS * D; i++)
        x[i] = pseudo_random(&seed) * 3.0f + (float)(i / D); /* rows with different means */
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {ROWS, D}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    assert_int_equal(onnx_exec_run(ctx, &g, &input, &y, &arena, &err), 0);
    const float *got = y.data;
    for (int r = 0; r < ROWS; r++) {
        double mean = 0, var = 0;
        for (int j = 0; j < D; j++)
            mean += x[r * D + j] / (double)D;
        for (int j = 0; j < D; j++)
            var += (x[r * D + j] - mean) * (x[r * D + j] - mean) / D;
        for (int j = 0; j < D; j++) {
            double want = (x[r * D + j] - mean) / sqrt(var + eps) * gamma[j] + beta[j];
            assert_true(fabs(got[r * D + j] - want) < 1e-5 + 1e-5 * fabs(want));
        }
    }
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== Gemm/MatMul + bias + activation ==== */

/* y1 = Sigmoid(MatMul(x, W) + bias) for x [2,3,8] (PyTorch's Linear on 3-D input, then a
 * sigmoid), y2 = Clip(Gemm(u, V, C, transB=1), -0.2, 0.3) and y3 = Relu(BatchNormalization(
 * Gemm(u, V2, transB=1))) (Linear, BatchNorm1d, ReLU): each becomes one node (the batch norm
 * folded into V2 and a new C), with the results of the unfused ops. */
static void fuses_bias_and_activations_into_products(void **state)
{
    (void)state;
    enum { K = 8, N = 5, ROWS = 6, U_ROWS = 4 };
    static float w[K * N], bias[N], v[N * K], c[N], lo = -0.2f, hi = 0.3f;
    static float v2[N * K], gamma[N], beta[N], mean[N], var[N];
    uint32_t seed = 5;
    for (int i = 0; i < K * N; i++) {
        w[i] = pseudo_random(&seed);
        v[i] = pseudo_random(&seed) * 0.5f;
    }
    for (int i = 0; i < N; i++) {
        bias[i] = pseudo_random(&seed);
        c[i] = pseudo_random(&seed) * 0.2f;
        gamma[i] = 1.0f + pseudo_random(&seed) * 0.5f;
        beta[i] = pseudo_random(&seed) * 0.3f;
        mean[i] = pseudo_random(&seed) * 0.2f;
        var[i] = 0.5f + pseudo_random(&seed) * 0.4f;
    }
    for (int i = 0; i < N * K; i++)
        v2[i] = pseudo_random(&seed);
    static int64_t w_dims[] = {K, N}, bias_dims[] = {N}, v_dims[] = {N, K}, c_dims[] = {N};
    static Onnx__TensorProto inits[11], *init_ptrs[11];
    init_tensor(&inits[0], "W", w_dims, 2, w);
    init_tensor(&inits[1], "bias", bias_dims, 1, bias);
    init_tensor(&inits[2], "V", v_dims, 2, v);
    init_tensor(&inits[3], "C", c_dims, 1, c);
    init_tensor(&inits[4], "lo", NULL, 0, &lo);
    init_tensor(&inits[5], "hi", NULL, 0, &hi);
    init_tensor(&inits[6], "V2", v_dims, 2, v2);
    init_tensor(&inits[7], "gamma", c_dims, 1, gamma);
    init_tensor(&inits[8], "beta", c_dims, 1, beta);
    init_tensor(&inits[9], "mean", c_dims, 1, mean);
    init_tensor(&inits[10], "var", c_dims, 1, var);
    for (int i = 0; i < 11; i++)
        init_ptrs[i] = &inits[i];
    static char *mm_in[] = {"x", "W"}, *mm_out[] = {"t1"}, *add_in[] = {"bias", "t1"},
                *add_out[] = {"t2"}, *sig_in[] = {"t2"}, *sig_out[] = {"y1"},
                *gemm_in[] = {"u", "V", "C"}, *gemm_out[] = {"s1"}, *clip_in[] = {"s1", "lo", "hi"},
                *clip_out[] = {"y2"}, *gemm2_in[] = {"u", "V2"}, *gemm2_out[] = {"g2"},
                *bn_in[] = {"g2", "gamma", "beta", "mean", "var"}, *bn_out[] = {"n2"},
                *relu_in[] = {"n2"}, *relu_out[] = {"y3"};
    static Onnx__NodeProto nodes[8], *node_ptrs[8];
    init_node(&nodes[0], "MatMul", mm_in, 2, mm_out);
    init_node(&nodes[1], "Add", add_in, 2, add_out);
    init_node(&nodes[2], "Sigmoid", sig_in, 1, sig_out);
    init_node(&nodes[3], "Gemm", gemm_in, 3, gemm_out);
    init_node(&nodes[4], "Clip", clip_in, 3, clip_out);
    init_node(&nodes[5], "Gemm", gemm2_in, 2, gemm2_out);
    init_node(&nodes[6], "BatchNormalization", bn_in, 5, bn_out);
    init_node(&nodes[7], "Relu", relu_in, 1, relu_out);
    static Onnx__AttributeProto trans_b, *gemm_attrs[1] = {&trans_b};
    onnx__attribute_proto__init(&trans_b);
    trans_b.name = "transB";
    trans_b.has_type = 1;
    trans_b.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    trans_b.has_i = 1;
    trans_b.i = 1;
    nodes[3].n_attribute = 1;
    nodes[3].attribute = gemm_attrs;
    nodes[5].n_attribute = 1;
    nodes[5].attribute = gemm_attrs;
    for (int i = 0; i < 8; i++)
        node_ptrs[i] = &nodes[i];
    static value_info_t infos[5];
    static const int64_t x_dims[] = {2, 3, K}, y1_dims[] = {2, 3, N}, u_dims[] = {U_ROWS, K},
                         y2_dims[] = {U_ROWS, N};
    static Onnx__ValueInfoProto *inputs[2], *outputs[3];
    inputs[0] = info_dims(&infos[0], "x", x_dims, 3);
    inputs[1] = info_dims(&infos[1], "u", u_dims, 2);
    outputs[0] = info_dims(&infos[2], "y1", y1_dims, 3);
    outputs[1] = info_dims(&infos[3], "y2", y2_dims, 2);
    outputs[2] = info_dims(&infos[4], "y3", y2_dims, 2);
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "products";
    graph.n_node = 8;
    graph.node = node_ptrs;
    graph.n_initializer = 11;
    graph.initializer = init_ptrs;
    graph.n_input = 2;
    graph.input = inputs;
    graph.n_output = 3;
    graph.output = outputs;
    onnx_graph_t g;
    inferd_err_t err;
    parse_graph(&graph, &g);

    assert_int_equal(g.n_nodes, 3);
    assert_int_equal(count_op(&g, "Gemm"), 2);
    for (int n = 0; n < g.n_nodes; n++) {
        const onnx_node_t *node = &g.nodes[n];
        if (strcmp(node->op->op_type, "MatMul") == 0) {
            assert_int_equal(node->fused.bias_input, 2);
            assert_int_equal(node->fused.activation, ONNX_FUSED_SIGMOID);
        } else {
            assert_string_equal(node->op->op_type, "Gemm");
            assert_true(node->fused.activation == ONNX_FUSED_CLIP ||
                        node->fused.activation == ONNX_FUSED_RELU);
        }
    }

    float x[ROWS * K], u[U_ROWS * K];
    for (int i = 0; i < ROWS * K; i++)
        x[i] = pseudo_random(&seed);
    for (int i = 0; i < U_ROWS * K; i++)
        u[i] = pseudo_random(&seed);
    inferd_tensor_t ins[2] = {
        {.name = "x", .dtype = INFERD_DT_FP32, .ndim = 3, .shape = {2, 3, K}, .data = x},
        {.name = "u", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {U_ROWS, K}, .data = u},
    };
    inferd_tensor_t outs[3] = {{.name = "y1"}, {.name = "y2"}, {.name = "y3"}};
    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    assert_int_equal(onnx_exec_run(ctx, &g, ins, outs, &arena, &err), 0);
    assert_int_equal(outs[0].ndim, 3);
    assert_int_equal(outs[0].shape[2], N);
    const float *y1 = outs[0].data, *y2 = outs[1].data, *y3 = outs[2].data;
    int clipped = 0;
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < N; j++) {
            double sum = bias[j];
            for (int kk = 0; kk < K; kk++)
                sum += (double)x[r * K + kk] * w[kk * N + j];
            double expected = 1.0 / (1.0 + exp(-sum));
            assert_true(fabs(y1[r * N + j] - expected) <= 1e-5);
        }
    for (int r = 0; r < U_ROWS; r++)
        for (int j = 0; j < N; j++) {
            double sum = c[j];
            for (int kk = 0; kk < K; kk++)
                sum += (double)u[r * K + kk] * v[j * K + kk];
            double expected = sum < lo ? lo : sum > hi ? hi : sum;
            clipped += sum < lo || sum > hi;
            assert_true(fabs(y2[r * N + j] - expected) <= 1e-5);
        }
    assert_true(clipped > 0); /* the bounds were reached */
    int zeroed = 0;
    for (int r = 0; r < U_ROWS; r++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int kk = 0; kk < K; kk++)
                sum += (double)u[r * K + kk] * v2[j * K + kk];
            double normed = (sum - mean[j]) / sqrt((double)var[j] + 1e-5) * gamma[j] + beta[j];
            double expected = normed < 0 ? 0.0 : normed;
            zeroed += normed < 0;
            assert_true(fabs(y3[r * N + j] - expected) <= 1e-5);
        }
    assert_true(zeroed > 0 && zeroed < U_ROWS * N);
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* y = Sigmoid(Conv(x, W, B)) with pads 1: one Conv whose oneDNN post-op is the logistic. */
static void fuses_sigmoid_into_conv(void **state)
{
    (void)state;
    enum { CI = 2, CO = 3, S = 5 };
    static float w[CO * CI * 9], b[CO];
    uint32_t seed = 21;
    for (int i = 0; i < CO * CI * 9; i++)
        w[i] = pseudo_random(&seed);
    for (int i = 0; i < CO; i++)
        b[i] = pseudo_random(&seed) * 0.5f;
    static int64_t w_dims[] = {CO, CI, 3, 3}, b_dims[] = {CO}, pads[] = {1, 1, 1, 1};
    static Onnx__TensorProto inits[2], *init_ptrs[2] = {&inits[0], &inits[1]};
    init_tensor(&inits[0], "W", w_dims, 4, w);
    init_tensor(&inits[1], "B", b_dims, 1, b);
    static char *conv_in[] = {"x", "W", "B"}, *conv_out[] = {"c"}, *sig_in[] = {"c"},
                *sig_out[] = {"y"};
    static Onnx__NodeProto nodes[2], *node_ptrs[2] = {&nodes[0], &nodes[1]};
    init_node(&nodes[0], "Conv", conv_in, 3, conv_out);
    init_node(&nodes[1], "Sigmoid", sig_in, 1, sig_out);
    static Onnx__AttributeProto pad_attr, *attrs[1] = {&pad_attr};
    init_ints(&pad_attr, "pads", pads, 4);
    nodes[0].n_attribute = 1;
    nodes[0].attribute = attrs;
    static value_info_t infos[2];
    static Onnx__ValueInfoProto *inputs[1], *outputs[1];
    inputs[0] = info4(&infos[0], "x", CI, S);
    outputs[0] = info4(&infos[1], "y", CO, S);
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = "conv_sigmoid";
    graph.n_node = 2;
    graph.node = node_ptrs;
    graph.n_initializer = 2;
    graph.initializer = init_ptrs;
    graph.n_input = 1;
    graph.input = inputs;
    graph.n_output = 1;
    graph.output = outputs;
    onnx_graph_t g;
    inferd_err_t err;
    parse_graph(&graph, &g);
    assert_int_equal(g.n_nodes, 1);
    assert_int_equal(g.nodes[0].fused.activation, ONNX_FUSED_SIGMOID);

    enum { BATCH = 2 };
    float x[BATCH * CI * S * S];
    for (int i = 0; i < BATCH * CI * S * S; i++)
        x[i] = pseudo_random(&seed);
    inferd_tensor_t in = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {BATCH, CI, S, S}, .data = x};
    inferd_tensor_t out = {.name = "y"};
    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    assert_int_equal(onnx_exec_run(ctx, &g, &in, &out, &arena, &err), 0);
    const float *y = out.data;
    for (int n = 0; n < BATCH; n++)
        for (int o = 0; o < CO; o++)
            for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++) {
                    double sum = b[o];
                    for (int c = 0; c < CI; c++)
                        for (int di = 0; di < 3; di++)
                            for (int dj = 0; dj < 3; dj++) {
                                int ii = i + di - 1, jj = j + dj - 1;
                                if (ii >= 0 && ii < S && jj >= 0 && jj < S)
                                    sum += (double)x[((n * CI + c) * S + ii) * S + jj] *
                                           w[((o * CI + c) * 3 + di) * 3 + dj];
                            }
                    double expected = 1.0 / (1.0 + exp(-sum));
                    assert_true(fabs(y[((n * CO + o) * S + i) * S + j] - expected) <= 1e-5);
                }
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuses_and_keeps_channels_last),
        cmocka_unit_test(keeps_primitives_per_batch_size),
        cmocka_unit_test(fuses_bias_and_activations_into_products),
        cmocka_unit_test(fuses_sigmoid_into_conv),
        cmocka_unit_test(folds_transposes_into_matmuls),
        cmocka_unit_test(fuses_exported_layer_norm),
        cmocka_unit_test(pools_channels_last_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
