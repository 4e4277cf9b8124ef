/* Unit tests for Conv fusion and channels-last activations (optimize.c, ops/conv*.c, ops/pool.c):
 * a small residual CNN built here is loaded, the optimizer must fuse Relu, the residual Add and
 * Clip into the Convs and keep the activations between Convs and pools channels-last, and the
 * results must still equal a plain reference computed here, whatever the batch size, from two
 * execution contexts sharing one copy of the weights (pools and layouts between Convs:
 * test_onnx_conv_layouts.c). Transposes feeding a MatMul's B are folded
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
#include <omp.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"
#include "backends/onnx/ops/state_cache.h"
#include "onnx_build.h"

enum { IN_C = 3, C = 4, H = 6, POOLED = 3, MAX_BATCH = 8 };

/* ==== building the model ==== */

static float w1[C * IN_C * 9], b1[C], w2[C * C * 9], w3[C * C], b3[C];

/* x, s -> a = Relu(Conv(x, W1, B1)); b = Relu(Conv(a, W2) + a); c = MaxPool2x2(b);
 * d = Clip(Conv1x1(c, W3, B3) + s, 0, 0.5) with s [1, C, 1, 1] (a residual that broadcasts);
 * y = GlobalAveragePool(d). Loaded into `g`. */
static void load_residual(onnx_graph_t *g)
{
    uint32_t seed = 7;
    onnx_build_fill(w1, sizeof(w1) / sizeof(w1[0]), 0.5f, &seed);
    onnx_build_fill(w2, sizeof(w2) / sizeof(w2[0]), 0.5f, &seed);
    onnx_build_fill(w3, sizeof(w3) / sizeof(w3[0]), 1.0f, &seed);
    for (int i = 0; i < C; i++) {
        b1[i] = onnx_build_random(&seed) * 0.1f;
        b3[i] = onnx_build_random(&seed) * 0.1f;
    }
    static float lo = 0.0f, hi = 0.5f;
    onnx_build_initializer_t inits[] = {
        {"W1", {C, IN_C, 3, 3}, 4, w1},
        {"B1", {C}, 1, b1},
        {"W2", {C, C, 3, 3}, 4, w2},
        {"W3", {C, C, 1, 1}, 4, w3},
        {"B3", {C}, 1, b3},
        {"lo", {0}, 0, &lo},
        {"hi", {0}, 0, &hi},
    };

    static int64_t pads1[] = {1, 1, 1, 1}, kernel2[] = {2, 2}, strides2[] = {2, 2};
    Onnx__AttributeProto pad_attr, kernel_attr, stride_attr;
    Onnx__AttributeProto *conv_attrs[] = {&pad_attr}, *pool_attrs[] = {&kernel_attr, &stride_attr};
    onnx_build_ints(&pad_attr, "pads", pads1, 4);
    onnx_build_ints(&kernel_attr, "kernel_shape", kernel2, 2);
    onnx_build_ints(&stride_attr, "strides", strides2, 2);

    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "W1", "B1"}, "c1", conv_attrs, 1},
        {"Relu", {"c1"}, "a", NULL, 0},
        {"Conv", {"a", "W2"}, "c2", conv_attrs, 1},
        {"Add", {"c2", "a"}, "sum", NULL, 0},
        {"Relu", {"sum"}, "b", NULL, 0},
        {"MaxPool", {"b"}, "c", pool_attrs, 2},
        {"Conv", {"c", "W3", "B3"}, "c3", NULL, 0},
        {"Add", {"s", "c3"}, "shifted", NULL, 0},
        {"Clip", {"shifted", "lo", "hi"}, "d", NULL, 0},
        {"GlobalAveragePool", {"d"}, "y", NULL, 0},
    };

    onnx_build_info_t inputs[2], outputs[1];
    static const int64_t x_dims[] = {ONNX_BUILD_BATCH, IN_C, H, H}, s_dims[] = {1, C, 1, 1},
                         y_dims[] = {ONNX_BUILD_BATCH, C, 1, 1};
    onnx_build_info(&inputs[0], "x", x_dims, 4);
    onnx_build_info(&inputs[1], "s", s_dims, 4);
    onnx_build_info(&outputs[0], "y", y_dims, 4);
    onnx_build_load(g, "residual", nodes, 10, inits, 7, inputs, 2, outputs, 1);
}

