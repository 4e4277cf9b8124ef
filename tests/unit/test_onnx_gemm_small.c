/* Unit tests for the small-B matrix product (ops/gemm_small.c): which products it takes, its
 * results against a double-precision reference for every branch (up to eight rows in register
 * blocks of four and what is left, more rows in blocks of six and what is left, several panels
 * and a padded last one, several slices of k, alpha, a bias row with its scale, Relu and Clip),
 * rows that are the same bits whatever the batch they run in, and packing from both layouts of
 * B. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/onnx/ops/numeric.h"
#include "onnx_build.h"

typedef struct {
    int64_t m, k, n;
    float alpha;
    bool has_bias;
    onnx_fused_activation_t activation;
} small_case_t;

static const float BIAS_SCALE = 0.75f, LOW = -0.25f, HIGH = 0.5f;

static double finish(const small_case_t *c, double sum, float bias)
{
    double v = c->alpha * sum + (c->has_bias ? BIAS_SCALE * bias : 0.0);
    if (c->activation == ONNX_FUSED_RELU)
        return v < 0 ? 0 : v;
    if (c->activation == ONNX_FUSED_CLIP)
        return v < LOW ? LOW : v > HIGH ? HIGH : v;
    return v;
}

/* Runs one case with row strides wider than the matrices (lda k + 3, ldy n + 5) and checks
 * every element against the reference, and that nothing past a row's n is written. */
static void check_case(const small_case_t *c)
{
    uint32_t seed = (uint32_t)(c->m * 131 + c->k * 17 + c->n);
    int64_t lda = c->k + 3, ldy = c->n + 5;
    float *a = malloc(sizeof(float) * (size_t)(c->m * lda));
    float *b = malloc(sizeof(float) * (size_t)(c->k * c->n));
    float *bias = malloc(sizeof(float) * (size_t)c->n);
    float *y = malloc(sizeof(float) * (size_t)(c->m * ldy));
    float *packed = malloc(sizeof(float) * onnx_gemm_small_packed_count(c->k, c->n));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(bias);
    assert_non_null(y);
    assert_non_null(packed);
    onnx_build_fill(a, (int)(c->m * lda), 1.0f, &seed);
    onnx_build_fill(b, (int)(c->k * c->n), 1.0f, &seed);
    onnx_build_fill(bias, (int)c->n, 1.0f, &seed);
    for (int64_t i = 0; i < c->m * ldy; i++)
        y[i] = 1234.5f;
    onnx_gemm_small_pack(b, c->k, c->n, c->n, 1, packed);
    onnx_gemm_epilogue_t epilogue = {.bias = c->has_bias ? bias : NULL,
                                     .bias_scale = BIAS_SCALE,
                                     .activation = c->activation,
                                     .low = LOW,
                                     .high = HIGH};
    onnx_gemm_small(c->m, c->n, c->k, c->alpha, a, lda, packed, y, ldy, &epilogue);
    for (int64_t i = 0; i < c->m; i++) {
        for (int64_t j = 0; j < c->n; j++) {
            double sum = 0.0;
            for (int64_t kk = 0; kk < c->k; kk++)
                sum += (double)a[i * lda + kk] * b[kk * c->n + j];
            double want = finish(c, sum, bias[j]);
            double tolerance = 1e-5 * (1.0 + (double)c->k);
            if (fabs(y[i * ldy + j] - want) > tolerance)
                fail_msg("m %lld k %lld n %lld: y[%lld][%lld] = %.7g, want %.7g", (long long)c->m,
                         (long long)c->k, (long long)c->n, (long long)i, (long long)j,
                         (double)y[i * ldy + j], want);
        }
        for (int64_t j = c->n; j < ldy; j++)
            assert_true(y[i * ldy + j] == 1234.5f);
    }
    free(a);
    free(b);
    free(bias);
    free(y);
    free(packed);
}

