/* Unit tests for pools and activation layouts between Convs (optimize.c, ops/conv*.c, ops/pool*.c):
 * pools between Convs read and write channels-last through the general window loops; a MaxPool
 * right after a Conv runs inside it (on oneDNN's output layout, or after the Conv's own loops);
 * Convs of 32 channels race channels-last against 16-channel blocks. Every result must equal the
 * plain arithmetic computed here. */
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

enum { IN_C = 3 };

/* ==== channels-last pooling, general windows ==== */

/* x [2, 3, 5, 5] -> c = Conv1x1(x, WA) -> a = AveragePool(c, 2x2, stride 1) [2, 4, 4, 4] ->
 * m = MaxPool(a, 3x3, stride 2, pads 1) [2, 4, 2, 2] -> b = Conv1x1(m, WB) -> y =
 * GlobalMaxPool(b): the pools between Convs (neither right after a Conv, which would take a
 * MaxPool over) read and write channels-last through the general window loops. */
static void pools_channels_last_windows(void **state)
{
    (void)state;
    enum { PC = 4, PH = 5, AH = 4, MH = 2 };
    static float wa[PC * IN_C], wb[PC * PC];
    uint32_t seed = 9;
    onnx_build_fill(wa, PC * IN_C, 1.0f, &seed);
    onnx_build_fill(wb, PC * PC, 1.0f, &seed);
    onnx_build_initializer_t inits[] = {
        {"WA", {PC, IN_C, 1, 1}, 4, wa},
        {"WB", {PC, PC, 1, 1}, 4, wb},
    };
    static int64_t k3[] = {3, 3}, s2[] = {2, 2}, p1[] = {1, 1, 1, 1}, k2[] = {2, 2}, s1[] = {1, 1};
    Onnx__AttributeProto mk, ms, mp, ak, as, *max_attrs[] = {&mk, &ms, &mp},
                                             *avg_attrs[] = {&ak, &as};
    onnx_build_ints(&mk, "kernel_shape", k3, 2);
    onnx_build_ints(&ms, "strides", s2, 2);
    onnx_build_ints(&mp, "pads", p1, 4);
    onnx_build_ints(&ak, "kernel_shape", k2, 2);
    onnx_build_ints(&as, "strides", s1, 2);
    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "WA"}, "c", NULL, 0},    {"AveragePool", {"c"}, "a", avg_attrs, 2},
        {"MaxPool", {"a"}, "m", max_attrs, 3},  {"Conv", {"m", "WB"}, "b", NULL, 0},
        {"GlobalMaxPool", {"b"}, "y", NULL, 0},
    };
    int64_t x_dims[] = {2, IN_C, PH, PH}, y_dims[] = {2, PC, 1, 1};
    onnx_graph_t g;
    onnx_build_load_xy(&g, "pools", nodes, 5, inits, 2, x_dims, y_dims);
    assert_int_equal(g.n_nodes, 5);
    assert_int_equal(g.nodes[1].channels_last_inputs, 1); /* AveragePool */
    assert_int_equal(g.nodes[1].channels_last_outputs, 1);
    assert_int_equal(g.nodes[2].channels_last_inputs, 1); /* MaxPool */
    assert_int_equal(g.nodes[2].channels_last_outputs, 1);

    float x[2 * IN_C * PH * PH], c[2 * PC * PH * PH], a[2 * PC * AH * AH], m[2 * PC * MH * MH];
    float b[2 * PC * MH * MH];
    onnx_build_fill(x, 2 * IN_C * PH * PH, 1.0f, &seed);
    onnx_build_ref_conv(x, 2, IN_C, PH, wa, NULL, PC, 1, 0, c);
    for (int n = 0; n < 2 * PC; n++) /* planes */
        for (int i = 0; i < AH; i++)
            for (int j = 0; j < AH; j++) {
                const float *q = c + (n * PH + i) * PH + j;
                a[(n * AH + i) * AH + j] = (q[0] + q[1] + q[PH] + q[PH + 1]) / 4.0f;
            }
    for (int n = 0; n < 2 * PC; n++)
        for (int i = 0; i < MH; i++)
            for (int j = 0; j < MH; j++) {
                float best = -INFINITY;
                for (int di = 0; di < 3; di++)
                    for (int dj = 0; dj < 3; dj++) {
                        int ii = 2 * i - 1 + di, jj = 2 * j - 1 + dj;
                        if (ii >= 0 && jj >= 0 && ii < AH && jj < AH)
                            best = fmaxf(best, a[(n * AH + ii) * AH + jj]);
                    }
                m[(n * MH + i) * MH + j] = best;
            }
    onnx_build_ref_conv(m, 2, PC, MH, wb, NULL, PC, 1, 0, b);
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 4, .shape = {2, IN_C, PH, PH}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    inferd_arena_t arena;
    onnx_build_run(NULL, &g, &input, &y, &arena);
    const float *got = y.data;
    for (int n = 0; n < 2 * PC; n++) {
        float best = -INFINITY;
        for (int i = 0; i < MH * MH; i++)
            best = fmaxf(best, b[n * MH * MH + i]);
        assert_true(fabsf(got[n] - best) <= 1e-5f + 1e-5f * fabsf(best));
    }
    inferd_arena_free(&arena);
    onnx_graph_free(&g);
}