/* ==== the plain reference ==== */

static void reference(const float *x, const float *s, int batch, float *y)
{
    float a[MAX_BATCH * C * H * H], b[MAX_BATCH * C * H * H];
    float c[MAX_BATCH * C * POOLED * POOLED], d[MAX_BATCH * C * POOLED * POOLED];
    onnx_build_ref_conv(x, batch, IN_C, H, w1, b1, C, 3, 1, a);
    for (int i = 0; i < batch * C * H * H; i++)
        a[i] = a[i] > 0 ? a[i] : 0;
    onnx_build_ref_conv(a, batch, C, H, w2, NULL, C, 3, 1, b);
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
    onnx_build_ref_conv(c, batch, C, POOLED, w3, b3, C, 1, 0, d);
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
    onnx_build_fill(x, batch * IN_C * H * H, 1.0f, &seed);
    onnx_build_fill(s, C, 0.3f, &seed);
    reference(x, s, batch, expected);
    inferd_tensor_t inputs[2] = {
        {.name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {batch, IN_C, H, H}, .data = x},
        {.name = "s", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {1, C, 1, 1}, .data = s},
    };
    inferd_tensor_t y = {.name = "y"};
    inferd_arena_t arena;
    onnx_build_run(ctx, g, inputs, &y, &arena);
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
    onnx_graph_t g;
    load_residual(&g);

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
    onnx_graph_t g;
    load_residual(&g);
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
    static onnx_build_node_t nodes[2 * N_CASES];
    static Onnx__AttributeProto perm_attrs[N_CASES], *perm_ptrs[N_CASES][1];
    static onnx_build_info_t inputs[2 * N_CASES], outputs[N_CASES];
    static int64_t perms[N_CASES][4];
    for (int c = 0; c < N_CASES; c++) {
        snprintf(names[c][0], 8, "a%d", c);
        snprintf(names[c][1], 8, "r%d", c);
        snprintf(names[c][2], 8, "t%d", c);
        snprintf(names[c][3], 8, "y%d", c);
        memcpy(perms[c], cases[c].perm, sizeof(perms[c]));
        onnx_build_ints(&perm_attrs[c], "perm", perms[c], (size_t)cases[c].r_rank);
        perm_ptrs[c][0] = &perm_attrs[c];
        nodes[2 * c] =
            (onnx_build_node_t){"Transpose", {names[c][1]}, names[c][2], perm_ptrs[c], 1};
        nodes[2 * c + 1] =
            (onnx_build_node_t){"MatMul", {names[c][0], names[c][2]}, names[c][3], NULL, 0};
        onnx_build_info(&inputs[2 * c], names[c][0], cases[c].a_dims, cases[c].a_rank);
        onnx_build_info(&inputs[2 * c + 1], names[c][1], cases[c].r_dims, cases[c].r_rank);
        onnx_build_info(&outputs[c], names[c][3], cases[c].a_dims, 1);
    }
    onnx_graph_t g;
    onnx_build_load(&g, "matmuls", nodes, 2 * N_CASES, NULL, 0, inputs, 2 * N_CASES, outputs,
                    N_CASES);
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
            a[c][i] = onnx_build_random(&seed);
            r[c][i] = onnx_build_random(&seed);
        }
        outs[c] = (inferd_tensor_t){.name = names[c][3]};
    }
    inferd_arena_t arena;
    onnx_build_run(NULL, &g, ins, outs, &arena);
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
        gamma[i] = onnx_build_random(&seed);
        beta[i] = onnx_build_random(&seed);
    }
    onnx_build_initializer_t inits[] = {
        {"gamma", {D}, 1, gamma},
        {"beta", {D}, 1, beta},
        {"two", {0}, 0, &two},
        {"eps", {0}, 0, &eps},
    };
    static int64_t last_axis[] = {-1};
    Onnx__AttributeProto axes_attr, *mean_attrs[] = {&axes_attr};
    onnx_build_ints(&axes_attr, "axes", last_axis, 1);
    onnx_build_node_t nodes[] = {
        {"ReduceMean", {"x"}, "m", mean_attrs, 1}, {"Sub", {"x", "m"}, "d", NULL, 0},
        {"Pow", {"d", "two"}, "p", NULL, 0},       {"ReduceMean", {"p"}, "v", mean_attrs, 1},
        {"Add", {"v", "eps"}, "e", NULL, 0},       {"Sqrt", {"e"}, "s", NULL, 0},
        {"Div", {"d", "s"}, "n", NULL, 0},         {"Mul", {"n", "gamma"}, "g", NULL, 0},
        {"Add", {"g", "beta"}, "y", NULL, 0},
    };
    onnx_build_info_t inputs[1], outputs[1];
    int64_t dims[2] = {ROWS, D};
    onnx_build_info(&inputs[0], "x", dims, 2);
    onnx_build_info(&outputs[0], "y", dims, 2);
    onnx_graph_t g;
    onnx_build_load(&g, "layer_norm", nodes, 9, inits, 4, inputs, 1, outputs, 1);
    assert_int_equal(g.n_nodes, 1);
    assert_string_equal(g.nodes[0].op->op_type, "LayerNormalization");

    float x[ROWS * D];
    for (int i = 0; i < ROWS * D; i++)
        x[i] = onnx_build_random(&seed) * 3.0f + (float)(i / D); /* rows with different means */
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {ROWS, D}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    inferd_arena_t arena;
    onnx_build_run(NULL, &g, &input, &y, &arena);
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
        w[i] = onnx_build_random(&seed);
        v[i] = onnx_build_random(&seed) * 0.5f;
    }
    for (int i = 0; i < N; i++) {
        bias[i] = onnx_build_random(&seed);
        c[i] = onnx_build_random(&seed) * 0.2f;
        gamma[i] = 1.0f + onnx_build_random(&seed) * 0.5f;
        beta[i] = onnx_build_random(&seed) * 0.3f;
        mean[i] = onnx_build_random(&seed) * 0.2f;
        var[i] = 0.5f + onnx_build_random(&seed) * 0.4f;
    }
    onnx_build_fill(v2, N * K, 1.0f, &seed);
    onnx_build_initializer_t inits[] = {
        {"W", {K, N}, 2, w},    {"bias", {N}, 1, bias},   {"V", {N, K}, 2, v},
        {"C", {N}, 1, c},       {"lo", {0}, 0, &lo},      {"hi", {0}, 0, &hi},
        {"V2", {N, K}, 2, v2},  {"gamma", {N}, 1, gamma}, {"beta", {N}, 1, beta},
        {"mean", {N}, 1, mean}, {"var", {N}, 1, var},
    };
    Onnx__AttributeProto trans_b, *gemm_attrs[1] = {&trans_b};
    onnx_build_int(&trans_b, "transB", 1);
    onnx_build_node_t nodes[] = {
        {"MatMul", {"x", "W"}, "t1", NULL, 0},
        {"Add", {"bias", "t1"}, "t2", NULL, 0},
        {"Sigmoid", {"t2"}, "y1", NULL, 0},
        {"Gemm", {"u", "V", "C"}, "s1", gemm_attrs, 1},
        {"Clip", {"s1", "lo", "hi"}, "y2", NULL, 0},
        {"Gemm", {"u", "V2"}, "g2", gemm_attrs, 1},
        {"BatchNormalization", {"g2", "gamma", "beta", "mean", "var"}, "n2", NULL, 0},
        {"Relu", {"n2"}, "y3", NULL, 0},
    };
    onnx_build_info_t inputs[2], outputs[3];
    static const int64_t x_dims[] = {2, 3, K}, y1_dims[] = {2, 3, N}, u_dims[] = {U_ROWS, K},
                         y2_dims[] = {U_ROWS, N};
    onnx_build_info(&inputs[0], "x", x_dims, 3);
    onnx_build_info(&inputs[1], "u", u_dims, 2);
    onnx_build_info(&outputs[0], "y1", y1_dims, 3);
    onnx_build_info(&outputs[1], "y2", y2_dims, 2);
    onnx_build_info(&outputs[2], "y3", y2_dims, 2);
    onnx_graph_t g;
    onnx_build_load(&g, "products", nodes, 8, inits, 11, inputs, 2, outputs, 3);

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
    onnx_build_fill(x, ROWS * K, 1.0f, &seed);
    onnx_build_fill(u, U_ROWS * K, 1.0f, &seed);
    inferd_tensor_t ins[2] = {
        {.name = "x", .dtype = INFERD_DT_FP32, .ndim = 3, .shape = {2, 3, K}, .data = x},
        {.name = "u", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {U_ROWS, K}, .data = u},
    };
    inferd_tensor_t outs[3] = {{.name = "y1"}, {.name = "y2"}, {.name = "y3"}};
    inferd_arena_t arena;
    onnx_build_run(NULL, &g, ins, outs, &arena);
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
    onnx_graph_free(&g);
}

