/* A matrix product for small constant right-hand sides, such as the weights of an MLP's dense
 * layers (see numeric.h: onnx_gemm_small), on AVX-512.
 *
 * At batch 1 such a layer is a matrix-vector product bound by reading the weights, and oneDNN's
 * sgemm spends a good part of it choosing and entering its kernel: a 64 -> 256 -> 256 -> 10 MLP
 * took 3.8 us per inference through it and takes 2.6 here (4.2 against 6.9 us at batch 4); the
 * pinned HTTP benchmark's server spends 0.8 us less per request. At batch 64 the two are even
 * (63 us); reading the last layer as 16 floats a row instead of 64 took 0.1-0.4 us off batch 1,
 * 10 % off batch 16.
 *
 * B is packed once, at load, in panels of 64 columns (each panel's k rows of 64 floats
 * contiguous); the columns past the last whole panel make a narrower last panel, as many whole
 * vectors (16, 32 or 48 floats a row) as they need, padded with zeros: a classifier's 10 classes
 * are read as 16 floats a row, not 64. For one row a pass keeps four panels (16 vectors) of
 * results in registers while it walks k once; blocks of up to 4 rows share each weight vector
 * loaded; above SMALL_FEW_ROWS rows the work goes panel by panel in slices of k that stay in L1,
 * 6 rows at a time.
 *
 * What makes it safe to batch: each result element is one chain of fused multiply-adds over k in
 * order, starting from zero, whatever the number of rows and whichever rows or columns share a
 * pass; a slice of k continues the chain from the partial sum it stored. A row's answer is
 * therefore the same bits at batch 1 as in any batch. */
#include "numeric.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_SMALL_KERNEL 1
#endif

enum {
    SMALL_MAX_B_BYTES = 1 << 20,     /* B up to 1 MiB: it stays in L2 while the rows walk it */
    SMALL_FREE_PAD_BYTES = 64 << 10, /* padding a narrow B to whole panels: free up to this */
    SMALL_LANES = 16,                /* floats in a vector */
    SMALL_PANEL = 64,                /* columns in a panel of packed B: 4 vectors */
    SMALL_FEW_ROWS = 8,              /* up to this many rows, each block of 4 reads B once */
    SMALL_SPAN_K = 64,               /* k per slice of a panel: 16 KiB of B, in L1 */
};

/* The number of floats in a row of `panel`: SMALL_PANEL, or fewer for a narrow last panel. */
static int64_t small_panel_width(int64_t n, int64_t panel)
{
    int64_t left = n - panel * SMALL_PANEL;
    if (left >= SMALL_PANEL)
        return SMALL_PANEL;
    return (left + SMALL_LANES - 1) / SMALL_LANES * SMALL_LANES;
}

#ifdef HAVE_SMALL_KERNEL

/* The geometry of one product, in the names the kernel uses. */
typedef struct {
    int64_t m, n, k, lda, ldy;
    const float *a, *packed_b;
    float *y;
    float alpha;
    const onnx_gemm_epilogue_t *epilogue;
} small_t;

/* Which part of k a pass walks: [k_begin, k_end). A pass that does not start at 0 continues the
 * chains from the partial sums it left in y (exact: a float stored is the float reloaded); only
 * the pass that ends at k finishes them. */
typedef struct {
    int64_t k_begin, k_end;
} small_span_t;

static __mmask16 small_mask(int64_t left)
{
    return left >= SMALL_LANES ? (__mmask16)0xFFFF
           : left <= 0         ? (__mmask16)0
                               : (__mmask16)((1u << left) - 1u);
}

/* The finish of `rows` rows of the columns [col, col + width) once their sums are stored, while
 * they are in L1: times alpha, plus the bias times its scale, through the activation, each step
 * as the separate passes would compute it (Relu keeps NaN and -0, as the Relu op does). */
