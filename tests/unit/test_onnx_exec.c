/* Unit tests for the executor's steady state (exec.c, ops/state_cache.c, ops/gemm.c): under
 * dynamic batching the batch size changes from call to call, and once a context has run each
 * batch size it must build no oneDNN primitive and allocate no buffer again, and give the same
 * answers as on its first runs, also on two threads, where a context first times each batch
 * size node by node on one thread and on both. A Gemm whose constant transB weight other nodes also
 * read keeps one transposed copy for every context, not one per context. A row's answer is the
 * same bits whatever batch it runs in. Models are built in memory (onnx_build.h). */
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
#include "backends/onnx/exec_threads.h"
#include "backends/onnx/graph.h"
#include "backends/onnx/ops/state_cache.h"
#include "onnx_build.h"

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
    onnx_build_fill(w1, sizeof(w1) / sizeof(w1[0]), 0.5f, &seed);
    onnx_build_fill(b1, C1, 0.1f, &seed);
    onnx_build_fill(w2, sizeof(w2) / sizeof(w2[0]), 0.3f, &seed);
    onnx_build_fill(b2, C2, 0.1f, &seed);
    onnx_build_fill(wf, sizeof(wf) / sizeof(wf[0]), 0.3f, &seed);
    onnx_build_fill(bf, CLASSES, 0.1f, &seed);
    onnx_build_initializer_t inits[] = {
        {"W1", {C1, 1, 3, 3}, 4, w1},   {"B1", {C1}, 1, b1},
        {"W2", {C2, C1, 3, 3}, 4, w2},  {"B2", {C2}, 1, b2},
        {"WF", {CLASSES, FLAT}, 2, wf}, {"BF", {CLASSES}, 1, bf},
    };

    static int64_t pads[] = {1, 1, 1, 1}, two[] = {2, 2};
    Onnx__AttributeProto pad_attr, kernel_attr, stride_attr, trans_attr;
    Onnx__AttributeProto *pad_attrs[] = {&pad_attr}, *pool_attrs[] = {&kernel_attr, &stride_attr},
                         *gemm_attrs[] = {&trans_attr};
    onnx_build_ints(&pad_attr, "pads", pads, 4);
    onnx_build_ints(&kernel_attr, "kernel_shape", two, 2);
    onnx_build_ints(&stride_attr, "strides", two, 2);
    onnx_build_int(&trans_attr, "transB", 1);

    onnx_build_node_t nodes[] = {
        {"Conv", {"x", "W1", "B1"}, "c1", pad_attrs, 1},
        {"Relu", {"c1"}, "r1", NULL, 0},
        {"MaxPool", {"r1"}, "p1", pool_attrs, 2},
        {"Conv", {"p1", "W2", "B2"}, "c2", NULL, 0},
        {"Relu", {"c2"}, "r2", NULL, 0},
        {"MaxPool", {"r2"}, "p2", pool_attrs, 2},
        {"Flatten", {"p2"}, "flat", NULL, 0},
        {"Gemm", {"flat", "WF", "BF"}, "logits", gemm_attrs, 1},
        {"Softmax", {"logits"}, "y", NULL, 0},
    };

    onnx_build_info_t inputs[1], outputs[1];
    static const int64_t x_dims[] = {ONNX_BUILD_BATCH, 1, SIDE, SIDE},
                         y_dims[] = {ONNX_BUILD_BATCH, CLASSES};
    onnx_build_info(&inputs[0], "x", x_dims, 4);
    onnx_build_info(&outputs[0], "y", y_dims, 2);
    onnx_build_load(g, "lenet", nodes, 9, inits, 6, inputs, 1, outputs, 1);
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
    onnx_build_run(ctx, g, &input, &output, &arena);
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
    onnx_build_fill(x, sizeof(x) / sizeof(x[0]), 1.0f, &seed);
    static const int sizes[] = {1, 7, MAX_BATCH};
    static float first[3][MAX_BATCH * CLASSES], again[MAX_BATCH * CLASSES];
    onnx_exec_t *ctx = onnx_exec_new(&g);
    assert_non_null(ctx);
    omp_set_num_threads(1); /* OpenMP's default is every core; two threads are tested below */
    uint64_t cold_builds = onnx_state_cache_builds();
    for (int i = 0; i < 3; i++)
        run_lenet(ctx, &g, x, sizes[i], first[i]);
    /* the two Convs (each with its MaxPool) at least, for each size */
    assert_true(onnx_state_cache_builds() >= cold_builds + 2 * 3);
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