/* y = Sigmoid(Conv(x, W, B)) with pads 1: one Conv whose oneDNN post-op is the logistic. */
static void fuses_sigmoid_into_conv(void **state)
{
    (void)state;
    enum { CI = 2, CO = 3, S = 5 };
    static float w[CO * CI * 9], b[CO];
    uint32_t seed = 21;
    onnx_build_fill(w, CO * CI * 9, 1.0f, &seed);
    onnx_build_fill(b, CO, 0.5f, &seed);
    onnx_build_initializer_t inits[] = {
        {"W", {CO, CI, 3, 3}, 4, w},
        {"B", {CO}, 1, b},
    };
    static int64_t pads[] = {1, 1, 1, 1};
    Onnx__AttributeProto pad_attr, *attrs[1] = {&pad_attr};
    onnx_build_ints(&pad_attr, "pads", pads, 4);
    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "W", "B"}, "c", attrs, 1},
        {"Sigmoid", {"c"}, "y", NULL, 0},
    };
    static const int64_t x_dims[] = {ONNX_BUILD_BATCH, CI, S, S},
                         y_dims[] = {ONNX_BUILD_BATCH, CO, S, S};
    onnx_graph_t g;
    onnx_build_load_xy(&g, "conv_sigmoid", nodes, 2, inits, 2, x_dims, y_dims);
    assert_int_equal(g.n_nodes, 1);
    assert_int_equal(g.nodes[0].fused.activation, ONNX_FUSED_SIGMOID);

    enum { BATCH = 2 };
    float x[BATCH * CI * S * S];
    onnx_build_fill(x, BATCH * CI * S * S, 1.0f, &seed);
    inferd_tensor_t in = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {BATCH, CI, S, S}, .data = x};
    inferd_tensor_t out = {.name = "y"};
    inferd_arena_t arena;
    onnx_build_run(NULL, &g, &in, &out, &arena);
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
    onnx_graph_free(&g);
}

int main(void)
{
    /* One intra-op thread, the server's default: on more, the first runs of each shape also
     * build one-thread states (exec_threads.h; tested in test_onnx_exec.c). */
    omp_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuses_and_keeps_channels_last),
        cmocka_unit_test(keeps_primitives_per_batch_size),
        cmocka_unit_test(fuses_bias_and_activations_into_products),
        cmocka_unit_test(fuses_sigmoid_into_conv),
        cmocka_unit_test(folds_transposes_into_matmuls),
        cmocka_unit_test(fuses_exported_layer_norm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