static void matches_the_reference(void **state)
{
    (void)state;
    if (!onnx_gemm_small_fits(64, 256))
        skip(); /* the kernel needs AVX-512; oneDNN's sgemm multiplies without it */
    static const small_case_t cases[] = {
        /* an MLP's layers at batch 1: 4 panels in one pass; a 10-wide last layer */
        {1, 64, 256, 1.0f, true, ONNX_FUSED_RELU},
        {1, 256, 10, 1.0f, true, ONNX_FUSED_NONE},
        /* 1 row over 5 panels (a pass of 4, then one), 2 rows over 3 (2, then 1) */
        {1, 7, 300, 0.5f, false, ONNX_FUSED_CLIP},
        {2, 33, 150, 1.0f, true, ONNX_FUSED_CLIP},
        {3, 100, 70, 2.0f, true, ONNX_FUSED_RELU},
        {4, 5, 64, 1.0f, false, ONNX_FUSED_NONE},
        /* 7 rows: a block of 4 and one of 3 */
        {7, 130, 65, 1.0f, true, ONNX_FUSED_RELU},
        /* more than 8 rows: blocks of 6 and 1 to 5 left, slices of k with a short last one */
        {9, 130, 65, 1.0f, false, ONNX_FUSED_CLIP},
        {11, 64, 128, -1.0f, true, ONNX_FUSED_NONE},
        {64, 256, 256, 1.0f, true, ONNX_FUSED_RELU},
        {20, 1, 17, 1.0f, true, ONNX_FUSED_CLIP},
        /* narrow last panels (16, 32, 48 floats a row) after passes of 4, 2 and 1 panels */
        {1, 9, 290, 1.0f, true, ONNX_FUSED_RELU},
        {2, 17, 176, 1.0f, false, ONNX_FUSED_NONE},
        {3, 40, 224, 0.5f, true, ONNX_FUSED_CLIP},
        {12, 70, 100, 1.0f, true, ONNX_FUSED_RELU},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

/* A row alone and the same row in batches of every size from 2 to 40, at every position: the
 * same bits (what lets the batcher merge requests without changing anyone's answer). */
static void rows_do_not_depend_on_the_batch(void **state)
{
    (void)state;
    enum { K = 200, N = 90, MAX_M = 40 };
    if (!onnx_gemm_small_fits(K, N))
        skip();
    uint32_t seed = 7;
    float *a = malloc(sizeof(float) * MAX_M * K), *b = malloc(sizeof(float) * K * N);
    float *packed = malloc(sizeof(float) * onnx_gemm_small_packed_count(K, N));
    float *alone = malloc(sizeof(float) * MAX_M * N), *batched = malloc(sizeof(float) * MAX_M * N);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(packed);
    assert_non_null(alone);
    assert_non_null(batched);
    onnx_build_fill(a, MAX_M * K, 1.0f, &seed);
    onnx_build_fill(b, K * N, 1.0f, &seed);
    onnx_gemm_small_pack(b, K, N, N, 1, packed);
    for (int i = 0; i < MAX_M; i++)
        onnx_gemm_small(1, N, K, 1.0f, a + i * K, K, packed, alone + i * N, N, NULL);
    for (int m = 2; m <= MAX_M; m++) {
        onnx_gemm_small(m, N, K, 1.0f, a, K, packed, batched, N, NULL);
        assert_memory_equal(batched, alone, sizeof(float) * (size_t)(m * N));
    }
    free(a);
    free(b);
    free(packed);
    free(alone);
    free(batched);
}

/* Packing a transposed B ([n, k], as transB stores it) gives the same panels as packing the
 * row-major [k, n] it stands for: a panel of 64 columns, then the 6 left in a panel of 16
 * floats a row; padding is zero. */
static void packs_either_layout(void **state)
{
    (void)state;
    enum { K = 3, N = 70 };
    float b[K * N], bt[N * K];
    for (int kk = 0; kk < K; kk++)
        for (int j = 0; j < N; j++)
            b[kk * N + j] = bt[j * K + kk] = (float)(kk * 1000 + j);
    size_t count = onnx_gemm_small_packed_count(K, N);
    assert_int_equal(count, (64 + 16) * K);
    float *from_b = malloc(sizeof(float) * count), *from_bt = malloc(sizeof(float) * count);
    assert_non_null(from_b);
    assert_non_null(from_bt);
    onnx_gemm_small_pack(b, K, N, N, 1, from_b);
    onnx_gemm_small_pack(bt, K, N, 1, K, from_bt);
    assert_memory_equal(from_b, from_bt, sizeof(float) * count);
    assert_true(from_b[2 * 64 + 5] == 2005.0f);          /* panel 0, k 2, column 5 */
    assert_true(from_b[K * 64 + 16 + 3] == 1067.0f);     /* panel 1, k 1, column 67 */
    assert_true(from_b[K * 64 + 16 + 6] == 0.0f);        /* column 70: padding */
    assert_true(from_b[K * 64 + 2 * 16 + 5] == 2069.0f); /* panel 1, k 2, column 69 */
    free(from_b);
    free(from_bt);
}

/* What it takes depends on k and n alone: up to 1 MiB of B, on AVX-512. */
static void takes_small_b_only(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f")) {
        assert_false(onnx_gemm_small_fits(64, 256));
        skip();
    }
    assert_true(onnx_gemm_small_fits(64, 256));
    assert_true(onnx_gemm_small_fits(512, 512)); /* exactly 1 MiB */
    assert_false(onnx_gemm_small_fits(512, 513));
    assert_false(onnx_gemm_small_fits(1024, 257));  /* 1 MiB plain, 1.25 MiB packed */
    assert_true(onnx_gemm_small_fits(256, 10));     /* a classifier head: 16 KiB packed */
    assert_false(onnx_gemm_small_fits(4096, 1));    /* 16 KiB padded to 256 KiB */
    assert_true(onnx_gemm_small_fits(300, 40));     /* padded to 56 KiB from 47 */
    assert_true(onnx_gemm_small_fits(1200, 200));   /* 938 KiB, 975 KiB packed (208 columns) */
    assert_false(onnx_gemm_small_fits(3136, 2048)); /* a CNN's dense head stays on oneDNN */
    assert_false(onnx_gemm_small_fits(0, 10));
    assert_false(onnx_gemm_small_fits(10, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference),
        cmocka_unit_test(rows_do_not_depend_on_the_batch),
        cmocka_unit_test(packs_either_layout),
        cmocka_unit_test(takes_small_b_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