/* ==== Conv + MaxPool ==== */

enum { PX = 10, P1 = 6, P1_OUT = 5, P2 = 16, P2_OUT = 2, P_MAX_BATCH = 3 };
static float pw1[P1 * 9], pb1[P1], pw2[P2 * P1], pb2[P2];

/* The maximum of each k x k window (stride s, no padding; with `is_ceil` a last window may hang
 * over the right and bottom edges, its taps there ignored) of `planes` planes side x side. */
static void ref_max_pool(const float *x, int planes, int side, int k, int s, int out, float *y)
{
    for (int p = 0; p < planes; p++)
        for (int i = 0; i < out; i++)
            for (int j = 0; j < out; j++) {
                float best = -INFINITY;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                        if (i * s + a < side && j * s + b < side)
                            best = fmaxf(best, x[(p * side + i * s + a) * side + j * s + b]);
                y[(p * out + i) * out + j] = best;
            }
}

/* The model below, computed plainly: y [batch, P2, 2, 2]. */
static void ref_conv_pools(const float *x, int batch, float *y)
{
    static float c1[P_MAX_BATCH * P1 * PX * PX], m1[P_MAX_BATCH * P1 * P1_OUT * P1_OUT];
    static float c2[P_MAX_BATCH * P2 * P1_OUT * P1_OUT];
    onnx_build_ref_conv(x, batch, 1, PX, pw1, pb1, P1, 3, 1, c1);
    for (int i = 0; i < batch * P1 * PX * PX; i++)
        c1[i] = c1[i] > 0 ? c1[i] : 0;
    ref_max_pool(c1, batch * P1, PX, 3, 2, P1_OUT, m1);
    onnx_build_ref_conv(m1, batch, P1, P1_OUT, pw2, pb2, P2, 1, 0, c2);
    for (int i = 0; i < batch * P2 * P1_OUT * P1_OUT; i++)
        c2[i] = c2[i] > 0 ? c2[i] : 0;
    ref_max_pool(c2, batch * P2, P1_OUT, 2, 2, P2_OUT, y);
}

static void assert_close(const float *got, const float *want, int count)
{
    for (int i = 0; i < count; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i])))
            fail_msg("value %d: got %.9g, want %.9g", i, got[i], want[i]);
}

/* x [N, 1, 10, 10] -> Relu(Conv 3x3 pad 1, 1 -> 6) -> MaxPool 3x3 stride 2 ceil_mode [N, 6, 5, 5]
 * -> Relu(Conv 1x1, 6 -> 16) -> MaxPool 2x2 stride 2 [N, 16, 2, 2] = y. Both MaxPools run inside
 * their Convs (on oneDNN's blocked or channels-last output, whichever the few-channel race
 * picks), at batch 1 and 3 and again without building anything; the first Conv's own path, for
 * shapes oneDNN declines, pools the same. All equal the plain arithmetic. */