__attribute__((target("avx512f"), noinline)) static void
small_finish(const small_t *s, int64_t row, int rows, int64_t col, int64_t width)
{
    const onnx_gemm_epilogue_t *e = s->epilogue;
    bool has_bias = e != NULL && e->bias != NULL;
    onnx_fused_activation_t activation = e != NULL ? e->activation : ONNX_FUSED_NONE;
    __m512 alpha = _mm512_set1_ps(s->alpha);
    __m512 bias_scale = _mm512_set1_ps(has_bias ? e->bias_scale : 1.0f);
    __m512 low = _mm512_set1_ps(e != NULL ? e->low : 0.0f);
    __m512 high = _mm512_set1_ps(e != NULL ? e->high : 0.0f);
    for (int r = 0; r < rows; r++) {
        float *y = s->y + (row + r) * s->ldy;
        for (int64_t j = col; j < col + width; j += SMALL_LANES) {
            __mmask16 mask = small_mask(col + width - j);
            __m512 value = _mm512_maskz_loadu_ps(mask, y + j);
            if (s->alpha != 1.0f)
                value = _mm512_mul_ps(value, alpha);
            if (has_bias) {
                __m512 bias = _mm512_maskz_loadu_ps(mask, e->bias + j);
                value = _mm512_add_ps(value, e->bias_scale != 1.0f ? _mm512_mul_ps(bias_scale, bias)
                                                                   : bias);
            }
            if (activation == ONNX_FUSED_RELU) {
                value = _mm512_max_ps(_mm512_setzero_ps(), value); /* keeps NaN and -0 */
            } else if (activation == ONNX_FUSED_CLIP) {
                value = _mm512_max_ps(low, value); /* NaN stays NaN, as in Clip */
                value = _mm512_min_ps(high, value);
            }
            _mm512_mask_storeu_ps(y + j, mask, value);
        }
    }
}

/* Results for `rows` rows (1 to 6) of A and `panels` panels from panel `panel`, over one span
 * of k: whole panels of 4 vectors, or (`panels` 1) a narrow last panel of `vectors` vectors.
 * Registers: rows * vectors accumulators (at most 24), one broadcast and the weight vectors.
 * The compiler specialises this for each constant (rows, panels, vectors) it is inlined with.
 * Columns past n (the padding) are computed but not stored. */