/* On two intra-op threads a context first times each new batch size with every node on two
 * threads and on one (exec_threads.h), so its early runs switch thread counts node by node. The
 * answers must agree with one thread's throughout, a row's must not depend on its batch, and once
 * every size has settled, runs build nothing, allocate nothing and repeat their answers bit for
 * bit. */
static void runs_on_two_threads_settle_then_allocate_nothing(void **state)
{
    (void)state;
    onnx_graph_t g;
    load_lenet(&g);
    static float x[MAX_BATCH * SIDE * SIDE];
    uint32_t seed = 9;
    onnx_build_fill(x, sizeof(x) / sizeof(x[0]), 1.0f, &seed);
    static const int sizes[] = {1, 7, MAX_BATCH};
    static float single[3][MAX_BATCH * CLASSES], settled[3][MAX_BATCH * CLASSES],
        again[MAX_BATCH * CLASSES];
    onnx_exec_t *ctx = onnx_exec_new(&g);
    assert_non_null(ctx);
    omp_set_num_threads(1);
    for (int i = 0; i < 3; i++)
        run_lenet(ctx, &g, x, sizes[i], single[i]);

    omp_set_num_threads(2);
    for (int step = 0; step < ONNX_THREAD_PLAN_RUNS; step++) {
        for (int i = 0; i < 3; i++) {
            run_lenet(ctx, &g, x, sizes[i], again);
            for (int j = 0; j < sizes[i] * CLASSES; j++)
                assert_true(fabsf(again[j] - single[i][j]) <= 1e-6f);
        }
        assert_int_equal(omp_get_max_threads(), 2); /* the caller's setting is given back */
    }
    for (int i = 0; i < 3; i++)
        run_lenet(ctx, &g, x, sizes[i], settled[i]);
    /* the first row is the same bits in a batch of 1, 7 and 64, on either thread count (each
     * size has its own plan, which may give a node different thread counts) */
    for (int i = 1; i < 3; i++) {
        assert_memory_equal(settled[i], settled[0], sizeof(float) * CLASSES);
        assert_memory_equal(single[i], single[0], sizeof(float) * CLASSES);
    }
    uint64_t warm_builds = onnx_state_cache_builds(), warm_allocations = onnx_exec_allocations();
    for (int round = 0; round < 30; round++) {
        int which = (round * 7 + round / 3) % 3;
        run_lenet(ctx, &g, x, sizes[which], again);
        assert_memory_equal(again, settled[which],
                            sizeof(float) * (size_t)(sizes[which] * CLASSES));
    }
    assert_int_equal(onnx_state_cache_builds(), warm_builds);
    assert_int_equal(onnx_exec_allocations(), warm_allocations);
    omp_set_num_threads(1);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

/* ==== a Gemm weight read by two nodes ==== */

enum { K = 48, N = 24, ROWS = 9 };

/* v [N, K] -> y = Gemm(v, W, transB) and z = Gemm(v, W, B, transB, alpha 0.5): W [N, K] is read
 * by both, so neither may transpose it in place. */
static void load_shared_weight(onnx_graph_t *g, float *w, float *bias)
{
    onnx_build_initializer_t inits[] = {
        {"W", {N, K}, 2, w},
        {"B", {N}, 1, bias},
    };
    Onnx__AttributeProto trans_attr, alpha_attr;
    Onnx__AttributeProto *y_attrs[] = {&trans_attr}, *z_attrs[] = {&trans_attr, &alpha_attr};
    onnx_build_int(&trans_attr, "transB", 1);
    onnx_build_float(&alpha_attr, "alpha", 0.5f);
    onnx_build_node_t nodes[] = {
        {"Gemm", {"v", "W"}, "y", y_attrs, 1},
        {"Gemm", {"v", "W", "B"}, "z", z_attrs, 2},
    };
    onnx_build_info_t inputs[1], outputs[2];
    static const int64_t v_dims[] = {ONNX_BUILD_BATCH, K}, y_dims[] = {ONNX_BUILD_BATCH, N};
    onnx_build_info(&inputs[0], "v", v_dims, 2);
    onnx_build_info(&outputs[0], "y", y_dims, 2);
    onnx_build_info(&outputs[1], "z", y_dims, 2);
    onnx_build_load(g, "shared_weight", nodes, 2, inits, 2, inputs, 1, outputs, 2);
}

/* Runs `rows` rows of v; y and z get rows * N values each. */
static void run_shared(onnx_exec_t *ctx, const onnx_graph_t *g, const float *v, int rows, float *y,
                       float *z)
{
    inferd_tensor_t input = {
        .name = "v", .dtype = INFERD_DT_FP32, .ndim = 2, .shape = {rows, K}, .data = (void *)v};
    inferd_tensor_t outputs[2] = {{.name = "y"}, {.name = "z"}};
    inferd_arena_t arena;
    onnx_build_run(ctx, g, &input, outputs, &arena);
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
    onnx_build_fill(w, N * K, 0.5f, &seed);
    onnx_build_fill(bias, N, 0.2f, &seed);
    onnx_build_fill(v, ROWS * K, 1.0f, &seed);
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

/* ==== a row's answer in any batch ==== */

enum { CLASSES_WIDE = 40, ROWS_MANY = 2048 };

/* x [N, 40] -> Softmax -> y and LogSoftmax -> z: rows of 40 are long enough for oneDNN's
 * primitive, and 2,048 of them are a large softmax. */
static void load_softmaxes(onnx_graph_t *g)
{
    onnx_build_node_t nodes[] = {
        {"Softmax", {"x"}, "y", NULL, 0},
        {"LogSoftmax", {"x"}, "z", NULL, 0},
    };
    onnx_build_info_t inputs[1], outputs[2];
    static const int64_t dims[] = {ONNX_BUILD_BATCH, CLASSES_WIDE};
    onnx_build_info(&inputs[0], "x", dims, 2);
    onnx_build_info(&outputs[0], "y", dims, 2);
    onnx_build_info(&outputs[1], "z", dims, 2);
    onnx_build_load(g, "softmaxes", nodes, 2, NULL, 0, inputs, 1, outputs, 2);
}

/* Runs `rows` rows of x; copies the first row of y and of z to `row` (2 * 40 values). */
static void run_softmaxes(onnx_exec_t *ctx, const onnx_graph_t *g, const float *x, int rows,
                          float *row)
{
    inferd_tensor_t input = {.name = "x",
                             .dtype = INFERD_DT_FP32,
                             .ndim = 2,
                             .shape = {rows, CLASSES_WIDE},
                             .data = (void *)x};
    inferd_tensor_t outputs[2] = {{.name = "y"}, {.name = "z"}};
    inferd_arena_t arena;
    onnx_build_run(ctx, g, &input, outputs, &arena);
    memcpy(row, outputs[0].data, sizeof(float) * CLASSES_WIDE);
    memcpy(row + CLASSES_WIDE, outputs[1].data, sizeof(float) * CLASSES_WIDE);
    inferd_arena_free(&arena);
}

/* What dynamic batching relies on: a row gives the same bits alone and among 2,048 rows, on one
 * thread and on two, through the runs in which a context times each shape. (On two threads the
 * softmaxes once chose oneDNN's primitive or the loops by the size of the whole batch, and the
 * two differ in the last bits.) */
static void a_row_gives_the_same_bits_in_any_batch(void **state)
{
    (void)state;
    static float x[ROWS_MANY * CLASSES_WIDE], alone[2 * CLASSES_WIDE],
        batched[2 * CLASSES_WIDE];
    uint32_t seed = 21;
    onnx_build_fill(x, sizeof(x) / sizeof(x[0]), 8.0f, &seed);
    onnx_graph_t g;
    load_softmaxes(&g);
    onnx_exec_t *ctx = onnx_exec_new(&g);
    assert_non_null(ctx);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        for (int step = 0; step < ONNX_THREAD_PLAN_RUNS + 2; step++) {
            run_softmaxes(ctx, &g, x, 1, alone);
            run_softmaxes(ctx, &g, x, ROWS_MANY, batched);
            assert_memory_equal(alone, batched, sizeof(alone));
        }
    }
    omp_set_num_threads(1);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_changing_batch_sizes_without_rebuilding),
        cmocka_unit_test(runs_on_two_threads_settle_then_allocate_nothing),
        cmocka_unit_test(shares_transposed_weights_across_contexts),
        cmocka_unit_test(a_row_gives_the_same_bits_in_any_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
