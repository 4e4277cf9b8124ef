/* Unit tests for the large-B one- and two-row product (ops/gemv_large.c) and the weight buffers
 * made at load (ops/common.c): which sgemm calls it takes, each element the exact chain of
 * fused multiply-adds over k in order (so one row is the same bits alone or with a second),
 * partial vectors, column blocks, strides wider than the matrices and nothing written past a
 * row; onnx_sgemm's results the same through either kernel to float precision; and the weight
 * buffers aligned to huge pages from 4 MiB on. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/onnx/ops/common.h"
#include "backends/onnx/ops/numeric.h"

static float value_at(uint64_t i, uint64_t seed)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return (float)(x % 2001) / 1000.0f - 1.0f;
}

static float *filled(size_t count, uint64_t seed)
{
    float *p = malloc(count * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < count; i++)
        p[i] = value_at(i, seed);
    return p;
}

/* The definition the kernel promises: one chain of fmaf over k in order, from zero. */
static float chain(const float *a, const float *b, int64_t ldb, int64_t k, int64_t j)
{
    float acc = 0.0f;
    for (int64_t kk = 0; kk < k; kk++)
        acc = fmaf(a[kk], b[kk * ldb + j], acc);
    return acc;
}

static void exact_chains_for_every_shape(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f"))
        skip();
    /* k not a multiple of 4; n a partial vector, several column blocks, a partial block */
    const int64_t shapes[][2] = {{515, 517}, {1027, 300}, {6, 9000}, {4, 70000}, {333, 1040}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int64_t k = shapes[s][0], n = shapes[s][1];
        int64_t lda = k + 3, ldb = n + 7, ldy = n + 5;
        float *a = filled((size_t)(2 * lda), s), *b = filled((size_t)(k * ldb), s + 100);
        for (int m = 1; m <= 2; m++) {
            float *y = malloc(sizeof(float) * (size_t)(2 * ldy));
            for (int64_t i = 0; i < 2 * ldy; i++)
                y[i] = 12345.0f; /* sentinels past each row */
            onnx_gemv_large(m, n, k, a, lda, b, ldb, y, ldy);
            for (int r = 0; r < m; r++) {
                for (int64_t j = 0; j < n; j++) {
                    float want = chain(a + r * lda, b, ldb, k, j);
                    if (memcmp(&y[r * ldy + j], &want, sizeof(float)) != 0)
                        fail_msg("k %lld n %lld m %d: y[%d][%lld] = %a, the chain gives %a",
                                 (long long)k, (long long)n, m, r, (long long)j,
                                 (double)y[r * ldy + j], (double)want);
                }
                for (int64_t j = n; j < ldy; j++)
                    assert_true(y[r * ldy + j] == 12345.0f);
            }
            if (m == 1)
                assert_true(y[ldy] == 12345.0f); /* a one-row call leaves the second row alone */
            free(y);
        }
        free(a);
        free(b);
    }
}

static void takes_one_or_two_rows_of_a_large_b_on_one_thread(void **state)
{
    (void)state;
    bool has_kernel = __builtin_cpu_supports("avx512f");
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    int64_t k = 3136, n = 2048; /* 25 MiB */
    assert_int_equal(onnx_gemv_large_applies(false, false, 1, n, k, 1.0f, 0.0f), has_kernel);
    assert_int_equal(onnx_gemv_large_applies(false, false, 2, n, k, 1.0f, 0.0f), has_kernel);
    assert_false(onnx_gemv_large_applies(false, false, 3, n, k, 1.0f, 0.0f));
    assert_false(onnx_gemv_large_applies(true, false, 1, n, k, 1.0f, 0.0f));
    assert_false(onnx_gemv_large_applies(false, true, 1, n, k, 1.0f, 0.0f));
    assert_false(onnx_gemv_large_applies(false, false, 1, n, k, 0.5f, 0.0f));
    assert_false(onnx_gemv_large_applies(false, false, 1, n, k, 1.0f, 1.0f));
    assert_false(onnx_gemv_large_applies(false, false, 1, 256, 256, 1.0f, 0.0f)); /* 256 KiB */
    omp_set_num_threads(2);
    assert_false(onnx_gemv_large_applies(false, false, 1, n, k, 1.0f, 0.0f));
    omp_set_num_threads(threads);
}

/* onnx_sgemm gives the same products whichever kernel takes the call: one row through this
 * kernel against the same row among three (oneDNN), to float precision. */
static void sgemm_agrees_with_onednn(void **state)
{
    (void)state;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    int64_t k = 1500, n = 700;
    float *a = filled((size_t)(3 * k), 7), *b = filled((size_t)(k * n), 8);
    float *one = malloc(sizeof(float) * (size_t)n), *three = malloc(sizeof(float) * 3 * n);
    inferd_err_t err;
    assert_int_equal(onnx_sgemm(false, false, 1, n, k, 1.0f, a, k, b, n, 0.0f, one, n, &err), 0);
    assert_int_equal(onnx_sgemm(false, false, 3, n, k, 1.0f, a, k, b, n, 0.0f, three, n, &err), 0);
    for (int64_t j = 0; j < n; j++)
        assert_true(fabsf(one[j] - three[j]) <= 1e-4f * (1.0f + fabsf(three[j])));
    free(a), free(b), free(one), free(three);
    omp_set_num_threads(threads);
}

static void weight_buffers_are_aligned_to_huge_pages_when_large(void **state)
{
    (void)state;
    size_t sizes[] = {100, (4u << 20) - 1, 4u << 20, (25u << 20) + 12345};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = onnx_weights_alloc(sizes[i]);
        assert_non_null(p);
        if (sizes[i] >= (4u << 20))
            assert_int_equal((uintptr_t)p % (2u << 20), 0);
        p[0] = 1;
        p[sizes[i] - 1] = 2; /* the whole size is usable */
        assert_int_equal(p[0] + p[sizes[i] - 1], 3);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_chains_for_every_shape),
        cmocka_unit_test(takes_one_or_two_rows_of_a_large_b_on_one_thread),
        cmocka_unit_test(sgemm_agrees_with_onednn),
        cmocka_unit_test(weight_buffers_are_aligned_to_huge_pages_when_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
