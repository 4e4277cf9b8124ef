/* One or two rows times a large row-major B (see numeric.h: onnx_gemv_large), on AVX-512.
 *
 * A dense layer run on one request is a matrix-vector product bound by reading its weights from
 * memory. This kernel streams B once, row after row, in the order it is stored (what the
 * hardware prefetchers follow best). On the benchmark CNN's 3136 -> 2048 head (25 MiB), with
 * its weights in huge pages as the loader keeps them (onnx_weights_alloc), alternating runs of
 * the whole model: 515-607 us against oneDNN's 581-736 at one row, 726-847 against 1053-1092 at
 * two.
 *
 * y's rows are accumulated in place, a block of columns at a time (16 KiB a row, in L1), four
 * rows of B per pass over the block. Each element is one chain of fused multiply-adds over k in
 * order, from zero: the same bits in a one-row and a two-row call, and the same bits as oneDNN's
 * own one-row product, which sums the same way (checked on the CNN's head). With more than one
 * intra-op thread the product stays with oneDNN, which splits it between them. */
#include "numeric.h"

#include <omp.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_GEMV_KERNEL 1
#endif

enum {
    GEMV_MIN_B_BYTES = 1 << 20, /* smaller, B is read from cache: not a memory-bound product */
    GEMV_MAX_ROWS = 2,          /* from three rows on, oneDNN's blocked kernels win */
    GEMV_LANES = 16,            /* floats in a vector */
    GEMV_BLOCK = 4096,          /* columns of y per block: 16 KiB a row */
};

bool onnx_gemv_large_applies(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                             float alpha, float beta)
{
#ifdef HAVE_GEMV_KERNEL
    /* one thread: with more, oneDNN's product splits the reading of B between them */
    return !trans_a && !trans_b && m >= 1 && m <= GEMV_MAX_ROWS && alpha == 1.0f && beta == 0.0f &&
           n > 0 && k > 0 && k * n >= GEMV_MIN_B_BYTES / (int64_t)sizeof(float) &&
           omp_get_max_threads() == 1 && __builtin_cpu_supports("avx512f");
#else
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)beta;
    return false;
#endif
}

#ifdef HAVE_GEMV_KERNEL

static __mmask16 gemv_mask(int64_t left)
{
    return left >= GEMV_LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* Vector j of rows [kk, kk + depth) of B into `rows` rows of y, through `mask` (all lanes but
 * in the last, partial vector of a row). */
__attribute__((target("avx512f"), always_inline)) static inline void
gemv_vector(int rows, int depth, const __m512 x[GEMV_MAX_ROWS][4], const float *from, int64_t ldb,
            float *y, int64_t ldy, int64_t j, bool is_whole, __mmask16 mask)
{
    __m512 w[4];
    for (int q = 0; q < depth; q++)
        w[q] = is_whole ? _mm512_loadu_ps(from + q * ldb + j)
                        : _mm512_maskz_loadu_ps(mask, from + q * ldb + j);
    for (int r = 0; r < rows; r++) {
        float *to = y + r * ldy + j;
        __m512 acc = is_whole ? _mm512_loadu_ps(to) : _mm512_maskz_loadu_ps(mask, to);
        for (int q = 0; q < depth; q++)
            acc = _mm512_fmadd_ps(x[r][q], w[q], acc);
        if (is_whole)
            _mm512_storeu_ps(to, acc);
        else
            _mm512_mask_storeu_ps(to, mask, acc);
    }
}

/* Rows [kk, kk + depth) of B (depth 4 or 1, a constant once inlined) into columns [j0, j1) of
 * `rows` rows of y (1 or 2): each element gets its next `depth` multiply-adds, in order. */
__attribute__((target("avx512f"), always_inline)) static inline void
gemv_step(int rows, int depth, int64_t kk, const float *a, int64_t lda, const float *b, int64_t ldb,
          float *y, int64_t ldy, int64_t j0, int64_t j1)
{
    __m512 x[GEMV_MAX_ROWS][4];
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < depth; q++)
            x[r][q] = _mm512_set1_ps(a[r * lda + kk + q]);
    const float *from = b + kk * ldb;
    int64_t j = j0;
    for (; j + GEMV_LANES <= j1; j += GEMV_LANES)
        gemv_vector(rows, depth, x, from, ldb, y, ldy, j, true, 0);
    if (j < j1)
        gemv_vector(rows, depth, x, from, ldb, y, ldy, j, false, gemv_mask(j1 - j));
}

/* Columns [j0, j1) of `rows` rows (1 or 2, a constant once inlined) over all of k. */
__attribute__((target("avx512f"), always_inline)) static inline void
gemv_columns(int rows, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
             float *y, int64_t ldy, int64_t j0, int64_t j1)
{
    for (int r = 0; r < rows; r++)
        memset(y + r * ldy + j0, 0, sizeof(float) * (size_t)(j1 - j0));
    int64_t kk = 0;
    for (; kk + 4 <= k; kk += 4)
        gemv_step(rows, 4, kk, a, lda, b, ldb, y, ldy, j0, j1);
    for (; kk < k; kk++)
        gemv_step(rows, 1, kk, a, lda, b, ldb, y, ldy, j0, j1);
}

/* All columns, a block at a time. */
__attribute__((target("avx512f"))) static void gemv_product(int64_t m, int64_t n, int64_t k,
                                                            const float *a, int64_t lda,
                                                            const float *b, int64_t ldb, float *y,
                                                            int64_t ldy)
{
    for (int64_t start = 0; start < n; start += GEMV_BLOCK) {
        int64_t end = start + GEMV_BLOCK < n ? start + GEMV_BLOCK : n;
        if (m == 1)
            gemv_columns(1, k, a, lda, b, ldb, y, ldy, start, end);
        else
            gemv_columns(2, k, a, lda, b, ldb, y, ldy, start, end);
    }
}

#endif

void onnx_gemv_large(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float *y, int64_t ldy)
{
#ifdef HAVE_GEMV_KERNEL
    gemv_product(m, n, k, a, lda, b, ldb, y, ldy);
#else
    (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)y, (void)ldy;
#endif
}