__attribute__((target("avx512f"), always_inline)) static inline void
small_pass(const small_t *s, small_span_t span, int64_t row, int64_t panel, int rows, int panels,
           int vectors)
{
    enum { MAX_VECTORS = 16 };
    const int row_floats = vectors / panels * SMALL_LANES; /* per row of k in each panel */
    int64_t col = panel * SMALL_PANEL, panel_floats = s->k * SMALL_PANEL;
    __mmask16 masks[MAX_VECTORS];
    __m512 acc[6][MAX_VECTORS];
#pragma GCC unroll 16
    for (int v = 0; v < vectors; v++)
        masks[v] = small_mask(s->n - col - (int64_t)v * SMALL_LANES);
#pragma GCC unroll 16
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 16
        for (int v = 0; v < vectors; v++) {
            const float *y = s->y + (row + r) * s->ldy + col + v * SMALL_LANES;
            acc[r][v] =
                span.k_begin == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(masks[v], y);
        }
    const float *a_rows[6]; /* one base per row: each broadcast is base + kk */
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++)
        a_rows[r] = s->a + (row + r) * s->lda;
    const float *b = s->packed_b + panel * panel_floats + span.k_begin * row_floats;
    for (int64_t kk = span.k_begin; kk < span.k_end; kk++, b += row_floats) {
        __m512 w[MAX_VECTORS];
#pragma GCC unroll 16
        for (int v = 0; v < vectors; v++)
            w[v] = _mm512_loadu_ps(b + (v / 4) * panel_floats + (v % 4) * SMALL_LANES);
#pragma GCC unroll 16
        for (int r = 0; r < rows; r++) {
            __m512 x = _mm512_set1_ps(a_rows[r][kk]);
#pragma GCC unroll 16
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm512_fmadd_ps(x, w[v], acc[r][v]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < rows; r++) {
        float *y = s->y + (row + r) * s->ldy + col;
#pragma GCC unroll 16
        for (int v = 0; v < vectors; v++)
            _mm512_mask_storeu_ps(y + v * SMALL_LANES, masks[v], acc[r][v]);
    }
    if (span.k_end == s->k && (s->alpha != 1.0f || s->epilogue != NULL)) {
        int64_t width = s->n - col < panels * SMALL_PANEL ? s->n - col : panels * SMALL_PANEL;
        small_finish(s, row, rows, col, width);
    }
}

/* The vectors in a row of the last panel: 4 when it is whole. */
static int small_last_vectors(int64_t n)
{
    return (int)(small_panel_width(n, (n - 1) / SMALL_PANEL) / SMALL_LANES);
}

/* Few rows (1 to 4, a constant once inlined) over all columns and all of k: passes as wide as
 * 16 accumulators allow (4 panels for one row, 2 for two, 1 for three or four), then one panel
 * at a time, the last as narrow as it is. Each weight is read once per row block: the case of a
 * request on its own, where reading the weights is the cost. */
__attribute__((target("avx512f"), always_inline)) static inline void
small_few_rows(const small_t *s, int64_t row, int rows)
{
    small_span_t all_k = {0, s->k};
    int64_t last = (s->n - 1) / SMALL_PANEL, panel = 0;
    int last_vectors = small_last_vectors(s->n);
    int64_t whole = last_vectors == 4 ? last + 1 : last; /* panels of 64 floats a row */
    if (rows == 1)
        for (; panel + 4 <= whole; panel += 4)
            small_pass(s, all_k, row, panel, 1, 4, 16);
    if (rows == 2)
        for (; panel + 2 <= whole; panel += 2)
            small_pass(s, all_k, row, panel, 2, 2, 8);
    for (; panel < whole; panel++)
        small_pass(s, all_k, row, panel, rows, 1, 4);
    switch (whole == last ? last_vectors : 0) {
    case 1:
        small_pass(s, all_k, row, last, rows, 1, 1);
        break;
    case 2:
        small_pass(s, all_k, row, last, rows, 1, 2);
        break;
    case 3:
        small_pass(s, all_k, row, last, rows, 1, 3);
        break;
    }
}

/* Many rows over one panel of `vectors` vectors and one span of k: every block of 6 rows, then
 * the 1 to 5 left. */
__attribute__((target("avx512f"), always_inline)) static inline void
small_panel_rows(const small_t *s, small_span_t span, int64_t panel, int vectors)
{
    int64_t row = 0;
    for (; row + 6 <= s->m; row += 6)
        small_pass(s, span, row, panel, 6, 1, vectors);
    switch (s->m - row) {
    case 5:
        small_pass(s, span, row, panel, 5, 1, vectors);
        break;
    case 4:
        small_pass(s, span, row, panel, 4, 1, vectors);
        break;
    case 3:
        small_pass(s, span, row, panel, 3, 1, vectors);
        break;
    case 2:
        small_pass(s, span, row, panel, 2, 1, vectors);
        break;
    case 1:
        small_pass(s, span, row, panel, 1, 1, vectors);
        break;
    }
}

/* Many rows: for each panel and each span of SMALL_SPAN_K of k (a slice that stays in L1), the
 * row blocks of small_panel_rows(). */
__attribute__((target("avx512f"))) static void small_many_rows(const small_t *s)
{
    int64_t last = (s->n - 1) / SMALL_PANEL;
    int last_vectors = small_last_vectors(s->n);
    for (int64_t panel = 0; panel <= last; panel++)
        for (int64_t k_begin = 0; k_begin < s->k; k_begin += SMALL_SPAN_K) {
            int64_t k_end = k_begin + SMALL_SPAN_K < s->k ? k_begin + SMALL_SPAN_K : s->k;
            small_span_t span = {k_begin, k_end};
            switch (panel < last ? 4 : last_vectors) {
            case 1:
                small_panel_rows(s, span, panel, 1);
                break;
            case 2:
                small_panel_rows(s, span, panel, 2);
                break;
            case 3:
                small_panel_rows(s, span, panel, 3);
                break;
            default:
                small_panel_rows(s, span, panel, 4);
                break;
            }
        }
}

/* All m rows: up to SMALL_FEW_ROWS in register blocks that read each weight once, more in
 * slices that stay in L1. Either way each element's chain is the same. */
__attribute__((target("avx512f"))) static void small_product(const small_t *s)
{
    if (s->m > SMALL_FEW_ROWS) {
        small_many_rows(s);
        return;
    }
    int64_t row = 0;
    for (; row + 4 <= s->m; row += 4)
        small_few_rows(s, row, 4);
    switch (s->m - row) {
    case 3:
        small_few_rows(s, row, 3);
        break;
    case 2:
        small_few_rows(s, row, 2);
        break;
    case 1:
        small_few_rows(s, row, 1);
        break;
    }
}

#endif

bool onnx_gemm_small_fits(int64_t k, int64_t n)
{
#ifdef HAVE_SMALL_KERNEL
    if (k <= 0 || n <= 0 || k > SMALL_MAX_B_BYTES || n > SMALL_MAX_B_BYTES)
        return false;
    int64_t plain_bytes = k * n * (int64_t)sizeof(float);
    int64_t packed_bytes = (int64_t)onnx_gemm_small_packed_count(k, n) * (int64_t)sizeof(float);
    /* the packed copy too must fit; a narrow B (a regression head's n = 1) padded to 64
     * columns may not take much more memory than it needs */
    if (plain_bytes > SMALL_MAX_B_BYTES || packed_bytes > SMALL_MAX_B_BYTES)
        return false;
    if (packed_bytes > 2 * plain_bytes && packed_bytes > SMALL_FREE_PAD_BYTES)
        return false;
    return __builtin_cpu_supports("avx512f");
#else
    (void)k;
    (void)n;
    return false;
#endif
}

size_t onnx_gemm_small_packed_count(int64_t k, int64_t n)
{
    int64_t whole = n / SMALL_PANEL;
    return (size_t)((whole * SMALL_PANEL + small_panel_width(n, whole)) * k);
}

void onnx_gemm_small_pack(const float *b, int64_t k, int64_t n, int64_t k_stride, int64_t n_stride,
                          float *packed)
{
    int64_t panels = (n + SMALL_PANEL - 1) / SMALL_PANEL;
    memset(packed, 0, onnx_gemm_small_packed_count(k, n) * sizeof(float));
    for (int64_t panel = 0; panel < panels; panel++) {
        int64_t width = small_panel_width(n, panel);
        float *panel_start = packed + panel * k * SMALL_PANEL;
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t c = 0; c < width && panel * SMALL_PANEL + c < n; c++)
                panel_start[kk * width + c] =
                    b[kk * k_stride + (panel * SMALL_PANEL + c) * n_stride];
    }
}

void onnx_gemm_small(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *packed_b, float *y, int64_t ldy,
                     const onnx_gemm_epilogue_t *epilogue)
{
#ifdef HAVE_SMALL_KERNEL
    small_t s = {.m = m,
                 .n = n,
                 .k = k,
                 .lda = lda,
                 .ldy = ldy,
                 .a = a,
                 .packed_b = packed_b,
                 .y = y,
                 .alpha = alpha,
                 .epilogue = epilogue};
    small_product(&s);
#else
    (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)packed_b, (void)y;
    (void)ldy, (void)epilogue;
#endif
}