static void fuses_max_pool_into_conv(void **state)
{
    (void)state;
    uint32_t seed = 21;
    onnx_build_fill(pw1, P1 * 9, 0.5f, &seed);
    onnx_build_fill(pb1, P1, 0.2f, &seed);
    onnx_build_fill(pw2, P2 * P1, 0.5f, &seed);
    onnx_build_fill(pb2, P2, 0.2f, &seed);
    onnx_build_initializer_t inits[] = {
        {"W1", {P1, 1, 3, 3}, 4, pw1},
        {"B1", {P1}, 1, pb1},
        {"W2", {P2, P1, 1, 1}, 4, pw2},
        {"B2", {P2}, 1, pb2},
    };
    static int64_t pads[] = {1, 1, 1, 1}, three[] = {3, 3}, two[] = {2, 2};
    Onnx__AttributeProto pad, k3, s2a, ceil, k2, s2b;
    Onnx__AttributeProto *conv_attrs[] = {&pad}, *pool1_attrs[] = {&k3, &s2a, &ceil},
                         *pool2_attrs[] = {&k2, &s2b};
    onnx_build_ints(&pad, "pads", pads, 4);
    onnx_build_ints(&k3, "kernel_shape", three, 2);
    onnx_build_ints(&s2a, "strides", two, 2);
    onnx_build_int(&ceil, "ceil_mode", 1);
    onnx_build_ints(&k2, "kernel_shape", two, 2);
    onnx_build_ints(&s2b, "strides", two, 2);
    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "W1", "B1"}, "c1", conv_attrs, 1},
        {"Relu", {"c1"}, "r1", NULL, 0},
        {"MaxPool", {"r1"}, "m1", pool1_attrs, 3},
        {"Conv", {"m1", "W2", "B2"}, "c2", NULL, 0},
        {"Relu", {"c2"}, "r2", NULL, 0},
        {"MaxPool", {"r2"}, "y", pool2_attrs, 2},
    };
    static const int64_t x_dims[] = {ONNX_BUILD_BATCH, 1, PX, PX},
                         y_dims[] = {ONNX_BUILD_BATCH, P2, P2_OUT, P2_OUT};
    onnx_graph_t g;
    onnx_build_load_xy(&g, "conv_pools", nodes, 6, inits, 4, x_dims, y_dims);
    assert_int_equal(g.n_nodes, 2);
    for (int n = 0; n < 2; n++) {
        assert_string_equal(g.nodes[n].op->op_type, "Conv");
        assert_non_null(g.nodes[n].fused.pool);
        assert_int_equal(g.nodes[n].fused.activation, ONNX_FUSED_RELU);
    }
    assert_int_equal(g.nodes[0].channels_last_outputs, 1);

    static float x[P_MAX_BATCH * PX * PX], want[P_MAX_BATCH * P2 * P2_OUT * P2_OUT];
    onnx_build_fill(x, P_MAX_BATCH * PX * PX, 1.0f, &seed);
    onnx_exec_t *ctx = onnx_exec_new(&g);
    assert_non_null(ctx);
    static const int batches[] = {1, P_MAX_BATCH, 1, P_MAX_BATCH};
    uint64_t builds = 0;
    for (int r = 0; r < 4; r++) {
        int batch = batches[r];
        if (r == 2)
            builds = onnx_state_cache_builds();
        inferd_tensor_t input = {.name = "x",
                                 .dtype = INFERD_DT_FP32,
                                 .ndim = 4,
                                 .shape = {batch, 1, PX, PX},
                                 .data = x};
        inferd_tensor_t y = {.name = "y"};
        inferd_arena_t arena;
        onnx_build_run(ctx, &g, &input, &y, &arena);
        assert_int_equal(y.ndim, 4);
        assert_int_equal(y.shape[0], batch);
        assert_int_equal(y.shape[1], P2);
        assert_int_equal(y.shape[2], P2_OUT);
        ref_conv_pools(x, batch, want);
        assert_close(y.data, want, batch * P2 * P2_OUT * P2_OUT);
        inferd_arena_free(&arena);
    }
    assert_true(onnx_state_cache_builds() == builds); /* both shapes were built already */
    onnx_exec_free(ctx);

    /* the first Conv through its own loops (no node state: oneDNN is not asked) */
    const onnx_node_t *conv = &g.nodes[0];
    inferd_tensor_t in_x = {.dtype = INFERD_DT_FP32, .ndim = 4, .shape = {2, 1, PX, PX}, .data = x};
    inferd_tensor_t in_w = g.values[conv->inputs[1]].constant;
    inferd_tensor_t in_b = g.values[conv->inputs[2]].constant;
    const inferd_tensor_t *in[3] = {&in_x, &in_w, &in_b};
    inferd_tensor_t out = {0};
    inferd_err_t err;
    assert_int_equal(conv->op->shape(conv, in, &out, &err), 0);
    assert_int_equal(out.ndim, 4);
    assert_int_equal(out.shape[1], P1);
    assert_int_equal(out.shape[2], P1_OUT);
    assert_int_equal(out.shape[3], P1_OUT);
    static float pooled[2 * P1 * P1_OUT * P1_OUT], c1[2 * P1 * PX * PX];
    static float plain[2 * P1 * P1_OUT * P1_OUT], want1[2 * P1 * P1_OUT * P1_OUT];
    out.data = pooled; /* channels-last: the next Conv reads it so */
    onnx_scratch_t scratch = {NULL, 0, NULL};
    int rc = conv->op->run(conv, in, &out, &scratch, &err);
    free(scratch.data);
    if (rc != 0)
        fail_msg("%s", err.msg);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < P1_OUT * P1_OUT; i++)
            for (int ch = 0; ch < P1; ch++)
                plain[(n * P1 + ch) * P1_OUT * P1_OUT + i] =
                    pooled[(n * P1_OUT * P1_OUT + i) * P1 + ch];
    onnx_build_ref_conv(x, 2, 1, PX, pw1, pb1, P1, 3, 1, c1);
    for (int i = 0; i < 2 * P1 * PX * PX; i++)
        c1[i] = c1[i] > 0 ? c1[i] : 0;
    ref_max_pool(c1, 2 * P1, PX, 3, 2, P1_OUT, want1);
    assert_close(plain, want1, 2 * P1 * P1_OUT * P1_OUT);
    onnx_graph_free(&g);
}

/* ==== Convs on 16-channel blocks ==== */

/* x [N, 32, 6, 6] -> a = Relu(Conv 3x3 pad 1 (x, WA, BA)) -> y = Relu(Conv 3x3 pad 1 (a, WB) + a):
 * 32 channels, where the conv races oneDNN's channels-last kernel against 16-channel blocks in
 * and out (the residual reordered into blocks). Whichever wins, at batch 1 and 2 and from a second
 * context, the result equals the plain arithmetic. */
static void runs_wide_convs_on_either_layout(void **state)
{
    (void)state;
    enum { WC = 32, WH = 6 };
    static float wa[WC * WC * 9], ba[WC], wb[WC * WC * 9];
    uint32_t seed = 31;
    onnx_build_fill(wa, WC * WC * 9, 0.1f, &seed);
    onnx_build_fill(ba, WC, 0.1f, &seed);
    onnx_build_fill(wb, WC * WC * 9, 0.1f, &seed);
    onnx_build_initializer_t inits[] = {
        {"WA", {WC, WC, 3, 3}, 4, wa},
        {"BA", {WC}, 1, ba},
        {"WB", {WC, WC, 3, 3}, 4, wb},
    };
    static int64_t pads[] = {1, 1, 1, 1};
    Onnx__AttributeProto pad;
    Onnx__AttributeProto *conv_attrs[] = {&pad};
    onnx_build_ints(&pad, "pads", pads, 4);
    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "WA", "BA"}, "c1", conv_attrs, 1},
        {"Relu", {"c1"}, "a", NULL, 0},
        {"Conv", {"a", "WB"}, "c2", conv_attrs, 1},
        {"Add", {"c2", "a"}, "s", NULL, 0},
        {"Relu", {"s"}, "y", NULL, 0},
    };
    static const int64_t x_dims[] = {ONNX_BUILD_BATCH, WC, WH, WH},
                         y_dims[] = {ONNX_BUILD_BATCH, WC, WH, WH};
    onnx_graph_t g;
    onnx_build_load_xy(&g, "wide", nodes, 5, inits, 3, x_dims, y_dims);
    assert_int_equal(g.n_nodes, 2);
    assert_true(g.nodes[1].fused.sum_input > 0);

    static float x[2 * WC * WH * WH], a[2 * WC * WH * WH], want[2 * WC * WH * WH];
    onnx_build_fill(x, 2 * WC * WH * WH, 1.0f, &seed);
    onnx_build_ref_conv(x, 2, WC, WH, wa, ba, WC, 3, 1, a);
    for (int i = 0; i < 2 * WC * WH * WH; i++)
        a[i] = a[i] > 0 ? a[i] : 0;
    onnx_build_ref_conv(a, 2, WC, WH, wb, NULL, WC, 3, 1, want);
    for (int i = 0; i < 2 * WC * WH * WH; i++)
        want[i] = want[i] + a[i] > 0 ? want[i] + a[i] : 0;
    onnx_exec_t *ctxs[2] = {onnx_exec_new(&g), onnx_exec_new(&g)};
    assert_non_null(ctxs[0]);
    assert_non_null(ctxs[1]);
    for (int r = 0; r < 6; r++) {
        int batch = 1 + r % 2;
        inferd_tensor_t input = {.name = "x",
                                 .dtype = INFERD_DT_FP32,
                                 .ndim = 4,
                                 .shape = {batch, WC, WH, WH},
                                 .data = x};
        inferd_tensor_t y = {.name = "y"};
        inferd_arena_t arena;
        onnx_build_run(ctxs[r / 3], &g, &input, &y, &arena);
        assert_close(y.data, want, batch * WC * WH * WH);
        inferd_arena_free(&arena);
    }
    onnx_exec_free(ctxs[0]);
    onnx_exec_free(ctxs[1]);
    onnx_graph_free(&g);
}

int main(void)
{
    /* One intra-op thread, the server's default: on more, the first runs of each shape also
     * build one-thread states (exec_threads.h; tested in test_onnx_exec.c). */
    omp_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pools_channels_last_windows),
        cmocka_unit_test(fuses_max_pool_into_conv),
        cmocka_unit_test(runs_wide_convs_on_either_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
